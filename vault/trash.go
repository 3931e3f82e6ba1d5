package vault

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Trashed is a deleted document whose entry the manifest still holds: it
// can be restored until it is purged.
type Trashed struct {
	Entry
	Deleted time.Time `json:"deleted"` // date of its tombstone
}

// Trash returns the deleted documents that can still be restored, by date
// of deletion, then id.
func (m *Manifest) Trash() []Trashed {
	out := make([]Trashed, 0, len(m.trash))
	for id, e := range m.trash {
		out = append(out, Trashed{Entry: e, Deleted: m.tombstones[id]})
	}
	slices.SortFunc(out, func(a, b Trashed) int {
		if c := a.Deleted.Compare(b.Deleted); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Purge drops from the trash the entries of documents deleted before t.
// Their tombstones stay. It returns how many it dropped. Purge is not part
// of the CRDT: merging with a state that still holds an entry brings it
// back, and the next Purge drops it again.
func (m *Manifest) Purge(t time.Time) int {
	k := 0
	for id := range m.trash {
		if m.tombstones[id].Before(t) {
			delete(m.trash, id)
			k++
		}
	}
	return k
}

// ClampDeletions dates every tombstone dated after now at now, so that a
// deletion dated in the future (by a wrong clock, or a forged state) does
// not keep its document in the trash for ever. Merge keeps the earlier
// date of a tombstone, so the clamp spreads.
func (m *Manifest) ClampDeletions(now time.Time) {
	now = now.UTC()
	for id, t := range m.tombstones {
		if t.After(now) {
			m.tombstones[id] = now
		}
	}
}

// Restore brings back the deleted document e (from the trash of this
// manifest, or from an older state of the vault) as a new live document
// under newID: a tombstoned id never comes back in an add-wins set. The
// restored entry keeps e's fields but its id; e leaves the trash.
func (m *Manifest) Restore(e Entry, newID string) (Entry, error) {
	if _, live := m.entries[e.ID]; live {
		return Entry{}, errors.New("restore document: it is not deleted")
	}
	e.ID = newID
	if err := m.Add(e); err != nil {
		return Entry{}, fmt.Errorf("restore document: %w", err)
	}
	if m.trash != nil {
		for id, t := range m.trash {
			if t.CID.Equals(e.CID) {
				delete(m.trash, id)
			}
		}
	}
	return m.entries[newID], nil
}

// Deleted reports whether id was deleted, and when.
func (m *Manifest) Deleted(id string) (time.Time, bool) {
	t, ok := m.tombstones[id]
	return t, ok
}
