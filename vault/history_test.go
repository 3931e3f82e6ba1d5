package vault

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestManifestHistory(t *testing.T) {
	k1, k2, k3 := mustKeys(t), mustKeys(t), mustKeys(t)
	m := NewManifest()
	if err := m.AddPrevious(k1.Previous(time.Unix(10, 0))); err != nil {
		t.Fatal(err)
	}
	if err := m.AddPrevious(k2.Previous(time.Unix(20, 0))); err != nil {
		t.Fatal(err)
	}
	// Through the encrypted manifest and back, the identities still open
	// what was sealed to the old vaults.
	var buf bytes.Buffer
	if err := m.Encrypt(&buf, k3.Recipient()); err != nil {
		t.Fatal(err)
	}
	plain := string(m.marshal())
	if !strings.Contains(plain, `"history":[`) || !strings.Contains(plain, k1.VaultID().String()) {
		t.Fatalf("manifest JSON %s", plain)
	}
	back, err := DecryptManifest(&buf, k3.Identity())
	if err != nil || !back.Equal(m) {
		t.Fatalf("decrypt: %v", err)
	}
	h := back.History()
	if len(h) != 2 || h[0].Vault != k2.VaultID() || h[1].Vault != k1.VaultID() {
		t.Fatalf("history %+v", h)
	}
	sealed, err := (&LogEntry{Time: time.Unix(1, 0).UTC(), Actor: "a", Action: ActionGet}).Seal(k1.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLogEntry(sealed, h[1].Identity()); err != nil {
		t.Fatalf("old identity does not open the old log: %v", err)
	}
	// An empty history is left out: older manifests stay as they were.
	if got := string(NewManifest().marshal()); strings.Contains(got, "history") {
		t.Fatalf("empty manifest JSON %s", got)
	}
	// Bounded.
	full := NewManifest()
	for i := range MaxHistory {
		p := k1.Previous(time.Unix(int64(i), 0))
		p.Vault[0] = byte(i)
		if err := full.AddPrevious(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := full.AddPrevious(k2.Previous(time.Unix(1, 0))); err == nil {
		t.Fatal("a 65th previous vault accepted")
	}
}

func TestDecodeManifestHistoryChecks(t *testing.T) {
	k := mustKeys(t)
	m := NewManifest()
	_ = m.AddPrevious(k.Previous(time.Unix(10, 0)))
	text := string(m.marshal())
	if back, err := decodeManifest([]byte(text)); err != nil || !back.Equal(m) {
		t.Fatalf("decode: %v", err)
	}
	secret := k.IdentityString()
	entry := text[strings.Index(text, `{"vault"`):strings.LastIndex(text, "]")]
	many := strings.Repeat(entry+",", MaxHistory) + entry
	for name, bad := range map[string]string{
		"bad vault id":  strings.Replace(text, k.VaultID().String(), "0OIl", 1),
		"bad identity":  strings.Replace(text, secret, secret[:len(secret)-3]+"qqq", 1),
		"x25519":        strings.Replace(text, secret, "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", 1),
		"duplicate":     strings.Replace(text, entry, entry+","+entry, 1),
		"too many":      strings.Replace(text, entry, many, 1),
		"unknown field": strings.Replace(text, `"moved"`, `"x":1,"moved"`, 1),
		"bad time":      strings.Replace(text, `"1970-01-01T00:00:10Z"`, `"x"`, 1),
	} {
		_, err := decodeManifest([]byte(bad))
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.Contains(err.Error(), secret[20:40]) {
			t.Fatalf("%s: error %q quotes the identity", name, err)
		}
	}
}
