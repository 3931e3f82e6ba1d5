package packds

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-datastore/namespace"
	leveldb "github.com/ipfs/go-ds-leveldb"

	ds "github.com/ipfs/go-datastore"
)

// crashEnv names the folder the child of TestCrash writes to.
const crashEnv = "PACKDS_CRASH_DIR"

// openLevel opens a pack store indexed in leveldb, as a node does.
func openLevel(t testing.TB, dir string) (*Datastore, func()) {
	ldb, err := leveldb.NewDatastore(filepath.Join(dir, "datastore"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(filepath.Join(dir, "packs"), namespace.Wrap(ldb, ds.NewKey("/packindex")), Options{MaxPack: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return d, func() { d.Close(); ldb.Close() }
}

// TestCrash kills a process that writes, syncs and deletes blocks (kill
// -9, at a moment it does not choose), then opens its store: every block
// acknowledged by a Sync reads back whole, every deletion acknowledged is
// kept, and the store takes new blocks.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	for round := range 3 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child prints "synced N" once blocks 0..N-1 are durable
		// (the even ones below N-50 deleted).
		synced := 0
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(20 * time.Second)
		for sc.Scan() && time.Now().Before(deadline) {
			if n, ok := strings.CutPrefix(sc.Text(), "synced "); ok {
				synced, _ = strconv.Atoi(n)
				if synced >= 300+round*200 {
					break
				}
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if synced < 100 {
			t.Fatalf("round %d: the child synced only %d blocks", round, synced)
		}
		d, done := openLevel(t, dir)
		ctx := context.Background()
		for i := range synced {
			v, err := d.Get(ctx, key(i))
			deleted := i%2 == 0 && i < synced-50
			if deleted {
				if err == nil {
					t.Fatalf("round %d: block %d, deleted before the last sync, is back", round, i)
				}
				continue
			}
			if err != nil || !bytes.Equal(v, value(i, 1000+i%3000)) {
				t.Fatalf("round %d: block %d of %d synced: %v", round, i, synced, err)
			}
		}
		if err := d.Put(ctx, key(-1), value(1, 10)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Compact(ctx, true); err != nil {
			t.Fatal(err)
		}
		if v, err := d.Get(ctx, key(synced-1)); err != nil || !bytes.Equal(v, value(synced-1, 1000+(synced-1)%3000)) {
			t.Fatalf("round %d: after a Compact: %v", round, err)
		}
		t.Logf("round %d: %d blocks synced before the kill, all read back", round, synced)
		done()
	}
}

func crashChild(t *testing.T, dir string) {
	d, _ := openLevel(t, dir)
	ctx := context.Background()
	for i := 0; ; i++ {
		if err := d.Put(ctx, key(i), value(i, 1000+i%3000)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			// Deletions that lag behind: once N are synced, the even
			// blocks below N-50.
			for k := i + 1 - 60; k < i+1-50; k++ {
				if k >= 0 && k%2 == 0 {
					if err := d.Delete(ctx, key(k)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := d.Sync(ctx, ds.NewKey("/")); err != nil {
				t.Fatal(err)
			}
			fmt.Printf("synced %d\n", i+1)
		}
	}
}
