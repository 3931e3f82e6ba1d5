package packds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
)

func key(i int) ds.Key {
	h := sha256.Sum256([]byte(fmt.Sprint(i)))
	return ds.NewKey(fmt.Sprintf("K%X", h[:8]))
}

func value(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	return b
}

// index is a persistent index shared by the opens of one test.
func newIndex() ds.Batching { return dssync.MutexWrap(ds.NewMapDatastore()) }

func open(t *testing.T, dir string, index ds.Batching, opts Options) *Datastore {
	t.Helper()
	d, err := Open(dir, index, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPutGetDelete(t *testing.T) {
	ctx := context.Background()
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{MaxPack: 10_000})
	for i := range 50 {
		if err := d.Put(ctx, key(i), value(i, 100*i)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(d *Datastore, i int, want bool) {
		t.Helper()
		v, err := d.Get(ctx, key(i))
		has, herr := d.Has(ctx, key(i))
		size, serr := d.GetSize(ctx, key(i))
		if herr != nil || has != want {
			t.Fatalf("Has(%d) = %v, %v; want %v", i, has, herr, want)
		}
		if !want {
			if !errors.Is(err, ds.ErrNotFound) || !errors.Is(serr, ds.ErrNotFound) {
				t.Fatalf("Get(%d) of a deleted block: %v, %v", i, err, serr)
			}
			return
		}
		if err != nil || !bytes.Equal(v, value(i, 100*i)) || serr != nil || size != 100*i {
			t.Fatalf("Get(%d): %d bytes, %v; size %d, %v", i, len(v), err, size, serr)
		}
	}
	for i := range 50 {
		check(d, i, true)
	}
	// A second Put of a key writes nothing.
	before, _ := d.DiskUsage(ctx)
	if err := d.Put(ctx, key(3), value(3, 300)); err != nil {
		t.Fatal(err)
	}
	if after, _ := d.DiskUsage(ctx); after != before {
		t.Fatalf("a second Put of a key wrote %d bytes", after-before)
	}
	if n := len(packFiles(t, dir)); n < 10 {
		t.Fatalf("%d packs of at most 10,000 bytes for 122,500 bytes", n)
	}
	for i := 0; i < 50; i += 2 {
		if err := d.Delete(ctx, key(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		check(d, i, i%2 == 1)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = open(t, dir, index, Options{MaxPack: 10_000})
	defer d.Close()
	for i := range 50 {
		check(d, i, i%2 == 1)
	}
	// A deleted block can be put again.
	if err := d.Put(ctx, key(4), value(4, 400)); err != nil {
		t.Fatal(err)
	}
	check(d, 4, true)
	r, err := d.Query(ctx, dsq.Query{KeysOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	all, err := r.Rest()
	if err != nil || len(all) != 26 {
		t.Fatalf("Query: %d keys, %v; want 26", len(all), err)
	}
}

// TestIndexAfterSync: a block is in the index only once its pack is
// synced, so that a crash before Sync loses it whole and a crash after
// loses nothing.
func TestIndexAfterSync(t *testing.T) {
	ctx := context.Background()
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{})
	if err := d.Put(ctx, key(1), value(1, 1000)); err != nil {
		t.Fatal(err)
	}
	if has, _ := index.Has(ctx, key(1)); has {
		t.Fatal("the index names a block before Sync")
	}
	// A crash now: the next open does not see the block.
	crashed := open(t, dir, index, Options{})
	if has, _ := crashed.Has(ctx, key(1)); has {
		t.Fatal("a block not synced is in the index")
	}
	crashed.Close()
	if err := d.Sync(ctx, ds.NewKey("/")); err != nil {
		t.Fatal(err)
	}
	after := open(t, dir, index, Options{})
	defer after.Close()
	if v, err := after.Get(ctx, key(1)); err != nil || !bytes.Equal(v, value(1, 1000)) {
		t.Fatalf("after Sync and a crash: %v", err)
	}
	// Put flushes by itself when many entries wait.
	for i := range flushEvery + 10 {
		if err := d.Put(ctx, key(100+i), value(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if has, _ := index.Has(ctx, key(100)); !has {
		t.Fatalf("%d blocks put without Sync: none is in the index", flushEvery+10)
	}
}

func TestLegacy(t *testing.T) {
	ctx := context.Background()
	legacy := newIndex()
	for i := range 10 {
		legacy.Put(ctx, key(i), value(i, 10))
	}
	d := open(t, t.TempDir(), newIndex(), Options{Legacy: legacy})
	defer d.Close()
	// A Put of a block the legacy store holds writes nothing.
	if err := d.Put(ctx, key(1), value(1, 10)); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.DiskUsage(ctx); n != 0 {
		t.Fatalf("a Put of a legacy block wrote %d bytes", n)
	}
	for i := 5; i < 15; i++ {
		if err := d.Put(ctx, key(i), value(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 15 {
		if v, err := d.Get(ctx, key(i)); err != nil || !bytes.Equal(v, value(i, 10)) {
			t.Fatalf("Get(%d): %v", i, err)
		}
	}
	if err := d.Delete(ctx, key(2)); err != nil {
		t.Fatal(err)
	}
	if has, _ := legacy.Has(ctx, key(2)); has {
		t.Fatal("Delete left a legacy block")
	}
	r, _ := d.Query(ctx, dsq.Query{})
	es, err := r.Rest()
	if err != nil || len(es) != 14 {
		t.Fatalf("Query: %d entries, %v; want 14", len(es), err)
	}
	for _, e := range es {
		if len(e.Value) != 10 {
			t.Fatalf("Query: %s has %d bytes", e.Key, len(e.Value))
		}
	}
}

func TestCompact(t *testing.T) {
	ctx := context.Background()
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{MaxPack: 20_000})
	const n, size = 400, 1000
	for i := range n {
		if err := d.Put(ctx, key(i), value(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	d.Flush()
	// Every block of the first packs, one in three elsewhere.
	live := map[int]bool{}
	for i := range n {
		if i < 100 || i%3 == 0 {
			if err := d.Delete(ctx, key(i)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		live[i] = true
	}
	// A pack left by a crash: no index entry names it.
	if err := os.WriteFile(filepath.Join(dir, packName(999)), []byte(packMagic+"torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = open(t, dir, index, Options{MaxPack: 20_000})
	defer d.Close()
	before, _ := d.DiskUsage(ctx)
	res, err := d.Compact(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := d.DiskUsage(ctx)
	var liveBytes int64
	for i := range live {
		liveBytes += recordLen(key(i).String(), size)
	}
	t.Logf("compact: %+v; %d → %d bytes for %d live", res, before, after, liveBytes)
	if float64(after) > 1.06*float64(liveBytes)+float64(20_000) {
		t.Fatalf("after Compact the packs are %d bytes for %d live", after, liveBytes)
	}
	if _, err := os.Stat(filepath.Join(dir, packName(999))); !os.IsNotExist(err) {
		t.Fatalf("a pack that no index entry names stays: %v", err)
	}
	check := func(d *Datastore) {
		t.Helper()
		for i := range n {
			v, err := d.Get(ctx, key(i))
			if live[i] != (err == nil) || live[i] && !bytes.Equal(v, value(i, size)) {
				t.Fatalf("after Compact, block %d (live %v): %v", i, live[i], err)
			}
		}
	}
	check(d)
	d.Close()
	d = open(t, dir, index, Options{MaxPack: 20_000})
	check(d)
	// Nothing more to do.
	if res, err := d.Compact(ctx, false); err != nil || res.Removed != 0 {
		t.Fatalf("a second Compact: %+v, %v", res, err)
	}
}

func TestCorruptIndex(t *testing.T) {
	ctx := context.Background()
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{})
	defer d.Close()
	d.Put(ctx, key(1), value(1, 100))
	d.Put(ctx, key(2), value(2, 100))
	d.Flush()
	// The entry of key 2 names key 1's record.
	b, _ := index.Get(ctx, key(1))
	index.Put(ctx, key(2), b)
	if _, err := d.Get(ctx, key(2)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("an index entry naming another block: %v", err)
	}
	// One naming a gigabyte: refused before anything is allocated.
	index.Put(ctx, key(2), loc{pack: 1, off: int64(len(packMagic)), n: 1 << 30}.encode())
	if _, err := d.Get(ctx, key(2)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("an index entry past the end of its pack: %v", err)
	}
	index.Put(ctx, key(2), []byte{0xff})
	if _, err := d.Get(ctx, key(2)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a damaged index entry: %v", err)
	}
	if _, err := d.Compact(ctx, false); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Compact over a damaged index entry: %v", err)
	}
}

// TestConcurrent: reads, writes, deletes and compactions at once (run it
// with -race).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir(), newIndex(), Options{MaxPack: 50_000})
	defer d.Close()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			for i := w * 1000; i < w*1000+300; i++ {
				if err := d.Put(ctx, key(i), value(i, 500)); err != nil {
					errc <- err
					return
				}
				if i%2 == 0 {
					if err := d.Delete(ctx, key(i)); err != nil {
						errc <- err
						return
					}
				}
				if v, err := d.Get(ctx, key(i)); i%2 == 1 && (err != nil || !bytes.Equal(v, value(i, 500))) {
					errc <- fmt.Errorf("Get(%d): %v", i, err)
					return
				}
				if i%25 == 0 {
					if _, err := d.Compact(ctx, i%50 == 0); err != nil {
						errc <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for w := range 4 {
		for i := w * 1000; i < w*1000+300; i++ {
			v, err := d.Get(ctx, key(i))
			if i%2 == 1 && (err != nil || !bytes.Equal(v, value(i, 500))) || i%2 == 0 && err == nil {
				t.Fatalf("Get(%d) after: %v", i, err)
			}
		}
	}
}

// TestCompactAll: a block deleted from a pack that is mostly live, the
// current one, stays in its file after a Compact, and not after a Compact
// with all.
func TestCompactAll(t *testing.T) {
	ctx := context.Background()
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{})
	defer d.Close()
	for i := range 20 {
		if err := d.Put(ctx, key(i), value(i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	secret := []byte("the old ciphertext, one of twenty blocks")
	if err := d.Put(ctx, key(99), secret); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, key(99)); err != nil {
		t.Fatal(err)
	}
	holds := func() bool {
		for _, p := range packFiles(t, dir) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, secret) {
				return true
			}
		}
		return false
	}
	if _, err := d.Compact(ctx, false); err != nil || !holds() {
		t.Fatalf("a Compact rewrote a pack 2 %% dead (%v)", err)
	}
	if _, err := d.Compact(ctx, true); err != nil || holds() {
		t.Fatalf("after a Compact with all, a pack still holds a deleted block (%v)", err)
	}
	for i := range 20 {
		if v, err := d.Get(ctx, key(i)); err != nil || !bytes.Equal(v, value(i, 1000)) {
			t.Fatalf("Get(%d) after Compact: %v", i, err)
		}
	}
	if err := d.Put(ctx, key(30), value(30, 10)); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Get(ctx, key(30)); err != nil || !bytes.Equal(v, value(30, 10)) {
		t.Fatalf("a Put after Compact: %v", err)
	}
}

// TestFrozenFormat: the pack and index entries written for two blocks are
// byte for byte those of testdata (the format in the package doc), and a
// store opened on those files reads the blocks: packs written by this
// version stay readable by the next ones.
func TestFrozenFormat(t *testing.T) {
	ctx := context.Background()
	blocks := []struct{ key, value string }{
		{"/CIQA", "first block"},
		{"/CIQB", strings.Repeat("second block ", 20)},
	}
	dir, index := t.TempDir(), newIndex()
	d := open(t, dir, index, Options{})
	for _, b := range blocks {
		if err := d.Put(ctx, ds.NewKey(b.key), []byte(b.value)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	pack, err := os.ReadFile(filepath.Join(dir, "00000001.pack"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&got, "00000001.pack %x\n", pack)
	for _, b := range blocks {
		e, err := index.Get(ctx, ds.NewKey(b.key))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "index %s %x\n", b.key, e)
	}
	want, err := os.ReadFile("testdata/format-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("the format changed:\n%s\nwant (testdata/format-v1.txt):\n%s", got.String(), want)
	}

	// Read from the frozen files.
	frozen, index2 := t.TempDir(), newIndex()
	for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		f := strings.Fields(line)
		if f[0] == "index" {
			b, _ := hex.DecodeString(f[2])
			index2.Put(ctx, ds.NewKey(f[1]), b)
			continue
		}
		b, _ := hex.DecodeString(f[1])
		if err := os.WriteFile(filepath.Join(frozen, f[0]), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d = open(t, frozen, index2, Options{})
	defer d.Close()
	for _, b := range blocks {
		if v, err := d.Get(ctx, ds.NewKey(b.key)); err != nil || string(v) != b.value {
			t.Fatalf("frozen %s: %q, %v", b.key, v, err)
		}
	}
}
