package proto

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func testKey(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return k, id
}

func testCode(t testing.TB, kind byte) *Code {
	_, id := testKey(t)
	c := &Code{Kind: kind, Peer: id}
	for _, s := range []string{"/ip4/192.168.1.20/tcp/4001", "/ip4/192.168.1.20/udp/4001/quic-v1", "/ip6/fd00::2/tcp/4001"} {
		c.Addrs = append(c.Addrs, ma.StringCast(s))
	}
	if kind == KindInvitation {
		copy(c.Secret[:], "0123456789abcdef")
	}
	return c
}

func TestCodeRoundTrip(t *testing.T) {
	for _, kind := range []byte{KindPairing, KindInvitation} {
		c := testCode(t, kind)
		text := c.String()
		for _, variant := range []string{text, strings.ReplaceAll(text, "-", ""), strings.ReplaceAll(text, "-", " ")} {
			got, err := ParseCode(variant)
			if err != nil {
				t.Fatalf("kind %d: %v", kind, err)
			}
			if got.Kind != kind || got.Peer != c.Peer || got.Secret != c.Secret || len(got.Addrs) != 3 {
				t.Fatalf("round trip: %+v", got)
			}
			for i := range got.Addrs {
				if !got.Addrs[i].Equal(c.Addrs[i]) {
					t.Fatalf("address %d: %s, want %s", i, got.Addrs[i], c.Addrs[i])
				}
			}
		}
	}
}

// TestCodeTypos: every single substitution is reported, in its group, and
// the message never quotes the code.
func TestCodeTypos(t *testing.T) {
	c := testCode(t, KindPairing)
	text := strings.ReplaceAll(c.String(), "-", "")
	for i := range text {
		for _, r := range []byte("z2" + "0") {
			if r == text[i] {
				continue
			}
			bad := text[:i] + string(r) + text[i+1:]
			_, err := ParseCode(bad)
			var ce *CodeError
			if !errors.As(err, &ce) {
				t.Fatalf("typo %q at %d: got %v", r, i+1, err)
			}
			if ce.Group != 0 && ce.Group != i/6+1 {
				t.Fatalf("typo at %d reported in group %d", i+1, ce.Group)
			}
			if ce.Group == 0 {
				t.Fatalf("typo at %d not located: %v", i+1, err)
			}
			for g := 0; g+6 <= len(text); g += 6 {
				if strings.Contains(err.Error(), text[g:g+6]) {
					t.Fatalf("error %q quotes the code", err)
				}
			}
		}
	}
	if _, err := ParseCode("abc"); err == nil {
		t.Fatal("accepted a short code")
	}
}

func TestMemberCerts(t *testing.T) {
	fk, fed := testKey(t)
	bk, b := testKey(t)
	_, c := testKey(t)
	xk, x := testKey(t)
	now := time.Unix(1700000000, 0)
	root, _ := SignMember(fk, fed, fed, now)
	cb, _ := SignMember(fk, fed, b, now)
	cc, _ := SignMember(bk, fed, c, now) // admitted by B, a member
	cx, _ := SignMember(xk, fed, x, now) // self-admitted outsider
	for _, cert := range []*MemberCert{root, cb, cc, cx} {
		got, err := ParseMemberCert(cert.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if got.Member != cert.Member || got.Admitter != cert.Admitter || !got.Time.Equal(cert.Time) {
			t.Fatal("certificate round trip differs")
		}
	}
	valid := ValidMembers(fed, []*MemberCert{cc, cx, cb, root})
	if len(valid) != 3 || valid[c] == nil || valid[x] != nil {
		t.Fatalf("valid members: %v", valid)
	}
	if len(ValidMembers(fed, []*MemberCert{cb, cc})) != 0 {
		t.Fatal("members without the founder's certificate")
	}
	b2 := cb.Marshal()
	for i := range b2 {
		bad := append([]byte(nil), b2...)
		bad[i] ^= 0x01
		if _, err := ParseMemberCert(bad); err == nil {
			t.Fatalf("certificate with byte %d flipped accepted", i)
		}
	}
}

func TestRecords(t *testing.T) {
	k, author := testKey(t)
	other, _ := testKey(t)
	var v [32]byte
	v[0] = 7
	r, err := SignRecord(k, RecordDeposit, v, time.Unix(1700000000, 0), JoinFields([]byte("cid"), []byte("meta")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRecord(r.Marshal())
	if err != nil || got.Author != author || got.Kind != RecordDeposit || got.Vault != v {
		t.Fatalf("record round trip: %+v (%v)", got, err)
	}
	f, err := Fields(got.Payload, 2)
	if err != nil || string(f[0]) != "cid" || string(f[1]) != "meta" {
		t.Fatalf("fields %q (%v)", f, err)
	}
	b := r.Marshal()
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x01
		if _, err := ParseRecord(bad); err == nil {
			t.Fatalf("record with byte %d flipped accepted", i)
		}
	}
	s, _ := SignStructure(other, "Foyer", "age1pq1x", time.Unix(1, 0))
	sb := s.Marshal()
	sb[len(sb)-1] ^= 1
	if _, err := ParseStructureRecord(sb); err == nil {
		t.Fatal("structure record with a bad signature accepted")
	}
}
