package packds_test

import (
	"context"
	"fmt"
	"log"
	"os"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"baluchon/internal/packds"
)

// A block is readable as soon as it is put, and durable once synced:
// Sync writes its index entry after its pack is on disk.
func Example() {
	dir, err := os.MkdirTemp("", "packs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	// The node keeps the index in its leveldb; any datastore will do.
	index := dssync.MutexWrap(ds.NewMapDatastore())
	store, err := packds.Open(dir, index, packds.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	key := ds.NewKey("CIQBLOCK")
	if err := store.Put(ctx, key, []byte("an encrypted block")); err != nil {
		log.Fatal(err)
	}
	inIndex, _ := index.Has(ctx, key)
	fmt.Println("indexed before Sync:", inIndex)
	if err := store.Sync(ctx, ds.NewKey("/")); err != nil {
		log.Fatal(err)
	}
	inIndex, _ = index.Has(ctx, key)
	b, _ := store.Get(ctx, key)
	fmt.Println("indexed after Sync:", inIndex)
	fmt.Printf("%s\n", b)

	if err := store.Delete(ctx, key); err != nil {
		log.Fatal(err)
	}
	res, err := store.Compact(ctx, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("packs removed:", res.Removed)
	// Output:
	// indexed before Sync: false
	// indexed after Sync: true
	// an encrypted block
	// packs removed: 1
}
