package vault

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}

// cidOf returns the CIDv1 (raw, SHA-256) of s.
func cidOf(s string) cid.Cid {
	c, err := rawPrefix.Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c
}

func mustKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signingKeys returns keys with a signing key from a fixed seed and no
// content identity, for the tests of heads.
func signingKeys(seed byte) *Keys {
	return &Keys{signing: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

func TestKeys(t *testing.T) {
	k := mustKeys(t)
	if !strings.HasPrefix(k.IdentityString(), "AGE-SECRET-KEY-PQ-1") {
		t.Fatal("content identity is not post-quantum")
	}
	r, ok := k.Recipient().(*age.HybridRecipient)
	if !ok || !strings.HasPrefix(r.String(), "age1pq1") {
		t.Fatalf("content recipient %T is not hybrid", k.Recipient())
	}
	if k.Identity() == nil || k.VaultID() != k.VaultID() {
		t.Fatal("keys are not stable")
	}
	if mustKeys(t).VaultID() == k.VaultID() {
		t.Fatal("two vaults share an id")
	}
	if v := k.VaultID(); !bytes.Equal(v[:], k.signing.Public().(ed25519.PublicKey)) {
		t.Fatal("vault id is not the signing public key")
	}
}

func TestVaultIDText(t *testing.T) {
	k := mustKeys(t)
	v, err := ParseVaultID(k.VaultID().String())
	if err != nil || v != k.VaultID() {
		t.Fatalf("vault id round trip: %v", err)
	}
	if _, err := ParseVaultID("0OIl"); err == nil {
		t.Fatal("accepted a malformed vault id")
	}
}

func TestDocumentEncryption(t *testing.T) {
	t.Parallel()
	keys, other := mustKeys(t), mustKeys(t)
	for _, size := range []int{0, 1, 3 << 20} {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(i * 7)
		}
		var ct bytes.Buffer
		w, err := keys.EncryptDocument(&ct)
		if err != nil {
			t.Fatal(err)
		}
		// Written in pieces, as a stream.
		for rest := plain; len(rest) > 0; {
			n := min(len(rest), 100_000)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if size > 0 && bytes.Contains(ct.Bytes(), plain[:min(size, 64)]) && size >= 16 {
			t.Fatalf("size %d: ciphertext holds the plaintext", size)
		}
		if bytes.HasPrefix(ct.Bytes(), []byte("-----BEGIN")) || !bytes.HasPrefix(ct.Bytes(), []byte("age-encryption.org/v1\n")) {
			t.Fatalf("size %d: not a binary age file", size)
		}
		r, err := keys.DecryptDocument(bytes.NewReader(ct.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: round trip failed (%v)", size, err)
		}
		// A standard age file: upstream age opens it with the identity
		// string alone.
		id, err := age.ParseHybridIdentity(keys.IdentityString())
		if err != nil {
			t.Fatal(err)
		}
		r, err = age.Decrypt(bytes.NewReader(ct.Bytes()), id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("size %d: upstream age reads other bytes (%v)", size, err)
		}
		if _, err := other.DecryptDocument(bytes.NewReader(ct.Bytes())); !errors.Is(err, ErrWrongKeys) {
			t.Fatalf("other keys: got %v, want ErrWrongKeys", err)
		}
		// Tampering is caught while reading.
		bad := bytes.Clone(ct.Bytes())
		bad[len(bad)-1] ^= 1
		r, err = keys.DecryptDocument(bytes.NewReader(bad))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil || errors.Is(err, ErrWrongKeys) {
			t.Fatalf("size %d: tampered document: got %v", size, err)
		}
	}
	if _, err := mustKeys(t).DecryptDocument(strings.NewReader("not an age file")); err == nil || errors.Is(err, ErrWrongKeys) {
		t.Fatalf("garbage: got %v", err)
	}
}
