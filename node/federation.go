package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// A federation is the set of structures that store each other's encrypted
// blocks; see docs/federation.md. Membership is a set of certificates,
// each signed by the member that admitted the node (proto.MemberCert),
// rooted at the founder, whose peer id is the federation's id. A node
// belongs to at most one federation.
//
// Records:
//
//	/baluchon/federation          → the federation id (peer id bytes)
//	/baluchon/member/<peer id>    → that member's certificate
//	/baluchon/removal/<peer id>   → the removal of that former member
//	/baluchon/invite/<sha256 hex> → expiry (unix seconds) of a pending invitation

// InviteTTL is how long an invitation stays valid.
const InviteTTL = 7 * 24 * time.Hour

// ErrNotMember says that a request came from a node outside the federation.
var ErrNotMember = errors.New("not a member of this node's federation")

// ErrInvitation says that an invitation is unknown, used or expired.
var ErrInvitation = errors.New("this invitation is unknown, already used or expired: ask for a new one")

// loadFederation reads the federation state into memory.
func (n *Node) loadFederation(ctx context.Context) error {
	b, ok, err := n.store.get(ctx, federationKey)
	if err != nil || !ok {
		return err
	}
	fed, err := peer.IDFromBytes(b)
	if err != nil {
		return fmt.Errorf("stored federation id: %w", err)
	}
	res, err := n.store.ldb.Query(ctx, prefixQuery(memberPrefix))
	if err != nil {
		return err
	}
	entries, err := res.Rest()
	if err != nil {
		return err
	}
	var certs []*proto.MemberCert
	for _, e := range entries {
		c, err := proto.ParseMemberCert(e.Value)
		if err != nil {
			return fmt.Errorf("stored member certificate: %w", err)
		}
		certs = append(certs, c)
	}
	removals, err := n.loadRemovals(ctx)
	if err != nil {
		return err
	}
	n.fedMu.Lock()
	n.federation = fed
	n.members, n.removed, n.proofs = proto.Membership(fed, certs, removals)
	n.fedMu.Unlock()
	if done, err := n.store.ldb.Has(ctx, vouchedKey); err == nil && !done {
		n.vouchHeld(ctx) // once, on the upgrade to head attestations
	}
	return nil
}

// Federation returns the node's federation id and its members ("" and
// none outside any federation).
func (n *Node) Federation() (peer.ID, []peer.ID) {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	var out []peer.ID
	for p := range n.members {
		out = append(out, p)
	}
	slices.Sort(out)
	return n.federation, out
}

// IsMember reports whether p is a member of this node's federation.
func (n *Node) IsMember(p peer.ID) bool {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	return n.members[p] != nil
}

// memberCerts returns the certificates of the current members only.
func (n *Node) memberCerts() []*proto.MemberCert {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	out := make([]*proto.MemberCert, 0, len(n.members))
	for _, c := range n.members {
		out = append(out, c)
	}
	return out
}

// certs returns the members' certificates and the proofs of the removals.
func (n *Node) certs() []*proto.MemberCert {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	out := make([]*proto.MemberCert, 0, len(n.members)+len(n.proofs))
	for _, c := range n.members {
		out = append(out, c)
	}
	for _, c := range n.proofs { // they travel with the removals
		out = append(out, c)
	}
	return out
}

// addCerts merges certificates of the node's federation and stores the
// new valid ones. It reports the members that are new.
func (n *Node) addCerts(ctx context.Context, fed peer.ID, certs []*proto.MemberCert) ([]peer.ID, error) {
	return n.addMembership(ctx, fed, certs, nil)
}

// Invite makes a one-time invitation into this node's federation,
// founding the federation if the node has none yet.
func (n *Node) Invite(ctx context.Context) (*proto.Code, error) {
	fed, _ := n.Federation()
	if fed == "" {
		self, err := proto.SignMember(n.key, n.ID(), n.ID(), time.Now())
		if err != nil {
			return nil, err
		}
		if _, err := n.addCerts(ctx, n.ID(), []*proto.MemberCert{self}); err != nil {
			return nil, err
		}
		n.log.Info("federation founded", "federation", n.ID())
		n.vouchHeld(ctx)
		if _, err := n.gossipTopic(); err != nil {
			return nil, fmt.Errorf("join the federation's gossip: %w", err)
		}
	}
	code := &proto.Code{Kind: proto.KindInvitation, Peer: n.ID(), Addrs: n.shareableAddrs()}
	if _, err := rand.Read(code.Secret[:]); err != nil {
		return nil, err
	}
	exp := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(InviteTTL).Unix()))
	if err := n.store.ldb.Put(ctx, inviteKey(code.Secret), exp); err != nil {
		return nil, err
	}
	return code, nil
}

