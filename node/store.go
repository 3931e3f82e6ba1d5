package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ipfs/boxo/blockstore"
	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/mount"
	flatfs "github.com/ipfs/go-ds-flatfs"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// store is the node's one embedded datastore, laid out like Kubo's: the
// encrypted blocks in flatfs (one file per block, written to a temporary
// file then renamed) and everything else (pins, heads, card pointers) in
// leveldb with synchronous writes.
//
// Blocks are written without a per-file fsync; callers make a batch of
// blocks durable with syncBlocks (one syncfs for a whole document) before
// they record anything that refers to them.
type store struct {
	flat   *flatfs.Datastore
	ldb    *leveldb.Datastore
	root   ds.Batching
	blocks blockstore.Blockstore
	// fresh is blocks for blocks known to be missing: new by construction
	// (sealed under a fresh key: documents, manifest pages) or just looked
	// for (a streamed fetch). Each is written without another look for a
	// copy, a file lookup less per block (two through a block service).
	fresh blockstore.Blockstore
	// blocksDir is kept open for syncfs.
	blocksDir *os.File
}

func openStore(home string) (*store, error) {
	dir := filepath.Join(home, blocksDir)
	flat, err := flatfs.CreateOrOpen(dir, flatfs.NextToLast(2), flatfsSync)
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
	d, err := os.Open(dir)
	if err != nil {
		flat.Close()
		ldb.Close()
		return nil, err
	}
	root := mount.New([]mount.Mount{
		{Prefix: blocksMount, Datastore: flat},
		{Prefix: rootMount, Datastore: ldb},
	})
	return &store{
		flat:      flat,
		ldb:       ldb,
		root:      root,
		blocks:    blockstore.NewIdStore(blockstore.NewBlockstore(root)),
		fresh:     blockstore.NewIdStore(blockstore.NewBlockstore(root, blockstore.WriteThrough(true))),
		blocksDir: d,
	}, nil
}

// syncBlocks makes every block written so far durable: on Linux one
// syncfs(2) of the file system that holds the blocks, instead of one fsync
// per block (elsewhere flatfs syncs each block, syncfs_other.go).
func (s *store) syncBlocks() error {
	if err := syncFS(s.blocksDir); err != nil {
		return fmt.Errorf("sync blocks to disk: %w", err)
	}
	return nil
}

func (s *store) Close() error {
	return errors.Join(s.blocksDir.Close(), s.flat.Close(), s.ldb.Close())
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
