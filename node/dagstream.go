package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// The first open of a vault this node holds no state of takes the whole
// state from one peer in one stream (proto.DAGStreamID) instead of
// bitswap's rounds level by level: the peer sends every block below the
// manifest root, breadth first; this node checks each against its CID,
// keeps only blocks that a block already taken links (the root first:
// the manifest of a head this node verified, as a checked import keeps
// only what verified heads reach), and writes them in batches,
// made durable by the one sync at the end of the fetch. A later state of
// a vault shares most of its blocks with the one here, and comes by
// bitswap, which asks only for what is missing. When no peer speaks the
// protocol, or the stream breaks or brings something else, what was
// taken is kept and bitswap fetches the rest (fetchDAG).

// dagStreamBatch is how many bytes of streamed blocks one write takes;
// dagStreamBatches bounds the batches waiting for a writer (so that a
// fetch holds at most about (dagStreamBatches + dagStreamWriters + 1) ×
// dagStreamBatch of blocks).
const (
	dagStreamBatch   = 1 << 20
	dagStreamBatches = 8
	// dagStreamWriters write batches at once: a block is a file, and
	// creating files waits on the file system more than on the CPU.
	dagStreamWriters = 4
)

// dagStreamPeers bounds the peers asked in turn for a stream.
const dagStreamPeers = 3

type dagStreamKey struct{}

// withDAGStream marks a fetch as the first open of a vault: the DAG is
// asked in one stream first.
func withDAGStream(ctx context.Context) context.Context {
	return context.WithValue(ctx, dagStreamKey{}, true)
}

// errNotLinked says that a peer sent a block that no block taken links.
var errNotLinked = errors.New("the peer sent a block that the vault state does not link")

// begunHere reports whether a block that root links is in this node's
// store: a fetch of root began here (the root alone is fetched first,
// to check the state's declared size).
func (n *Node) begunHere(ctx context.Context, root cid.Cid) bool {
	if ok, err := n.store.blocks.Has(ctx, root); err != nil || !ok {
		return false
	}
	links, err := n.offlineLinks()(ctx, root)
	if err != nil {
		return false
	}
	for _, l := range links {
		if ok, err := n.store.blocks.Has(ctx, l.Cid); err == nil && ok {
			return true
		}
	}
	return false
}

// dagProgress counts the bytes of a fetch's blocks in tracker, each block
// once: a stream counts every block it takes, those already here included
// (and the root it does not ask for), and a walk by bitswap after a
// stream cut counts only the blocks the stream did not (fetchDAG), as a
// walk by bitswap alone counts every block of the state.
type dagProgress struct {
	tracker *merkledag.ProgressTracker
	counted *cid.Set
}

func newDAGProgress(tracker *merkledag.ProgressTracker) *dagProgress {
	return &dagProgress{tracker: tracker, counted: cid.NewSet()}
}

// add counts size bytes for block c, unless c was counted already. A nil
// *dagProgress counts nothing. Not safe for concurrent use.
func (p *dagProgress) add(c cid.Cid, size int) {
	if p == nil || p.tracker == nil || !p.counted.Visit(c) {
		return
	}
	p.tracker.Update(uint64(size))
}

// has reports whether block c was counted; safe for concurrent use once
// the counting is over.
func (p *dagProgress) has(c cid.Cid) bool {
	return p != nil && p.counted.Has(c)
}

// streamCounts counts the blocks received by DAG streams, for
// TransferStats: dups those that were in the store already.
type streamCounts struct {
	blocks, bytes, dups atomic.Uint64

	// fromPeer counts the bytes of blocks received by DAG streams from
	// each connected peer, for Conns as bitswap's ledger does: a peer's
	// count is forgotten when it disconnects (once registers the watch).
	once     sync.Once
	mu       sync.Mutex
	fromPeer map[peer.ID]uint64
}

// countStreamed counts size bytes of blocks received from p by a DAG
// stream.
func (n *Node) countStreamed(p peer.ID, size int) {
	sc := &n.streamed
	sc.once.Do(func() {
		n.host.Network().Notify(&network.NotifyBundle{DisconnectedF: func(nw network.Network, c network.Conn) {
			p := c.RemotePeer()
			if nw.Connectedness(p) == network.Connected {
				return // another connection to p is open
			}
			sc.mu.Lock()
			delete(sc.fromPeer, p)
			sc.mu.Unlock()
		}})
	})
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.fromPeer == nil {
		sc.fromPeer = map[peer.ID]uint64{}
	}
	sc.fromPeer[p] += uint64(size)
}

