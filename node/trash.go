package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// The trash: a deleted document stays recoverable for the trash period
// (Config.TrashPeriod, 30 days) at every node that keeps the vault, so
// that a forged or mistaken state never destroys papers.
//
// Two things keep it, and the second does not trust the first:
//
//   - The manifest: a deletion leaves the document's entry next to its
//     tombstone (vault.Manifest.Trash), and the manifest root links the
//     document ("t"), so every node that keeps the vault keeps its blocks,
//     even one that never saw it live. A commit purges the entries of
//     documents deleted more than a trash period ago.
//   - Every node, with or without the vault's keys: a state that a newer
//     one supersedes stays pinned for a trash period, counted by this
//     node's own clock from the moment it was superseded
//     (/baluchon/vault/<id>/kept/<manifest root> → Unix nanoseconds). A
//     head signed with the vault key (by whoever holds a card) can write
//     any manifest, with no tombstone, no trash or back-dated deletions:
//     the documents of the states it replaced stay on disk, and a card
//     session lists them in the trash from those kept states.
//
// A document's blocks thus leave a node's disk between one and two trash
// periods after its deletion (the last state that linked it is kept for a
// period after the next one replaced it).

// DefaultTrashPeriod is how long a deleted document can be restored.
const DefaultTrashPeriod = Duration(30 * 24 * time.Hour)

// now is the node's clock (Options.Clock, for tests).
func (n *Node) now() time.Time {
	if n.clock != nil {
		return n.clock()
	}
	return time.Now()
}

func (n *Node) trashPeriod() time.Duration { return time.Duration(n.cfg.TrashPeriod) }

// keepState keeps the superseded state whose manifest root is root (and
// still pinned) for a trash period. The caller holds the vault lock.
func (n *Node) keepState(ctx context.Context, v vault.VaultID, root cid.Cid) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n.now().UnixNano()))
	if err := n.store.ldb.Put(ctx, keptKey(v, root), b[:]); err != nil {
		// The state stays pinned: kept too long rather than lost.
		n.log.Warn("record superseded vault state", "vault", v, "err", err)
	}
}

// keptState is a superseded state that a node keeps.
type keptState struct {
	root  cid.Cid
	since time.Time // when it was superseded, by this node's clock
}

// keptStates lists the superseded states of v kept here.
func (n *Node) keptStates(ctx context.Context, v vault.VaultID) ([]keptState, error) {
	res, err := n.store.ldb.Query(ctx, prefixQuery(keptPrefix(v)))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	var out []keptState
	for _, e := range entries {
		c, err := cid.Decode(lastElem(e.Key))
		if err != nil || len(e.Value) != 8 {
			continue
		}
		out = append(out, keptState{root: c, since: time.Unix(0, int64(binary.BigEndian.Uint64(e.Value)))})
	}
	return out, nil
}

// expireKept unpins the superseded states kept for longer than a trash
// period (garbage collection then deletes their blocks), unless a current
// head still uses them.
func (n *Node) expireKept(ctx context.Context) {
	vs, err := n.vaultsWith(ctx, keptKind)
	if err != nil {
		n.log.Warn("list kept vault states", "err", err)
		return
	}
	limit := n.now().Add(-n.trashPeriod())
	for _, v := range vs {
		func() {
			unlock := n.lockVault(v)
			defer unlock()
			ks, err := n.keptStates(ctx, v)
			if err != nil {
				return
			}
			front, _ := n.frontier(ctx, v)
			for _, k := range ks {
				if !k.since.Before(limit) {
					continue
				}
				current := slices.ContainsFunc(front, func(h head) bool { return h.Manifest.Equals(k.root) })
				if !current {
					if err := n.pinner.Unpin(ctx, k.root, true); err != nil {
						n.log.Debug("unpin expired vault state", "vault", v, "err", err)
					}
				}
				_ = n.store.ldb.Delete(ctx, keptKey(v, k.root))
			}
		}()
	}
}

// purgeTrash dates the deletions dated in the future at now, and drops
// from m's trash the documents deleted more than a trash period ago. A
// commit does it before it encrypts m.
func (n *Node) purgeTrash(m *vault.Manifest) {
	now := n.now()
	m.ClampDeletions(now)
	m.Purge(now.Add(-n.trashPeriod()))
}

// TrashItem is a deleted document that can still be restored.
type TrashItem struct {
	vault.Entry
	Deleted time.Time // when it was deleted (at the latest)
	Purge   time.Time // when it leaves the trash
}

// restoredNote starts the note of a restore in the access log; the old
// document id follows.
const restoredNote = "was "

// NotInTrashError says that a document id is not in the trash.
type NotInTrashError struct{ ID string }

func (e *NotInTrashError) Error() string {
	return fmt.Sprintf("document %s is not in this vault's trash (see 'baluchon trash'): it was never deleted, or it was purged", e.ID)
}

