// Package packds is a datastore for content-addressed blocks that keeps
// them in append-only pack files, with an index of where each one is,
// instead of one file per block.
//
// Creating a file costs far more than writing its bytes on a small
// machine's file system (on the VM these figures come from, 200–900 µs of
// CPU per file, against about 3 ms to write a whole 1 MB block): a vault of
// 2,000 documents is about 2,300 blocks, and one file per block made
// adding a vault as slow as creating its files.
//
// # Pack files
//
// A pack is DIR/NNNNNNNN.pack (eight hexadecimal digits, numbered from 1).
// It starts with the 16 bytes "baluchon pack 1\n", then holds records one
// after the other, each
//
//	uvarint(len(key)) || key || uvarint(len(value)) || value
//
// where key is the block's datastore key. Packs are only appended to: a
// block that is deleted stays in its pack, as dead bytes, until Compact
// copies its pack's live blocks to the current pack and removes the file.
// The record repeats the key so that a read checks that the index points
// at the right block. testdata/format-v1.txt is a pack of two blocks and
// their index entries, byte for byte (TestFrozenFormat).
//
// # Index and durability
//
// The index maps a key to (pack, offset of the record, length of the
// value), as three uvarints, in another datastore (the node's leveldb). A
// block written by Put is readable at once but its index entry is only
// pending: Sync (also Flush) first fsyncs every pack written since the last
// one, and the directory when a pack was created, then writes the pending
// entries and deletions in one synchronous batch. So an index entry never
// names bytes that are not on disk. A crash loses the blocks written since
// the last Sync (callers sync before they record anything that refers to
// them, as they did with a block store that fsyncs nothing itself) and
// leaves their bytes as dead space in a pack.
//
// # Blocks from before packs
//
// A legacy datastore (the flatfs directory of older homes) is still read:
// Get, Has and Query see its blocks, Delete removes them from it, and Put
// never writes to it.
package packds

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

// packMagic starts every pack file.
const packMagic = "baluchon pack 1\n"

const (
	// DefaultMaxPack is the size at which a pack is closed and a new one
	// started: large enough that a vault is a few files, small enough
	// that compacting one copies little.
	DefaultMaxPack = 32 << 20
	// flushEvery bounds the pending index entries: Put flushes when this
	// many wait, so that memory and what a crash loses stay bounded even
	// when the caller never syncs.
	flushEvery = 4096
	// Compact rewrites a pack whose dead bytes are at least 1/compactRatio
	// of it, then the most dead ones while the dead bytes of all packs
	// are over 1/compactTotal of their size.
	compactRatio = 4
	compactTotal = 20
)

// ErrCorrupt is returned by Get when a pack does not hold, where the index
// says, the block asked for.
var ErrCorrupt = errors.New("pack store damaged")

// loc is where a block is: its record starts at off in pack, and its value
// is n bytes long.
type loc struct {
	pack uint32
	off  int64
	n    int
}

func (l loc) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(l.pack))
	b = binary.AppendUvarint(b, uint64(l.off))
	return binary.AppendUvarint(b, uint64(l.n))
}

func decodeLoc(b []byte) (loc, error) {
	var v [3]uint64
	for i := range v {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return loc{}, fmt.Errorf("%w: bad index entry", ErrCorrupt)
		}
		v[i], b = x, b[n:]
	}
	if len(b) != 0 || v[0] == 0 || v[0] > 1<<32-1 || v[1] > 1<<62 || v[2] > 1<<40 {
		return loc{}, fmt.Errorf("%w: bad index entry", ErrCorrupt)
	}
	return loc{pack: uint32(v[0]), off: int64(v[1]), n: int(v[2])}, nil
}

