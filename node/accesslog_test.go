package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"baluchon/proto"
	"baluchon/vault"
)

// logRecordCount is the number of access-log records of vault v here,
// once the pending ones are written.
func logRecordCount(t *testing.T, n *Node, v vault.VaultID) int {
	t.Helper()
	n.flushLog(context.Background())
	k := 0
	for _, r := range n.collectRecords(context.Background(), v) {
		if r.Kind == proto.RecordLog {
			k++
		}
	}
	return k
}

// TestBatchLogEntries: a batch of 500 documents writes 3 access-log
// records at most (one sealed entry names up to about 200 documents), a
// download of all of them a few, and the access log still reads one
// line per document and action.
func TestBatchLogEntries(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := logRecordCount(t, n, v)
	added, err := n.AddBatch(ctx, card, func(add AddFunc) error {
		for i := range 500 {
			if _, err := add(bytes.NewReader([]byte{byte(i)}), DocMeta{Title: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	afterAdd := logRecordCount(t, n, v)
	if k := afterAdd - before; k < 1 || k > 3 {
		t.Fatalf("a batch of 500 wrote %d log records, want 1 to 3", k)
	}
	got := 0
	if err := n.GetMany(ctx, card, nil, func(*Document) error { got++; return nil }); err != nil || got != 500 {
		t.Fatalf("get every document: %d (%v)", got, err)
	}
	// 3 entries of up to 200, and one more each 250 ms the download
	// lasts (a loaded machine): far from one per document.
	if k := logRecordCount(t, n, v) - afterAdd; k < 1 || k > 50 {
		t.Fatalf("a download of 500 wrote %d log records, want 1 to 50", k)
	}
	lines, err := n.AccessLog(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, l := range lines {
		if l.Action == vault.ActionAdd || l.Action == vault.ActionGet {
			seen[l.Action+" "+l.DocID]++
			if l.Who != n.Name() {
				t.Fatalf("line %+v: who %q, want %q", l, l.Who, n.Name())
			}
		}
	}
	for _, e := range added {
		if seen["add "+e.ID] != 1 || seen["get "+e.ID] != 1 {
			t.Fatalf("document %s (%s): %d add lines and %d get lines, want 1 each", e.ID, e.Title, seen["add "+e.ID], seen["get "+e.ID])
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("%d add and get lines, want 1000", len(seen))
	}
}

// TestDownloadLogsAsItGoes: a download that waits (a slow reader) has
// the entry of what it gave written within logFlushDelay, not at its end.
func TestDownloadLogsAsItGoes(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := n.Add(ctx, card, bytes.NewReader([]byte{byte(i)}), DocMeta{Title: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := logRecordCount(t, n, v)
	k := 0
	err = n.GetMany(ctx, card, nil, func(*Document) error {
		k++
		if k > 1 {
			return nil
		}
		// The reader stalls on the first document: its entry comes all
		// the same.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if logRecordCount(t, n, v) > before {
				return nil
			}
		}
		return errors.New("no entry written 5 s into a download stalled on its first document")
	})
	if err != nil {
		t.Fatal(err)
	}
	if k := logRecordCount(t, n, v) - before; k < 2 || k > 3 {
		t.Fatalf("a download of 3 that stalled on its first wrote %d log records, want 2 or 3", k)
	}
}
