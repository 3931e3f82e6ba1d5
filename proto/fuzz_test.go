package proto

import (
	"bytes"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"baluchon/vault"
)

// seeds returns valid messages of every kind, for the fuzz corpora.
func seeds(t testing.TB) (vault.LookupID, vault.VaultID, [][]byte) {
	card, err := vault.NewCard(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	env, err := vault.SealEnvelope(card, keys)
	if err != nil {
		t.Fatal(err)
	}
	prefix := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
	envCID, _ := prefix.Sum(env)
	m, _ := prefix.Sum([]byte("manifest"))
	h, err := keys.SignHead(1, m, nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec := &CardRecord{Pointer: card.SignPointer(envCID, time.Unix(1700000000, 0)), Envelope: env}
	msgs := [][]byte{
		encodeResolveResponse(rec),
		encodeHeadsResponse([]*vault.Head{h}),
		encodeAnnouncement(&Announcement{Vault: keys.VaultID(), Heads: []*vault.Head{h}, Cards: []*CardRecord{rec}}),
		appendStatus(nil, StatusNotFound, ""),
		appendStatus(nil, StatusRefused, "not a member"),
		appendStatus(nil, StatusOK, ""),
	}
	return card.LookupID(), keys.VaultID(), msgs
}

func FuzzDecodeResolveResponse(f *testing.F) {
	id, _, msgs := seeds(f)
	for _, m := range msgs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeResolveResponse(b, id)
		if err != nil {
			return
		}
		if c.Pointer.Lookup != id {
			t.Fatal("accepted a pointer for another card")
		}
		if err := c.verify(); err != nil {
			t.Fatalf("accepted a record that does not verify: %v", err)
		}
		if !bytes.Equal(encodeResolveResponse(c), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzDecodeHeadsResponse(f *testing.F) {
	_, v, msgs := seeds(f)
	for _, m := range msgs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		heads, err := decodeHeadsResponse(b, v)
		if err != nil {
			return
		}
		for _, h := range heads {
			if h.Vault != v {
				t.Fatal("accepted a head of another vault")
			}
		}
		if !bytes.Equal(encodeHeadsResponse(heads), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzDecodeAnnouncement(f *testing.F) {
	_, _, msgs := seeds(f)
	for _, m := range msgs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAnnouncement(b)
		if err != nil {
			return
		}
		if len(a.Heads) > MaxHeads || len(a.Cards) > MaxCards {
			t.Fatal("accepted an announcement over the limits")
		}
		for _, h := range a.Heads {
			if h.Vault != a.Vault {
				t.Fatal("accepted a head of another vault")
			}
		}
		if !bytes.Equal(encodeAnnouncement(a), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzDecodeStatusResponse(f *testing.F) {
	_, _, msgs := seeds(f)
	for _, m := range msgs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = decodeStatusResponse(b)
	})
}
