package proto

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/mr-tron/base58"
	ma "github.com/multiformats/go-multiaddr"
)

// Pairing and invitation codes are typed or scanned by people, so they are
// written like cards: base58 digits in groups of 5, each followed by a
// check character, so that a typo is found in its group.
//
// Payload, before the text form:
//
//	kind (1 byte: 1 pairing, 2 invitation) ‖ Ed25519 public key of the node (32) ‖
//	count (1) ‖ count × address ‖ [invitation: secret (16)] ‖ check (2 bytes: SHA-256 of all before)
//
// An address is a type byte (1 IPv4/TCP, 2 IPv4/UDP/QUIC-v1, 3 IPv6/TCP,
// 4 IPv6/UDP/QUIC-v1) ‖ the IP (4 or 16 bytes) ‖ the port (2 bytes, big
// endian), or type 5 (Bluetooth RFCOMM, multiaddr.go) ‖ the adapter's
// address (6 bytes, as printed) ‖ the channel (1 byte). At most
// MaxCodeAddrs addresses. Codes without type 5 are those of earlier
// versions, byte for byte; an earlier version refuses a code with one.

// Code kinds.
const (
	KindPairing    = 1
	KindInvitation = 2
)

// codeAddrBluetooth is the type byte of a Bluetooth RFCOMM address.
const codeAddrBluetooth = 5

// MaxCodeAddrs is the most addresses a code carries.
const MaxCodeAddrs = 6

// InviteSecretSize is the size of an invitation's one-time secret.
const InviteSecretSize = 16

// Code is a pairing code (a node's peer id and addresses) or an
// invitation (the same, plus a one-time secret).
type Code struct {
	Kind   byte
	Peer   peer.ID
	Addrs  []ma.Multiaddr
	Secret [InviteSecretSize]byte // invitations only
}

// AddrInfo returns the peer and addresses of the code.
func (c *Code) AddrInfo() peer.AddrInfo { return peer.AddrInfo{ID: c.Peer, Addrs: c.Addrs} }

const codeAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var codeWeights = [5]int{1, 3, 5, 7, 9}

func codeCheck(g int, digits string) byte {
	sum := 7 * g
	for i := range len(digits) {
		sum += codeWeights[i] * strings.IndexByte(codeAlphabet, digits[i])
	}
	return codeAlphabet[sum%len(codeAlphabet)]
}

// String returns the code's text: groups of 6 characters joined by '-'.
func (c *Code) String() string {
	payload, err := c.payload()
	if err != nil {
		return ""
	}
	digits := base58.Encode(payload)
	var b strings.Builder
	for g := 0; g*5 < len(digits); g++ {
		if g > 0 {
			b.WriteByte('-')
		}
		grp := digits[g*5 : min(len(digits), g*5+5)]
		b.WriteString(grp)
		b.WriteByte(codeCheck(g, grp))
	}
	return b.String()
}

func (c *Code) payload() ([]byte, error) {
	pub, err := c.Peer.ExtractPublicKey()
	if err != nil || pub.Type() != crypto.Ed25519 {
		return nil, errors.New("a code needs a node with an Ed25519 key")
	}
	raw, err := pub.Raw()
	if err != nil {
		return nil, err
	}
	b := append([]byte{c.Kind}, raw...)
	var addrs [][]byte
	for _, a := range c.Addrs {
		if enc, ok := encodeCodeAddr(a); ok && len(addrs) < MaxCodeAddrs {
			addrs = append(addrs, enc)
		}
	}
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		b = append(b, a...)
	}
	if c.Kind == KindInvitation {
		b = append(b, c.Secret[:]...)
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:2]...), nil
}

func encodeCodeAddr(a ma.Multiaddr) ([]byte, bool) {
	if bd, ch, ok := SplitBluetoothMultiaddr(a); ok {
		return append(append([]byte{codeAddrBluetooth}, bd[:]...), ch), true
	}
	var ipS, portS string
	var quic, tcp bool
	ma.ForEach(a, func(c ma.Component) bool {
		switch c.Protocol().Code {
		case ma.P_IP4, ma.P_IP6:
			ipS = c.Value()
		case ma.P_TCP:
			tcp, portS = true, c.Value()
		case ma.P_UDP:
			portS = c.Value()
		case ma.P_QUIC_V1:
			quic = true
		}
		return true
	})
	ip, err := netip.ParseAddr(ipS)
	if err != nil || portS == "" || (!tcp && !quic) {
		return nil, false
	}
	var port uint16
	if _, err := fmt.Sscan(portS, &port); err != nil {
		return nil, false
	}
	var typ byte
	switch {
	case ip.Is4() && tcp:
		typ = 1
	case ip.Is4() && quic:
		typ = 2
	case ip.Is6() && tcp:
		typ = 3
	default:
		typ = 4
	}
	b := append([]byte{typ}, ip.AsSlice()...)
	return binary.BigEndian.AppendUint16(b, port), true
}

