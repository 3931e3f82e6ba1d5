package node

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
)

// Hole punching after a start. DCUtR runs once per relayed connection,
// when it opens, started by the side that receives it; the side that
// dialled must already serve DCUtR, and libp2p serves it only once the
// node knows a public address of its own (from identify, seconds after
// the start). A node that starts reconnects to its members at once, some
// through a relay, before it knows its address: the other side's attempt
// finds no handler ("protocols not supported: [/libp2p/dcutr]") and those
// connections would stay relayed for good. So, when this node starts
// serving DCUtR, it closes its connections that only go through a relay
// and dials those peers again: the new relayed connections get their hole
// punching (TestNSNATRelayThenPunch).

// watchHolePunch redials the relayed-only peers when the node starts
// serving DCUtR, until the node closes.
func (n *Node) watchHolePunch() error {
	return n.onEvent(new(event.EvtLocalProtocolsUpdated), func(e any) {
		if slices.Contains(e.(event.EvtLocalProtocolsUpdated).Added, holepunch.Protocol) {
			n.redialRelayed()
		}
	})
}

// redialRelayed closes the connections to peers this node reaches only
// through a relay, and dials them again.
func (n *Node) redialRelayed() {
	nw := n.host.Network()
	for _, p := range nw.Peers() {
		conns := nw.ConnsToPeer(p)
		if len(conns) == 0 || slices.ContainsFunc(conns, func(c network.Conn) bool { return !isRelayed(c.RemoteMultiaddr()) }) {
			continue
		}
		for _, c := range conns {
			_ = c.Close()
		}
		n.log.Info("reconnecting through the relay for hole punching", "peer", p)
		n.goRun(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
			defer cancel()
			if err := n.host.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
				n.log.Info("reconnect for hole punching", "peer", p, "err", err)
			}
		})
	}
}
