package node

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"baluchon/vault"
)

// TestTrashAfterEmptyManifest: a state signed with the vault key whose
// manifest simply lists nothing (no tombstone, no trash) leaves every
// document in the trash of the node that kept the state before, dated by
// that node's clock; restore brings it back.
func TestTrashAfterEmptyManifest(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var docs []vault.Entry
	for _, text := range []string{"passeport", "attestation"} {
		e, err := n.Add(ctx, card, strings.NewReader(text), DocMeta{Title: text})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, e)
	}
	s, err := n.open(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	unlock := n.lockVault(s.id)
	err = n.commit(ctx, s, vault.NewManifest())
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if o, err := n.Open(ctx, card); err != nil || len(o.Entries) != 0 {
		t.Fatalf("after the forged state: %v, %v", o, err)
	}
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	tr, err := n.Trash(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 2 {
		t.Fatalf("%d documents in the trash, want 2", len(tr))
	}
	for _, it := range tr {
		if d := time.Since(it.Deleted); d < 0 || d > time.Minute || !it.Purge.Equal(it.Deleted.Add(time.Duration(DefaultTrashPeriod))) {
			t.Fatalf("%q deleted %s, purged %s", it.Title, it.Deleted, it.Purge)
		}
	}
	e, err := n.Restore(ctx, card, docs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := n.Get(ctx, card, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(d)
	d.Close()
	if string(got) != "passeport" {
		t.Fatalf("restored %q", got)
	}
	if tr, _ := n.Trash(ctx, card); len(tr) != 1 || tr[0].ID != docs[1].ID {
		t.Fatalf("trash after restore: %+v", tr)
	}
	if _, err := n.Restore(ctx, card, docs[0].ID); err == nil {
		t.Fatal("restored twice")
	}
}
