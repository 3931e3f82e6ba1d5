package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	pin "github.com/ipfs/boxo/pinning/pinner"
	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// A vault's state at a node is its set of current heads (the frontier):
// the signed heads that no other known head supersedes. One head is the
// usual case; several appear when structures changed the vault while cut
// off from each other, until a card session merges them into one head
// whose parents are all of them.
//
// Heads are stored as raw blocks (so they travel with bitswap and in CAR
// files) and form a DAG through their parents. Sequence numbers grow along
// it (a head's sequence is larger than each parent's), which bounds the walk
// that decides whether one head is an ancestor of another.

// head is a head with the CID of its block.
type head struct {
	cid cid.Cid
	*vault.Head
}

func newHead(h *vault.Head) (head, error) {
	c, err := rawPrefix.Sum(h.Marshal())
	if err != nil {
		return head{}, err
	}
	return head{cid: c, Head: h}, nil
}

func pinName(v vault.VaultID) string { return "baluchon vault " + v.String() }

// lockVault serialises changes to one vault's frontier and pins.
func (n *Node) lockVault(v vault.VaultID) func() {
	m, _ := n.vaultMu.LoadOrStore(v.String(), &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// frontier returns the current heads of v held here, by sequence (none if
// the node does not keep v).
func (n *Node) frontier(ctx context.Context, v vault.VaultID) ([]head, error) {
	res, err := n.store.ldb.Query(ctx, prefixQuery(vaultHeadsPrefix(v.String())))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	out := make([]head, 0, len(entries))
	for _, e := range entries {
		h, err := vault.ParseHead(e.Value)
		if err != nil {
			return nil, fmt.Errorf("stored head %s of vault %s: %w", e.Key, v, err)
		}
		hh, err := newHead(h)
		if err != nil {
			return nil, err
		}
		out = append(out, hh)
	}
	slices.SortFunc(out, func(a, b head) int {
		if c := cmp.Compare(a.Seq, b.Seq); c != 0 {
			return c
		}
		return cmp.Compare(a.cid.KeyString(), b.cid.KeyString())
	})
	return out, nil
}

func contains(hs []head, c cid.Cid) bool {
	return slices.ContainsFunc(hs, func(h head) bool { return h.cid.Equals(c) })
}

// maxAncestorWalk bounds the heads visited to decide ancestry.
const maxAncestorWalk = 4096

// headFetchTimeout bounds the fetch of one head block from peers.
const headFetchTimeout = 10 * time.Second

// loadHead returns the head in block c, from the store or from peers.
func (n *Node) loadHead(ctx context.Context, v vault.VaultID, c cid.Cid) (*vault.Head, error) {
	ctx, cancel := context.WithTimeout(ctx, headFetchTimeout)
	defer cancel()
	b, err := n.getRaw(ctx, c, vault.MaxHeadSize)
	if err != nil {
		return nil, err
	}
	h, err := vault.ParseHead(b)
	if err != nil {
		return nil, err
	}
	if h.Vault != v {
		return nil, fmt.Errorf("head %s is for another vault", c)
	}
	return h, nil
}

// isAncestor reports whether a is an ancestor of b. A head that cannot be
// loaded counts as not leading to a: the frontier then keeps both heads,
// which loses nothing (a card session merges them).
func (n *Node) isAncestor(ctx context.Context, a, b head) bool {
	if a.Seq >= b.Seq {
		return false
	}
	seen := map[cid.Cid]bool{}
	queue := slices.Clone(b.Parents)
	for len(queue) > 0 && len(seen) < maxAncestorWalk {
		c := queue[0]
		queue = queue[1:]
		if c.Equals(a.cid) {
			return true
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		h, err := n.loadHead(ctx, b.Vault, c)
		if err != nil {
			n.log.Debug("head not available for ancestry", "head", c, "err", err)
			continue
		}
		if h.Seq <= a.Seq {
			continue
		}
		queue = append(queue, h.Parents...)
	}
	return false
}

// adoptHeads takes the heads of v that are new here into the frontier:
// it fetches and pins each one's manifest DAG (documents included), stores
// the head block, and drops from the frontier the heads it supersedes. It
// reports whether the frontier changed. A head that is older than the
// frontier is ignored.
//
// In a federation, a head is adopted only when this node or a current
// member attests having written it (attest.go); the others are left out,
// and reported when no head was adopted.
func (n *Node) adoptHeads(ctx context.Context, v vault.VaultID, incoming []*vault.Head) (bool, error) {
	changed := false
	var (
		asked      bool
		unattested error
	)
	defer func() {
		if unattested != nil {
			n.log.Warn("vault state refused", "vault", v, "err", unattested)
		}
	}()
	for _, in := range incoming {
		h, err := newHead(in)
		if err != nil {
			return changed, err
		}
		if h.Vault != v {
			return changed, fmt.Errorf("head %s is for another vault", h.cid)
		}
		front, err := n.frontier(ctx, v)
		if err != nil {
			return changed, err
		}
		if n.covered(ctx, h, front) {
			continue
		}
		if err := n.checkAttested(ctx, h, &asked); err != nil {
			unattested = err
			continue
		}
		if err := n.checkDeclared(ctx, h, front); err != nil {
			return changed, fmt.Errorf("vault state %d: %w", h.Seq, err)
		}
		// The long part, outside the vault lock: fetch every block of the
		// new state from peers.
		// Both roots stay named until adopt has pinned them (gc.go).
		releaseManifest, releaseHead := n.holdFetch(h.Manifest), n.holdFetch(h.cid)
		release := func() { releaseManifest(); releaseHead() }
		fctx, done := n.startAdoption(ctx, h)
		if len(front) == 0 {
			fctx = withDAGStream(fctx) // a first open (dagstream.go)
		}
		err = n.fetchGraph(fctx, h.Manifest)
		superseded := errors.Is(context.Cause(fctx), errSuperseded)
		done()
		if superseded {
			release()
			n.log.Debug("fetch of vault state stopped: a newer state that descends from it was adopted", "vault", v, "seq", h.Seq)
			continue
		}
		if err != nil {
			release()
			var qe *QuotaError
			if errors.As(err, &qe) || errors.Is(err, ErrDAGBound) {
				// What came before the stop is not pinned: collect it.
				n.gcAfterRefusal()
			}
			return changed, fmt.Errorf("fetch vault state %d: %w", h.Seq, err)
		}
		if err := n.checkGrows(ctx, h); err != nil {
			n.log.Warn("vault state refused", "vault", v, "seq", h.Seq, "err", err)
			continue
		}
		ok, err := n.adopt(ctx, h)
		release()
		if err != nil {
			return changed, err
		}
		changed = changed || ok
		if ok {
			n.supersedeAdoptions(ctx, h)
			n.followForward(ctx, h)
		}
	}
	if !changed && unattested != nil {
		return false, unattested
	}
	return changed, nil
}

// covered reports whether h is in the frontier or older than one of its heads.
func (n *Node) covered(ctx context.Context, h head, front []head) bool {
	if contains(front, h.cid) {
		return true
	}
	for _, f := range front {
		if n.isAncestor(ctx, h, f) {
			return true
		}
	}
	return false
}

// adopt puts h in the frontier of its vault, once its manifest DAG is in
// the store. It reports whether the frontier changed.
func (n *Node) adopt(ctx context.Context, h head) (bool, error) {
	unlock := n.lockVault(h.Vault)
	defer unlock()
	front, err := n.frontier(ctx, h.Vault)
	if err != nil {
		return false, err
	}
	if n.covered(ctx, h, front) {
		return false, nil
	}
	var dropped []head
	for _, f := range front {
		if slices.ContainsFunc(h.Parents, f.cid.Equals) || n.isAncestor(ctx, f, h) {
			dropped = append(dropped, f)
		}
	}
	return true, n.setFrontier(ctx, h, front, dropped)
}

// setFrontier records h as a current head of its vault in place of dropped
// (a subset of front, the frontier before):
// it pins h's manifest DAG and head block, writes the frontier in one
// synchronous batch, then unpins the manifests no current head uses. The
// blocks of h must be durable already. The caller holds the vault lock.
func (n *Node) setFrontier(ctx context.Context, h head, front, dropped []head) error {
	name := pinName(h.Vault)
	root, err := n.dag.Get(ctx, h.Manifest)
	if err != nil {
		return fmt.Errorf("get manifest root: %w", err)
	}
	// What the head says publicly joins what this node remembers of the
	// vault before the head counts (memory.go).
	rl, err := n.readRoot(ctx, h.Manifest)
	if err != nil {
		return err
	}
	public, err := n.remember(ctx, h.Vault, rl)
	if err != nil {
		return err
	}
	// A forward alone never drops a state: the states it supersedes stay
	// pinned until the vault is retired (retireDue).
	forward := public != nil && public.MovedTo != nil
	// The whole DAG is here and durable (the caller fetched it or wrote
	// it): pinning it need not walk it, which would read every block of
	// the vault at each new state.
	if err := n.pinner.PinWithMode(ctx, root.Cid(), pin.Recursive, name); err != nil {
		return fmt.Errorf("pin vault state: %w", err)
	}
	hb, err := n.dag.Get(ctx, h.cid)
	if err != nil {
		return fmt.Errorf("get head block: %w", err)
	}
	if err := n.pinner.Pin(ctx, hb, false, name); err != nil {
		return fmt.Errorf("pin head: %w", err)
	}
	b, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return err
	}
	for _, d := range dropped {
		if err := b.Delete(ctx, headKey(h.Vault, d.cid)); err != nil {
			return err
		}
	}
	if err := b.Put(ctx, headKey(h.Vault, h.cid), h.Marshal()); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("record vault state: %w", err)
	}
	for _, d := range dropped {
		if forward || d.Manifest.Equals(h.Manifest) || slices.ContainsFunc(front, func(f head) bool {
			return f.Manifest.Equals(d.Manifest) && !slices.ContainsFunc(dropped, func(x head) bool { return x.cid.Equals(f.cid) })
		}) {
			continue
		}
		if n.covers(ctx, h.Manifest, d.Manifest) {
			// Everything it links, the new state links (supersede.go).
			n.keepBriefly(ctx, h.Vault, d.Manifest)
			continue
		}
		// Kept for a trash period: a newer state, even one signed with
		// the vault key, never takes documents off the disk at once.
		n.keepState(ctx, h.Vault, d.Manifest)
	}
	return nil
}

// fetchGraph fetches every block of the DAG at root that is not in the
// store yet, within the storage quota and the DAG bounds (see fetchDAG),
// and makes the fetched blocks durable.
func (n *Node) fetchGraph(ctx context.Context, root cid.Cid) error {
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		// Count the whole state in the total, then every block walked.
		nd, err := n.dag.Get(ctx, root)
		if err != nil {
			return err
		}
		size, _ := nd.Size()
		p.total.Add(size)
	}
	budget, err := n.storageFree(ctx)
	if err != nil {
		return err
	}
	_, err = n.fetchDAG(ctx, root, budget)
	return err
}

// Progress follows the fetch of vault states, for progress bars.
type Progress struct {
	tracker merkledag.ProgressTracker
	total   atomic.Uint64
}

type progressKey struct{}

// WithProgress returns a context under which the node counts the bytes of
// the vault states it fetches in p.
func WithProgress(ctx context.Context, p *Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// Values returns the bytes walked so far and the bytes to walk (0 while
// unknown).
func (p *Progress) Values() (done, total uint64) {
	return p.tracker.ProgressStat().Bytes, p.total.Load()
}

// followForward takes the new vault when an adopted state of a vault
// forwards to another (after a key rotation). The old vault stays until
// the new one has been opened with its card here (retireDue).
func (n *Node) followForward(ctx context.Context, h head) {
	rl, err := n.readRoot(ctx, h.Manifest)
	if err != nil {
		return
	}
	p, err := n.readPublic(ctx, rl)
	if err != nil || p == nil || p.MovedTo == nil {
		return
	}
	to := *p.MovedTo
	n.goBackground(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, syncTimeout)
		defer cancel()
		if err := n.refresh(ctx, to); err != nil {
			n.log.Warn("vault moved after a key change, new vault not fetched", "old", h.Vault, "new", to, "err", err)
		}
	})
}
