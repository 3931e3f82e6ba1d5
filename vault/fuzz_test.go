package vault

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"encoding/json"
	"filippo.io/age"
	"github.com/ipfs/go-cid"
)

// Fuzz targets for every decoder of untrusted bytes. Each must never
// panic, and whatever decodes must encode again to something that decodes
// to the same value.

func FuzzParseCard(f *testing.F) {
	for _, c := range seededCards(f, 4, 9) {
		f.Add(c.String())
		f.Add(c.String()[:20])
	}
	f.Add(cardOf(f, "000102030405060708090a0b0c0d0e0f").String())
	f.Add("13QXnh mdfKdn\npHdST3\tY5pumG–j7tuFN")
	f.Add(textOf([]byte{2}))
	f.Add(textOfDigits("zzzzzzzzzzzzzzzzzzzzzzzzz"))
	f.Add("0OIl")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCard(text)
		if err != nil {
			cte, ok := errors.AsType[*CardTextError](err)
			if !ok {
				t.Fatalf("error %v is not a *CardTextError", err)
			}
			if cte.Kind < CardLength || cte.Kind > CardVersion || cte.Group < 0 || cte.Group > cardGroups || cte.Char < 0 || cte.Char > cardChars {
				t.Fatalf("error out of range: %+v", cte)
			}
			return
		}
		again, err := ParseCard(c.String())
		if err != nil || again.secret != c.secret {
			t.Fatalf("re-parse of a parsed card failed: %v", err)
		}
	})
}

func FuzzParseHead(f *testing.F) {
	k := signingKeys(3)
	h1, _ := k.SignHead(1, cidOf("m"), nil, time.Unix(1700000000, 0))
	h2, _ := k.SignHead(2, cidOf("m2"), []cid.Cid{cidOf("h1")}, time.Unix(1700000001, 0))
	h3, _ := k.SignHead(1<<40, cidOf("m3"), manyCIDs(MaxParents), time.Unix(-1, 0))
	for _, h := range []*Head{h1, h2, h3} {
		f.Add(h.Marshal())
	}
	f.Add([]byte(headMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHead(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
		if _, err := ParseHead(h.Marshal()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParsePointer(f *testing.F) {
	for _, c := range seededCards(f, 2, 10) {
		f.Add(c.SignPointer(cidOf("e"), time.Unix(1700000000, 0)).Marshal())
	}
	f.Add([]byte(pointerMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePointer(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
		if _, err := ParsePointer(p.Marshal()); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	m := NewManifest()
	e := entry("a", 1)
	e.Category, e.FileName, e.MIME, e.AddedBy = "Santé", "carte vitale.jpg", "image/jpeg", "12D3KooWabc"
	e.Expires = time.Date(2031, 5, 6, 7, 8, 9, 10, time.UTC)
	_ = m.Add(e)
	_ = m.Add(entry("b", 2))
	_ = m.Add(entry("c", 2))
	_ = m.Remove("b", time.Unix(3, 0))
	f.Add(m.marshal())
	f.Add(NewManifest().marshal())
	withHistory := NewManifest()
	_ = withHistory.AddPrevious(mustKeys(f).Previous(time.Unix(1, 0)))
	f.Add(withHistory.marshal())
	f.Add([]byte(`{"v":1,"entries":[{"id":"x","cid":"QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n","size":0,"added":"2020-01-01T00:00:00+02:00"}],"tombstones":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		m2, err := decodeManifest(m.marshal())
		if err != nil || !m2.Equal(m) {
			t.Fatalf("re-decoding differs: %v", err)
		}
		if !Merge(m, m2).Equal(m) {
			t.Fatal("merge with itself changes a manifest")
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	k := mustKeys(f)
	f.Add(encodeEnvelope(k))
	f.Add(encodeEnvelope(signingKeysWithContent(f, k)))
	f.Add([]byte(`{"v":1,"vault":"","sign":"","content":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		k2, err := decodeEnvelope(encodeEnvelope(k))
		if err != nil || k2.VaultID() != k.VaultID() || k2.IdentityString() != k.IdentityString() || !k2.signing.Equal(k.signing) {
			t.Fatalf("re-decoding differs: %v", err)
		}
	})
}

// signingKeysWithContent returns keys with a fixed signing key and the
// content identity of k.
func signingKeysWithContent(t testing.TB, k *Keys) *Keys {
	s := signingKeys(4)
	s.content = k.content
	return s
}

func FuzzOpenEnvelope(f *testing.F) {
	cards := seededCards(f, 2, 11)
	card := cards[0]
	keys := mustKeys(f)
	for _, c := range cards {
		env, err := SealEnvelope(c, keys)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env)
	}
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := OpenEnvelope(card, b)
		if err != nil {
			return
		}
		// Whatever opens must seal and open again to the same keys.
		again, err := SealEnvelope(card, k)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := OpenEnvelope(card, again)
		if err != nil || k2.VaultID() != k.VaultID() || k2.IdentityString() != k.IdentityString() {
			t.Fatalf("re-sealed envelope does not open: %v", err)
		}
	})
}

func FuzzParsePublicState(f *testing.F) {
	k := mustKeys(f)
	p := k.NewPublicState()
	p.RevokedCards[mustCard(f).LookupID()] = time.Unix(1, 0).UTC()
	p.RevokedGrants["g1"] = time.Unix(2, 0).UTC()
	f.Add(p.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublicState(b)
		if err != nil {
			return
		}
		again, err := ParsePublicState(p.Marshal())
		if err != nil || !again.Equal(p) {
			t.Fatalf("re-decoding differs: %v", err)
		}
	})
}

// FuzzOpenSealed feeds arbitrary plaintexts, sealed to a known identity,
// to every decoder of sealed JSON: grants, shares, log entries, deposit
// metadata. None may panic.
func FuzzOpenSealed(f *testing.F) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		f.Fatal(err)
	}
	k := mustKeys(f)
	shares, _ := k.SplitKeys([]string{"a", "b"}, 2)
	for _, v := range []any{
		shareJSON{V: 1, Vault: k.VaultID().String(), Guardian: "a", Threshold: 2, Total: 2, Data: shares[0].Data},
		LogEntry{Time: time.Unix(1, 0).UTC(), Actor: "a", ActorName: "b", Action: "get"},
		DepositMeta{Title: "t", Size: 1, By: "b", ByPeer: "p", Deposited: time.Unix(1, 0).UTC()},
		grantJSON{V: 1, ID: "g1", Vault: k.VaultID().String(), Categories: []string{}, Docs: []GrantDoc{}},
	} {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		sealed := buf.Bytes()
		_, _ = OpenGrant(sealed, id)
		_, _ = OpenShare(sealed, id)
		_, _ = OpenLogEntry(sealed, id)
		_, _ = OpenDepositMeta(sealed, id)
	})
}