// recordLen is the length of the record of a value of n bytes under key.
func recordLen(key string, n int) int64 {
	return int64(uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(n)) + n)
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// Datastore is a pack store. It is safe for concurrent use.
type Datastore struct {
	dir     string
	index   ds.Batching
	legacy  ds.Batching
	maxPack int64

	// flushMu is held by Flush, Delete, Query and Compact: the pending
	// maps are only swapped with flushMu held, so these see every key in
	// exactly one of pending, flushing and the index.
	flushMu sync.Mutex

	mu          sync.Mutex
	cur         *os.File // the pack being appended to; nil before the first Put
	curID       uint32
	curDirty    bool       // cur was written since the last flush took it
	toSync      []*os.File // packs closed for appends, not synced yet
	dirDirty    bool       // a pack was created since the last flush
	nextID      uint32
	pending     map[string]loc // written, not yet in the index
	deleted     map[string]struct{}
	flushing    map[string]loc // being written to the index
	flushingDel map[string]struct{}
	sizes       map[uint32]int64 // bytes of every pack file
	readers     map[uint32]*os.File
	closed      bool
}

// Options tune a Datastore.
type Options struct {
	// MaxPack is the size at which a new pack is started (DefaultMaxPack
	// when zero).
	MaxPack int64
	// Legacy, if not nil, holds blocks written before packs: read and
	// deleted, never written.
	Legacy ds.Batching
}

// Open opens the pack store in dir (created if missing), with its index
// in index. Packs are found by listing dir; a new pack is started at the
// first Put.
func Open(dir string, index ds.Batching, opts Options) (*Datastore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pack directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	d := &Datastore{
		dir:     dir,
		index:   index,
		legacy:  opts.Legacy,
		maxPack: opts.MaxPack,
		nextID:  1,
		pending: map[string]loc{},
		deleted: map[string]struct{}{},
		sizes:   map[uint32]int64{},
		readers: map[uint32]*os.File{},
	}
	if d.maxPack <= 0 {
		d.maxPack = DefaultMaxPack
	}
	for _, e := range ents {
		id, ok := packID(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("list packs: %w", err)
		}
		d.sizes[id] = info.Size()
		if id >= d.nextID {
			if id == 1<<32-1 {
				return nil, fmt.Errorf("%w: pack numbers exhausted in %s", ErrCorrupt, dir)
			}
			d.nextID = id + 1
		}
	}
	return d, nil
}

func packName(id uint32) string { return fmt.Sprintf("%08x.pack", id) }

