package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baluchon/vault"
)

// copyTree copies the folder src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeFromFormat0 opens a home made by the release before homes
// recorded their format (testdata/home-format0): the node migrates it,
// the card opens and both documents come back byte for byte.
func TestUpgradeFromFormat0(t *testing.T) {
	const old = "testdata/home-format0"
	home := filepath.Join(t.TempDir(), "home")
	copyTree(t, filepath.Join(old, "home"), home)
	if f, err := ReadHomeFormat(home); err != nil || f != 0 {
		t.Fatalf("old home: format %d, %v; want 0", f, err)
	}
	cardText, err := os.ReadFile(filepath.Join(old, "card.txt"))
	if err != nil {
		t.Fatal(err)
	}
	card, err := vault.ParseCard(strings.TrimSpace(string(cardText)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := Start(ctx, Options{Home: home, Listen: loopback, MDNS: new(bool)})
	if err != nil {
		t.Fatalf("start on the old home: %v", err)
	}
	defer n.Close()
	if f, _ := ReadHomeFormat(home); f != HomeFormat {
		t.Errorf("after start: home format %d, want %d", f, HomeFormat)
	}
	_, entries, err := n.List(ctx, card)
	if err != nil {
		t.Fatalf("list with the old card: %v", err)
	}
	want := map[string]string{"Attestation CAF": "caf.txt", "Scan": "scan.bin"}
	if len(entries) != len(want) {
		t.Fatalf("%d documents, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		file, ok := want[e.Title]
		if !ok {
			t.Fatalf("unexpected document %q", e.Title)
		}
		wantBytes, err := os.ReadFile(filepath.Join(old, file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := n.Get(ctx, card, e.ID)
		if err != nil {
			t.Fatalf("get %q: %v", e.Title, err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("document %q: %d bytes differ from %s", e.Title, len(got), file)
		}
	}

	// A document added now goes to a pack; the old blocks stay in flatfs
	// and are still read after a restart.
	countFiles := func(dir string) int {
		n := 0
		filepath.WalkDir(filepath.Join(home, dir), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	flatBefore := countFiles(blocksDir)
	added := bytes.Repeat([]byte("nouveau "), 5000)
	if _, err := n.Add(ctx, card, bytes.NewReader(added), DocMeta{Title: "Nouveau"}); err != nil {
		t.Fatalf("add to the old home: %v", err)
	}
	if got := countFiles(blocksDir); got != flatBefore {
		t.Errorf("an add wrote %d files to the old block folder", got-flatBefore)
	}
	if countFiles(packsDir) == 0 {
		t.Error("an add wrote no pack")
	}
	n.Close()
	n, err = Start(ctx, Options{Home: home, Listen: loopback, MDNS: new(bool)})
	if err != nil {
		t.Fatalf("restart on the upgraded home: %v", err)
	}
	defer n.Close()
	_, entries, err = n.List(ctx, card)
	if err != nil || len(entries) != 3 {
		t.Fatalf("after restart: %d documents, %v; want 3", len(entries), err)
	}
	for _, e := range entries {
		d, err := n.Get(ctx, card, e.ID)
		if err != nil {
			t.Fatalf("after restart, get %q: %v", e.Title, err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil || e.Title == "Nouveau" && !bytes.Equal(got, added) {
			t.Fatalf("after restart, %q: %d bytes, %v", e.Title, len(got), err)
		}
	}
}

// TestNewerHomeRefused: a home of a newer format is refused with a
// FormatError, and nothing in it changes.
func TestNewerHomeRefused(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, InitOptions{Config: &Config{Listen: loopback}}); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadHomeFormat(home); err != nil || f != HomeFormat {
		t.Fatalf("new home: format %d, %v; want %d", f, err, HomeFormat)
	}
	if err := writeHomeFormat(home, HomeFormat+1); err != nil {
		t.Fatal(err)
	}
	before := snapshotTree(t, home)
	_, err := Start(context.Background(), Options{Home: home})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Found != HomeFormat+1 || fe.Supported != HomeFormat {
		t.Fatalf("start on a newer home: %v, want a FormatError", err)
	}
	if !strings.Contains(err.Error(), "newer version of baluchon") {
		t.Errorf("message: %q", err)
	}
	if err := rewriteKeys(home, "", "pass"); !errors.As(err, &fe) {
		t.Errorf("key protect on a newer home: %v, want a FormatError", err)
	}
	if after := snapshotTree(t, home); after != before {
		t.Errorf("the newer home changed:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshotTree lists every file of dir with its content's length and bytes.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + ":" + string(data) + "\n")
		return nil
	})
	return b.String()
}
