package node

import (
	"cmp"
	"slices"

	"github.com/libp2p/go-libp2p/core/network"
)

// PeerConn is one open connection to a peer, in Status.Conns: the path it
// takes (direct, or through a member's relay), and the protocols of its
// open streams, so that one can see which path carries bitswap.
type PeerConn struct {
	Peer    string `json:"peer"`
	Remote  string `json:"remote"`  // the remote multiaddr; a relayed one holds /p2p-circuit
	Relayed bool   `json:"relayed"` // through a relay
	Limited bool   `json:"limited"` // a limited relayed connection (bitswap does not run over it)
	Inbound bool   `json:"inbound"`
	// Streams are the protocols of the connection's open streams, such as
	// /ipfs/bitswap/1.2.0.
	Streams []string `json:"streams,omitempty"`
	// ReceivedBytes are the bytes of blocks received from the peer by
	// bitswap and by DAG streams (a first open, dagstream.go), over all
	// its connections, since it last connected (bitswap's ledger and the
	// node's count of DAG streams forget a peer that disconnects).
	ReceivedBytes uint64 `json:"received_bytes"`
}

// Conns lists the node's open connections, by peer.
func (n *Node) Conns() []PeerConn {
	var out []PeerConn
	for _, c := range n.host.Network().Conns() {
		p := c.RemotePeer()
		pc := PeerConn{
			Peer:    p.String(),
			Remote:  c.RemoteMultiaddr().String(),
			Relayed: isRelayed(c.RemoteMultiaddr()),
			Limited: c.Stat().Limited,
			Inbound: c.Stat().Direction == network.DirInbound,
		}
		for _, s := range c.GetStreams() {
			if id := s.Protocol(); id != "" && !slices.Contains(pc.Streams, string(id)) {
				pc.Streams = append(pc.Streams, string(id))
			}
		}
		slices.Sort(pc.Streams)
		if r := n.bitswap.LedgerForPeer(p); r != nil {
			pc.ReceivedBytes = r.Recv
		}
		pc.ReceivedBytes += n.streamedFrom(p)
		out = append(out, pc)
	}
	slices.SortFunc(out, func(a, b PeerConn) int {
		return cmp.Or(cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Remote, b.Remote))
	})
	return out
}
