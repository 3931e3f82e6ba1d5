package proto

import (
	"crypto/ed25519"
	"os"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestBluetoothMultiaddr(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"/bt/B8:27:EB:12:34:56/rfcomm/25", "/bt/B8:27:EB:12:34:56/rfcomm/25", true},
		{"/bt/b8:27:eb:12:34:5a/rfcomm/1", "/bt/B8:27:EB:12:34:5A/rfcomm/1", true},
		{"/bt/B8:27:EB:12:34/rfcomm/25", "", false},
		{"/bt/B8:27:EB:12:34:5G/rfcomm/25", "", false},
		{"/bt/B8:27:EB:12:34:56/rfcomm/0", "", false},
		{"/bt/B8:27:EB:12:34:56/rfcomm/31", "", false},
	} {
		a, err := ma.NewMultiaddr(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if a.String() != tc.want {
			t.Errorf("%s reads as %s", tc.in, a)
		}
		back, err := ma.NewMultiaddrBytes(a.Bytes())
		if err != nil || !back.Equal(a) {
			t.Errorf("%s: bytes round trip: %v %v", tc.in, back, err)
		}
		bd, ch, ok := SplitBluetoothMultiaddr(a)
		if !ok || FormatBluetoothAddr(bd) != strings.Split(tc.want, "/")[2] || ch == 0 {
			t.Errorf("%s splits as %x %d %v", tc.in, bd, ch, ok)
		}
	}
	if _, _, ok := SplitBluetoothMultiaddr(ma.StringCast("/ip4/10.0.0.1/tcp/4001")); ok {
		t.Error("an IP address splits as a Bluetooth one")
	}
}

// TestCodeBluetooth: a pairing code carries a Bluetooth address next to IP
// ones, so that scanning its QR code is enough to connect over Bluetooth.
func TestCodeBluetooth(t *testing.T) {
	c := testCode(t, KindPairing)
	c.Addrs = append([]ma.Multiaddr{ma.StringCast("/bt/B8:27:EB:12:34:56/rfcomm/25")}, c.Addrs...)
	got, err := ParseCode(c.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Addrs) != 4 {
		t.Fatalf("%d addresses back, want 4: %v", len(got.Addrs), got.Addrs)
	}
	for i := range got.Addrs {
		if !got.Addrs[i].Equal(c.Addrs[i]) {
			t.Errorf("address %d: %s, want %s", i, got.Addrs[i], c.Addrs[i])
		}
	}
}

// TestCodeEarlierVersion: a pairing code printed by an earlier version
// (testdata/pairing-v1.txt: IP addresses only) still reads, and codes
// without a Bluetooth address are written byte for byte as before.
func TestCodeEarlierVersion(t *testing.T) {
	b, err := os.ReadFile("testdata/pairing-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(b))
	got, err := ParseCode(text)
	if err != nil {
		t.Fatal(err)
	}
	want := fixedCode(t)
	if got.Peer != want.Peer || len(got.Addrs) != len(want.Addrs) {
		t.Fatalf("earlier code reads as %+v", got)
	}
	for i := range got.Addrs {
		if !got.Addrs[i].Equal(want.Addrs[i]) {
			t.Errorf("address %d: %s, want %s", i, got.Addrs[i], want.Addrs[i])
		}
	}
	if s := want.String(); s != text {
		t.Errorf("the same code is now written\n%s\nwas\n%s", s, text)
	}
}

// fixedCode is the pairing code of testdata/pairing-v1.txt.
func fixedCode(t *testing.T) *Code {
	t.Helper()
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	c := &Code{Kind: KindPairing, Peer: id}
	for _, s := range []string{"/ip4/192.168.1.20/tcp/4001", "/ip4/192.168.1.20/udp/4001/quic-v1", "/ip6/fd00::2/tcp/4001"} {
		c.Addrs = append(c.Addrs, ma.StringCast(s))
	}
	return c
}
