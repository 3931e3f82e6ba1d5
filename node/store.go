package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ipfs/boxo/blockstore"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/mount"
	"github.com/ipfs/go-datastore/namespace"
	flatfs "github.com/ipfs/go-ds-flatfs"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"baluchon/internal/packds"
)

// store is the node's one embedded datastore: the encrypted blocks in
// append-only pack files (internal/packds, HOME/packs) and everything else
// (pins, heads, card pointers, and the packs' index) in leveldb with
// synchronous writes. Homes made before packs also have blocks in flatfs
// (HOME/blocks, one file per block): the pack store still reads and
// deletes those, and writes none.
//
// A block written is readable at once; callers make the blocks written so
// far durable with syncBlocks (one fsync of the pack, one synchronous
// index write) before they record anything that refers to them.
type store struct {
	flat  *flatfs.Datastore
	ldb   *leveldb.Datastore
	packs *packds.Datastore
	root  ds.Batching
	// blocks is the block store over the packs.
	blocks blockstore.Blockstore
	// fresh is blocks for blocks known to be missing: new by construction
	// (sealed under a fresh key: documents, manifest pages) or just looked
	// for (a streamed fetch). Each is written without the block store's own
	// look for a copy (the pack store still looks in its index).
	fresh blockstore.Blockstore
}

func openStore(home string) (*store, error) {
	dir := filepath.Join(home, blocksDir)
	// flatfs is only read and deleted from: it needs no syncs.
	flat, err := flatfs.CreateOrOpen(dir, flatfs.NextToLast(2), false)
	if err != nil {
		return nil, fmt.Errorf("open block store %s: %w", dir, err)
	}
	// No compression: the property "a node never stores plaintext" is
	// checked by scanning the home, and compression would hide from such a
	// scan what it is looking for.
	ldb, err := leveldb.NewDatastore(filepath.Join(home, datastoreDir), &leveldb.Options{Compression: opt.NoCompression})
	if err != nil {
		flat.Close()
		return nil, fmt.Errorf("open datastore %s: %w", filepath.Join(home, datastoreDir), err)
	}
	packs, err := packds.Open(filepath.Join(home, packsDir), namespace.Wrap(ldb, packIndexPrefix), packds.Options{Legacy: flat})
	if err != nil {
		flat.Close()
		ldb.Close()
		return nil, fmt.Errorf("open block store: %w", err)
	}
	root := mount.New([]mount.Mount{
		{Prefix: blocksMount, Datastore: packs},
		{Prefix: rootMount, Datastore: ldb},
	})
	return &store{
		flat:   flat,
		ldb:    ldb,
		packs:  packs,
		root:   root,
		blocks: blockstore.NewIdStore(blockstore.NewBlockstore(root)),
		fresh:  blockstore.NewIdStore(blockstore.NewBlockstore(root, blockstore.WriteThrough(true))),
	}, nil
}

// syncBlocks makes every block written (and deleted) so far durable.
func (s *store) syncBlocks() error {
	if err := s.packs.Flush(); err != nil {
		return fmt.Errorf("sync blocks to disk: %w", err)
	}
	return nil
}

func (s *store) Close() error {
	return errors.Join(s.packs.Close(), s.flat.Close(), s.ldb.Close())
}

// The keys of baluchon's own records in the datastore are in dskeys.go.

// get reads a record; ok is false when it does not exist.
func (s *store) get(ctx context.Context, k ds.Key) (b []byte, ok bool, err error) {
	b, err = s.ldb.Get(ctx, k)
	if errors.Is(err, ds.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}
