package node

import (
	"context"
	"errors"
	"net/netip"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"baluchon/proto"
)

// mdnsService is the mDNS service name of baluchon nodes: distinct from
// IPFS's, so that a node finds only baluchon nodes on its network.
const mdnsService = "_baluchon._udp"

// startMDNS announces the node on the local network and connects to the
// baluchon nodes it finds there; it follows the links that come and go
// (links.go).
func (n *Node) startMDNS() error {
	w, err := n.watchLinks()
	if err != nil {
		return err
	}
	n.mdns = w
	return nil
}

type mdnsNotifee struct{ n *Node }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	if ai.ID == n.ID() || n.host.Network().Connectedness(ai.ID) == network.Connected {
		return
	}
	n.goBackground(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
		defer cancel()
		if err := n.host.Connect(ctx, ai); err != nil {
			n.log.Debug("mDNS peer not reachable", "peer", ai.ID, "err", err)
			return
		}
		n.log.Info("peer found on the local network", "peer", ai.ID)
	})
}

// shareableAddrs returns the addresses to put in a pairing or invitation
// code: the node's addresses other peers can dial, loopback ones only when
// there are no others (a node on one machine, as in tests).
func (n *Node) shareableAddrs() []ma.Multiaddr {
	var lan, loop []ma.Multiaddr
	for _, a := range n.host.Addrs() {
		ip, err := manet.ToIP(a)
		if err != nil {
			continue
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		switch {
		case addr.IsLoopback():
			loop = append(loop, a)
		case addr.IsLinkLocalUnicast() || addr.IsUnspecified() || addr.IsMulticast():
		default:
			lan = append(lan, a)
		}
	}
	if len(lan) == 0 {
		lan = loop
	}
	if len(lan) > proto.MaxCodeAddrs {
		lan = lan[:proto.MaxCodeAddrs]
	}
	return withBluetooth(lan, n.host.Addrs())
}

// PairingCode returns the code that lets another node connect to this one
// without multicast: its peer id and addresses.
func (n *Node) PairingCode() *proto.Code {
	return &proto.Code{Kind: proto.KindPairing, Peer: n.ID(), Addrs: n.shareableAddrs()}
}

// Pair connects to the node of a pairing (or invitation) code and
// remembers it as a static peer.
func (n *Node) Pair(ctx context.Context, code *proto.Code) error {
	return n.pair(ctx, code)
}

func (n *Node) pair(ctx context.Context, code *proto.Code) error {
	if code.Peer == n.ID() {
		return errors.New("this code is this node's own")
	}
	if len(code.Addrs) == 0 {
		return errors.New("this code holds no address to reach its node")
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	ai := code.AddrInfo()
	if err := n.host.Connect(ctx, ai); err != nil {
		return &UnreachableError{Peer: code.Peer, Err: err}
	}
	full, err := peer.AddrInfoToP2pAddrs(&ai)
	if err != nil {
		return err
	}
	for _, a := range full {
		if err := n.rememberPeer(a.String(), &ai); err != nil {
			return err
		}
	}
	return nil
}
