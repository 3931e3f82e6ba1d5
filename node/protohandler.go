package node

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/proto"
	"baluchon/vault"
)

// protoHandler answers baluchon's protocols for a node. The callbacks are
// methods of this unexported type, not of Node, so that Node's exported
// methods are the operations a caller wants (JoinFederation, not Join).
// Each one hands the request to the file of its feature.
type protoHandler struct{ n *Node }

var (
	_ proto.Handler           = protoHandler{}
	_ proto.FederationHandler = protoHandler{}
	_ proto.BlockHandler      = protoHandler{}
)

// Admit: trust.go.
func (h protoHandler) Admit(from peer.ID, id protocol.ID) bool { return h.n.admit(from, id) }

// Resolve, Heads, Announce: handler.go.
func (h protoHandler) Resolve(ctx context.Context, from peer.ID, id vault.LookupID) (*proto.CardRecord, error) {
	return h.n.answerResolve(ctx, from, id)
}

func (h protoHandler) Heads(ctx context.Context, from peer.ID, v vault.VaultID) ([]*vault.Head, error) {
	return h.n.answerHeads(ctx, from, v)
}

func (h protoHandler) Announce(ctx context.Context, from peer.ID, a *proto.Announcement) error {
	return h.n.answerAnnounce(ctx, from, a)
}

// Join, Members: federation.go.
func (h protoHandler) Join(ctx context.Context, from peer.ID, secret [proto.InviteSecretSize]byte) ([]*proto.MemberCert, error) {
	return h.n.answerJoin(ctx, from, secret)
}

func (h protoHandler) Members(ctx context.Context, from peer.ID, ms *proto.MemberSet) (*proto.MemberSet, error) {
	return h.n.answerMembers(ctx, from, ms)
}

// Sync, Cards: sync.go.
func (h protoHandler) Sync(ctx context.Context, from peer.ID, hs *proto.Holdings) (*proto.Holdings, error) {
	return h.n.answerSync(ctx, from, hs)
}

func (h protoHandler) Cards(ctx context.Context, from peer.ID, v vault.VaultID) ([]*proto.CardRecord, error) {
	return h.n.answerCards(ctx, from, v)
}

// Records: records.go.
func (h protoHandler) Records(ctx context.Context, from peer.ID, v vault.VaultID) ([]*proto.Record, error) {
	return h.n.answerRecords(ctx, from, v)
}

// Block: holders.go.
func (h protoHandler) Block(ctx context.Context, from peer.ID, c cid.Cid) ([]byte, error) {
	return h.n.answerBlock(ctx, from, c)
}
