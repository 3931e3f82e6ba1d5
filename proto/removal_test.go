package proto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"baluchon/vault"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite the known-answer files of proto/testdata")

// vectorKey is a fixed Ed25519 key, so that signatures (deterministic in
// Ed25519) and encodings are the same on every run.
func vectorKey(t testing.TB, name string) (crypto.PrivKey, peer.ID) {
	t.Helper()
	seed := sha256.Sum256([]byte("baluchon proto vector " + name))
	k, _, err := crypto.GenerateEd25519Key(bytes.NewReader(append(seed[:], seed[:]...)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

var vectorTime = time.Unix(1800000000, 123456789).UTC()

// readVector reads a known-answer file: hex, with '#' comment lines.
func readVector(t *testing.T, name string, want []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateVectors {
		var b strings.Builder
		b.WriteString("# known-answer vector, see removal_test.go; hex, 64 bytes a line\n")
		h := hex.EncodeToString(want)
		for len(h) > 128 {
			b.WriteString(h[:128] + "\n")
			h = h[128:]
		}
		b.WriteString(h + "\n")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			h.WriteString(strings.TrimSpace(line))
		}
	}
	b, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// TestTrustVectors decodes the frozen encodings of removals, head
// attestations and member sets, checks their fields, and re-encodes them
// byte for byte.
func TestTrustVectors(t *testing.T) {
	fk, fed := vectorKey(t, "founder")
	_, member := vectorKey(t, "member")
	var v vault.VaultID
	copy(v[:], bytes.Repeat([]byte{7}, 32))
	head, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}.Sum([]byte("head"))

	removal, err := SignRemoval(fk, fed, member, vectorTime)
	if err != nil {
		t.Fatal(err)
	}
	attest, err := SignRecord(fk, RecordHead, v, vectorTime, head.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	root, _ := SignMember(fk, fed, fed, vectorTime)
	cert, _ := SignMember(fk, fed, member, vectorTime)
	st, _ := SignStructure(fk, "CCAS d'Angers", "age1pq1example", vectorTime)
	set := &MemberSet{Certs: []*MemberCert{root, cert}, Structures: []*StructureRecord{st}, Removals: []*Removal{removal}}

	t.Run("removal", func(t *testing.T) {
		b := readVector(t, "removal.hex", removal.Marshal())
		r, err := ParseRemoval(b)
		if err != nil {
			t.Fatal(err)
		}
		if r.Federation != fed || r.Member != member || r.Remover != fed || !r.Time.Equal(vectorTime) {
			t.Fatalf("decoded %+v", r)
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
	t.Run("head attestation", func(t *testing.T) {
		b := readVector(t, "record-head.hex", attest.Marshal())
		r, err := ParseRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cid.Cast(r.Payload)
		if err != nil || r.Kind != RecordHead || r.Vault != v || r.Author != fed || !c.Equals(head) || !r.Time.Equal(vectorTime) {
			t.Fatalf("decoded %+v (%v)", r, err)
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
	t.Run("member set", func(t *testing.T) {
		b := readVector(t, "memberset.hex", appendMemberSet(nil, set))
		d := newDecoder(b)
		ms := d.memberSet()
		if err := d.End(); err != nil {
			t.Fatal(err)
		}
		if len(ms.Certs) != 2 || len(ms.Structures) != 1 || len(ms.Removals) != 1 || ms.Removals[0].Member != member {
			t.Fatalf("decoded %d certs, %d structures, %d removals", len(ms.Certs), len(ms.Structures), len(ms.Removals))
		}
		if !bytes.Equal(appendMemberSet(nil, ms), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// TestMembership: who may remove whom, and that a removed member stays
// out whatever certificates come later.
func TestMembership(t *testing.T) {
	fk, f := vectorKey(t, "f")
	ak, a := vectorKey(t, "a")
	bk, b := vectorKey(t, "b")
	_, c := vectorKey(t, "c")
	t0 := vectorTime
	cert := func(k crypto.PrivKey, m peer.ID, dt int) *MemberCert {
		x, err := SignMember(k, f, m, t0.Add(time.Duration(dt)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	removal := func(k crypto.PrivKey, m peer.ID) *Removal {
		x, err := SignRemoval(k, f, m, t0)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	certs := []*MemberCert{cert(fk, f, 0), cert(fk, a, 1), cert(ak, b, 2), cert(bk, c, 3)}
	for _, tc := range []struct {
		name     string
		extra    []*MemberCert
		removals []*Removal
		members  []peer.ID
	}{
		{"no removal", nil, nil, []peer.ID{f, a, b, c}},
		{"founder removes a: b, admitted by a, goes too unless re-admitted", nil, []*Removal{removal(fk, a)}, []peer.ID{f}},
		{"founder removes a and re-admits b", []*MemberCert{cert(fk, b, 9)}, []*Removal{removal(fk, a)}, []peer.ID{f, b, c}},
		{"a removes b, which it admitted", nil, []*Removal{removal(ak, b)}, []peer.ID{f, a}},
		{"b cannot remove a, which admitted it", nil, []*Removal{removal(bk, a)}, []peer.ID{f, a, b, c}},
		{"nobody removes the founder", nil, []*Removal{removal(ak, f)}, []peer.ID{f, a, b, c}},
		{"a removed b: an earlier certificate by the founder does not bring it back", []*MemberCert{cert(fk, b, -5)}, []*Removal{removal(ak, b)}, []peer.ID{f, a}},
		{"a removed member's own certificates admit nobody", []*MemberCert{cert(bk, b, 9)}, []*Removal{removal(ak, b)}, []peer.ID{f, a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			valid, _, _ := Membership(f, append(append([]*MemberCert{}, certs...), tc.extra...), tc.removals)
			if len(valid) != len(tc.members) {
				t.Fatalf("%d members, want %d", len(valid), len(tc.members))
			}
			for _, m := range tc.members {
				if valid[m] == nil {
					t.Fatalf("%s is not a member", m)
				}
			}
		})
	}
}

func FuzzParseRemoval(f *testing.F) {
	k, id := vectorKey(f, "fuzz")
	r, _ := SignRemoval(k, id, id, vectorTime)
	f.Add(r.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRemoval(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzDecodeMemberSet(f *testing.F) {
	k, id := vectorKey(f, "fuzz")
	_, m := vectorKey(f, "fuzz member")
	root, _ := SignMember(k, id, id, vectorTime)
	cert, _ := SignMember(k, id, m, vectorTime)
	st, _ := SignStructure(k, "Foyer", "age1pq1example", vectorTime)
	r, _ := SignRemoval(k, id, m, vectorTime)
	f.Add(appendMemberSet(nil, &MemberSet{Certs: []*MemberCert{root, cert}, Structures: []*StructureRecord{st}, Removals: []*Removal{r}}))
	f.Add(appendMemberSet(nil, &MemberSet{}))
	rec, _ := SignRecording(k, &Recording{Lang: "ti", Key: "card_lost", MIME: "audio/ogg", Audio: []byte("OggS")}, vectorTime)
	f.Add(appendMemberSet(nil, &MemberSet{Certs: []*MemberCert{root}, Recordings: []*Record{rec}}))
	var v vault.VaultID
	a, _ := SignRecord(k, RecordHead, v, vectorTime, []byte{1, 0x55, 0x12, 0x20})
	f.Add(a.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRecord(b); err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatal("record re-encoding differs")
		}
		d := newDecoder(b)
		ms := d.memberSet()
		if d.End() != nil {
			return
		}
		if len(ms.Certs) > MaxMembers || len(ms.Structures) > MaxMembers || len(ms.Removals) > MaxMembers {
			t.Fatal("accepted a member set over the limits")
		}
		if !bytes.Equal(appendMemberSet(nil, ms), b) {
			t.Fatal("re-encoding differs")
		}
		Membership(id, ms.Certs, ms.Removals)
	})
}

// BenchmarkMembership computes a full federation's members (MaxMembers
// certificates, ten removals by the founder), as a node does at each
// exchange of member sets.
func BenchmarkMembership(b *testing.B) {
	fk, f := vectorKey(b, "bench founder")
	keys := []crypto.PrivKey{fk}
	ids := []peer.ID{f}
	root, _ := SignMember(fk, f, f, vectorTime)
	certs := []*MemberCert{root}
	for i := 1; i < MaxMembers; i++ {
		k, id := vectorKey(b, "bench "+string(rune(i)))
		adm := 0 // the founder admits the first hundred, members 1 to 10 the others
		if i > 100 {
			adm = i / 100
		}
		c, err := SignMember(keys[adm], f, id, vectorTime)
		if err != nil {
			b.Fatal(err)
		}
		keys, ids, certs = append(keys, k), append(ids, id), append(certs, c)
	}
	var removals []*Removal
	for i := 1; i <= 10; i++ {
		r, _ := SignRemoval(fk, f, ids[i*50], vectorTime)
		removals = append(removals, r)
	}
	b.ResetTimer()
	for b.Loop() {
		valid, removed, _ := Membership(f, certs, removals)
		if len(removed) != 10 || len(valid) < MaxMembers-100 {
			b.Fatalf("%d members, %d removed", len(valid), len(removed))
		}
	}
}
