package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// TestGetMany checks that GetMany gives the documents asked for, in the
// order asked, every document when none is named, and none at all when
// one of those named is not in the vault.
func TestGetMany(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	var ids []string
	_, err = n.AddBatch(ctx, card, func(add AddFunc) error {
		for i := range 5 {
			b := bytes.Repeat([]byte{byte(i + 1)}, 700*(i+1))
			e, err := add(bytes.NewReader(b), DocMeta{Title: fmt.Sprintf("doc %d", i)})
			if err != nil {
				return err
			}
			want[e.ID] = b
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func(ask []string) ([]string, error) {
		var got []string
		err := n.GetMany(ctx, card, ask, func(d *Document) error {
			b, err := io.ReadAll(d)
			if err != nil {
				return err
			}
			if !bytes.Equal(b, want[d.ID]) {
				return fmt.Errorf("document %s: %d bytes read, want %d", d.ID, len(b), len(want[d.ID]))
			}
			got = append(got, d.ID)
			return nil
		})
		return got, err
	}
	ask := []string{ids[3], ids[0], ids[4]}
	got, err := read(ask)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(ask) {
		t.Fatalf("GetMany(%v) gave %v", ask, got)
	}
	got, err = read(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("GetMany of every document gave %d of %d", len(got), len(ids))
	}
	got, err = read([]string{ids[1], "no-such-document"})
	if nd := (*NoDocumentError)(nil); !errors.As(err, &nd) || len(got) != 0 {
		t.Fatalf("GetMany with an unknown id: %v after %d documents, want a NoDocumentError before any", err, len(got))
	}
	stop := errors.New("stop")
	k := 0
	err = n.GetMany(ctx, card, ids, func(*Document) error { k++; return stop })
	if !errors.Is(err, stop) || k != 1 {
		t.Fatalf("an error of each: %v after %d documents, want it after 1", err, k)
	}
}

// TestGetManyReadsAhead: one-block documents (read and decrypted ahead)
// and larger ones (streamed) come in the order asked, each whole; a
// document whose block is gone stops GetMany at it, after every one
// before it, and with its id.
func TestGetManyReadsAhead(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{10, ChunkSize + 5, 0, 50_000, 3 * ChunkSize, 1000, smallDocument, 7, 7, 200_000, ChunkSize, 1}
	want := map[string][]byte{}
	entries, err := n.AddBatch(ctx, card, func(add AddFunc) error {
		for i, size := range sizes {
			b := make([]byte, size)
			rand.NewChaCha8([32]byte{byte(i)}).Read(b)
			e, err := add(bytes.NewReader(b), DocMeta{Title: fmt.Sprint(i)})
			if err != nil {
				return err
			}
			want[e.ID] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var ask []string
	for i := len(entries) - 1; i >= 0; i-- {
		ask = append(ask, entries[i].ID)
	}
	var got []string
	read := func(ctx context.Context) error {
		got = nil
		return n.GetMany(ctx, card, ask, func(d *Document) error {
			b, err := io.ReadAll(d)
			if err != nil {
				return err
			}
			if !bytes.Equal(b, want[d.ID]) {
				return fmt.Errorf("document %s: %d bytes, want %d", d.ID, len(b), len(want[d.ID]))
			}
			got = append(got, d.ID)
			return nil
		})
	}
	if err := read(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ask) {
		t.Fatalf("gave %v, want %v", got, ask)
	}
	// The block of the 4th asked (sizes[8], one block) goes: the three
	// before it come, then its error.
	gone := slices.IndexFunc(entries, func(e vault.Entry) bool { return e.ID == ask[3] })
	if entries[gone].CID.Prefix().Codec != cid.Raw {
		t.Fatalf("document %d is not one block", gone)
	}
	if err := n.store.blocks.DeleteBlock(ctx, entries[gone].CID); err != nil {
		t.Fatal(err)
	}
	// Long enough for the card session and the three before it on a
	// loaded machine; the missing block is waited for until then.
	short, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	err = read(short)
	if err == nil || !strings.Contains(err.Error(), ask[3]) || !slices.Equal(got, ask[:3]) {
		t.Fatalf("with a block gone: %v after %v, want an error naming %s after %v", err, got, ask[3], ask[:3])
	}
}
