package node

import (
	"context"
	"errors"

	bsmsg "github.com/ipfs/boxo/bitswap/message"
	bsnetwork "github.com/ipfs/boxo/bitswap/network"
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

// admit decides, before a byte of a request is read, which peers may use
// which of baluchon's protocols here (proto.Handler).
func (n *Node) admit(from peer.ID, id protocol.ID) bool {
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
	case proto.SyncID, proto.CardsID, proto.BlockID:
		return n.IsMember(from)
	}
	return n.trusted(from)
}

// errNotTrusted is what bitswap is told when it would send a message to
// a peer this node does no vault business with.
var errNotTrusted = errors.New("peer is not a member of this node's federation")

// trustedNetwork is bitswap's network, through which nothing is sent to a
// peer that send refuses: neither this node's want lists (they name the
// blocks of the vaults it opens) nor answers to the peer's.
type trustedNetwork struct {
	bsnetwork.BitSwapNetwork
	send func(peer.ID) bool
}

func (t trustedNetwork) SendMessage(ctx context.Context, p peer.ID, m bsmsg.BitSwapMessage) error {
	if !t.send(p) {
		return errNotTrusted
	}
	return t.BitSwapNetwork.SendMessage(ctx, p, m)
}

func (t trustedNetwork) NewMessageSender(ctx context.Context, p peer.ID, opts *bsnetwork.MessageSenderOpts) (bsnetwork.MessageSender, error) {
	if !t.send(p) {
		return nil, errNotTrusted
	}
	s, err := t.BitSwapNetwork.NewMessageSender(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	return trustedSender{MessageSender: s, ok: func() bool { return t.send(p) }}, nil
}

// trustedSender checks at every message that its peer is still trusted
// (a member may be removed).
type trustedSender struct {
	bsnetwork.MessageSender
	ok func() bool
}

func (s trustedSender) SendMsg(ctx context.Context, m bsmsg.BitSwapMessage) error {
	if !s.ok() {
		return errNotTrusted
	}
	return s.MessageSender.SendMsg(ctx, m)
}
