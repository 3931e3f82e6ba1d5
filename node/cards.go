package node

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/proto"
	"baluchon/vault"
)

// Card records of a vault. A node cannot tell, without the card, whether
// an envelope opens the vault it is attached to: any member could attach
// envelopes of cards of its own making to any vault. So a node keeps at
// most maxCardsPerVault card records per vault, and trusts them in this
// order:
//
//  1. records that opened the vault at this node (a card session found the
//     vault's keys in the envelope) or that this node made (registration,
//     replacement, recovery, rotation): these are never pushed out by
//     others;
//  2. the others, first come first kept: a record that arrives when the
//     vault has its fill is refused, so records kept earlier (the real card
//     comes with the vault's first announcement) are never pushed out by
//     later ones.
//
// A record that opens the vault here always finds a place: it pushes out
// the latest-come record not opened here. Answers to peers (the cards
// protocol, exports) give opened records first, then by arrival.
//
// The index entry /baluchon/vault/<vault>/card/<lookup> holds one flag byte
// (1: opened here) and the arrival time in Unix nanoseconds; an empty entry
// (written before the cap) counts as not opened, arrived first.

// maxCardsPerVault bounds the card records kept for one vault.
const maxCardsPerVault = 16

// ErrTooManyCards: a vault has its fill of card records.
var ErrTooManyCards = errors.New("this vault has as many card records as a node keeps; the card is kept once it is shown here")

// cardEntry is the index entry of one card record of a vault.
type cardEntry struct {
	lookup  string
	opened  bool
	arrived time.Time
}

func (e cardEntry) marshal() []byte {
	b := make([]byte, 9)
	if e.opened {
		b[0] = 1
	}
	binary.BigEndian.PutUint64(b[1:], uint64(e.arrived.UnixNano()))
	return b
}

func parseCardEntry(lookup string, b []byte) cardEntry {
	e := cardEntry{lookup: lookup}
	if len(b) == 9 {
		e.opened = b[0] == 1
		e.arrived = time.Unix(0, int64(binary.BigEndian.Uint64(b[1:])))
	}
	return e
}

// cardEntries returns the index entries of v's card records, most trusted
// first.
func (n *Node) cardEntries(ctx context.Context, v vault.VaultID) ([]cardEntry, error) {
	res, err := n.store.ldb.Query(ctx, prefixQuery(vaultCardsPrefix(v.String())))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	out := make([]cardEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, parseCardEntry(lastElem(e.Key), e.Value))
	}
	slices.SortStableFunc(out, func(a, b cardEntry) int {
		if a.opened != b.opened {
			if a.opened {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.arrived.UnixNano(), b.arrived.UnixNano())
	})
	return out, nil
}

// takeCard keeps a card record from a peer (announcement, replica,
// import): within the cap of card records per vault and the quota.
func (n *Node) takeCard(ctx context.Context, v vault.VaultID, rec *proto.CardRecord) error {
	if err := n.checkFits(ctx, int64(len(rec.Envelope)+vault.MaxPointerSize)); err != nil {
		return err
	}
	return n.keepCard(ctx, v, rec, false)
}

// markCardOpened records that the card of lookup opened vault v here.
func (n *Node) markCardOpened(ctx context.Context, v vault.VaultID, lookup vault.LookupID) {
	k := vaultCardKey(v.String(), lookup.String())
	b, ok, err := n.store.get(ctx, k)
	if err != nil || !ok {
		return
	}
	e := parseCardEntry(lookup.String(), b)
	if e.opened {
		return
	}
	e.opened = true
	if e.arrived.IsZero() {
		e.arrived = time.Now()
	}
	if err := n.store.ldb.Put(ctx, k, e.marshal()); err != nil {
		n.log.Warn("mark card opened", "vault", v, "err", err)
	}
}

// keepCard keeps a card record: the envelope block, pinned with the vault,
// and the pointer. A pointer older than the one kept for the same card is
// ignored (after a key rotation, the card points to a new envelope).
// opened says the record opened the vault here or was made here.
func (n *Node) keepCard(ctx context.Context, v vault.VaultID, rec *proto.CardRecord, opened bool) error {
	lookup := rec.Pointer.Lookup.String()
	if b, ok, err := n.store.get(ctx, cardKey(lookup)); err != nil {
		return err
	} else if ok {
		if old, err := vault.ParsePointer(b); err == nil && !rec.Pointer.Time.After(old.Time) {
			if opened {
				n.markCardOpened(ctx, v, rec.Pointer.Lookup)
			}
			return nil
		}
	}
	entry := cardEntry{lookup: lookup, opened: opened, arrived: time.Now()}
	entries, err := n.cardEntries(ctx, v)
	if err != nil {
		return err
	}
	var (
		evict    *cardEntry
		evictEnv cid.Cid
	)
	if i := slices.IndexFunc(entries, func(e cardEntry) bool { return e.lookup == lookup }); i >= 0 {
		entry.opened = entry.opened || entries[i].opened
		entry.arrived = entries[i].arrived
	} else if len(entries) >= maxCardsPerVault {
		last := entries[len(entries)-1]
		if !opened || last.opened {
			return fmt.Errorf("vault %s: %w", v, ErrTooManyCards)
		}
		evict = &last
		if b, ok, err := n.store.get(ctx, cardKey(last.lookup)); err == nil && ok {
			if p, err := vault.ParsePointer(b); err == nil {
				evictEnv = p.Envelope
			}
		}
	}
	c, err := n.putRaw(ctx, rec.Envelope)
	if err != nil {
		return err
	}
	if err := n.store.syncBlocks(); err != nil {
		return err
	}
	nd, err := n.dag.Get(ctx, c)
	if err != nil {
		return err
	}
	if err := n.pinner.Pin(ctx, nd, false, pinName(v)); err != nil {
		return fmt.Errorf("pin envelope: %w", err)
	}
	b, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, cardKey(lookup), rec.Pointer.Marshal()); err != nil {
		return err
	}
	if err := b.Put(ctx, vaultCardKey(v.String(), lookup), entry.marshal()); err != nil {
		return err
	}
	if evict != nil {
		if err := errors.Join(b.Delete(ctx, cardKey(evict.lookup)), b.Delete(ctx, vaultCardKey(v.String(), evict.lookup))); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("record card: %w", err)
	}
	if evictEnv.Defined() {
		if err := n.pinner.Unpin(ctx, evictEnv, false); err != nil {
			n.log.Debug("unpin envelope of a card record pushed out", "vault", v, "err", err)
		}
	}
	return nil
}
