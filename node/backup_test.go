package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"baluchon/vault"
)

// TestBackupRestore: backup → wipe → restore on a fresh home gives back
// the same node (its identity), every vault (documents byte for byte, the
// cards open), and the structure key, which never appears in clear in the
// backup.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{MDNS: new(bool)})
	type doc struct {
		card *vault.Card
		id   string
		data []byte
	}
	var docs []doc
	for v := 0; v < 2; v++ {
		card, _, err := n.CreateVault(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{100, 1<<20 + 12345} {
			data := make([]byte, size)
			rand.Read(data)
			e, err := n.Add(ctx, card, bytes.NewReader(data), DocMeta{Title: "doc"})
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, doc{card, e.ID, data})
		}
	}
	id := n.ID()
	home := n.Home()
	structKey, err := os.ReadFile(filepath.Join(home, "structure.key"))
	if err != nil {
		t.Fatal(err)
	}
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Backup(ctx, io.Discard); err == nil {
		t.Fatal("a backup without a recipient was written")
	}
	var backup bytes.Buffer
	res, err := n.Backup(ctx, &backup, identity.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocks == 0 || res.Keys == 0 || res.Files < 3 {
		t.Fatalf("backup holds %+v", res)
	}
	if bytes.Contains(backup.Bytes(), bytes.TrimSpace(structKey)) || bytes.Contains(backup.Bytes(), docs[0].data) {
		t.Fatal("the backup holds the structure key or a document in clear")
	}
	n.Close()
	if err := os.RemoveAll(home); err != nil { // the disk dies
		t.Fatal(err)
	}

	// Refused: another identity, a cut-short file, a folder in use. Each
	// leaves nothing behind.
	fresh := filepath.Join(t.TempDir(), "new-machine")
	other, _ := age.GenerateX25519Identity()
	if _, err := Restore(ctx, fresh, bytes.NewReader(backup.Bytes()), other); err == nil {
		t.Fatal("restored with another identity")
	}
	if _, err := Restore(ctx, fresh, bytes.NewReader(backup.Bytes()[:backup.Len()/2]), identity); err == nil {
		t.Fatal("restored a cut-short backup")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore left %s: %v", fresh, err)
	}
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "x"), nil, 0o600)
	if _, err := Restore(ctx, busy, bytes.NewReader(backup.Bytes()), identity); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into a folder in use: %v", err)
	}

	if _, err := Restore(ctx, fresh, bytes.NewReader(backup.Bytes()), identity); err != nil {
		t.Fatal(err)
	}
	m, err := Start(ctx, Options{Home: fresh, Listen: loopback, MDNS: new(bool)})
	if err != nil {
		t.Fatalf("start the restored node: %v", err)
	}
	defer m.Close()
	if m.ID() != id {
		t.Errorf("restored node is %s, want %s", m.ID(), id)
	}
	if k, _ := os.ReadFile(filepath.Join(fresh, "structure.key")); !bytes.Equal(k, structKey) {
		t.Error("the structure key was not restored")
	}
	for _, d := range docs {
		got, err := m.Get(ctx, d.card, d.id)
		if err != nil {
			t.Fatalf("get %s after restore: %v", d.id, err)
		}
		b, err := io.ReadAll(got)
		got.Close()
		if err != nil || !bytes.Equal(b, d.data) {
			t.Errorf("document %s after restore: %d bytes, %v", d.id, len(b), err)
		}
	}
}