// JoinFederation joins the federation of the node that made the
// invitation code.
func (n *Node) JoinFederation(ctx context.Context, code *proto.Code) (peer.ID, error) {
	if code.Kind != proto.KindInvitation {
		return "", errors.New("this is a pairing code, not an invitation: use it with 'baluchon pair CODE'")
	}
	if fed, _ := n.Federation(); fed != "" {
		return "", fmt.Errorf("this node is already a member of federation %s", fed)
	}
	if err := n.pair(ctx, code); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	certs, err := proto.Join(ctx, n.host, code.Peer, code.Secret)
	if err != nil {
		var re *proto.RemoteError
		if errors.As(err, &re) && re.Status == proto.StatusRefused {
			return "", ErrInvitation
		}
		return "", &UnreachableError{Peer: code.Peer, Err: err}
	}
	var fed peer.ID
	for _, c := range certs {
		if c.Member == c.Admitter && c.Member == c.Federation {
			fed = c.Federation
		}
	}
	if valid, _, _ := proto.Membership(fed, certs, nil); fed == "" || valid[n.ID()] == nil {
		return "", errors.New("the inviting node answered without admitting this node")
	}
	if _, err := n.addCerts(ctx, fed, certs); err != nil {
		return "", err
	}
	n.vouchHeld(ctx)
	n.log.Info("joined federation", "federation", fed, "inviter", code.Peer)
	n.goBackground(func(ctx context.Context) {
		// The inviter's answer holds the certificates; the structure
		// records come from the connected members (only the inviter in
		// a large federation, where gossip spreads the rest).
		if len(certs) <= smallFederation {
			n.pushMembers(ctx)
		} else {
			n.exchangeMembers(ctx, code.Peer)
		}
		n.publishHello(ctx) // node/gossip.go
	})
	return fed, nil
}

// answerJoin answers a node presenting an invitation (proto.FederationHandler).
func (n *Node) answerJoin(ctx context.Context, from peer.ID, secret [proto.InviteSecretSize]byte) ([]*proto.MemberCert, error) {
	fed, _ := n.Federation()
	if fed == "" {
		return nil, fmt.Errorf("%w: no federation here", proto.ErrRefused)
	}
	if n.wasRemoved(from) {
		return nil, fmt.Errorf("%w: this node was removed from the federation", proto.ErrRefused)
	}
	key := inviteKey(secret)
	n.inviteMu.Lock()
	exp, ok, err := n.store.get(ctx, key)
	if err == nil && ok {
		err = n.store.ldb.Delete(ctx, key) // one use only
	}
	n.inviteMu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok || len(exp) != 8 || time.Now().Unix() > int64(binary.BigEndian.Uint64(exp)) {
		return nil, fmt.Errorf("%w: unknown or expired invitation", proto.ErrRefused)
	}
	cert, err := proto.SignMember(n.key, fed, from, time.Now())
	if err != nil {
		return nil, err
	}
	if _, err := n.addCerts(ctx, fed, []*proto.MemberCert{cert}); err != nil {
		return nil, err
	}
	n.log.Info("member admitted", "member", from)
	// The members learn the new one by gossip (node/gossip.go); the
	// connected ones at once.
	n.goBackground(func(ctx context.Context) {
		n.publishMembers(ctx, []*proto.MemberCert{cert})
		if _, ms := n.Federation(); len(ms) <= smallFederation {
			n.pushMembers(ctx)
		}
	})
	return n.memberCerts(), nil
}

// answerMembers takes a member's certificates and structure records
// (proto.FederationHandler).
func (n *Node) answerMembers(ctx context.Context, from peer.ID, ms *proto.MemberSet) (*proto.MemberSet, error) {
	certs := ms.Certs
	fed, _ := n.Federation()
	if fed == "" {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	// Certificates prove themselves: a member this node has not heard of
	// yet shows the chain that admits it.
	added, err := n.addMembership(ctx, fed, certs, ms.Removals)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, err)
	}
	if !n.IsMember(from) {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	if len(added) > 0 {
		n.log.Info("members learned", "from", from, "new", len(added))
	}
	if err := n.addStructures(ctx, ms.Structures); err != nil {
		return nil, err
	}
	n.takeRecordings(ctx, from, ms.Recordings)
	return n.memberSet(), nil
}

// pushMembers exchanges certificates with every connected member.
func (n *Node) pushMembers(ctx context.Context) {
	fed, _ := n.Federation()
	if fed == "" {
		return
	}
	for _, p := range n.host.Network().Peers() {
		if n.IsMember(p) {
			n.exchangeMembers(ctx, p)
		}
	}
}

// exchangeMembers exchanges certificates, structure records and removals
// with member p.
func (n *Node) exchangeMembers(ctx context.Context, p peer.ID) {
	fed, _ := n.Federation()
	if fed == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, announceTimeout)
	ms, err := proto.ExchangeMembers(cctx, n.host, p, n.memberSet())
	cancel()
	if err != nil {
		n.log.Debug("exchange members", "peer", p, "err", err)
		return
	}
	if _, err := n.addMembership(ctx, fed, ms.Certs, ms.Removals); err != nil {
		n.log.Debug("members from peer", "peer", p, "err", err)
	}
	if err := n.addStructures(ctx, ms.Structures); err != nil {
		n.log.Debug("structures from peer", "peer", p, "err", err)
	}
	n.takeRecordings(ctx, p, ms.Recordings)
}
