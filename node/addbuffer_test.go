package node

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"

	"baluchon/vault"
)

// countingStore counts the blocks written one by one and the batches.
type countingStore struct {
	ds.Batching
	puts, batches atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, k ds.Key, v []byte) error {
	c.puts.Add(1)
	return c.Batching.Put(ctx, k, v)
}

func (c *countingStore) Batch(ctx context.Context) (ds.Batch, error) {
	c.batches.Add(1)
	return c.Batching.Batch(ctx)
}

// TestAddBufferedWritesInBatches checks that a document's blocks are
// written in batches, not one Put each, and that all are in the store,
// readable, once the add returns.
func TestAddBufferedWritesInBatches(t *testing.T) {
	store := &countingStore{Batching: dssync.MutexWrap(ds.NewMapDatastore())}
	dag := merkledag.NewDAGService(blockservice.New(blockstore.NewBlockstore(store), nil))
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	doc := make([]byte, 6*ChunkSize+1234)
	rand.NewChaCha8([32]byte{7}).Read(doc)
	var size int64
	root, err := addBuffered(dag, func(d ipld.DAGService) (ipld.Node, error) {
		nd, k, err := storeEncryptedTo(d, bytes.NewReader(doc), 0, keys.EncryptDocument)
		size = k
		return nd, err
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1 header leaf, 7 payload leaves, 1 root.
	if p, b := store.puts.Load(), store.batches.Load(); p != 0 || b == 0 || b >= 9 {
		t.Fatalf("9 blocks written with %d puts and %d batches, want none and fewer batches than blocks", p, b)
	}
	r, err := uio.NewDagReader(context.Background(), root, dag)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := keys.DecryptDocument(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(pr)
	if err != nil || !bytes.Equal(got, doc) || size != int64(len(doc)) {
		t.Fatalf("read back %d bytes (size %d), want %d: %v", len(got), size, len(doc), err)
	}
}

// TestLockedDAGWritesBack: a batch's DAG service starts a sync in the
// background every writeBackEvery bytes added, never two at once, and its
// Commit waits for the one under way.
func TestLockedDAGWritesBack(t *testing.T) {
	store := dssync.MutexWrap(ds.NewMapDatastore())
	dag := merkledag.NewDAGService(blockservice.New(blockstore.NewBlockstore(store), nil))
	var syncs, running, overlap atomic.Int32
	release := make(chan struct{})
	d := newLockedDAG(ipld.NewBufferedDAG(context.Background(), dag), func() error {
		if running.Add(1) > 1 {
			overlap.Add(1)
		}
		defer running.Add(-1)
		syncs.Add(1)
		<-release
		return nil
	})
	block := make([]byte, 1<<20)
	for i := range 3 * writeBackEvery >> 20 {
		block[0], block[1] = byte(i), byte(i>>8)
		nd, err := merkledag.NewRawNodeWPrefix(append([]byte(nil), block...), rawPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Add(context.Background(), nd); err != nil {
			t.Fatal(err)
		}
	}
	// The first sync is held: the two later thresholds found it under way.
	// (It starts in its own goroutine: wait for it, 10 s at most.)
	for deadline := time.Now().Add(10 * time.Second); syncs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := syncs.Load(); got != 1 {
		t.Fatalf("%d syncs started while the first was held, want 1", got)
	}
	done := make(chan error, 1)
	go func() { done <- d.Commit() }()
	select {
	case <-done:
		t.Fatal("Commit returned while a sync was under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if overlap.Load() != 0 {
		t.Fatal("two syncs ran at once")
	}
}
