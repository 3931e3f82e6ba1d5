// Package rfcomm is a libp2p transport over Bluetooth Classic stream
// sockets (RFCOMM), so that two nodes with no network at all (two
// Raspberry Pis, a Pi and a laptop) sync over Bluetooth itself.
//
// Its addresses are /bt/<adapter address>/rfcomm/<channel> (registered
// with go-multiaddr by baluchon/proto). A connection is upgraded like a
// TCP one by go-libp2p's upgrader: Noise (or TLS) authenticates the peer,
// yamux multiplexes the streams; the RFCOMM link itself is not trusted
// (no Bluetooth pairing or link key is needed: the Noise handshake proves
// the peer id, as over TCP).
//
// The socket calls are in one file, rfcomm_linux.go (Sockets from
// System); other platforms build without them (System returns nil). The
// transport takes its sockets as an interface, Sockets, so that its tests
// run the same code over StandIn, a stand-in made of Unix stream sockets,
// on machines whose kernel has no Bluetooth sockets.
package rfcomm

import (
	"context"
	"errors"
	"fmt"
	"net"

	"baluchon/proto"
)

// DefaultChannel is the RFCOMM channel a node listens on. The dialler
// learns it from the address (a pairing code carries it): no SDP lookup.
const DefaultChannel = 25

// Sockets are the stream sockets of a Bluetooth adapter: the machine's
// (System) or a stand-in (StandIn).
type Sockets interface {
	// Adapter returns the address of the adapter; ok is false when there
	// is none (err then says why, when the kernel has no Bluetooth
	// sockets at all: ErrNoBluetooth).
	Adapter() (addr [6]byte, ok bool, err error)
	// Listen listens on the adapter's address and channel.
	Listen(addr [6]byte, channel uint8) (net.Listener, error)
	// Dial connects to a remote adapter's channel. The connections of
	// Listen and Dial have *Addr local and remote addresses.
	Dial(ctx context.Context, addr [6]byte, channel uint8) (net.Conn, error)
}

// ErrNoBluetooth says that this machine's kernel has no Bluetooth sockets.
var ErrNoBluetooth = errors.New("this kernel has no Bluetooth sockets (AF_BLUETOOTH)")

// Addr is the address of an RFCOMM socket.
type Addr struct {
	BD      [6]byte
	Channel uint8
}

// Network implements net.Addr.
func (a *Addr) Network() string { return "rfcomm" }

// String implements net.Addr: "B8:27:EB:12:34:56/25".
func (a *Addr) String() string {
	return fmt.Sprintf("%s/%d", proto.FormatBluetoothAddr(a.BD), a.Channel)
}
