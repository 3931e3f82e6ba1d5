package node

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// A fetch is pipelined: one bitswap session for the whole DAG, and up to
// fetchWorkers batches of fetchBatch blocks asked at once (at most 64
// blocks of at most 1 MiB in flight, for a small machine's memory), each batch's
// links queued as soon as it arrives, so that the documents of a vault
// come in parallel and no level waits for the slowest block of the one
// before. The DAG bounds and the budget hold as in a walk level by level:
// the depth of each block is known, and the blocks asked never exceed
// what the budget can hold (1 MiB leaves).
const (
	// fetchBatch is how many blocks one request of a fetch asks for.
	fetchBatch = 16
	// fetchWorkers is how many requests of a fetch are in flight at once.
	// More (8 × 32, 32 × 32) fetched no faster here: a fetch is bounded
	// by the block store's writes, not by round trips.
	fetchWorkers = 4
	// freeAfterFetch: past this many bytes fetched, the memory the fetch
	// used goes back to the system at once (an idle node stays small).
	freeAfterFetch = 32 << 20
)

// fetchDAG fetches every block of the DAG at root that is not in the
// store yet and makes them durable. Past budget bytes of new blocks
// (budget < 0: no limit) it stops with a *QuotaError; past the DAG bounds
// with ErrDAGBound. The blocks fetched before a stop are not pinned, and
// the next garbage collection removes them.
func (n *Node) fetchDAG(ctx context.Context, root cid.Cid, budget int64) (fetched int64, err error) {
	defer func() {
		if serr := n.store.syncBlocks(); err == nil {
			err = serr
		}
		if fetched > freeAfterFetch {
			debug.FreeOSMemory()
		}
	}()
	var tracker *merkledag.ProgressTracker
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		tracker = &p.tracker
	}
	// streamed: the blocks a DAG stream counted in tracker, which the
	// walk below does not count again.
	var streamed *dagProgress
	if first, _ := ctx.Value(dagStreamKey{}).(bool); first {
		if !n.begunHere(ctx, root) {
			// A first open: the DAG in one stream (dagstream.go); a
			// stream cut or refused leaves the rest to bitswap, and a
			// fetch resumed finds blocks below the root here and takes
			// only the rest.
			if tracker != nil {
				streamed = newDAGProgress(tracker)
			}
			got, complete, err := n.streamDAG(ctx, root, budget, streamed)
			fetched += got
			if err != nil || complete {
				return fetched, err
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ng := merkledag.NewSession(ctx, n.dag)
	count := func(c cid.Cid, size int) {
		if tracker != nil && !streamed.has(c) {
			tracker.Update(uint64(size))
		}
	}

	type item struct {
		c     cid.Cid
		depth int
	}
	type result struct {
		asked int
		size  int64 // bytes fetched from peers
		next  []item
		err   error
	}
	// fetchOne fetches a batch and returns the links below its blocks.
	fetchOne := func(batch []item) result {
		res := result{asked: len(batch)}
		depth := make(map[cid.Cid]int, len(batch))
		var missing []cid.Cid
		links := func(nd ipld.Node) {
			for _, l := range nd.Links() {
				res.next = append(res.next, item{l.Cid, depth[nd.Cid()] + 1})
			}
		}
		for _, it := range batch {
			c := it.c
			depth[c] = it.depth
			if ok, _ := n.store.blocks.Has(ctx, c); !ok {
				missing = append(missing, c)
				continue
			}
			if c.Prefix().Codec == cid.Raw {
				if size, err := n.store.blocks.GetSize(ctx, c); err == nil {
					count(c, size)
				}
				continue
			}
			nd, err := n.dag.Get(ctx, c)
			if err != nil {
				res.err = fmt.Errorf("get %s: %w", c, err)
				return res
			}
			count(c, len(nd.RawData()))
			links(nd)
		}
		got := 0
		for opt := range ng.GetMany(ctx, missing) {
			if opt.Err != nil {
				res.err = fmt.Errorf("fetch: %w", opt.Err)
				return res
			}
			got++
			size := int64(len(opt.Node.RawData()))
			res.size += size
			count(opt.Node.Cid(), int(size))
			links(opt.Node)
		}
		if got < len(missing) {
			if err := ctx.Err(); err != nil {
				res.err = err
			} else {
				res.err = fmt.Errorf("fetch: %d of %d blocks did not come", len(missing)-got, len(missing))
			}
		}
		return res
	}

	seen := cid.NewSet()
	seen.Add(root)
	queue := []item{{root, 0}}
	results := make(chan result, fetchWorkers)
	inflight, inflightBlocks := 0, 0
	defer func() {
		cancel()
		for ; inflight > 0; inflight-- {
			<-results
		}
	}()
	for len(queue) > 0 || inflight > 0 {
		// Ask for more while workers are free and the budget allows.
		for len(queue) > 0 && inflight < fetchWorkers {
			room := fetchBatch
			if budget >= 0 {
				room = min(room, int((budget-fetched)/ChunkSize)-inflightBlocks)
				if room <= 0 && inflightBlocks == 0 {
					room = 1 // a stop overshoots by one block at most
				}
				if room <= 0 {
					break
				}
			}
			k := min(room, len(queue))
			batch := queue[:k:k]
			queue = queue[k:]
			inflight++
			inflightBlocks += len(batch)
			go func() { results <- fetchOne(batch) }()
		}
		if err := ctx.Err(); err != nil {
			return fetched, err
		}
		res := <-results
		inflight--
		inflightBlocks -= res.asked
		fetched += res.size
		if res.err != nil {
			return fetched, res.err
		}
		if budget >= 0 && fetched > budget {
			return fetched, &QuotaError{Need: fetched, Free: budget}
		}
		for _, it := range res.next {
			if it.depth > maxDAGDepth {
				return fetched, dagBoundError(root, "levels of links", maxDAGDepth)
			}
			if !seen.Visit(it.c) {
				continue
			}
			if seen.Len() > maxDAGBlocks {
				return fetched, dagBoundError(root, "blocks", maxDAGBlocks)
			}
			queue = append(queue, it)
		}
	}
	return fetched, nil
}