// CodeError is a mistake in a typed code; it says where, never the text.
type CodeError struct {
	Group int // 1-based, 0 when not about one group
	Char  int // 1-based character position, 0 when none
	Msg   string
}

func (e *CodeError) Error() string {
	switch {
	case e.Char > 0:
		return fmt.Sprintf("character %d (group %d) %s", e.Char, e.Group, e.Msg)
	case e.Group > 0:
		return fmt.Sprintf("typo in group %d: %s", e.Group, e.Msg)
	}
	return e.Msg
}

// ParseCode reads a pairing or invitation code. Dashes and spaces are
// ignored; a typo is reported with its group.
func ParseCode(text string) (*Code, error) {
	var chars []byte
	for _, r := range text {
		switch {
		case r == '-' || unicode.IsSpace(r) || r == '–' || r == '—':
		case r < 0x80 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			chars = append(chars, byte(r))
		default:
			return nil, &CodeError{Char: len(chars) + 1, Group: len(chars)/6 + 1, Msg: "is not used in codes (codes never contain 0, O, I or l)"}
		}
	}
	if len(chars) < 12 || len(chars) > 400 {
		return nil, &CodeError{Msg: fmt.Sprintf("a code has between 12 and 400 characters; this text has %d", len(chars))}
	}
	var digits []byte
	for g := 0; g*6 < len(chars); g++ {
		grp := chars[g*6 : min(len(chars), g*6+6)]
		if len(grp) < 2 {
			return nil, &CodeError{Msg: "the code ends with a cut group: a character is missing or extra"}
		}
		data, check := grp[:len(grp)-1], grp[len(grp)-1]
		if codeCheck(g, string(data)) != check {
			return nil, &CodeError{Group: g + 1, Msg: "check the characters of this group"}
		}
		digits = append(digits, data...)
	}
	payload, err := base58.Decode(string(digits))
	if err != nil || len(payload) < 4 {
		return nil, &CodeError{Msg: "the code does not check out: compare every group again"}
	}
	body, sum := payload[:len(payload)-2], payload[len(payload)-2:]
	want := sha256.Sum256(body)
	if sum[0] != want[0] || sum[1] != want[1] {
		return nil, &CodeError{Msg: "the code does not check out: compare every group again"}
	}
	return decodeCodePayload(body)
}

func decodeCodePayload(b []byte) (*Code, error) {
	bad := &CodeError{Msg: "the code is not a baluchon pairing or invitation code (or is from a newer version)"}
	d := newDecoder(b)
	c := &Code{Kind: d.Byte()}
	if c.Kind != KindPairing && c.Kind != KindInvitation {
		return nil, bad
	}
	pub, err := crypto.UnmarshalEd25519PublicKey(d.Fixed(32))
	if d.Err() != nil || err != nil {
		return nil, bad
	}
	if c.Peer, err = peer.IDFromPublicKey(pub); err != nil {
		return nil, bad
	}
	n := int(d.Byte())
	if n > MaxCodeAddrs {
		return nil, bad
	}
	for range n {
		typ := d.Byte()
		if typ == codeAddrBluetooth {
			bd, ch := d.Fixed(6), d.Byte()
			if d.Err() != nil {
				return nil, bad
			}
			a, err := BluetoothMultiaddr([6]byte(bd), ch)
			if err != nil {
				return nil, bad
			}
			c.Addrs = append(c.Addrs, a)
			continue
		}
		var ipLen int
		var proto string
		switch typ {
		case 1:
			ipLen, proto = 4, "tcp"
		case 2:
			ipLen, proto = 4, "quic"
		case 3:
			ipLen, proto = 16, "tcp"
		case 4:
			ipLen, proto = 16, "quic"
		default:
			return nil, bad
		}
		ipb := d.Fixed(ipLen)
		pb := d.Fixed(2)
		if d.Err() != nil {
			return nil, bad
		}
		ip, _ := netip.AddrFromSlice(ipb)
		port := binary.BigEndian.Uint16(pb)
		fam := "ip4"
		if ipLen == 16 {
			fam = "ip6"
		}
		s := fmt.Sprintf("/%s/%s/tcp/%d", fam, ip, port)
		if proto == "quic" {
			s = fmt.Sprintf("/%s/%s/udp/%d/quic-v1", fam, ip, port)
		}
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, bad
		}
		c.Addrs = append(c.Addrs, a)
	}
	if c.Kind == KindInvitation {
		copy(c.Secret[:], d.Fixed(InviteSecretSize))
	}
	if err := d.End(); err != nil {
		return nil, bad
	}
	return c, nil
}
