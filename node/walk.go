package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
)

// DAG walks (garbage collection, export, fetching a vault state or a
// deposited document, checking an import) are iterative, level by level,
// and bounded: a peer that links a chain of a hundred thousand tiny blocks
// gets a clear error, never a deep recursion.
//
// A vault's DAG is shallow: manifest root → document root → at most a few
// levels of a balanced UnixFS tree of 174 links per node over 1 MiB leaves
// (three levels hold 5 TB). The bounds are far above what a real vault
// needs.
const (
	// maxDAGDepth bounds the links followed from a root to a block.
	maxDAGDepth = 64
	// maxDAGBlocks bounds the blocks of one walk (a million 1 MiB blocks
	// is a terabyte).
	maxDAGBlocks = 1 << 20
)

// ErrDAGBound says that a DAG is deeper or larger than any vault.
var ErrDAGBound = errors.New("this data is deeper or larger than any vault: it was not taken")

// dagBoundError names the bound a walk went past.
func dagBoundError(root cid.Cid, what string, limit int) error {
	return fmt.Errorf("walk %s: more than %d %s: %w", root, limit, what, ErrDAGBound)
}

// offlineLinks reads links from this node's store only.
func (n *Node) offlineLinks() merkledag.GetLinks {
	return merkledag.GetLinksWithDAG(merkledag.NewDAGService(blockservice.New(n.store.blocks, nil)))
}

// walkDAG calls visit for root and every block below it, breadth first and
// each once; visit returns false to not descend below a block. Raw blocks
// have no links and are not read.
func walkDAG(ctx context.Context, root cid.Cid, getLinks merkledag.GetLinks, visit func(cid.Cid) bool) error {
	seen := cid.NewSet()
	level := []cid.Cid{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxDAGDepth {
			return dagBoundError(root, "levels of links", maxDAGDepth)
		}
		var next []cid.Cid
		for _, c := range level {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !seen.Visit(c) {
				continue
			}
			if seen.Len() > maxDAGBlocks {
				return dagBoundError(root, "blocks", maxDAGBlocks)
			}
			if !visit(c) || c.Prefix().Codec == cid.Raw {
				continue
			}
			links, err := getLinks(ctx, c)
			if err != nil {
				return fmt.Errorf("links of %s: %w", c, err)
			}
			for _, l := range links {
				next = append(next, l.Cid)
			}
		}
		level = next
	}
	return nil
}

// holdFetch registers a fetch of the DAG at root until release: a
// garbage collection keeps every block of it already here, although the
// fetch does not hold gcMu (it may last minutes, and operations must not
// wait for it).
func (n *Node) holdFetch(root cid.Cid) (release func()) {
	k := root.KeyString()
	n.sync.mu.Lock()
	n.sync.fetching[k]++
	n.sync.mu.Unlock()
	return func() {
		n.sync.mu.Lock()
		defer n.sync.mu.Unlock()
		if n.sync.fetching[k]--; n.sync.fetching[k] <= 0 {
			delete(n.sync.fetching, k)
		}
	}
}

// fetchRoots returns the roots of the fetches in flight.
func (n *Node) fetchRoots() []cid.Cid {
	n.sync.mu.Lock()
	defer n.sync.mu.Unlock()
	out := make([]cid.Cid, 0, len(n.sync.fetching))
	for k := range n.sync.fetching {
		if c, err := cid.Cast([]byte(k)); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// refusalGCInterval bounds the collections that refused fetches start.
const refusalGCInterval = 10 * time.Minute

// gcAfterRefusal collects, soon, what a fetch stopped for the quota or
// the DAG bounds brought (it is not pinned); at most once every
// refusalGCInterval, so that a peer cannot keep the node collecting.
func (n *Node) gcAfterRefusal() {
	n.sync.mu.Lock()
	due := time.Since(n.sync.refusalGC) > refusalGCInterval
	if due {
		n.sync.refusalGC = time.Now()
	}
	n.sync.mu.Unlock()
	if due {
		n.gcSoon()
	}
}

// fetchBatch is how many blocks one step of a fetch asks peers for at once.
const fetchBatch = 32

// fetchDAG fetches every block of the DAG at root that is not in the
// store yet, level by level, and makes them durable. Past budget bytes of
// new blocks (budget < 0: no limit) it stops with a *QuotaError; past the
// DAG bounds with ErrDAGBound. The blocks fetched before a stop are not
// pinned, and the next garbage collection removes them.
func (n *Node) fetchDAG(ctx context.Context, root cid.Cid, budget int64) (fetched int64, err error) {
	defer func() {
		if serr := n.store.syncBlocks(); err == nil {
			err = serr
		}
	}()
	var tracker *merkledag.ProgressTracker
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		tracker = &p.tracker
	}
	ng := merkledag.NewSession(ctx, n.dag)
	seen := cid.NewSet()
	level := []cid.Cid{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxDAGDepth {
			return fetched, dagBoundError(root, "levels of links", maxDAGDepth)
		}
		var todo []cid.Cid
		for _, c := range level {
			if seen.Visit(c) {
				todo = append(todo, c)
			}
		}
		if seen.Len() > maxDAGBlocks {
			return fetched, dagBoundError(root, "blocks", maxDAGBlocks)
		}
		var next []cid.Cid
		for len(todo) > 0 {
			if err := ctx.Err(); err != nil {
				return fetched, err
			}
			k := min(len(todo), fetchBatch)
			if budget >= 0 {
				// Ask for no more than the budget can hold (1 MiB
				// leaves), so that a stop overshoots by one block at most.
				k = max(1, min(k, int((budget-fetched)/ChunkSize)))
			}
			batch := todo[:k]
			todo = todo[k:]
			var missing []cid.Cid
			for _, c := range batch {
				if ok, _ := n.store.blocks.Has(ctx, c); ok {
					if c.Prefix().Codec == cid.Raw {
						if size, err := n.store.blocks.GetSize(ctx, c); err == nil && tracker != nil {
							tracker.Update(uint64(size))
						}
						continue
					}
					nd, err := n.dag.Get(ctx, c)
					if err != nil {
						return fetched, fmt.Errorf("get %s: %w", c, err)
					}
					if tracker != nil {
						tracker.Update(uint64(len(nd.RawData())))
					}
					for _, l := range nd.Links() {
						next = append(next, l.Cid)
					}
					continue
				}
				missing = append(missing, c)
			}
			got := 0
			for opt := range ng.GetMany(ctx, missing) {
				if opt.Err != nil {
					return fetched, fmt.Errorf("fetch: %w", opt.Err)
				}
				got++
				size := int64(len(opt.Node.RawData()))
				fetched += size
				if tracker != nil {
					tracker.Update(uint64(size))
				}
				for _, l := range opt.Node.Links() {
					next = append(next, l.Cid)
				}
			}
			if got < len(missing) {
				if err := ctx.Err(); err != nil {
					return fetched, err
				}
				return fetched, fmt.Errorf("fetch: %d of %d blocks did not come", len(missing)-got, len(missing))
			}
			if budget >= 0 && fetched > budget {
				return fetched, &QuotaError{Need: fetched, Free: budget}
			}
		}
		level = next
	}
	return fetched, nil
}
