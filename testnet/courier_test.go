package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"baluchon/node"
)

// courierDocSize is the size of each document of TestCourierDelta's vault
// (a scanned page).
const courierDocSize = 24 << 10

// courierDocs is the number of documents of TestCourierDelta's vault: 60,
// or BALUCHON_COURIER_DOCS (300 for the figure of docs/bluetooth.md; it
// takes about 45 s).
func courierDocs(t *testing.T) int {
	if s := os.Getenv("BALUCHON_COURIER_DOCS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BALUCHON_COURIER_DOCS=%q is not a number of documents", s)
		}
		return n
	}
	return 60
}

// TestCourierDelta: nodes A and B never meet. B got a vault of many documents
// once (a full export); A adds one document; B writes a have file, A
// exports only what B lacks, and B imports that delta alone: B then holds
// A's state, complete, and reads the new document without any network.
// The delta is a small fraction of the full export, and brings no block B
// already had. A node that has nothing refuses the delta and stores
// nothing.
func TestCourierDelta(t *testing.T) {
	ctx := context.Background()
	net := New(t, 3, Options{})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := courierDocs(t)
	for i := range docs {
		doc := randomBytes(t, courierDocSize)
		if _, err := a.Add(ctx, card, bytes.NewReader(doc), node.DocMeta{Title: fmt.Sprintf("Page %d", i+1), Category: "Courrier", FileName: fmt.Sprintf("page-%03d.jpg", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	export := func(p *node.ExportPlan) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := a.WriteExport(ctx, p, &buf, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	plan, err := a.PlanExportVault(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	first := export(plan)
	if _, err := b.Import(ctx, bytes.NewReader(first), nil); err != nil {
		t.Fatal(err)
	}

	// One more document at A.
	newDoc := []byte("Attestation de domiciliation, renouvelée le 27 novembre, valable un an.")
	e, err := a.Add(ctx, card, bytes.NewReader(newDoc), node.DocMeta{Title: "Domiciliation", Category: "Courrier", FileName: "domiciliation.txt"})
	if err != nil {
		t.Fatal(err)
	}
	plan, err = a.PlanExportVault(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	full := export(plan)

	// B says what it has; the have file goes to A (by courier).
	have, err := b.Have(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var haveFile bytes.Buffer
	if err := node.WriteHave(&haveFile, have); err != nil {
		t.Fatal(err)
	}
	if len(have.Vaults) != 1 || have.Vaults[0].Vault != vid || len(have.Vaults[0].Heads) != 1 {
		t.Fatalf("B's have file: %+v", have.Vaults)
	}
	got, err := node.ReadHave(bytes.NewReader(haveFile.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	dplan, err := a.PlanExportDelta(ctx, got, nil)
	if err != nil {
		t.Fatal(err)
	}
	delta := export(dplan)
	t.Logf("%d-document vault (%d KiB each), one document added: full export %d bytes (%d blocks), have file %d bytes, delta %d bytes (%d blocks, %.2f%% of the full export)",
		docs, courierDocSize>>10, len(full), plan.Blocks, haveFile.Len(), len(delta), dplan.Blocks, 100*float64(len(delta))/float64(len(full)))
	if len(delta)*20 > len(full) {
		t.Errorf("delta is %d bytes, more than 5%% of the full export (%d bytes)", len(delta), len(full))
	}

	// A node that has nothing cannot take the delta alone.
	before := countBlocks(t, c)
	_, err = c.Import(ctx, bytes.NewReader(delta), nil)
	var ie *node.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("a node without the vault imported the delta: %v", err)
	}
	if got := countBlocks(t, c); got != before {
		t.Fatalf("a refused delta stored %d blocks", got-before)
	}

	// B imports the delta alone: a new state, complete, and no block B
	// already had.
	res, err := b.Import(ctx, bytes.NewReader(delta), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.NewStates != 1 {
		t.Errorf("the delta brought %d new states, want 1: %+v", res.NewStates, res)
	}
	if dup := res.Blocks - 1 - res.NewBlocks - res.Ignored; dup > 2 {
		// At most the head and its attestation's neighbours are resent.
		t.Errorf("the delta carried %d blocks B had already: %+v", dup, res)
	}
	bHave, err := b.Have(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	aHave, err := a.Have(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bHave.Vaults[0].Heads) != 1 || !bHave.Vaults[0].Heads[0].Equals(aHave.Vaults[0].Heads[0]) {
		t.Fatalf("after the delta, B's complete states are %v, A's %v", bHave.Vaults[0].Heads, aHave.Vaults[0].Heads)
	}
	_, entries, err := b.List(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != docs+1 {
		t.Fatalf("B lists %d documents, want %d", len(entries), docs+1)
	}
	doc, err := b.Get(ctx, card, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(doc)
	doc.Close()
	if err != nil || !bytes.Equal(data, newDoc) {
		t.Fatalf("B reads the new document as %q (%v)", data, err)
	}

	// Nothing left to carry: a delta against B's new have file holds
	// no document block.
	dplan, err = a.PlanExportDelta(ctx, bHave, card)
	if err != nil {
		t.Fatal(err)
	}
	if again := export(dplan); len(again) > 16<<10 {
		t.Errorf("a delta for a node that has everything is %d bytes", len(again))
	}
}

// TestReadHaveRefuses: a have file that is not one is refused with a clear
// error.
func TestReadHaveRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"not JSON", "hello"},
		{"no version", `{"vaults": []}`},
		{"newer version", `{"baluchon_have": 2, "vaults": []}`},
		{"bad vault", `{"baluchon_have": 1, "vaults": [{"vault": "x"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := node.ReadHave(bytes.NewReader([]byte(tc.text)))
			var he *node.HaveError
			if !errors.As(err, &he) {
				t.Fatalf("got %v, want a *node.HaveError", err)
			}
		})
	}
}
