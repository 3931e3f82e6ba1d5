package node

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// trashFetchTimeout bounds the fetch of a trashed document that a key
// rotation carries and this node does not hold.
var trashFetchTimeout = time.Minute

// carryTrash adds to m, the manifest of the new vault of a key rotation,
// every document of s's trash (the manifest's and those of the superseded
// states this node keeps), re-keyed to keys as live documents are (see
// rekeyDocument; full: re-encrypted) and removed again with its deletion
// date, so that it stays restorable for the rest of its trash period. A
// trashed document whose blocks are found neither here nor at a member
// is left behind, with a warning.
func (n *Node) carryTrash(ctx context.Context, s *session, keys *vault.Keys, m *vault.Manifest, full bool, st *RekeyStats) error {
	rekey := n.rekeyDocument
	if full {
		rekey = n.reencryptDocument
	}
	for _, t := range n.trash(ctx, s) {
		// Usually here (the state that trashed it links it); else at a
		// member that keeps the vault, within a bound.
		var err error
		if !n.hasGraph(ctx, t.CID) {
			fctx, cancel := context.WithTimeout(ctx, trashFetchTimeout)
			err = n.fetchGraph(fctx, t.CID)
			cancel()
		}
		c := t.CID
		if err == nil {
			c, err = rekey(ctx, s.keys, keys, t.CID, st)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.log.Warn("deleted document not carried over to the new keys: its blocks are gone", "vault", s.id, "doc", t.ID, "err", err)
			continue
		}
		e := t.Entry
		e.CID = c
		if err := m.Add(e); err != nil {
			n.log.Warn("deleted document not carried over to the new keys", "vault", s.id, "doc", t.ID, "err", err)
			continue
		}
		if err := m.Remove(e.ID, t.Deleted); err != nil {
			return err
		}
	}
	return nil
}

// hasGraph reports whether every block of the DAG at root is in this
// node's store.
func (n *Node) hasGraph(ctx context.Context, root cid.Cid) bool {
	complete := true
	err := walkDAG(ctx, root, n.offlineLinks(), func(c cid.Cid) bool {
		if ok, err := n.store.blocks.Has(ctx, c); err != nil || !ok {
			complete = false
		}
		return complete
	})
	return err == nil && complete
}
