package proto

import (
	"bytes"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

// gossipSeeds returns valid gossip messages: an announcement and a member
// set with a signed peer record.
func gossipSeeds(t testing.TB) [][]byte {
	_, _, msgs := seeds(t)
	a, err := decodeAnnouncement(msgs[2])
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	cert, err := SignMember(key, id, id, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec := peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{ma.StringCast("/ip4/192.0.2.1/tcp/4001")}})
	env, err := record.Seal(rec, key)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	spoken, err := SignRecording(key, &Recording{Lang: "ti", Key: "card_lost", MIME: "audio/ogg", Audio: []byte("OggS…")}, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, g := range []*Gossip{
		{Announcement: a},
		{Members: &MemberSet{Certs: []*MemberCert{cert}}, PeerRecord: pr},
		{Members: &MemberSet{Certs: []*MemberCert{cert}, Recordings: []*Record{spoken}}, PeerRecord: pr},
	} {
		b, err := EncodeGossip(g)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestGossipRoundTrip(t *testing.T) {
	msgs := gossipSeeds(t)
	a, err := DecodeGossip(msgs[0])
	if err != nil || a.Announcement == nil || a.Members != nil || len(a.Announcement.Heads) != 1 || len(a.Announcement.Cards) != 1 {
		t.Fatalf("announcement: %+v, %v", a, err)
	}
	m, err := DecodeGossip(msgs[1])
	if err != nil || m.Members == nil || len(m.Members.Certs) != 1 || len(m.PeerRecord) == 0 {
		t.Fatalf("members: %+v, %v", m, err)
	}
	r, err := DecodeGossip(msgs[2])
	if err != nil || r.Members == nil || len(r.Members.Recordings) != 1 || len(r.PeerRecord) == 0 {
		t.Fatalf("members with a recording: %+v, %v", r, err)
	}
	for i, b := range msgs {
		g, _ := DecodeGossip(b)
		again, err := EncodeGossip(g)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("message %d does not re-encode byte for byte (%v)", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{9, 0}},
		{"truncated announcement", msgs[0][:len(msgs[0])-3]},
		{"truncated members", msgs[1][:len(msgs[1])-3]},
		{"trailing bytes", append(bytes.Clone(msgs[1]), 0)},
		{"too large", make([]byte, MaxGossip+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeGossip(tc.b); err == nil {
				t.Fatal("decoded")
			}
		})
	}
	if _, err := EncodeGossip(&Gossip{}); err == nil {
		t.Error("encoded an empty gossip message")
	}
	// A tampered head does not verify.
	bad := bytes.Clone(msgs[0])
	bad[len(bad)/3] ^= 1
	if _, err := DecodeGossip(bad); err == nil {
		t.Error("decoded a tampered announcement")
	}
}

func FuzzDecodeGossip(f *testing.F) {
	for _, m := range gossipSeeds(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGossip(b)
		if err != nil {
			return
		}
		if (g.Announcement == nil) == (g.Members == nil) {
			t.Fatal("decoded a message with both or neither parts")
		}
		again, err := EncodeGossip(g)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeGossip(again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}
