package vault

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// TestHeadLayout builds the bytes of a head by hand, from the package
// documentation, and checks Marshal writes them.
func TestHeadLayout(t *testing.T) {
	k := signingKeys(1)
	m, p1, p2 := cidOf("manifest"), cidOf("p1"), cidOf("p2")
	tm := time.Unix(1700000000, 123456789)
	h, err := k.SignHead(300, m, []cid.Cid{p1, p2}, tm)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, "BLCNHD1\n"...)
	v := k.VaultID()
	want = append(want, v[:]...)
	want = append(want, 0xac, 0x02) // 300
	want = binary.AppendVarint(want, 1700000000123456789)
	for i, c := range []cid.Cid{m, {}, p1, p2} {
		if i == 1 {
			want = append(want, 2) // parent count
			continue
		}
		want = append(want, byte(len(c.Bytes())))
		want = append(want, c.Bytes()...)
	}
	if got := h.Marshal(); !bytes.Equal(got[:len(got)-64], want) {
		t.Fatalf("head\n%x\nwant\n%x", got[:len(got)-64], want)
	}
	if !ed25519.Verify(ed25519.PublicKey(v[:]), append([]byte("baluchon head v1\x00"), want...), h.Sig) {
		t.Fatal("signature is not over the documented message")
	}
	if !h.Time.Equal(tm) || h.Time.Location() != time.UTC {
		t.Fatalf("head time %v", h.Time)
	}
	// Ed25519 signatures are deterministic: the whole head is fixed.
	h2, _ := k.SignHead(300, m, []cid.Cid{p1, p2}, tm.In(time.FixedZone("x", 3600)))
	if !bytes.Equal(h.Marshal(), h2.Marshal()) {
		t.Fatal("the time zone changes the head")
	}
}

