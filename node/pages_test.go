package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// commitV1 writes m as a state of version 1, as baluchon wrote every
// state before paged manifests: one encrypted manifest, and every
// document linked from the root.
func (n *Node) commitV1(ctx context.Context, s *session, m *vault.Manifest) error {
	var buf bytes.Buffer
	if err := m.Encrypt(&buf, s.keys.Recipient()); err != nil {
		return err
	}
	root := &stateRoot{grants: map[peer.ID]ipld.Node{}, shares: map[peer.ID]ipld.Node{}}
	var err error
	if root.body, err = n.addStream(&buf); err != nil {
		return err
	}
	if root.public, err = n.putRawNode(ctx, s.public.Marshal()); err != nil {
		return err
	}
	for _, e := range m.Entries() {
		nd, err := n.dag.Get(ctx, e.CID)
		if err != nil {
			return err
		}
		root.docs = append(root.docs, nd)
	}
	s.manifest = m
	return n.commitRoot(ctx, s, root)
}

// TestOldStatesReadAndUpgrade writes a vault state of version 1, reads
// it, and checks that the next change writes version 2 with every
// document, old and new, readable.
func TestOldStatesReadAndUpgrade(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	m := vault.Merge(s.manifest, nil)
	want := map[string][]byte{}
	for i := range 40 {
		b := bytes.Repeat([]byte{byte(i)}, 500+i)
		root, size, err := n.storeEncrypted(bytes.NewReader(b), 0, s.keys.EncryptDocument)
		if err != nil {
			t.Fatal(err)
		}
		e := vault.Entry{ID: vault.NewDocumentID(nil), CID: root.Cid(), Size: size, Title: fmt.Sprint(i), Added: n.now()}
		if err := m.Add(e); err != nil {
			t.Fatal(err)
		}
		want[e.ID] = b
	}
	err = n.commitV1(ctx, s, m)
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if paged(t, n, v) {
		t.Fatal("commitV1 wrote a paged state")
	}
	check := func(when string) {
		t.Helper()
		_, entries, err := n.List(ctx, card)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(entries) != len(want) {
			t.Fatalf("%s: %d documents, want %d", when, len(entries), len(want))
		}
		for id, b := range want {
			d, err := n.Get(ctx, card, id)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			got, _ := io.ReadAll(d)
			d.Close()
			if !bytes.Equal(got, b) {
				t.Fatalf("%s: document %s reads back wrong", when, id)
			}
		}
	}
	check("version 1")
	e, err := n.Add(ctx, card, bytes.NewReader([]byte("nouveau")), DocMeta{Title: "après"})
	if err != nil {
		t.Fatal(err)
	}
	want[e.ID] = []byte("nouveau")
	if !paged(t, n, v) {
		t.Fatal("the change after a state of version 1 did not write version 2")
	}
	check("upgraded")
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a collection")
}

// paged reports whether the current state of v is of version 2.
func paged(t *testing.T, n *Node, v vault.VaultID) bool {
	t.Helper()
	front, err := n.frontier(context.Background(), v)
	if err != nil || len(front) != 1 {
		t.Fatalf("frontier: %d heads, %v", len(front), err)
	}
	rl, err := n.readRoot(context.Background(), front[0].Manifest)
	if err != nil {
		t.Fatal(err)
	}
	return rl.paged
}

