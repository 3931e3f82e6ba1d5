package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"baluchon/vault"
)

// BenchmarkOpenProtectedKeys measures what a passphrase costs at start:
// reading both protected key files (two scrypt 2^16 derivations).
func BenchmarkOpenProtectedKeys(b *testing.B) {
	home := filepath.Join(b.TempDir(), "home")
	if err := Init(home, InitOptions{Config: &Config{Listen: loopback}, KeyPassphrase: "phrase"}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		kp := newKeyPass(passOf("phrase"))
		if _, err := loadIdentity(home, kp); err != nil {
			b.Fatal(err)
		}
		if _, err := loadStructureKeyWith(home, kp, "phrase"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrashList measures a trash listing over 100 kept states (100
// documents added, then all deleted by one state with an empty manifest).
func BenchmarkTrashList(b *testing.B) {
	ctx := context.Background()
	n := startNode(b, Config{})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		if _, err := n.Add(ctx, card, strings.NewReader(fmt.Sprint("document ", i)), DocMeta{Title: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	s, err := n.open(ctx, card)
	if err != nil {
		b.Fatal(err)
	}
	unlock := n.lockVault(s.id)
	err = n.commit(ctx, s, vault.NewManifest())
	unlock()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tr, err := n.Trash(ctx, card)
		if err != nil || len(tr) != 100 {
			b.Fatalf("%d in the trash, %v", len(tr), err)
		}
	}
}
