package proto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

// Bluetooth addresses. A node reachable over Bluetooth Classic (RFCOMM, a
// stream socket; see baluchon/internal/rfcomm) has the multiaddr
//
//	/bt/<adapter address>/rfcomm/<channel>
//
// for example /bt/B8:27:EB:12:34:56/rfcomm/25: the adapter's address as
// Bluetooth tools print it (six hex bytes, most significant first,
// separated by colons) and the RFCOMM channel (1 to 30). Both protocols
// are registered with go-multiaddr when this package is loaded, with codes
// from the multicodec private-use range: they are baluchon's own, and
// other libp2p programs do not know them. In binary form, bt is the six
// bytes in that order, rfcomm one byte.
const (
	P_BT     = 0x3b7400
	P_RFCOMM = 0x3b7401
)

func init() {
	for _, p := range []ma.Protocol{
		{Name: "bt", Code: P_BT, VCode: ma.CodeToVarint(P_BT), Size: 48, Transcoder: ma.NewTranscoderFromFunctions(btStringToBytes, btBytesToString, btValidate)},
		{Name: "rfcomm", Code: P_RFCOMM, VCode: ma.CodeToVarint(P_RFCOMM), Size: 8, Transcoder: ma.NewTranscoderFromFunctions(channelStringToBytes, channelBytesToString, channelValidate)},
	} {
		if err := ma.AddProtocol(p); err != nil {
			panic(fmt.Sprintf("register multiaddr protocol %s: %v", p.Name, err))
		}
	}
}

// ParseBluetoothAddr reads a Bluetooth adapter address such as
// "B8:27:EB:12:34:56" (hex digits in either case).
func ParseBluetoothAddr(s string) ([6]byte, error) {
	var a [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return a, fmt.Errorf("%q is not a Bluetooth address (six hex bytes separated by colons, as B8:27:EB:12:34:56)", s)
	}
	for i, p := range parts {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 1 {
			return a, fmt.Errorf("%q is not a Bluetooth address (six hex bytes separated by colons, as B8:27:EB:12:34:56)", s)
		}
		a[i] = b[0]
	}
	return a, nil
}

// FormatBluetoothAddr writes a Bluetooth address as tools print it.
func FormatBluetoothAddr(a [6]byte) string {
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", a[0], a[1], a[2], a[3], a[4], a[5])
}

func btStringToBytes(s string) ([]byte, error) {
	a, err := ParseBluetoothAddr(s)
	return a[:], err
}

func btBytesToString(b []byte) (string, error) {
	if err := btValidate(b); err != nil {
		return "", err
	}
	return FormatBluetoothAddr([6]byte(b)), nil
}

func btValidate(b []byte) error {
	if len(b) != 6 {
		return errors.New("a Bluetooth address has 6 bytes")
	}
	return nil
}

// MaxRFCOMMChannel is the highest RFCOMM channel.
const MaxRFCOMMChannel = 30

func channelStringToBytes(s string) ([]byte, error) {
	c, err := strconv.Atoi(s)
	if err != nil || c < 1 || c > MaxRFCOMMChannel {
		return nil, fmt.Errorf("%q is not an RFCOMM channel (1 to %d)", s, MaxRFCOMMChannel)
	}
	return []byte{byte(c)}, nil
}

func channelBytesToString(b []byte) (string, error) {
	if err := channelValidate(b); err != nil {
		return "", err
	}
	return strconv.Itoa(int(b[0])), nil
}

func channelValidate(b []byte) error {
	if len(b) != 1 || b[0] < 1 || b[0] > MaxRFCOMMChannel {
		return fmt.Errorf("an RFCOMM channel is one byte, 1 to %d", MaxRFCOMMChannel)
	}
	return nil
}

// BluetoothMultiaddr returns /bt/<addr>/rfcomm/<channel>.
func BluetoothMultiaddr(addr [6]byte, channel uint8) (ma.Multiaddr, error) {
	return ma.NewMultiaddr(fmt.Sprintf("/bt/%s/rfcomm/%d", FormatBluetoothAddr(addr), channel))
}

// SplitBluetoothMultiaddr returns the address and channel of a multiaddr
// /bt/<addr>/rfcomm/<channel> (with nothing before it; /p2p/<id> may
// follow). ok is false for any other multiaddr.
func SplitBluetoothMultiaddr(m ma.Multiaddr) (addr [6]byte, channel uint8, ok bool) {
	if len(m) < 2 || m[0].Code() != P_BT || m[1].Code() != P_RFCOMM {
		return addr, 0, false
	}
	if len(m) > 2 && (len(m) > 3 || m[2].Code() != ma.P_P2P) {
		return addr, 0, false
	}
	copy(addr[:], m[0].RawValue())
	return addr, m[1].RawValue()[0], true
}
