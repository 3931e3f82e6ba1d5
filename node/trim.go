package node

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// An idle node gives back to the system the memory its last burst of
// work (a fetch, a download of every document, a peer's sync) left free.
// Go's own scavenger returns free heap pages slowly, a little per cycle, so
// that a node idle after a 300 MB download kept about 40 MB it no longer
// used. Every trimEvery the trimmer reads the runtime's figures: when
// less than trimIdleAlloc was allocated since the last look (the node is
// idle) and more than trimFree of heap is free but still held, it returns
// it at once.
const (
	trimEvery     = time.Second
	trimIdleAlloc = 1 << 20
	trimFree      = 8 << 20
)

// trimLoop is the trimmer; it runs until ctx ends.
func (n *Node) trimLoop(ctx context.Context) {
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	var last, trimmedAt uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var trimmed bool
		last, trimmed = trimIfIdle(last, trimmedAt)
		if trimmed {
			trimmedAt = last
			n.log.Debug("free memory given back to the system")
		}
	}
}

// trimSamples are the runtime figures the trimmer reads.
var trimSamples = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/gc/heap/live:bytes",
}

// heldFree returns the heap the runtime holds that no live object uses:
// free pages not yet returned, and the garbage and gaps of its spans.
func heldFree(s []metrics.Sample) uint64 {
	held := s[1].Value.Uint64() + s[2].Value.Uint64() + s[3].Value.Uint64()
	if live := s[4].Value.Uint64(); held > live {
		return held - live
	}
	return 0
}

// trimIfIdle returns the memory held free (heldFree) when less than
// trimIdleAlloc was allocated since allocs bytes (the last look's figure)
// and at least trimFree since trimmedAt (the figure at the last trim: a
// heap left fragmented is not trimmed again and again); it returns the
// allocations so far and whether it gave memory back.
func trimIfIdle(allocs, trimmedAt uint64) (uint64, bool) {
	s := make([]metrics.Sample, len(trimSamples))
	for i, name := range trimSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	now := s[0].Value.Uint64()
	if now-allocs >= trimIdleAlloc || now-trimmedAt < trimFree || heldFree(s) < trimFree {
		return now, false
	}
	debug.FreeOSMemory()
	return now, true
}
