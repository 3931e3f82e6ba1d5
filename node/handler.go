package node

import (
	"context"
	"fmt"
	"time"

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

// Resolve, Heads, Announce: below.
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

// cardReplacedReason starts the reason of a refused resolve: the card was
// replaced, at the time that follows.
const cardReplacedReason = "card replaced "

// answerResolve answers a peer looking for a card this node keeps, unless the
// card was replaced.
func (n *Node) answerResolve(ctx context.Context, from peer.ID, id vault.LookupID) (*proto.CardRecord, error) {
	rec, err := n.localCard(ctx, id)
	if err != nil {
		return nil, err
	}
	if when, revoked := n.revokedHere(ctx, id); revoked {
		// A replaced card's envelope is handed to no one.
		return nil, fmt.Errorf("%w: %s%s", proto.ErrRefused, cardReplacedReason, when.UTC().Format(time.RFC3339))
	}
	if rec == nil {
		return nil, proto.ErrNotFound
	}
	return rec, nil
}

// answerHeads answers a peer asking for the current heads of a vault.
func (n *Node) answerHeads(ctx context.Context, from peer.ID, v vault.VaultID) ([]*vault.Head, error) {
	return n.VaultHeads(ctx, v)
}

// VaultHeads returns the current heads of vault v at this node, or
// proto.ErrNotFound when it keeps none.
func (n *Node) VaultHeads(ctx context.Context, v vault.VaultID) ([]*vault.Head, error) {
	front, err := n.frontier(ctx, v)
	if err != nil {
		return nil, err
	}
	if len(front) == 0 {
		return nil, proto.ErrNotFound
	}
	out := make([]*vault.Head, len(front))
	for i, h := range front {
		out[i] = h.Head
	}
	return out, nil
}

// maxSyncs bounds the vault states fetched at once on peers' announcements.
const maxSyncs = 4

// answerAnnounce takes a peer's news of a vault: new heads of a vault this node
// keeps (the new state is fetched in the background), card records of
// such a vault, and records (deposits, log entries, recovery requests and
// approvals) this node has a use for. Heads of vaults this node does not
// keep are refused: a node stores only what it has chosen to keep. A node
// in a federation takes announcements from its members only.
func (n *Node) answerAnnounce(ctx context.Context, from peer.ID, a *proto.Announcement) error {
	defer n.opHold()() // card records are written, then pinned
	if fed, _ := n.Federation(); fed != "" && !n.IsMember(from) {
		return fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	n.takeRecords(ctx, a.Records)
	front, err := n.frontier(ctx, a.Vault)
	if err != nil {
		return err
	}
	if len(front) == 0 {
		if len(a.Heads) == 0 && len(a.Cards) == 0 {
			return nil
		}
		return fmt.Errorf("%w: this node does not keep vault %s", proto.ErrRefused, a.Vault)
	}
	for _, c := range a.Cards {
		if err := n.takeCard(ctx, a.Vault, c); err != nil {
			n.log.Debug("card record from peer not kept", "vault", a.Vault, "peer", from, "err", err)
		}
	}
	if len(a.Heads) == 0 {
		return nil
	}
	select {
	case n.syncSlots <- struct{}{}:
	default:
		return fmt.Errorf("%w: busy, try again later", proto.ErrRefused)
	}
	// Not an opHold operation: its fetch is named by holdFetch (gc.go).
	n.goRun(func(ctx context.Context) {
		defer func() { <-n.syncSlots }()
		ctx, cancel := context.WithTimeout(ctx, syncTimeout)
		defer cancel()
		changed, err := n.adoptHeads(ctx, a.Vault, a.Heads)
		if err != nil {
			n.log.Warn("sync of announced vault state failed", "vault", a.Vault, "peer", from, "err", err)
			return
		}
		if changed {
			n.log.Info("vault state synced", "vault", a.Vault, "peer", from)
		}
	})
	return nil
}