// streamedFrom returns the bytes of blocks received from p by DAG streams
// since p last connected.
func (n *Node) streamedFrom(p peer.ID) uint64 {
	n.streamed.mu.Lock()
	defer n.streamed.mu.Unlock()
	return n.streamed.fromPeer[p]
}

// DAGBlocks: proto.DAGStreamHandler.
func (h protoHandler) DAGBlocks(ctx context.Context, from peer.ID, root cid.Cid, skipRoot bool, send func(cid.Cid, []byte) error) error {
	if skipRoot {
		send = skipFirst(send)
	}
	return h.n.answerDAGStream(ctx, root, send)
}

// skipFirst returns send, but for the first block.
func skipFirst(send func(cid.Cid, []byte) error) func(cid.Cid, []byte) error {
	first := true
	return func(c cid.Cid, data []byte) error {
		if first {
			first = false
			return nil
		}
		return send(c, data)
	}
}

var _ proto.DAGStreamHandler = protoHandler{}

// answerDAGStream sends root and every block below it in this node's
// store, breadth first and each once.
func (n *Node) answerDAGStream(ctx context.Context, root cid.Cid, send func(cid.Cid, []byte) error) error {
	if ok, err := n.store.blocks.Has(ctx, root); err != nil || !ok {
		return proto.ErrNotFound
	}
	offline := n.offlineLinks()
	seen := cid.NewSet()
	seen.Add(root)
	level := []cid.Cid{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxDAGDepth {
			return dagBoundError(root, "levels of links", maxDAGDepth)
		}
		var next []cid.Cid
		for _, c := range level {
			blk, err := n.store.blocks.Get(ctx, c)
			if ipld.IsNotFound(err) {
				return proto.ErrIncomplete
			}
			if err != nil {
				return fmt.Errorf("read block %s: %w", c, err)
			}
			if err := send(c, blk.RawData()); err != nil {
				return err
			}
			var links []*ipld.Link
			switch c.Prefix().Codec {
			case cid.Raw:
			case cid.DagProtobuf:
				nd, err := merkledag.DecodeProtobuf(blk.RawData())
				if err != nil {
					return fmt.Errorf("decode block %s: %w", c, err)
				}
				links = nd.Links()
			default:
				if links, err = offline(ctx, c); err != nil {
					return fmt.Errorf("links of %s: %w", c, err)
				}
			}
			for _, l := range links {
				if seen.Visit(l.Cid) {
					if seen.Len() > maxDAGBlocks {
						return dagBoundError(root, "blocks", maxDAGBlocks)
					}
					next = append(next, l.Cid)
				}
			}
		}
		level = next
	}
	return nil
}

// streamDAG takes the DAG at root from a peer in one stream. It returns
// the bytes taken and whether the whole DAG is now here; its error is a
// stop of the fetch (the quota, the DAG bounds, ctx): a peer that does
// not speak the protocol, lacks the DAG, breaks the stream or sends what
// the DAG does not link only leaves the rest to bitswap.
func (n *Node) streamDAG(ctx context.Context, root cid.Cid, budget int64, progress *dagProgress) (fetched int64, complete bool, err error) {
	asked := 0
	for _, p := range n.trustedPeers() {
		if asked == dagStreamPeers {
			break
		}
		if ok, err := n.host.Peerstore().SupportsProtocols(p, proto.DAGStreamID); err != nil || len(ok) == 0 {
			continue
		}
		asked++
		got, complete, err := n.streamDAGFrom(ctx, p, root, budget-fetched, progress)
		fetched += got
		if err != nil || complete {
			return fetched, complete, err
		}
		if got > 0 {
			break // the rest by bitswap, from every peer
		}
	}
	return fetched, false, nil
}

