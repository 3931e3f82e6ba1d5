package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestEnvelope(t *testing.T) {
	card, other := mustCard(t), mustCard(t)
	keys := mustKeys(t)
	env, err := SealEnvelope(card, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(env, []byte("age-encryption.org/v1\n-> scrypt ")) || !bytes.Contains(env, []byte(" 10\n")) {
		t.Fatalf("envelope is not a binary age scrypt file of work factor 10:\n%q", env[:80])
	}
	got, err := OpenEnvelope(card, env)
	if err != nil {
		t.Fatal(err)
	}
	if got.VaultID() != keys.VaultID() || got.IdentityString() != keys.IdentityString() || !got.signing.Equal(keys.signing) {
		t.Fatal("opened envelope holds other keys")
	}
	// The same card parsed from its text opens it too.
	again, _ := ParseCard(card.String())
	if _, err := OpenEnvelope(again, env); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEnvelope(other, env); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("another card: got %v, want ErrWrongKeys", err)
	}
	if _, err := OpenEnvelope(card, make([]byte, MaxEnvelopeSize+1)); err == nil {
		t.Fatal("accepted an oversize envelope")
	}
	if _, err := OpenEnvelope(card, nil); err == nil || errors.Is(err, ErrWrongKeys) {
		t.Fatalf("empty envelope: got %v", err)
	}
	for _, secret := range []string{keys.IdentityString(), card.String(), b64(keys.signing.Seed())} {
		if bytes.Contains(env, []byte(secret)) {
			t.Fatal("envelope holds a secret in the clear")
		}
	}
	// A second envelope of the same keys for another card.
	env2, err := SealEnvelope(other, keys)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := OpenEnvelope(other, env2); err != nil || k2.VaultID() != keys.VaultID() {
		t.Fatalf("second card: %v", err)
	}
}

// TestEnvelopeTamperRejected flips a bit of every byte of an envelope:
// each must be refused.
func TestEnvelopeTamperRejected(t *testing.T) {
	t.Parallel()
	card, keys := mustCard(t), mustKeys(t)
	env, err := SealEnvelope(card, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 1 << (i % 8)
		if _, err := OpenEnvelope(card, bad); err == nil {
			t.Fatalf("envelope with byte %d changed accepted", i)
		}
	}
	if _, err := OpenEnvelope(card, env[:len(env)-1]); err == nil {
		t.Fatal("truncated envelope accepted")
	}
}

// TestEnvelopeWorkFactorBound checks that an envelope asking for more
// scrypt work than ours is refused before the work is done.
func TestEnvelopeWorkFactorBound(t *testing.T) {
	card, keys := mustCard(t), mustKeys(t)
	env, _ := SealEnvelope(card, keys)
	bad := bytes.Replace(env, []byte(" 10\n"), []byte(" 11\n"), 1)
	if _, err := OpenEnvelope(card, bad); err == nil || !strings.Contains(err.Error(), "work factor") {
		t.Fatalf("work factor 11: got %v", err)
	}
}

func TestDecodeEnvelopeChecks(t *testing.T) {
	keys := mustKeys(t)
	other := mustKeys(t)
	good := string(encodeEnvelope(keys))
	want := `{"v":1,"vault":"` + keys.VaultID().String() + `","sign":"` + b64(keys.signing.Seed()) + `","content":"` + keys.IdentityString() + `"}`
	if good != want {
		t.Fatalf("envelope plaintext\n%s\nwant\n%s", good, want)
	}
	if k, err := decodeEnvelope([]byte(good)); err != nil || k.VaultID() != keys.VaultID() {
		t.Fatal(err)
	}
	tests := []struct{ name, text string }{
		{"version 2", strings.Replace(good, `"v":1`, `"v":2`, 1)},
		{"version 0", strings.Replace(good, `"v":1,`, ``, 1)},
		{"wrong vault", strings.Replace(good, keys.VaultID().String(), other.VaultID().String(), 1)},
		{"no vault", strings.Replace(good, keys.VaultID().String(), "", 1)},
		{"other seed", strings.Replace(good, b64(keys.signing.Seed()), b64(other.signing.Seed()), 1)},
		{"short seed", strings.Replace(good, b64(keys.signing.Seed()), b64(keys.signing.Seed()[:31]), 1)},
		{"seed not base64", strings.Replace(good, b64(keys.signing.Seed()), "%%%"+b64(keys.signing.Seed())[3:], 1)},
		{"classic identity", strings.Replace(good, keys.IdentityString(), "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", 1)},
		{"bad identity", strings.Replace(good, keys.IdentityString(), keys.IdentityString()[:40], 1)},
		{"other identity kind", strings.Replace(good, "AGE-SECRET-KEY-PQ-1", "AGE-SECRET-KEY-PX-1", 1)},
		{"unknown field", strings.Replace(good, `"v":1`, `"v":1,"x":2`, 1)},
		{"string version", strings.Replace(good, `"v":1`, `"v":"1"`, 1)},
		{"trailing", good + `{}`},
		{"trailing bracket", good + `]`},
		{"cut", good[:len(good)-10]},
		{"not json", "hello " + keys.IdentityString()},
		{"array", "[" + good + "]"},
		{"empty", ""},
		{"oversize", good + strings.Repeat(" ", MaxEnvelopeSize)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeEnvelope([]byte(tc.text))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, secret := range []string{keys.IdentityString(), b64(keys.signing.Seed()), other.IdentityString(), b64(other.signing.Seed()), "GFPYYSJZ"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:min(len(secret), 12)]) {
					t.Fatalf("error %q holds a secret", err)
				}
			}
		})
	}
	// White space around the object is fine.
	if _, err := decodeEnvelope([]byte(" \n" + good + "\n")); err != nil {
		t.Fatal(err)
	}
}
