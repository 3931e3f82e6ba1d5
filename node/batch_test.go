package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// TestAddBatchOneState checks that a batch of documents becomes one new
// vault state (one head), that every document reads back, and that a
// batch whose caller fails commits nothing.
func TestAddBatchOneState(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seq := func() uint64 {
		front, err := n.frontier(ctx, v)
		if err != nil || len(front) != 1 {
			t.Fatalf("frontier: %d heads, %v", len(front), err)
		}
		return front[0].Seq
	}
	before := seq()
	var want [][]byte
	added, err := n.AddBatch(ctx, card, func(add AddFunc) error {
		for i := range 5 {
			b := bytes.Repeat([]byte{byte(i)}, 1000*(i+1))
			want = append(want, b)
			if _, err := add(bytes.NewReader(b), DocMeta{Title: fmt.Sprintf("doc %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := seq(); got != before+1 {
		t.Fatalf("a batch of 5 took the vault from state %d to %d, want one state", before, got)
	}
	for i, e := range added {
		if b := readBack(t, n, card, e.ID); !bytes.Equal(b, want[i]) {
			t.Fatalf("document %d reads back %d bytes, want %d", i, len(b), len(want[i]))
		}
	}

	stop := errors.New("stop")
	_, err = n.AddBatch(ctx, card, func(add AddFunc) error {
		if _, err := add(bytes.NewReader([]byte("not kept")), DocMeta{Title: "no"}); err != nil {
			return err
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("failed batch: %v, want its error", err)
	}
	_, entries, err := n.List(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 || seq() != before+1 {
		t.Fatalf("a failed batch changed the vault: %d documents, state %d", len(entries), seq())
	}
}

// TestAddBatchLayouts: in one batch, documents whose age file fits in one
// leaf are one raw block (stored by the batch's workers), larger ones a
// DAG whose first leaf is the header; the entries come back in the order
// added, complete, each reads back byte for byte, and each has its "add"
// line in the access log.
func TestAddBatchLayouts(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1, 1000, smallDocument, smallDocument + 1, ChunkSize, 3*ChunkSize + 5, 20_000}
	var want [][]byte
	var ids []string
	added, err := n.AddBatch(ctx, card, func(add AddFunc) error {
		for i, size := range sizes {
			b := make([]byte, size)
			rand.NewChaCha8([32]byte{byte(i)}).Read(b)
			want = append(want, b)
			e, err := add(bytes.NewReader(b), DocMeta{Title: fmt.Sprintf("doc %d", i)})
			if err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != len(sizes) {
		t.Fatalf("%d entries, want %d", len(added), len(sizes))
	}
	for i, e := range added {
		if e.ID != ids[i] || e.Size != int64(sizes[i]) || !e.CID.Defined() {
			t.Fatalf("entry %d: %s, %d bytes, CID %v; want %s, %d bytes, a CID", i, e.ID, e.Size, e.CID, ids[i], sizes[i])
		}
		oneBlock := e.CID.Prefix().Codec == cid.Raw
		if fits := sizes[i] <= smallDocument+1; oneBlock != fits {
			t.Errorf("document %d of %d bytes: one block %v, want %v", i, sizes[i], oneBlock, fits)
		}
		if oneBlock {
			if s, err := n.store.blocks.GetSize(ctx, e.CID); err != nil || s > ChunkSize {
				t.Errorf("document %d: block of %d bytes (%v), over one leaf", i, s, err)
			}
		}
		if b := readBack(t, n, card, e.ID); !bytes.Equal(b, want[i]) {
			t.Fatalf("document %d reads back %d bytes, want %d", i, len(b), len(want[i]))
		}
	}
	logged := map[string]bool{}
	lines, err := n.AccessLog(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l.Action == vault.ActionAdd {
			logged[l.DocID] = true
		}
	}
	for i, id := range ids {
		if !logged[id] {
			t.Errorf("document %d has no \"add\" line in the access log", i)
		}
	}
}

// TestRekeyOneBlockDocument: a card replacement gives a one-block document
// a new header over the same payload bytes (no re-encryption), which the
// new keys open and the old ones do not.
func TestRekeyOneBlockDocument(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := make([]byte, 200_000)
	rand.NewChaCha8([32]byte{9}).Read(doc)
	e, err := n.Add(ctx, card, bytes.NewReader(doc), DocMeta{Title: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	if e.CID.Prefix().Codec != cid.Raw {
		t.Fatalf("a 200 kB document is not one block: %v", e.CID)
	}
	s, err := n.open(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	to, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	var st RekeyStats
	nc, err := n.rekeyDocument(ctx, s.keys, to, e.CID, &st)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rekeyed != 1 || st.Reencrypted != 0 {
		t.Fatalf("rekey of a one-block document: %+v, want a new header only", st)
	}
	oldFile, err := n.getRaw(ctx, e.CID, ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	newFile, err := n.getRaw(ctx, nc, ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	oldHdr, _ := vault.ReadHeader(bufio.NewReader(bytes.NewReader(oldFile)))
	newHdr, _ := vault.ReadHeader(bufio.NewReader(bytes.NewReader(newFile)))
	if !bytes.Equal(oldFile[len(oldHdr):], newFile[len(newHdr):]) {
		t.Fatal("the payload changed: the document was re-encrypted")
	}
	r, err := to.DecryptDocument(bytes.NewReader(newFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("the new keys read %d bytes (%v), want the document", len(got), err)
	}
	if _, err := s.keys.DecryptDocument(bytes.NewReader(newFile)); err == nil {
		t.Fatal("the old keys open the re-keyed document")
	}
}

// readBack reads document id of the vault of card at n.
func readBack(t *testing.T, n *Node, card *vault.Card, id string) []byte {
	t.Helper()
	d, err := n.Get(context.Background(), card, id)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
