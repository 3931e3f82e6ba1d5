package node

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// A fetch of a vault state is of no use once a newer state that descends
// from it is adopted: everything the older state links that the newer one
// keeps comes with the newer one. Such a fetch is stopped, rather than left
// to wait out syncTimeout for blocks that no member may serve any more (a
// member that wrote several states in a row and collected the ones in
// between: heads.go, supersede.go). While it waited, it held a sync slot and
// kept alive (gc.go) whatever its root reaches.

// errSuperseded is the cause of a fetch stopped for a newer state.
var errSuperseded = errors.New("a newer state of the vault, which descends from this one, was adopted")

// supersedeLoadTimeout bounds the loading of one head that a stopped
// fetch's ancestry needs and the store does not hold, and
// supersedeWalkTimeout the whole walk: a fetch not found stopped in time
// runs to its own end.
const (
	supersedeLoadTimeout = 2 * time.Second
	supersedeWalkTimeout = 5 * time.Second
)

// adoption is the fetch of one vault state in flight.
type adoption struct {
	h      head
	cancel context.CancelCauseFunc
}

// startAdoption names the fetch of h's state, which supersedeAdoptions may
// stop; done forgets it.
func (n *Node) startAdoption(ctx context.Context, h head) (fctx context.Context, done func()) {
	fctx, cancel := context.WithCancelCause(ctx)
	a := &adoption{h: h, cancel: cancel}
	n.sync.mu.Lock()
	as := n.sync.adopting[h.Vault]
	if as == nil {
		as = map[*adoption]bool{}
		n.sync.adopting[h.Vault] = as
	}
	as[a] = true
	n.sync.mu.Unlock()
	return fctx, func() {
		cancel(nil)
		n.sync.mu.Lock()
		defer n.sync.mu.Unlock()
		delete(as, a)
		if len(as) == 0 {
			delete(n.sync.adopting, h.Vault)
		}
	}
}

// supersedeAdoptions stops the fetches in flight of the states of h's
// vault that h descends from. The heads of the fetches in flight are
// known without loading them, so that a chain of states whose blocks are
// gone from every member is still recognised.
func (n *Node) supersedeAdoptions(ctx context.Context, h head) {
	n.sync.mu.Lock()
	var older []*adoption
	for a := range n.sync.adopting[h.Vault] {
		if a.h.Seq < h.Seq {
			older = append(older, a)
		}
	}
	n.sync.mu.Unlock()
	if len(older) == 0 {
		return
	}
	known := map[cid.Cid]*vault.Head{}
	target := map[cid.Cid][]*adoption{} // one state may be fetched twice at once
	lowest := h.Seq
	for _, a := range older {
		known[a.h.cid] = a.h.Head
		target[a.h.cid] = append(target[a.h.cid], a)
		lowest = min(lowest, a.h.Seq)
	}
	ctx, cancel := context.WithTimeout(ctx, supersedeWalkTimeout)
	defer cancel()
	seen := map[cid.Cid]bool{}
	queue := append([]cid.Cid(nil), h.Parents...)
	for len(queue) > 0 && len(seen) < maxAncestorWalk && len(target) > 0 && ctx.Err() == nil {
		c := queue[0]
		queue = queue[1:]
		if seen[c] {
			continue
		}
		seen[c] = true
		for _, a := range target[c] {
			a.cancel(errSuperseded)
		}
		delete(target, c)
		ph := known[c]
		if ph == nil {
			lctx, cancel := context.WithTimeout(ctx, supersedeLoadTimeout)
			loaded, err := n.loadHead(lctx, h.Vault, c)
			cancel()
			if err != nil {
				continue
			}
			ph = loaded
		}
		if ph.Seq > lowest {
			queue = append(queue, ph.Parents...)
		}
	}
}
