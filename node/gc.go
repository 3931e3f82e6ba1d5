package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// Garbage collection: blocks that no pin reaches any more (the manifests of
// superseded states, a document refused half-way, a CAR's index, and above
// all the ciphertext of a vault whose keys were rotated) are deleted by a
// mark-and-sweep over the pinner's keys.
//
// Every operation that writes blocks and pins them afterwards holds
// gcMu for reading from its first block to its pin (opHold); a collection
// holds it for writing, so it never sees a block written but not yet
// pinned. A fetch from peers instead names its root while it runs
// (holdFetch), and a collection keeps what those roots reach: a sync
// that waits minutes on a slow or silent peer holds no lock that a
// collection, and every operation queued behind it, would wait for.

// opHold marks an operation that writes and pins blocks. It returns the
// release. Operations do not nest it.
func (n *Node) opHold() func() {
	n.gcMu.RLock()
	return n.gcMu.RUnlock
}

// GCResult tells what a collection did.
type GCResult struct {
	Kept    int   `json:"kept"`
	Removed int   `json:"removed"`
	Freed   int64 `json:"freed_bytes"`
}

// GC unpins the superseded states kept for over a trash period (see
// trash.go), then deletes every block that no pin reaches.
func (n *Node) GC(ctx context.Context) (*GCResult, error) {
	return n.gc(ctx, false)
}

// gc is GC, with wipe as collect has it.
func (n *Node) gc(ctx context.Context, wipe bool) (*GCResult, error) {
	n.expireKept(ctx)
	n.gcMu.Lock()
	defer n.gcMu.Unlock()
	return n.collect(ctx, wipe)
}

// collect deletes every block that no pin reaches, then compacts the
// packs. With wipe, every pack that holds a deleted block is rewritten
// (after a key rotation: no byte of the old ciphertext stays in a file);
// without, only packs with many dead bytes are, so that a collection
// costs what it frees. The caller holds gcMu.
func (n *Node) collect(ctx context.Context, wipe bool) (*GCResult, error) {
	// The blocks are listed before anything is marked: a block that a
	// fetch in flight (which does not hold gcMu) writes after the listing
	// is not a candidate, and one written before it is reached from the
	// fetch's root, which is marked below.
	ch, err := n.store.blocks.AllKeysChan(ctx)
	if err != nil {
		return nil, err
	}
	var all []cid.Cid
	for c := range ch {
		all = append(all, c)
	}
	// The block store knows blocks by multihash (it lists them as raw
	// CIDs), so what is kept is a set of multihashes.
	// The fetches in flight are read before the pins: a fetch pins its
	// root before it lets go of it (adoptHeads), so that a DAG is at every
	// moment in one list or the other, and a fetch needs no opHold while it
	// waits on the network.
	fetching := n.fetchRoots()
	keep := map[string]bool{}
	seen := cid.NewSet()
	visit := func(c cid.Cid) bool {
		keep[string(c.Hash())] = true
		return seen.Visit(c)
	}
	offline := n.offlineLinks()
	for _, recursive := range []bool{true, false} {
		for p := range n.pinsNamed(ctx, recursive) {
			if !recursive {
				visit(p.c)
				continue
			}
			err := walkDAG(ctx, p.c, offline, visit)
			if err != nil {
				// A pinned DAG that cannot be walked: keep everything
				// rather than guess.
				return nil, fmt.Errorf("walk pinned %s: %w; nothing was deleted", p.c, err)
			}
		}
	}
	// What fetches in flight have brought so far: every block here that
	// their roots reach.
	partial := func(ctx context.Context, c cid.Cid) ([]*ipld.Link, error) {
		ls, err := offline(ctx, c)
		if ipld.IsNotFound(err) {
			return nil, nil
		}
		return ls, err
	}
	for _, root := range fetching {
		if err := walkDAG(ctx, root, partial, visit); err != nil && !errors.Is(err, ErrDAGBound) {
			return nil, fmt.Errorf("walk fetch in flight %s: %w; nothing was deleted", root, err)
		}
	}
	res := &GCResult{}
	for _, c := range all {
		if keep[string(c.Hash())] {
			res.Kept++
			continue
		}
		size, _ := n.store.blocks.GetSize(ctx, c)
		if err := n.store.blocks.DeleteBlock(ctx, c); err != nil {
			return res, fmt.Errorf("delete block %s: %w", c, err)
		}
		res.Removed++
		res.Freed += int64(size)
	}
	if err := n.store.syncBlocks(); err != nil {
		return res, err
	}
	// The deleted blocks' bytes leave the disk when their packs are
	// compacted (internal/packds).
	packs, err := n.store.packs.Compact(ctx, wipe)
	if err != nil {
		return res, fmt.Errorf("compact the block packs: %w", err)
	}
	n.log.Info("garbage collected", "removed", res.Removed, "freed_bytes", res.Freed, "kept", res.Kept,
		"packs_removed", packs.Removed, "packs_rewritten", packs.Rewritten, "blocks_moved", packs.Moved)
	return res, nil
}

// gcSoon runs a collection once the current operations are done: after a
// key rotation, with wipe, so that the old ciphertext leaves the disk;
// after a fetch stopped for the quota or the DAG bounds (gcAfterRefusal).
func (n *Node) gcSoon(wipe bool) {
	n.goRun(func(ctx context.Context) {
		if _, err := n.gc(ctx, wipe); err != nil {
			n.log.Warn("garbage collection failed", "err", err)
		}
	})
}

// HasBlock reports whether the node's store holds block c.
func (n *Node) HasBlock(ctx context.Context, c cid.Cid) bool {
	ok, err := n.store.blocks.Has(ctx, c)
	return err == nil && ok
}
