package node

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// A state superseded by one that still links every document it linked,
// each live one still live, protects nothing that the newer state does
// not: it is kept for supersededGrace only (so that a peer that heard of
// it a moment ago can still fetch it), not for a trash period (trash.go),
// and collected soon after. A state that a newer one supersedes by
// dropping a document (a deletion, or a forged state) is kept for the
// trash period as before. Without the vault's keys a node compares the
// document links of the two states' roots and page nodes (pages.go); page
// nodes that both states share link the same documents and are not read,
// so that the comparison costs what changed.

// supersededGrace is how long a covered superseded state is kept.
const supersededGrace = 10 * time.Minute

// supersedeGC remembers whether a collection of superseded states is
// planned.
type supersedeGC struct {
	mu        sync.Mutex
	scheduled bool
}

// docLinks are the documents a state links: live, and in its trash.
type docLinks struct {
	live, trash map[string]bool // multihash → linked
}

// stateDocs returns the documents linked by the root at c, leaving out
// the page nodes in shared; pages lists its page nodes.
func (n *Node) stateDocs(ctx context.Context, c cid.Cid, shared map[string]bool) (docLinks, map[string]bool, error) {
	out := docLinks{live: map[string]bool{}, trash: map[string]bool{}}
	pages := map[string]bool{}
	nd, err := n.dag.Get(ctx, c)
	if err != nil {
		return out, nil, err
	}
	root, ok := nd.(*merkledag.ProtoNode)
	if !ok || !isManifestRoot(root.Data()) {
		return out, nil, errors.New("not a manifest root")
	}
	take := func(pn *merkledag.ProtoNode) {
		for _, l := range pn.Links() {
			switch l.Name {
			case linkDocument:
				out.live[string(l.Cid.Hash())] = true
			case linkTrash:
				out.trash[string(l.Cid.Hash())] = true
			}
		}
	}
	take(root)
	for _, l := range root.Links() {
		if l.Name != linkPage {
			continue
		}
		k := string(l.Cid.Hash())
		pages[k] = true
		if shared[k] {
			continue
		}
		pg, err := n.dag.Get(ctx, l.Cid)
		if err != nil {
			return out, nil, err
		}
		if pn, ok := pg.(*merkledag.ProtoNode); ok {
			take(pn)
		}
	}
	return out, pages, nil
}

// covers reports whether the state at newer links every document that
// the state at older links, each live one live.
func (n *Node) covers(ctx context.Context, newer, older cid.Cid) bool {
	_, newPages, err := n.stateDocs(ctx, newer, map[string]bool{})
	if err != nil {
		return false
	}
	oldDocs, oldPages, err := n.stateDocs(ctx, older, newPages)
	if err != nil {
		return false
	}
	// The newer state's documents, but for the pages both share (whose
	// documents are in both).
	newDocs, _, err := n.stateDocs(ctx, newer, oldPages)
	if err != nil {
		return false
	}
	for k := range oldDocs.live {
		if !newDocs.live[k] {
			return false
		}
	}
	for k := range oldDocs.trash {
		if !newDocs.live[k] && !newDocs.trash[k] {
			return false
		}
	}
	return true
}

// keepBriefly keeps the superseded state at root, which a newer state
// covers, for supersededGrace: it is recorded as kept since a trash
// period minus the grace (a date that no trash listing takes, since the
// newer state has every document live), and a collection is planned. The
// caller holds the vault lock.
func (n *Node) keepBriefly(ctx context.Context, v vault.VaultID, root cid.Cid) {
	var b [8]byte
	since := n.now().Add(-n.trashPeriod() + supersededGrace)
	binary.BigEndian.PutUint64(b[:], uint64(since.UnixNano()))
	if err := n.store.ldb.Put(ctx, keptKey(v, root), b[:]); err != nil {
		n.log.Warn("record superseded vault state", "vault", v, "err", err)
		return
	}
	g := &n.sgc
	g.mu.Lock()
	start := !g.scheduled
	g.scheduled = true
	g.mu.Unlock()
	if !start {
		return
	}
	n.goRun(func(ctx context.Context) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(supersededGrace + time.Minute):
		}
		g.mu.Lock()
		g.scheduled = false
		g.mu.Unlock()
		n.expireKept(ctx)
		// Never wait for the lock: a waiting collection would stop every
		// operation that comes after it behind a long fetch.
		for !n.gcMu.TryLock() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(30 * time.Second):
			}
		}
		defer n.gcMu.Unlock()
		if _, err := n.collect(ctx, false); err != nil {
			n.log.Warn("garbage collection failed", "err", err)
		}
	})
}
