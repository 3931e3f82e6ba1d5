package rfcomm

import (
	"context"
	"fmt"
	"net"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"baluchon/proto"
)

// Transport is the libp2p transport over RFCOMM.
type Transport struct {
	up    transport.Upgrader
	rcmgr network.ResourceManager
	s     Sockets
	local [6]byte // the adapter's address
}

var _ transport.Transport = (*Transport)(nil)

// New returns a constructor of the transport over s, for
// libp2p.Transport (which gives it the upgrader and the resource
// manager): libp2p.Transport(rfcomm.New(s)).
func New(s Sockets) func(transport.Upgrader, network.ResourceManager) (*Transport, error) {
	return func(up transport.Upgrader, rcmgr network.ResourceManager) (*Transport, error) {
		local, ok, err := s.Adapter()
		if !ok {
			if err == nil {
				err = fmt.Errorf("no Bluetooth adapter")
			}
			return nil, fmt.Errorf("bluetooth transport: %w", err)
		}
		if rcmgr == nil {
			rcmgr = &network.NullResourceManager{}
		}
		return &Transport{up: up, rcmgr: rcmgr, s: s, local: local}, nil
	}
}

// CanDial reports whether a is a Bluetooth address.
func (t *Transport) CanDial(a ma.Multiaddr) bool {
	_, _, ok := proto.SplitBluetoothMultiaddr(a)
	return ok
}

// Protocols implements transport.Transport.
func (t *Transport) Protocols() []int { return []int{proto.P_RFCOMM} }

// Proxy implements transport.Transport.
func (t *Transport) Proxy() bool { return false }

func (t *Transport) String() string { return "rfcomm" }

// Dial connects to peer p at raddr and upgrades the connection (Noise or
// TLS, then yamux), in the scope the resource manager gives it.
func (t *Transport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	bd, ch, ok := proto.SplitBluetoothMultiaddr(raddr)
	if !ok {
		return nil, fmt.Errorf("%s is not a Bluetooth address", raddr)
	}
	scope, err := t.rcmgr.OpenConnection(network.DirOutbound, true, raddr)
	if err != nil {
		return nil, err
	}
	c, err := t.dial(ctx, bd, ch, p, scope)
	if err != nil {
		scope.Done()
		return nil, err
	}
	return c, nil
}

func (t *Transport) dial(ctx context.Context, bd [6]byte, ch uint8, p peer.ID, scope network.ConnManagementScope) (transport.CapableConn, error) {
	if err := scope.SetPeer(p); err != nil {
		return nil, err
	}
	conn, err := t.s.Dial(ctx, bd, ch)
	if err != nil {
		return nil, fmt.Errorf("bluetooth dial %s channel %d: %w", proto.FormatBluetoothAddr(bd), ch, err)
	}
	mc, err := newMaConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return t.up.Upgrade(ctx, t, mc, network.DirOutbound, p, scope)
}

// Listen listens on laddr, which must be this adapter's address.
func (t *Transport) Listen(laddr ma.Multiaddr) (transport.Listener, error) {
	bd, ch, ok := proto.SplitBluetoothMultiaddr(laddr)
	if !ok {
		return nil, fmt.Errorf("%s is not a Bluetooth address", laddr)
	}
	if bd != t.local {
		return nil, fmt.Errorf("listen on %s: this machine's Bluetooth adapter is %s", laddr, proto.FormatBluetoothAddr(t.local))
	}
	l, err := t.s.Listen(bd, ch)
	if err != nil {
		return nil, fmt.Errorf("bluetooth listen on channel %d: %w", ch, err)
	}
	ml := &maListener{Listener: l, addr: laddr}
	return t.up.UpgradeGatedMaListener(t, t.up.GateMaListener(ml)), nil
}

// maListener gives a listener of Sockets its multiaddr.
type maListener struct {
	net.Listener
	addr ma.Multiaddr
}

func (l *maListener) Multiaddr() ma.Multiaddr { return l.addr }

func (l *maListener) Accept() (manet.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		mc, err := newMaConn(c)
		if err != nil {
			c.Close() // a connection without RFCOMM addresses: drop it
			continue
		}
		return mc, nil
	}
}

// maConn gives a connection of Sockets its multiaddrs.
type maConn struct {
	net.Conn
	local, remote ma.Multiaddr
}

func newMaConn(c net.Conn) (*maConn, error) {
	la, ok1 := c.LocalAddr().(*Addr)
	ra, ok2 := c.RemoteAddr().(*Addr)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("bluetooth connection without RFCOMM addresses (%v, %v)", c.LocalAddr(), c.RemoteAddr())
	}
	local, err := proto.BluetoothMultiaddr(la.BD, la.Channel)
	if err != nil {
		return nil, err
	}
	remote, err := proto.BluetoothMultiaddr(ra.BD, ra.Channel)
	if err != nil {
		return nil, err
	}
	return &maConn{Conn: c, local: local, remote: remote}, nil
}

func (c *maConn) LocalMultiaddr() ma.Multiaddr  { return c.local }
func (c *maConn) RemoteMultiaddr() ma.Multiaddr { return c.remote }