// TestCommitWritesTheChange checks that adding a document to a vault of
// many writes a few small blocks, not the whole manifest.
func TestCommitWritesTheChange(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.AddBatch(ctx, card, func(add AddFunc) error {
		for i := range 300 {
			if _, err := add(bytes.NewReader([]byte{byte(i)}), DocMeta{Title: fmt.Sprintf("un titre assez long pour peser, numéro %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := blockBytes(t, n)
	if _, err := n.Add(ctx, card, bytes.NewReader([]byte("x")), DocMeta{Title: "un de plus"}); err != nil {
		t.Fatal(err)
	}
	written := blockBytes(t, n) - before
	// The index (an age file of about 2 kB), the root (4 page links),
	// one page of about 75 entries (25 kB) and its node, the head, the
	// public state, the document: well under what one manifest of 300
	// entries weighs (about 100 kB).
	if written > 50_000 { // a page of 4 can hold 100 entries, rarely
		t.Fatalf("adding one document to 300 wrote %d bytes of blocks", written)
	}
	t.Logf("adding one document to 300 wrote %d bytes of blocks", written)
}

func blockBytes(t *testing.T, n *Node) int64 {
	t.Helper()
	ch, err := n.store.blocks.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for c := range ch {
		size, err := n.store.blocks.GetSize(context.Background(), cid.NewCidV1(cid.Raw, c.Hash()))
		if err != nil {
			t.Fatal(err)
		}
		total += int64(size)
	}
	return total
}

// TestSupersededStates checks that a state superseded by one that adds
// documents is kept for the grace only (its blocks leave at the
// collection after it), and that one superseded by a deletion is kept for
// the trash period.
func TestSupersededStates(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		e, err := n.Add(ctx, card, bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 3000)), DocMeta{Title: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	// kept counts the superseded states kept for longer than the grace.
	kept := func() int {
		ks, err := n.keptStates(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		brief := n.now().Add(-n.trashPeriod() + supersededGrace + time.Minute)
		long := 0
		for _, k := range ks {
			if k.since.After(brief) {
				long++
			}
		}
		return long
	}
	if k := kept(); k != 0 {
		t.Fatalf("%d states kept for the trash period after adds only, want 0", k)
	}
	if err := n.Remove(ctx, card, ids[0]); err != nil {
		t.Fatal(err)
	}
	if k := kept(); k != 1 {
		t.Fatalf("%d states kept for the trash period after a deletion, want 1", k)
	}
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	// The deleted document is restorable, its blocks here.
	trash, err := n.Trash(ctx, card)
	if err != nil || len(trash) != 1 || trash[0].ID != ids[0] {
		t.Fatalf("trash after a deletion: %v, %v", trash, err)
	}
}

// TestPageLinkSizes: the pages of a state link each document with its
// true size, whether it was sized when added, carried from the page it
// was in (a page rewritten for another document), or carried across a
// change of the number of pages.
func TestPageLinkSizes(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add := func(count, size int) {
		t.Helper()
		_, err := n.AddBatch(ctx, card, func(add AddFunc) error {
			for i := range count {
				if _, err := add(bytes.NewReader(make([]byte, size+i)), DocMeta{Title: fmt.Sprintf("doc %d", i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) int {
		t.Helper()
		s, err := n.open(ctx, card)
		if err != nil {
			t.Fatal(err)
		}
		if s.paged == nil {
			t.Fatalf("%s: the state is not paged", when)
		}
		docs := 0
		for _, pl := range s.paged.links {
			pn, err := n.dag.Get(ctx, pl.Cid)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range pn.Links() {
				if l.Name != linkDocument {
					continue
				}
				docs++
				d, err := n.dag.Get(ctx, l.Cid)
				if err != nil {
					t.Fatal(err)
				}
				if want, _ := d.Size(); l.Size != want {
					t.Fatalf("%s: document %s linked with size %d, want %d", when, l.Cid, l.Size, want)
				}
			}
		}
		if docs != s.manifest.Items() {
			t.Fatalf("%s: %d documents linked, want %d", when, docs, s.manifest.Items())
		}
		return s.paged.index.Bits
	}
	add(3, 2*ChunkSize) // documents of several blocks
	add(40, 1000)       // one block each
	check("after two batches")
	add(1, 10)
	bits := check("after one more document")
	add(400, 10) // more pages
	if check("after the number of pages changed") == bits {
		t.Fatalf("444 documents are still in pages of %d bits: the test misses its case", bits)
	}
}
