package proto

import (
	"bytes"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	ma "github.com/multiformats/go-multiaddr"
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

func FuzzParseCode(f *testing.F) {
	for _, k := range []byte{KindPairing, KindInvitation} {
		f.Add(testCode(f, k).String())
	}
	f.Add("abc-def")
	bt := testCode(f, KindPairing)
	bt.Addrs = append(bt.Addrs, ma.StringCast("/bt/B8:27:EB:12:34:56/rfcomm/25"))
	f.Add(bt.String())
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCode(text)
		if err != nil {
			return
		}
		again, err := ParseCode(c.String())
		if err != nil || again.Peer != c.Peer || again.Secret != c.Secret || len(again.Addrs) != len(c.Addrs) {
			t.Fatalf("re-parse of a parsed code differs: %v", err)
		}
	})
}

func FuzzParseMemberCert(f *testing.F) {
	k, id := testKey(f)
	c, _ := SignMember(k, id, id, time.Unix(1700000000, 0))
	f.Add(c.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseMemberCert(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzDecodeHoldings(f *testing.F) {
	_, v, _ := seeds(f)
	prefix := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
	c1, _ := prefix.Sum([]byte("h1"))
	f.Add(appendHoldings(nil, &Holdings{Vaults: []VaultHeads{{Vault: v, Heads: []cid.Cid{c1}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHoldings(b)
		if err != nil {
			return
		}
		if !bytes.Equal(appendHoldings(nil, h), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	k, _ := testKey(f)
	_, v, _ := seeds(f)
	r, _ := SignRecord(k, RecordLog, v, time.Unix(1700000000, 0), []byte("sealed entry"))
	f.Add(r.Marshal())
	r2, _ := SignRecord(k, RecordRecovery, v, time.Unix(1700000000, 0), JoinFields([]byte("id"), []byte("age1pq1…"), []byte("a\nb")))
	f.Add(r2.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
		_, _ = Fields(r.Payload, 3)
	})
}

func FuzzParseStructureRecord(f *testing.F) {
	k, _ := testKey(f)
	s, _ := SignStructure(k, "CCAS d'Angers", "age1pq1example", time.Unix(1700000000, 0))
	f.Add(s.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStructureRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}
