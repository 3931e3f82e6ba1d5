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
		n.gcSoon(false)
	}
}