func packID(name string) (uint32, bool) {
	hex, ok := strings.CutSuffix(name, ".pack")
	if !ok || len(hex) != 8 {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || id == 0 {
		return 0, false
	}
	return uint32(id), true
}

// appendLocked writes a record to the current pack, starting one if
// needed. d.mu is held.
func (d *Datastore) appendLocked(key string, value []byte) (loc, error) {
	if d.closed {
		return loc{}, errors.New("pack store closed")
	}
	rl := recordLen(key, len(value))
	if d.cur != nil && d.sizes[d.curID]+rl > d.maxPack && d.sizes[d.curID] > int64(len(packMagic)) {
		d.toSync = append(d.toSync, d.cur)
		d.cur = nil
	}
	if d.cur == nil {
		id := d.nextID
		f, err := os.OpenFile(filepath.Join(d.dir, packName(id)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			return loc{}, fmt.Errorf("start a pack: %w", err)
		}
		d.nextID++
		d.dirDirty = true
		if _, err := f.Write([]byte(packMagic)); err != nil {
			f.Close()
			os.Remove(f.Name())
			return loc{}, fmt.Errorf("start a pack: %w", err)
		}
		d.cur, d.curID = f, id
		d.sizes[id] = int64(len(packMagic))
	}
	off := d.sizes[d.curID]
	hdr := make([]byte, 0, 2*binary.MaxVarintLen64+len(key))
	hdr = binary.AppendUvarint(hdr, uint64(len(key)))
	hdr = append(hdr, key...)
	hdr = binary.AppendUvarint(hdr, uint64(len(value)))
	d.curDirty = true
	_, err := d.cur.Write(hdr)
	if err == nil {
		_, err = d.cur.Write(value)
	}
	if err != nil {
		// The pack may end with part of a record: nothing more is
		// appended to it (its written records stay readable).
		d.toSync = append(d.toSync, d.cur)
		d.cur = nil
		return loc{}, fmt.Errorf("write to pack: %w", err)
	}
	d.sizes[d.curID] = off + rl
	return loc{pack: d.curID, off: off, n: len(value)}, nil
}

// memLocked finds key among the writes and deletions not in the index
// yet, the newest first: found when a block was put, gone when it was
// deleted. d.mu is held.
func (d *Datastore) memLocked(k string) (l loc, found, gone bool) {
	if l, ok := d.pending[k]; ok {
		return l, true, false
	}
	if _, ok := d.deleted[k]; ok {
		return loc{}, false, true
	}
	if l, ok := d.flushing[k]; ok {
		return l, true, false
	}
	_, gone = d.flushingDel[k]
	return loc{}, false, gone
}

// Put stores value under key, unless the store already holds key (a key
// names its content).
func (d *Datastore) Put(ctx context.Context, key ds.Key, value []byte) error {
	k := key.String()
	d.mu.Lock()
	_, found, gone := d.memLocked(k)
	if !found && !gone {
		d.mu.Unlock()
		has, err := d.index.Has(ctx, key)
		if err == nil && !has && d.legacy != nil {
			has, err = d.legacy.Has(ctx, key)
		}
		if err != nil {
			return err
		}
		if has {
			return nil
		}
		d.mu.Lock()
		_, found, _ = d.memLocked(k) // put meanwhile by another Put?
	}
	if found {
		d.mu.Unlock()
		return nil
	}
	l, err := d.appendLocked(k, value)
	if err != nil {
		d.mu.Unlock()
		return err
	}
	delete(d.deleted, k)
	d.pending[k] = l
	full := len(d.pending) >= flushEvery
	d.mu.Unlock()
	if full {
		return d.Flush()
	}
	return nil
}

// lookup finds key in the packs. gone is true when key was deleted and the
// deletion is not in the index yet.
func (d *Datastore) lookup(ctx context.Context, key ds.Key) (l loc, found, gone bool, err error) {
	d.mu.Lock()
	l, found, gone = d.memLocked(key.String())
	d.mu.Unlock()
	if found || gone {
		return l, found, gone, nil
	}
	b, err := d.index.Get(ctx, key)
	if errors.Is(err, ds.ErrNotFound) {
		return loc{}, false, false, nil
	}
	if err != nil {
		return loc{}, false, false, err
	}
	l, err = decodeLoc(b)
	return l, err == nil, false, err
}

// reader returns a file open for reading pack id, and the pack's size.
func (d *Datastore) reader(id uint32) (*os.File, int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	size, ok := d.sizes[id]
	if !ok {
		return nil, 0, fmt.Errorf("pack %s: %w", packName(id), os.ErrNotExist)
	}
	if f, ok := d.readers[id]; ok {
		return f, size, nil
	}
	if d.closed {
		return nil, 0, errors.New("pack store closed")
	}
	f, err := os.Open(filepath.Join(d.dir, packName(id)))
	if err != nil {
		return nil, 0, err
	}
	if len(d.readers) >= 256 {
		for id, r := range d.readers {
			r.Close()
			delete(d.readers, id)
		}
	}
	d.readers[id] = f
	return f, size, nil
}

// read reads the value of key at l.
func (d *Datastore) read(key string, l loc) ([]byte, error) {
	f, size, err := d.reader(l.pack)
	if err != nil {
		return nil, err
	}
	rl := recordLen(key, l.n)
	if l.off < int64(len(packMagic)) || l.off+rl > size {
		// Checked before the allocation: a damaged entry must not make
		// the node allocate what it says.
		return nil, fmt.Errorf("%w: pack %s is %d bytes, the index names %d at %d", ErrCorrupt, packName(l.pack), size, rl, l.off)
	}
	buf := make([]byte, rl)
	if _, err := f.ReadAt(buf, l.off); err != nil {
		return nil, err
	}
	kl, n := binary.Uvarint(buf)
	if n <= 0 || kl != uint64(len(key)) || !bytes.Equal(buf[n:n+len(key)], []byte(key)) {
		return nil, fmt.Errorf("%w: pack %s at %d does not hold %s", ErrCorrupt, packName(l.pack), l.off, key)
	}
	rest := buf[n+len(key):]
	vl, n := binary.Uvarint(rest)
	if n <= 0 || vl != uint64(l.n) || len(rest)-n != l.n {
		return nil, fmt.Errorf("%w: pack %s at %d does not hold %s", ErrCorrupt, packName(l.pack), l.off, key)
	}
	return rest[n:], nil
}

// Get returns the value of key.
func (d *Datastore) Get(ctx context.Context, key ds.Key) ([]byte, error) {
	// A compaction may move the block and remove its pack between the
	// lookup and the read: look again.
	for try := 0; ; try++ {
		l, found, gone, err := d.lookup(ctx, key)
		if err != nil {
			return nil, err
		}
		if gone {
			return nil, ds.ErrNotFound
		}
		if !found {
			if d.legacy == nil {
				return nil, ds.ErrNotFound
			}
			return d.legacy.Get(ctx, key)
		}
		b, err := d.read(key.String(), l)
		if err != nil && try < 3 && (errors.Is(err, os.ErrClosed) || errors.Is(err, os.ErrNotExist)) {
			continue
		}
		return b, err
	}
}

// Has reports whether the store holds key.
func (d *Datastore) Has(ctx context.Context, key ds.Key) (bool, error) {
	_, found, gone, err := d.lookup(ctx, key)
	if err != nil || found || gone || d.legacy == nil {
		return found, err
	}
	return d.legacy.Has(ctx, key)
}

// GetSize returns the length of the value of key.
func (d *Datastore) GetSize(ctx context.Context, key ds.Key) (int, error) {
	l, found, gone, err := d.lookup(ctx, key)
	switch {
	case err != nil:
		return -1, err
	case found:
		return l.n, nil
	case gone || d.legacy == nil:
		return -1, ds.ErrNotFound
	}
	return d.legacy.GetSize(ctx, key)
}

// Delete removes key. Its bytes stay in their pack until Compact.
func (d *Datastore) Delete(ctx context.Context, key ds.Key) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	k := key.String()
	d.mu.Lock()
	delete(d.pending, k)
	d.mu.Unlock()
	in, err := d.index.Has(ctx, key)
	if err != nil {
		return err
	}
	if in {
		d.mu.Lock()
		d.deleted[k] = struct{}{}
		d.mu.Unlock()
	}
	if d.legacy != nil {
		return d.legacy.Delete(ctx, key)
	}
	return nil
}

// Sync makes every Put and Delete so far durable (see Flush).
func (d *Datastore) Sync(ctx context.Context, _ ds.Key) error { return d.Flush() }

// Flush fsyncs the packs written since the last flush, then records their
// blocks, and the deletions, in the index in one synchronous batch.
func (d *Datastore) Flush() error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	return d.flushLocked()
}

