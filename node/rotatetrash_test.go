package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// TestRotationSkipsTrashWithoutBlocks: a key rotation carries the trash;
// a trashed document whose blocks are gone (here and at every peer) is
// left behind with a warning, and the rotation still happens.
func TestRotationSkipsTrashWithoutBlocks(t *testing.T) {
	defer func(d time.Duration) { trashFetchTimeout = d }(trashFetchTimeout)
	trashFetchTimeout = 200 * time.Millisecond
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := n.Add(ctx, card, strings.NewReader("attestation"), DocMeta{Title: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	lost, err := n.Add(ctx, card, strings.NewReader("passeport"), DocMeta{Title: "lost"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{kept.ID, lost.ID} {
		if err := n.Remove(ctx, card, e); err != nil {
			t.Fatal(err)
		}
	}
	// The disk loses every block of one of them.
	var blocks []cid.Cid
	if err := walkDAG(ctx, lost.CID, n.offlineLinks(), func(c cid.Cid) bool { blocks = append(blocks, c); return true }); err != nil {
		t.Fatal(err)
	}
	for _, c := range blocks {
		if err := n.store.blocks.DeleteBlock(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.Rotate(ctx, card); err != nil {
		t.Fatalf("rotation with a trashed document gone: %v", err)
	}
	tr, err := n.Trash(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 1 || tr[0].ID != kept.ID {
		t.Fatalf("trash after the rotation: %+v", tr)
	}
	e, err := n.Restore(ctx, card, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := n.Get(ctx, card, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if b, _ := io.ReadAll(d); string(b) != "attestation" {
		t.Fatalf("restored %q", b)
	}
}

// TestRotationWipesOldCiphertext: once a rotated vault is retired, the
// collection after it leaves no byte of the old ciphertext in any file of
// the packs, even where the current pack still holds live blocks.
func TestRotationWipesOldCiphertext(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, old, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := make([]byte, 300<<10)
	rand.Read(doc)
	e, err := n.Add(ctx, card, bytes.NewReader(doc), DocMeta{Title: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.store.blocks.Get(ctx, e.CID)
	if err != nil {
		t.Fatal(err)
	}
	raw := b.RawData()
	sample := bytes.Clone(raw[len(raw)/2 : len(raw)/2+64])
	// A full rotation: every document is encrypted again under a new file
	// key (a plain one re-wraps each file key, and keeps the payload).
	if _, _, err := n.RotateFull(ctx, card); err != nil {
		t.Fatal(err)
	}
	n.retire(ctx, old)
	if _, err := n.gc(ctx, true); err != nil { // what gcSoon(true) runs after a retirement
		t.Fatal(err)
	}
	if n.HasBlock(ctx, e.CID) {
		t.Fatal("the old document's block is still stored")
	}
	packs, err := filepath.Glob(filepath.Join(n.Home(), packsDir, "*.pack"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no pack: %v", err)
	}
	for _, p := range packs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, sample) {
			t.Fatalf("%s still holds the old ciphertext", filepath.Base(p))
		}
	}
	// The document still reads, under the new keys.
	_, entries, err := n.List(ctx, card)
	if err != nil || len(entries) != 1 {
		t.Fatalf("after the rotation: %d documents, %v", len(entries), err)
	}
	r, err := n.Get(ctx, card, entries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, doc) {
		t.Fatal("the document differs after the rotation")
	}
}
