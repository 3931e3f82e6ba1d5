package testnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	carv2 "github.com/ipld/go-car/v2"

	"baluchon/node"
)

// TestExportImport: a vault exported to a CAR file opens at a node that
// has no network connection at all, from the file alone; the file is a
// standard CAR; importing it twice changes nothing the second time; a
// file with one flipped byte, or cut short, is refused and stores nothing.
func TestExportImport(t *testing.T) {
	ctx := context.Background()
	net := New(t, 3, Options{})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := []testDoc{
		{"Titre de séjour", "Identité", "titre-sejour.pdf", randomBytes(t, 2<<20+77)},
		{"Domiciliation", "Courrier", "domiciliation.txt", []byte("Attestation d'élection de domicile, CCAS, valable un an.")},
	}
	var ids []string
	for _, d := range docs {
		e, err := a.Add(ctx, card, bytes.NewReader(d.data), node.DocMeta{Title: d.title, Category: d.category, FileName: d.name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	plan, err := a.PlanExportVault(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var car bytes.Buffer
	if err := a.WriteExport(ctx, plan, &car, nil); err != nil {
		t.Fatal(err)
	}
	file := car.Bytes()

	// A standard CAR: go-car reads it and every block matches its CID.
	br, err := carv2.NewBlockReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if br.Version != 1 || len(br.Roots) != 1 {
		t.Fatalf("CAR version %d with %d roots", br.Version, len(br.Roots))
	}
	n := 0
	for {
		_, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != plan.Blocks {
		t.Fatalf("CAR holds %d blocks, plan said %d", n, plan.Blocks)
	}

	// Tampered or truncated files are refused by C and store nothing.
	step := max(1, len(file)/60)
	for off := 0; off < len(file); off += step {
		bad := bytes.Clone(file)
		bad[off] ^= 0x01
		assertRefused(t, c, bad, "byte flipped at", off)
	}
	for _, cut := range []int{len(file) - 1, len(file) - 100, len(file) / 2, 40} {
		assertRefused(t, c, file[:cut], "cut at", cut)
	}

	// B has no connection at all: the file alone opens the vault.
	if len(b.Host().Network().Peers()) != 0 {
		t.Fatal("B is connected")
	}
	res, err := b.Import(ctx, bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Vaults != 1 || res.NewBlocks == 0 || res.NewBlocks > res.Blocks || res.NewStates != 1 || res.Cards != 1 {
		t.Fatalf("first import: %+v", res)
	}
	checkVault(t, b, card, ids, docs)
	if vs, _ := b.Vaults(ctx); len(vs) != 1 || vs[0] != vid {
		t.Fatalf("B keeps %v", vs)
	}
	again, err := b.Import(ctx, bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.NewBlocks != 0 || again.NewStates != 0 || again.Cards != 0 {
		t.Fatalf("second import changed something: %+v", again)
	}
	checkVault(t, b, card, ids, docs)

	// An export of everything B keeps imports at C too.
	all, err := b.PlanExportAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var allCar bytes.Buffer
	if err := b.WriteExport(ctx, all, &allCar, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, &allCar, nil); err != nil {
		t.Fatal(err)
	}
	checkVault(t, c, card, ids, docs)
}

func assertRefused(t *testing.T, n *node.Node, file []byte, what string, at int) {
	t.Helper()
	ctx := context.Background()
	_, err := n.Import(ctx, bytes.NewReader(file), nil)
	var ie *node.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("file with %s %d: got %v, want an ImportError", what, at, err)
	}
	if blocks := countBlocks(t, n); blocks != 0 {
		t.Fatalf("file with %s %d: refused but %d blocks stored", what, at, blocks)
	}
	if vs, _ := n.Vaults(ctx); len(vs) != 0 {
		t.Fatalf("file with %s %d: refused but vaults %v kept", what, at, vs)
	}
}

func countBlocks(t *testing.T, n *node.Node) int {
	t.Helper()
	k, err := n.BlockCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestExportCarriesRecords: the access log and a pending deposit (with its
// document) travel on the USB stick too.
func TestExportCarriesRecords(t *testing.T) {
	ctx := context.Background()
	net := New(t, 2, Options{})
	a, b := net.Nodes[0], net.Nodes[1]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(ctx, card, bytes.NewReader([]byte("avis d'imposition")), node.DocMeta{Title: "Avis"}); err != nil {
		t.Fatal(err)
	}
	letter := randomBytes(t, 1<<20+5)
	if _, err := a.Deposit(ctx, vid, bytes.NewReader(letter), node.DepositMetaIn{Title: "Courrier"}); err != nil {
		t.Fatal(err)
	}
	plan, err := a.PlanExportAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var car bytes.Buffer
	if err := a.WriteExport(ctx, plan, &car, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, &car, nil); err != nil {
		t.Fatal(err)
	}
	o, err := b.Open(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Deposited) != 1 || len(o.Entries) != 2 {
		t.Fatalf("after import: %d documents, %d deposited", len(o.Entries), len(o.Deposited))
	}
	if got := readDoc(t, b, card, o.Deposited[0].ID); !bytes.Equal(got, letter) {
		t.Fatal("the deposited document differs after the USB stick")
	}
	lines, err := b.AccessLog(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range lines {
		actions = append(actions, l.Action)
	}
	if !containsInOrder(actions, []string{"create", "add", "deposit"}) {
		t.Fatalf("log after the USB stick: %v", actions)
	}
}
