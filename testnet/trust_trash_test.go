package testnet

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"baluchon/node"
	"baluchon/vault"
)

// testClock is a node's clock that a test moves forward.
type testClock struct{ ahead atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *testClock) forward(d time.Duration) { c.ahead.Add(int64(d)) }

const month = 30 * 24 * time.Hour

// TestTrustTrashSurvivesForgedHead: whoever holds the card, at a node
// whose clock they set 31 days ahead, deletes every document, lets the
// trash purge itself and collects the blocks. The heads they sign are
// valid: every node takes them. Yet at every honest node every document
// stays in the trash for 30 days by that node's own clock, garbage
// collection keeps its blocks, and a worker restores it byte for byte;
// after the period, what was not restored is purged and collected.
func TestTrustTrashSurvivesForgedHead(t *testing.T) {
	ctx := context.Background()
	clocks := []*testClock{{}, {}, {}}
	fns := make([]func() time.Time, len(clocks))
	for i, c := range clocks {
		fns[i] = c.now
	}
	net := New(t, 3, Options{Config: fastFederation(), Names: []string{"CCAS", "Accueil de jour", "Session malveillante"}, Clocks: fns})
	net.ConnectAll()
	join(t, net, 0, 1)
	join(t, net, 0, 2)
	a, b, m := net.Nodes[0], net.Nodes[1], net.Nodes[2]

	card, _, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	content := map[string]string{
		"Passeport":       "Passeport de Moussa K.",
		"Attestation CAF": "Attestation CAF de Moussa K.",
		"Titre de séjour": "Titre de séjour de Moussa K.",
	}
	var docs []vault.Entry
	for title, text := range content {
		docs = append(docs, addDoc(t, a, card, title, "Papiers", text))
	}
	// Every node keeps the vault.
	for i, n := range net.Nodes {
		if _, err := n.Open(ctx, card); err != nil {
			t.Fatalf("node %d opens the vault: %v", i, err)
		}
	}

	// The forger deletes everything, moves its clock 31 days ahead so
	// that its next state purges the trash, and 31 more so that its node
	// no longer keeps the states it replaced, and collects.
	for _, d := range docs {
		if err := m.Remove(ctx, card, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	clocks[2].forward(month + 24*time.Hour)
	addDoc(t, m, card, "rien", "", "rien")
	if tr, err := m.Trash(ctx, card); err != nil || len(tr) != 0 {
		t.Fatalf("forger's trash: %d items, %v; want it empty", len(tr), err)
	}
	clocks[2].forward(month + 24*time.Hour)
	if _, err := m.GC(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if m.HasBlock(ctx, d.CID) {
			t.Fatal("the forger's node kept a purged document")
		}
	}

	// The honest nodes take the forged state: no document is live.
	for i, n := range []*node.Node{a, b} {
		eventually(t, 20*time.Second, "honest node does not take the forged state", func() bool {
			o, err := n.Open(ctx, card)
			return err == nil && len(o.Entries) == 1 && o.Entries[0].Title == "rien"
		})
		if _, err := n.GC(ctx); err != nil {
			t.Fatalf("node %d: gc: %v", i, err)
		}
		for _, d := range docs {
			if !n.HasBlock(ctx, d.CID) {
				t.Fatalf("node %d: gc collected deleted document %q", i, d.Title)
			}
		}
	}

	// 29 days later, by the honest nodes' clocks, every document is in
	// their trash, and collection still keeps it.
	clocks[0].forward(month - 24*time.Hour)
	clocks[1].forward(month - 24*time.Hour)
	for i, n := range []*node.Node{a, b} {
		if _, err := n.GC(ctx); err != nil {
			t.Fatal(err)
		}
		tr, err := n.Trash(ctx, card)
		if err != nil {
			t.Fatalf("node %d: trash: %v", i, err)
		}
		if len(tr) != len(docs) {
			t.Fatalf("node %d: %d documents in the trash, want %d", i, len(tr), len(docs))
		}
		for _, it := range tr {
			if left := it.Purge.Sub(clocks[i].now()); left <= 0 || left > 2*24*time.Hour {
				t.Fatalf("node %d: %q purged in %s, want about a day", i, it.Title, left)
			}
		}
	}
	// A worker at B restores the passport; A gets it back too.
	var passport vault.Entry
	for _, d := range docs {
		if d.Title == "Passeport" {
			passport = d
		}
	}
	restored, err := b.Restore(ctx, card, passport.ID)
	if err != nil {
		t.Fatal(err)
	}
	if restored.ID == passport.ID || !restored.CID.Equals(passport.CID) {
		t.Fatalf("restored as %s (%s), want a new id for the same CID", restored.ID, restored.CID)
	}
	for i, n := range []*node.Node{b, a} {
		eventually(t, 20*time.Second, "restored document not readable", func() bool {
			d, err := n.Get(ctx, card, restored.ID)
			if err != nil {
				return false
			}
			defer d.Close()
			got, err := io.ReadAll(d)
			return err == nil && string(got) == content["Passeport"]
		})
		_ = i
	}

	// Past the period, what was not restored is purged and collected.
	clocks[0].forward(2 * 24 * time.Hour)
	clocks[1].forward(2 * 24 * time.Hour)
	for i, n := range []*node.Node{a, b} {
		tr, err := n.Trash(ctx, card)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr) != 0 {
			t.Fatalf("node %d: %d documents still in the trash after the period", i, len(tr))
		}
		if _, err := n.GC(ctx); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if has := n.HasBlock(ctx, d.CID); has != (d.ID == passport.ID) {
				t.Fatalf("node %d: %q kept %v after the period", i, d.Title, has)
			}
		}
	}
	if _, err := a.Restore(ctx, card, docs[0].ID); err == nil || !strings.Contains(err.Error(), "trash") {
		t.Fatalf("restore after the period: %v, want a not-in-trash error", err)
	}
}
