package node

import (
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/proto"
)

// Who a node does vault business with.
//
// Outside a federation, a node trusts the peers it is connected to: the
// worker connected them by hand, or they were found on the local network.
// Inside a federation, vault traffic (announcements, head, record and card
// requests, blocks) goes to members only and is taken from members only: a
// non-member that connects (mDNS keeps finding nodes) learns nothing and
// changes nothing. Membership is IsMember's answer, always.

// trusted reports whether this node exchanges vault traffic with p: any
// peer outside a federation, members only inside one.
func (n *Node) trusted(p peer.ID) bool {
	n.fedMu.Lock()
	fed := n.federation
	n.fedMu.Unlock()
	return fed == "" || n.IsMember(p)
}

// trustedPeers returns the connected peers that this node sends its
// announcements, head requests and card lookups to, and pulls heads and
// records from.
func (n *Node) trustedPeers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if n.trusted(p) {
			out = append(out, p)
		}
	}
	return out
}

// Admit decides, before a byte of a request is read, which peers may use
// which of baluchon's protocols here (proto.Handler).
func (n *Node) Admit(from peer.ID, id protocol.ID) bool {
	switch id {
	case proto.JoinID:
		// A joining node is not a member yet; its request is one
		// invitation secret.
		return true
	case proto.MembersID:
		// Certificates prove themselves: a member this node has not heard
		// of yet shows the chain that admits it. Only a node in a
		// federation takes them.
		n.fedMu.Lock()
		defer n.fedMu.Unlock()
		return n.federation != ""
	case proto.SyncID, proto.CardsID:
		return n.IsMember(from)
	}
	return n.trusted(from)
}

// servesBlock reports whether bitswap may send p a block: members only
// inside a federation, anyone outside one.
func (n *Node) servesBlock(p peer.ID, _ cid.Cid) bool { return n.trusted(p) }