func (d *Datastore) flushLocked() error {
	d.mu.Lock()
	if len(d.pending) == 0 && len(d.deleted) == 0 && len(d.toSync) == 0 && !d.curDirty && !d.dirDirty {
		d.mu.Unlock()
		return nil
	}
	d.flushing, d.pending = d.pending, map[string]loc{}
	d.flushingDel, d.deleted = d.deleted, map[string]struct{}{}
	rolled := d.toSync
	d.toSync = nil
	files := slices.Clone(rolled)
	if d.curDirty && d.cur != nil {
		files = append(files, d.cur)
	}
	d.curDirty = false
	dirDirty := d.dirDirty
	d.dirDirty = false
	d.mu.Unlock()

	err := d.writeIndex(files, dirDirty)

	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		for _, f := range rolled {
			f.Close()
		}
	} else {
		// Everything goes back for the next flush.
		for k, l := range d.flushing {
			if _, ok := d.pending[k]; !ok {
				if _, del := d.deleted[k]; !del {
					d.pending[k] = l
				}
			}
		}
		for k := range d.flushingDel {
			if _, ok := d.pending[k]; !ok {
				d.deleted[k] = struct{}{}
			}
		}
		d.toSync = append(rolled, d.toSync...)
		d.curDirty = true
		d.dirDirty = d.dirDirty || dirDirty
	}
	d.flushing, d.flushingDel = nil, nil
	return err
}