func TestHead(t *testing.T) {
	keys := mustKeys(t)
	tests := []struct {
		name    string
		seq     uint64
		parents []cid.Cid
		time    time.Time
	}{
		{"first", 0, nil, time.Unix(0, 0)},
		{"one parent", 7, []cid.Cid{cidOf("p1")}, time.Unix(1700000000, 123)},
		{"merge", 1 << 63, []cid.Cid{cidOf("p1"), cidOf("p2"), cidOf("p3")}, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"before 1970", 1, nil, time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"max parents", 2, manyCIDs(MaxParents), time.Now()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := keys.SignHead(tc.seq, cidOf("manifest"), tc.parents, tc.time)
			if err != nil {
				t.Fatal(err)
			}
			b := h.Marshal()
			got, err := ParseHead(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Vault != keys.VaultID() || got.Seq != tc.seq || !got.Manifest.Equals(cidOf("manifest")) ||
				len(got.Parents) != len(tc.parents) || !got.Time.Equal(tc.time) || got.Time != h.Time {
				t.Fatalf("round trip: %+v", got)
			}
			for i := range tc.parents {
				if !got.Parents[i].Equals(tc.parents[i]) {
					t.Fatalf("parent %d differs", i)
				}
			}
			if !bytes.Equal(got.Marshal(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func manyCIDs(n int) []cid.Cid {
	out := make([]cid.Cid, n)
	for i := range out {
		out[i] = cidOf(strings.Repeat("x", i+1))
	}
	return out
}

func TestHeadRejected(t *testing.T) {
	t.Parallel()
	keys := mustKeys(t)
	h, err := keys.SignHead(7, cidOf("manifest"), []cid.Cid{cidOf("p1"), cidOf("p2")}, time.Unix(1700000000, 123))
	if err != nil {
		t.Fatal(err)
	}
	b := h.Marshal()
	for i := range len(b) * 8 {
		bad := bytes.Clone(b)
		bad[i/8] ^= 1 << (i % 8)
		if _, err := ParseHead(bad); err == nil {
			t.Fatalf("head with bit %d flipped accepted", i)
		}
	}
	for i := range b {
		if _, err := ParseHead(b[:i]); err == nil {
			t.Fatalf("head cut to %d bytes accepted", i)
		}
	}
	// Signed by another key, claiming this vault.
	forged, _ := mustKeys(t).SignHead(7, cidOf("manifest"), nil, time.Now())
	fb := forged.Marshal()
	v := keys.VaultID()
	copy(fb[len(headMagic):], v[:])
	if _, err := ParseHead(fb); !errors.Is(err, errBadSignature) {
		t.Fatalf("forged head: got %v", err)
	}
	// Signed with the pointer context instead of the head one.
	fh := *h
	fh.Sig = ed25519.Sign(keys.signing, append([]byte(pointerSigContext), h.unsigned()...))
	if _, err := ParseHead(fh.Marshal()); !errors.Is(err, errBadSignature) {
		t.Fatalf("head signed without its context: got %v", err)
	}
	if _, err := ParseHead(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, err := ParseHead(make([]byte, MaxHeadSize+1)); err == nil {
		t.Fatal("oversize head accepted")
	}

	// Heads that decode but break a rule, signed so that only the rule
	// refuses them.
	resign := func(h *Head) []byte {
		h.Sig = ed25519.Sign(keys.signing, h.signed())
		return h.Marshal()
	}
	v0 := cid.NewCidV0(cidOf("m").Hash())
	big, _ := mh.Encode(bytes.Repeat([]byte{1}, maxCIDSize), mh.IDENTITY)
	tooBig := cid.NewCidV1(cid.Raw, big)
	for _, tc := range []struct {
		name string
		h    Head
	}{
		{"undefined manifest", Head{Vault: keys.VaultID()}},
		{"CIDv0 manifest", Head{Vault: keys.VaultID(), Manifest: v0}},
		{"oversize CID", Head{Vault: keys.VaultID(), Manifest: tooBig}},
		{"CIDv0 parent", Head{Vault: keys.VaultID(), Manifest: cidOf("m"), Parents: []cid.Cid{v0}}},
		{"undefined parent", Head{Vault: keys.VaultID(), Manifest: cidOf("m"), Parents: []cid.Cid{cid.Undef}}},
		{"duplicate parents", Head{Vault: keys.VaultID(), Manifest: cidOf("m"), Parents: []cid.Cid{cidOf("p"), cidOf("q"), cidOf("p")}}},
		{"too many parents", Head{Vault: keys.VaultID(), Manifest: cidOf("m"), Parents: manyCIDs(MaxParents + 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseHead(resign(&tc.h)); err == nil || errors.Is(err, errBadSignature) {
				t.Fatalf("got %v", err)
			}
			if _, err := keys.SignHead(1, tc.h.Manifest, tc.h.Parents, time.Now()); err == nil {
				t.Fatal("SignHead accepted it")
			}
		})
	}

	// Varints must be in their shortest form.
	long := append([]byte(headMagic), v[:]...)
	long = append(long, 0x87, 0x00) // 7 in two bytes
	long = append(long, b[len(headMagic)+32+1:]...)
	if _, err := ParseHead(long); err == nil {
		t.Fatal("overlong varint accepted")
	}

	// A head that would not fit its limit is not signed.
	var wide []cid.Cid
	for i := range MaxParents {
		d, _ := mh.Encode(bytes.Repeat([]byte{byte(i)}, 120), mh.IDENTITY)
		wide = append(wide, cid.NewCidV1(cid.Raw, d))
	}
	if _, err := keys.SignHead(1, cidOf("m"), wide, time.Now()); err == nil {
		t.Fatal("signed a head over MaxHeadSize")
	}
	if _, err := keys.SignHead(1, cidOf("m"), nil, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("signed a head dated 2300")
	}
}

func TestPointer(t *testing.T) {
	card := mustCard(t)
	tm := time.Unix(1700000000, 5).In(time.FixedZone("x", -7200))
	p := card.SignPointer(cidOf("envelope"), tm)
	b := p.Marshal()
	got, err := ParsePointer(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Lookup != card.LookupID() || !got.Envelope.Equals(cidOf("envelope")) || got.Time != p.Time || !got.Time.Equal(tm) ||
		!bytes.Equal(got.Sig, p.Sig) || !bytes.Equal(got.Marshal(), b) {
		t.Fatal("pointer round trip differs")
	}
	// Layout, by hand.
	l := card.LookupID()
	want := append([]byte("BLCNPT1\n"), l[:]...)
	want = binary.AppendVarint(want, tm.UnixNano())
	want = append(want, byte(len(cidOf("envelope").Bytes())))
	want = append(want, cidOf("envelope").Bytes()...)
	if !bytes.Equal(b[:len(b)-64], want) || !ed25519.Verify(ed25519.PublicKey(l[:]), append([]byte("baluchon pointer v1\x00"), want...), p.Sig) {
		t.Fatalf("pointer\n%x\nwant\n%x", b, want)
	}
	for i := range len(b) * 8 {
		bad := bytes.Clone(b)
		bad[i/8] ^= 1 << (i % 8)
		if _, err := ParsePointer(bad); err == nil {
			t.Fatalf("pointer with bit %d flipped accepted", i)
		}
	}
	other := mustCard(t).SignPointer(cidOf("envelope"), tm).Marshal()
	copy(other[len(pointerMagic):], l[:])
	if _, err := ParsePointer(other); !errors.Is(err, errBadSignature) {
		t.Fatalf("pointer signed by another card: got %v", err)
	}
	if _, err := ParsePointer(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, err := ParsePointer(make([]byte, MaxPointerSize+1)); err == nil {
		t.Fatal("oversize pointer accepted")
	}
	if _, err := ParsePointer(card.SignPointer(cid.Undef, tm).Marshal()); err == nil {
		t.Fatal("pointer to an undefined CID accepted")
	}
	if _, err := ParsePointer(card.SignPointer(cid.NewCidV0(cidOf("e").Hash()), tm).Marshal()); err == nil {
		t.Fatal("pointer to a CIDv0 accepted")
	}
	// A head is not a pointer, nor the reverse.
	h, _ := signingKeys(2).SignHead(1, cidOf("m"), nil, tm)
	if _, err := ParsePointer(h.Marshal()); err == nil {
		t.Fatal("a head parsed as a pointer")
	}
	if _, err := ParseHead(b); err == nil {
		t.Fatal("a pointer parsed as a head")
	}
}