// Unwrap makes it a NoDocumentError for the API.
func (e *NotInTrashError) Unwrap() error { return &NoDocumentError{ID: e.ID} }

// trash lists what s's vault has in its trash: the entries its manifest
// keeps, and the documents of the superseded states this node keeps that
// are no longer live (a state that dropped them without a trace). A
// document's deletion date is the latest of its tombstone's and of the
// time this node saw the last state where it was live go.
func (n *Node) trash(ctx context.Context, s *session) []TrashItem {
	type item struct {
		e       vault.Entry
		deleted time.Time
	}
	byID := map[string]*item{}
	for _, t := range s.manifest.Trash() {
		byID[t.ID] = &item{e: t.Entry, deleted: t.Deleted}
	}
	live := map[string]bool{}
	for _, e := range s.manifest.Entries() {
		live[e.CID.KeyString()] = true
	}
	ks, err := n.keptStates(ctx, s.id)
	if err != nil {
		n.log.Warn("list kept vault states", "vault", s.id, "err", err)
	}
	for _, k := range ks {
		rl, err := n.readRoot(ctx, k.root)
		if err != nil {
			continue
		}
		m, _, err := n.readState(ctx, s.keys, rl, nil)
		if err != nil {
			continue // a state of other keys (before a rotation)
		}
		for _, e := range m.Entries() {
			if _, ok := s.manifest.Get(e.ID); ok {
				continue
			}
			it, ok := byID[e.ID]
			if !ok {
				it = &item{e: e}
				if t, dead := s.manifest.Deleted(e.ID); dead {
					it.deleted = t
				}
				byID[e.ID] = it
			}
			if k.since.After(it.deleted) {
				it.deleted = k.since
			}
		}
	}
	now, period := n.now(), n.trashPeriod()
	seen := map[string]int{} // CID → index in out
	var out []TrashItem
	for _, it := range byID {
		if it.deleted.After(now) {
			it.deleted = now // a deletion dated in the future (see purgeTrash)
		}
		purge := it.deleted.Add(period)
		key := it.e.CID.KeyString()
		if live[key] || !purge.After(now) {
			continue
		}
		ti := TrashItem{Entry: it.e, Deleted: it.deleted.UTC(), Purge: purge.UTC()}
		if i, ok := seen[key]; ok {
			if out[i].Deleted.Before(ti.Deleted) {
				out[i] = ti
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, ti)
	}
	slices.SortFunc(out, func(a, b TrashItem) int {
		if c := a.Deleted.Compare(b.Deleted); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// Remove deletes document id from the vault of card: it goes to the trash,
// from which Restore brings it back for a trash period.
func (n *Node) Remove(ctx context.Context, card *vault.Card, id string) error {
	defer n.opHold()()
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		return err
	}
	defer unlock()
	m := vault.Merge(s.manifest, nil)
	if _, ok := m.Get(id); !ok {
		return &NoDocumentError{ID: id}
	}
	if err := m.Remove(id, n.now()); err != nil {
		return err
	}
	if err := n.commit(ctx, s, m); err != nil {
		return err
	}
	n.announce(s)
	n.logAction(ctx, s, vault.ActionDelete, id, "")
	n.log.Info("document deleted", "vault", s.id, "doc", id)
	return nil
}

// Trash lists the deleted documents of the vault of card that can still
// be restored, oldest deletion first.
func (n *Node) Trash(ctx context.Context, card *vault.Card) ([]TrashItem, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	n.logAction(ctx, s, vault.ActionList, "", "trash")
	return n.trash(ctx, s), nil
}

// Restore brings back deleted document id of the vault of card, under a
// new document id (a deleted id never comes back), and returns its entry.
func (n *Node) Restore(ctx context.Context, card *vault.Card, id string) (vault.Entry, error) {
	defer n.opHold()()
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		return vault.Entry{}, err
	}
	defer unlock()
	var found *TrashItem
	for _, t := range n.trash(ctx, s) {
		if t.ID == id {
			found = &t
			break
		}
	}
	if found == nil {
		return vault.Entry{}, &NotInTrashError{ID: id}
	}
	// Its blocks are kept here, or at a node that keeps the vault.
	if err := n.fetchGraph(ctx, found.CID); err != nil {
		return vault.Entry{}, fmt.Errorf("fetch deleted document: %w", err)
	}
	m := vault.Merge(s.manifest, nil)
	e, err := m.Restore(found.Entry, vault.NewDocumentID(nil))
	if err != nil {
		return vault.Entry{}, err
	}
	if err := n.commit(ctx, s, m); err != nil {
		return vault.Entry{}, err
	}
	n.announce(s)
	n.logAction(ctx, s, vault.ActionRestore, e.ID, restoredNote+id)
	n.log.Info("document restored", "vault", s.id, "doc", e.ID, "was", id)
	return e, nil
}