func (d *Datastore) writeIndex(files []*os.File, dirDirty bool) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync pack: %w", err)
		}
	}
	if dirDirty && runtime.GOOS != "windows" {
		// Windows cannot sync a directory; a new file's entry is durable
		// with the file there.
		if err := syncDir(d.dir); err != nil {
			return fmt.Errorf("sync pack directory: %w", err)
		}
	}
	if len(d.flushing) == 0 && len(d.flushingDel) == 0 {
		return nil
	}
	ctx := context.Background()
	b, err := d.index.Batch(ctx)
	if err != nil {
		return err
	}
	for k := range d.flushingDel {
		if err := b.Delete(ctx, ds.RawKey(k)); err != nil {
			return err
		}
	}
	for k, l := range d.flushing {
		if err := b.Put(ctx, ds.RawKey(k), l.encode()); err != nil {
			return err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Query lists the store's keys (and values unless q.KeysOnly), the
// legacy datastore's included. It reads every key first: it is meant for
// listings (collection, backup), not for a hot path.
func (d *Datastore) Query(ctx context.Context, q dsq.Query) (dsq.Results, error) {
	keys, err := d.keys(ctx)
	if err != nil {
		return nil, err
	}
	entries := make([]dsq.Entry, 0, len(keys))
	for _, k := range keys {
		e := dsq.Entry{Key: k}
		if !q.KeysOnly || q.ReturnsSizes {
			v, err := d.Get(ctx, ds.RawKey(k))
			if errors.Is(err, ds.ErrNotFound) {
				continue // deleted since it was listed
			}
			if err != nil {
				return nil, err
			}
			e.Size = len(v)
			if !q.KeysOnly {
				e.Value = v
			}
		}
		entries = append(entries, e)
	}
	return dsq.NaiveQueryApply(q, dsq.ResultsWithEntries(q, entries)), nil
}

// keys lists every key, sorted.
func (d *Datastore) keys(ctx context.Context) ([]string, error) {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	set := map[string]struct{}{}
	list := func(s ds.Datastore) error {
		r, err := s.Query(ctx, dsq.Query{KeysOnly: true})
		if err != nil {
			return err
		}
		defer r.Close()
		for e := range r.Next() {
			if e.Error != nil {
				return e.Error
			}
			set[e.Key] = struct{}{}
		}
		return nil
	}
	if err := list(d.index); err != nil {
		return nil, fmt.Errorf("list pack index: %w", err)
	}
	if d.legacy != nil {
		if err := list(d.legacy); err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	for k := range d.pending {
		set[k] = struct{}{}
	}
	for k := range d.deleted {
		delete(set, k)
	}
	d.mu.Unlock()
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Batch returns a batch applied by Put and Delete at Commit.
func (d *Datastore) Batch(ctx context.Context) (ds.Batch, error) {
	return ds.NewBasicBatch(d), nil
}

// DiskUsage returns the bytes of the pack files, and of the legacy
// datastore if it measures itself.
func (d *Datastore) DiskUsage(ctx context.Context) (uint64, error) {
	d.mu.Lock()
	var n uint64
	for _, s := range d.sizes {
		n += uint64(s)
	}
	d.mu.Unlock()
	if p, ok := d.legacy.(ds.PersistentDatastore); ok {
		l, err := p.DiskUsage(ctx)
		if err != nil {
			return 0, err
		}
		n += l
	}
	return n, nil
}

// Close flushes and closes the packs. It does not close the index nor
// the legacy datastore.
func (d *Datastore) Close() error {
	err := d.Flush()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.cur != nil {
		err = errors.Join(err, d.cur.Close())
		d.cur = nil
	}
	for id, r := range d.readers {
		r.Close()
		delete(d.readers, id)
	}
	return err
}

var (
	_ ds.Batching            = (*Datastore)(nil)
	_ ds.PersistentDatastore = (*Datastore)(nil)
)
