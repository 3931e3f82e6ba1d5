package testnet

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"baluchon/node"
)

// TestConcurrentAddsMerge: two structures that keep a vault add a document
// each while cut off from each other; once reconnected, the next card
// session sees both documents and leaves one merged state at every node.
func TestConcurrentAddsMerge(t *testing.T) {
	ctx := context.Background()
	net := New(t, 2, Options{})
	a, b := net.Nodes[0], net.Nodes[1]
	net.Connect(0, 1)
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.Add(ctx, card, bytes.NewReader([]byte("first document, added at A")), node.DocMeta{Title: "first"})
	if err != nil {
		t.Fatal(err)
	}
	// B opens the vault, so it keeps a copy.
	if _, entries, err := b.List(ctx, card); err != nil || len(entries) != 1 {
		t.Fatalf("B lists %d documents (%v), want 1", len(entries), err)
	}
	net.Disconnect(0, 1)

	docA, err := a.Add(ctx, card, bytes.NewReader([]byte("added at A while cut off")), node.DocMeta{Title: "at A"})
	if err != nil {
		t.Fatal(err)
	}
	docB, err := b.Add(ctx, card, bytes.NewReader([]byte("added at B while cut off")), node.DocMeta{Title: "at B"})
	if err != nil {
		t.Fatal(err)
	}

	net.Connect(0, 1)
	// A card session at A right after the reconnection waits only briefly
	// for B (a slow peer must not hold up every session): on a loaded
	// machine the merge may take a second session.
	for i, n := range []*node.Node{a, b} {
		eventually(t, 20*time.Second, fmt.Sprintf("node %d does not see the merge after the reconnection", i), func() bool {
			_, entries, err := n.List(ctx, card)
			return err == nil && len(entries) == 3
		})
	}
	for i, n := range []*node.Node{a, b, a} {
		_, entries, err := n.List(ctx, card)
		if err != nil {
			t.Fatalf("list at node %d: %v", i, err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			got[e.ID] = true
		}
		for _, id := range []string{first.ID, docA.ID, docB.ID} {
			if !got[id] {
				t.Errorf("node %d does not list document %s after the merge (lists %v)", i, id, got)
			}
		}
		if len(entries) != 3 {
			t.Errorf("node %d lists %d documents, want 3", i, len(entries))
		}
	}
	for i, n := range []*node.Node{a, b} {
		heads, err := n.VaultHeads(ctx, vid)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) != 1 {
			t.Errorf("node %d has %d current heads after the merge, want 1", i, len(heads))
		}
	}
	if got := readDoc(t, a, card, docB.ID); string(got) != "added at B while cut off" {
		t.Errorf("A reads B's document as %q", got)
	}
}
