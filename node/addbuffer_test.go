package node

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

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
