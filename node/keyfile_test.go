package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// homeSums returns the SHA-256 of every file of a home's top level.
func homeSums(t *testing.T, home string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, name := range keyFiles(home) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(name)] = sha256.Sum256(b)
	}
	return out
}

func passOf(s string) func() (string, error) { return func() (string, error) { return s, nil } }

// secrets returns the node's key material as it would sit on disk in
// clear: the libp2p key's protobuf and raw bytes, and the structure key's
// text.
func secrets(t *testing.T, n *Node) [][]byte {
	t.Helper()
	pb, err := crypto.MarshalPrivateKey(n.key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := n.key.Raw()
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{pb, raw[:32], []byte(n.structKey.String()), []byte("AGE-SECRET-KEY")}
}

// TestKeyPassphrase: a home made with a passphrase holds neither key in
// clear; the node starts with the passphrase, and without it or with a
// wrong one refuses with a clear error and changes nothing.
func TestKeyPassphrase(t *testing.T) {
	const pass = "cheval agrafe batterie correcte"
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, InitOptions{Config: &Config{Listen: loopback}, KeyPassphrase: pass}); err != nil {
		t.Fatal(err)
	}
	before := homeSums(t, home)
	for _, tc := range []struct {
		name string
		pass func() (string, error)
		want error
	}{
		{"no passphrase", nil, ErrKeyLocked},
		{"empty passphrase", passOf(""), ErrKeyLocked},
		{"wrong passphrase", passOf("cheval agrafe batterie fausse"), ErrWrongPassphrase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), Options{Home: home, KeyPassphrase: tc.pass})
			if !errors.Is(err, tc.want) {
				t.Fatalf("start: got %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "batterie") {
				t.Fatal("the error holds the passphrase")
			}
			if got := homeSums(t, home); !equalSums(got, before) {
				t.Fatal("a refused start changed the key files")
			}
		})
	}
	asked := 0
	n, err := Start(context.Background(), Options{Home: home, KeyPassphrase: func() (string, error) {
		asked++
		return pass, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Fatalf("passphrase asked %d times, want once", asked)
	}
	id, recipient, sec := n.ID(), n.structKey.Recipient().String(), secrets(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	noSecretOnDisk(t, home, sec)

	// Unprotect with a wrong passphrase: refused, nothing changes. With
	// the right one: the same keys, in clear; protect again.
	before = homeSums(t, home)
	if err := UnprotectKeys(home, "faux"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("unprotect with a wrong passphrase: %v", err)
	}
	if !equalSums(homeSums(t, home), before) {
		t.Fatal("a refused unprotect changed the key files")
	}
	if err := UnprotectKeys(home, pass); err != nil {
		t.Fatal(err)
	}
	if p, _ := KeysProtected(home); p {
		t.Fatal("still protected")
	}
	if err := UnprotectKeys(home, pass); err == nil {
		t.Fatal("unprotected keys in clear")
	}
	n, err = Start(context.Background(), Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID() != id || n.structKey.Recipient().String() != recipient {
		t.Fatal("unprotect changed the keys")
	}
	n.Close()
	if err := ProtectKeys(home, "autre phrase de passe"); err != nil {
		t.Fatal(err)
	}
	if err := ProtectKeys(home, "encore une"); err == nil {
		t.Fatal("protected keys twice")
	}
	noSecretOnDisk(t, home, sec)
	n, err = Start(context.Background(), Options{Home: home, KeyPassphrase: passOf("autre phrase de passe")})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID() != id || n.structKey.Recipient().String() != recipient {
		t.Fatal("protect changed the keys")
	}
	n.Close()
}

// TestProtectBeforeFirstStart: a home protected before its node ever ran
// gets its structure key made protected.
func TestProtectBeforeFirstStart(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, InitOptions{Config: &Config{Listen: loopback}}); err != nil {
		t.Fatal(err)
	}
	if err := ProtectKeys(home, "phrase"); err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), Options{Home: home, KeyPassphrase: passOf("phrase")})
	if err != nil {
		t.Fatal(err)
	}
	sec := secrets(t, n)
	n.Close()
	noSecretOnDisk(t, home, sec)
}

func equalSums(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// noSecretOnDisk checks that no file of home holds any of secrets.
func noSecretOnDisk(t *testing.T, home string, secrets [][]byte) {
	t.Helper()
	err := filepath.Walk(home, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s holds secret %d in clear", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