// streamDAGFrom takes what peer p sends of the DAG at root (see
// streamDAG); budget < 0: no limit. It counts in progress every block of
// the DAG it takes, and the root when it is here already.
func (n *Node) streamDAGFrom(ctx context.Context, p peer.ID, root cid.Cid, budget int64, progress *dagProgress) (fetched int64, complete bool, err error) {
	// pending holds the blocks that a block taken links and that did not
	// come yet, with their depth.
	pending := map[cid.Cid]int{root: 0}
	seen := cid.NewSet()
	seen.Add(root)
	// The root alone is often here (fetched to check the declared size):
	// then it is not sent, and what it links is expected.
	haveRoot := false
	if ok, err := n.store.blocks.Has(ctx, root); err == nil && ok {
		links, err := n.offlineLinks()(ctx, root)
		size, serr := n.store.blocks.GetSize(ctx, root)
		if err == nil && serr == nil {
			haveRoot = true
			progress.add(root, size)
			delete(pending, root)
			for _, l := range links {
				if seen.Visit(l.Cid) {
					pending[l.Cid] = 1
				}
			}
		}
	}
	// Batches are written by dagStreamWriters goroutines while the next
	// ones arrive.
	var batch []blocks.Block
	batchBytes := 0
	batches := make(chan []blocks.Block, dagStreamBatches-1)
	written := make(chan error, dagStreamWriters)
	wb := &writeBack{sync: n.store.syncBlocks}
	defer wb.wait()
	for range dagStreamWriters {
		go func() {
			var werr error
			for b := range batches {
				if werr == nil {
					// take found each missing already: no second look.
					werr = n.store.fresh.PutMany(ctx, b)
				}
				size := 0
				for _, blk := range b {
					size += len(blk.RawData())
				}
				wb.wrote(size)
			}
			written <- werr
		}()
	}
	closed := false
	// flush hands the batch to the writer; last waits for every write.
	flush := func(last bool) error {
		if len(batch) > 0 {
			batches <- batch
			batch, batchBytes = nil, 0
		}
		if !last {
			return nil
		}
		closed = true
		close(batches)
		var errs []error
		for range dagStreamWriters {
			errs = append(errs, <-written)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("write fetched blocks: %w", err)
		}
		return nil
	}
	defer func() {
		if !closed {
			close(batches)
			for range dagStreamWriters {
				<-written
			}
		}
	}()
	var stop error // a stop of the fetch, not of the stream only
	take := func(c cid.Cid, data []byte) error {
		depth, ok := pending[c]
		if !ok {
			return errNotLinked
		}
		var links []*ipld.Link
		switch c.Prefix().Codec {
		case cid.Raw:
		case cid.DagProtobuf:
			nd, err := merkledag.DecodeProtobuf(data)
			if err != nil {
				return fmt.Errorf("decode block %s: %w", c, err)
			}
			links = nd.Links()
		default:
			return fmt.Errorf("block %s: codec %d is not streamed", c, c.Prefix().Codec)
		}
		delete(pending, c)
		for _, l := range links {
			if !seen.Visit(l.Cid) {
				continue
			}
			if depth+1 > maxDAGDepth {
				stop = dagBoundError(root, "levels of links", maxDAGDepth)
				return stop
			}
			if seen.Len() > maxDAGBlocks {
				stop = dagBoundError(root, "blocks", maxDAGBlocks)
				return stop
			}
			pending[l.Cid] = depth + 1
		}
		n.streamed.blocks.Add(1)
		n.streamed.bytes.Add(uint64(len(data)))
		n.countStreamed(p, len(data))
		progress.add(c, len(data))
		if ok, err := n.store.blocks.Has(ctx, c); err == nil && ok {
			n.streamed.dups.Add(1)
			return nil
		}
		fetched += int64(len(data))
		if budget >= 0 && fetched > budget {
			stop = &QuotaError{Need: fetched, Free: budget}
			return stop
		}
		blk, err := blocks.NewBlockWithCid(data, c)
		if err != nil {
			return err
		}
		batch = append(batch, blk)
		batchBytes += len(data)
		if batchBytes >= dagStreamBatch {
			_ = flush(false)
		}
		return nil
	}
	serr := proto.GetDAG(ctx, n.host, p, root, haveRoot, take)
	if stop != nil {
		return fetched, false, stop
	}
	// What was checked and taken is kept, whatever ended the stream.
	if err := flush(true); err != nil {
		return fetched, false, err
	}
	if err := ctx.Err(); err != nil {
		return fetched, false, err
	}
	if serr != nil {
		n.log.Debug("dag stream", "peer", p, "root", root, "err", serr)
	}
	return fetched, serr == nil && len(pending) == 0, nil
}
