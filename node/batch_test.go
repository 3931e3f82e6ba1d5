package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
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
		d, err := n.Get(ctx, card, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(d)
		d.Close()
		if !bytes.Equal(b, want[i]) {
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
