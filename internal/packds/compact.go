package packds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

// CompactResult tells what Compact did.
type CompactResult struct {
	Removed   int   // packs removed
	Rewritten int   // of which had live blocks, copied first
	Moved     int   // blocks copied
	Freed     int64 // bytes of pack files removed, less the bytes copied
	Left      int   // packs to remove that could not be (a reader had one open, on Windows): the next Compact will
}

// Compact gives back the space of deleted blocks. A pack with no live
// block is removed; one whose dead bytes are a quarter of it or more has
// its live blocks copied to the current pack, then is removed; and while
// the dead bytes of all packs are more than a twentieth of them, the
// packs with the most dead bytes are too. So after a Compact the packs
// are at most about 5 % larger than the blocks they hold.
//
// With all, every pack that holds a deleted block is rewritten, the
// current one included: no deleted block's bytes stay in a pack (after
// a key rotation, the old ciphertext leaves the files).
//
// The copies are made durable, and the index changed, before a pack is
// removed: a crash at any point loses no block. A Get racing with the
// removal reads the block at its new place.
func (d *Datastore) Compact(ctx context.Context, all bool) (*CompactResult, error) {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	if all {
		// The current pack is closed for appends, so that it can be
		// rewritten too. Before the flush and the count of live bytes
		// below: a block put after them goes to a new pack, which is
		// left alone.
		d.mu.Lock()
		if d.cur != nil {
			d.toSync = append(d.toSync, d.cur)
			d.cur = nil
		}
		d.mu.Unlock()
	}
	if err := d.flushLocked(); err != nil {
		return nil, err
	}
	// Every block in the packs that is not pending is in the index now,
	// and stays there while flushMu is held: so a pack counted here with
	// no live bytes holds none.
	live := map[uint32]int64{}
	err := d.scan(ctx, func(k string, l loc) error {
		live[l.pack] += recordLen(k, l.n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	type packUse struct {
		id         uint32
		size, dead int64
	}
	var packs []packUse
	var total, dead int64
	d.mu.Lock()
	// Blocks put since the flush above are in the current pack, or in
	// packs started since: none of those is touched.
	busy := map[uint32]bool{}
	for _, l := range d.pending {
		busy[l.pack] = true
	}
	if d.cur != nil {
		busy[d.curID] = true
	}
	for id, size := range d.sizes {
		total += size
		if busy[id] {
			continue
		}
		u := packUse{id: id, size: size, dead: max(0, size-int64(len(packMagic))-live[id])}
		packs = append(packs, u)
		dead += u.dead
	}
	d.mu.Unlock()
	// The most dead first (dead/size, compared without division).
	slices.SortFunc(packs, func(a, b packUse) int {
		x, y := a.dead*b.size, b.dead*a.size
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return int(int64(a.id) - int64(b.id))
	})
	res := &CompactResult{}
	remove := map[uint32]int64{}
	rewrite := map[uint32]bool{}
	for _, p := range packs {
		switch {
		case live[p.id] == 0:
		case p.dead > 0 && (all || p.dead*compactRatio >= p.size || dead*compactTotal > total):
			rewrite[p.id] = true
		default:
			continue
		}
		remove[p.id] = p.size
		dead -= p.dead
	}
	if len(remove) == 0 {
		return res, nil
	}
	if len(rewrite) > 0 {
		err := d.scan(ctx, func(k string, l loc) error {
			if !rewrite[l.pack] {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := d.read(k, l)
			if err != nil {
				return err
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if _, ok := d.pending[k]; ok {
				return nil
			}
			nl, err := d.appendLocked(k, v)
			if err != nil {
				return err
			}
			d.pending[k] = nl
			res.Moved++
			res.Freed -= recordLen(k, l.n)
			return nil
		})
		if err != nil {
			// What was copied is flushed: the index then names the copies,
			// and the old packs stay until the next Compact.
			return nil, fmt.Errorf("compact packs: %w", err)
		}
		if err := d.flushLocked(); err != nil {
			return nil, err
		}
	}
	for id, size := range remove {
		d.mu.Lock()
		if r, ok := d.readers[id]; ok {
			r.Close()
			delete(d.readers, id)
		}
		err := os.Remove(filepath.Join(d.dir, packName(id)))
		if err == nil || os.IsNotExist(err) {
			delete(d.sizes, id)
		}
		d.mu.Unlock()
		if err != nil && !os.IsNotExist(err) {
			// Windows refuses to remove a file a reader still has open:
			// the pack names no live block now, and the next Compact
			// removes it.
			res.Left++
			continue
		}
		res.Removed++
		if rewrite[id] {
			res.Rewritten++
		}
		res.Freed += size
	}
	return res, nil
}

// scan calls f for every entry of the index.
func (d *Datastore) scan(ctx context.Context, f func(k string, l loc) error) error {
	r, err := d.index.Query(ctx, dsq.Query{})
	if err != nil {
		return fmt.Errorf("read pack index: %w", err)
	}
	defer r.Close()
	for e := range r.Next() {
		if e.Error != nil {
			return fmt.Errorf("read pack index: %w", e.Error)
		}
		l, err := decodeLoc(e.Value)
		if err != nil {
			return fmt.Errorf("%w (key %s)", err, e.Key)
		}
		if err := f(ds.NewKey(e.Key).String(), l); err != nil {
			return err
		}
	}
	return nil
}
