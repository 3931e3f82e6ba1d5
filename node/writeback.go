package node

import "sync"

// writeBack starts a sync of the blocks written so far in the background
// every writeBackEvery bytes written, one at a time: the disk writes while
// the next blocks are made or received, and the sync that makes them
// durable at the end (an add's commit, a fetch's end) has little left.
type writeBack struct {
	sync func() error // nil: never

	mu       sync.Mutex
	written  int
	inFlight bool
	running  sync.WaitGroup
}

// writeBackEvery is how many bytes of blocks are written between two
// background syncs.
const writeBackEvery = 8 << 20

// wrote counts size bytes of blocks written (or about to be).
func (w *writeBack) wrote(size int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written += size
	if w.written < writeBackEvery || w.inFlight || w.sync == nil {
		return
	}
	w.written, w.inFlight = 0, true
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		_ = w.sync() // the final sync reports errors
		w.mu.Lock()
		w.inFlight = false
		w.mu.Unlock()
	}()
}

// wait waits for the background sync under way, if any.
func (w *writeBack) wait() { w.running.Wait() }
