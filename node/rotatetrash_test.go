package node

import (
	"context"
	"io"
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
