package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// A member can be taken out of the federation (proto.Removal): the founder
// removes any member, any other member the members it admitted. The
// removal spreads with the certificates; wherever it has arrived, the
// removed node is no member any more (IsMember), so its later writes —
// heads, records, announcements, deposits — are refused, it leaves the
// member lists and the guardians chosen for new vaults, and no certificate
// admits it again.

// loadRemovals reads the stored removals.
func (n *Node) loadRemovals(ctx context.Context) ([]*proto.Removal, error) {
	res, err := n.store.ldb.Query(ctx, prefixQuery(removalPrefix))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	var out []*proto.Removal
	for _, e := range entries {
		r, err := proto.ParseRemoval(e.Value)
		if err != nil {
			return nil, fmt.Errorf("stored removal: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// removals returns the removals that count here.
func (n *Node) removals() []*proto.Removal {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	out := make([]*proto.Removal, 0, len(n.removed))
	for _, r := range n.removed {
		out = append(out, r)
	}
	proto.SortRemovals(out)
	return out
}

// wasRemoved reports whether p was removed from this node's federation.
func (n *Node) wasRemoved(p peer.ID) bool {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	return n.removed[p] != nil
}

// Removed returns the former members of this node's federation.
func (n *Node) Removed() []peer.ID {
	var out []peer.ID
	for _, r := range n.removals() {
		out = append(out, r.Member)
	}
	return out
}

// addMembership merges certificates and removals of the node's federation
// and stores what changed. It reports the members that are new.
func (n *Node) addMembership(ctx context.Context, fed peer.ID, certs []*proto.MemberCert, removals []*proto.Removal) ([]peer.ID, error) {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	if n.federation == "" {
		n.federation = fed
		if err := n.store.ldb.Put(ctx, federationKey, []byte(fed)); err != nil {
			return nil, err
		}
	}
	if fed != n.federation {
		return nil, fmt.Errorf("%w: certificates of another federation", ErrNotMember)
	}
	all := slices.Clone(certs)
	for _, c := range n.members {
		all = append(all, c)
	}
	for _, c := range n.proofs {
		all = append(all, c)
	}
	rs := slices.Clone(removals)
	for _, r := range n.removed {
		rs = append(rs, r)
	}
	valid, removed, proofs := proto.Membership(fed, all, rs)
	var added []peer.ID
	b, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return nil, err
	}
	// One certificate per peer: a member's, or the proof that a removed
	// one could be removed.
	keep := maps.Clone(valid)
	maps.Copy(keep, proofs)
	for p, c := range keep {
		if old := n.members[p]; old == c {
			continue
		}
		if old := n.proofs[p]; old == c {
			continue
		}
		if err := b.Put(ctx, memberKey(p), c.Marshal()); err != nil {
			return nil, err
		}
		if valid[p] != nil && n.members[p] == nil {
			added = append(added, p)
		}
	}
	for p, r := range removed {
		if n.removed[p] != nil {
			continue
		}
		if err := b.Put(ctx, removalKey(p), r.Marshal()); err != nil {
			return nil, err
		}
	}
	// A member whose only chain went through a removed one is no member
	// any more; its certificate is no longer kept.
	for p := range n.members {
		if keep[p] == nil {
			if err := b.Delete(ctx, memberKey(p)); err != nil {
				return nil, err
			}
		}
	}
	if err := b.Commit(ctx); err != nil {
		return nil, err
	}
	for p, r := range removed {
		if n.removed[p] == nil {
			n.log.Info("member removed from the federation", "member", p, "by", r.Remover)
			go n.host.Network().ClosePeer(p)
		}
	}
	n.members, n.removed, n.proofs = valid, removed, proofs
	return added, nil
}

// ErrCannotRemove says that this node may not remove that member.
var ErrCannotRemove = errors.New("only the founder, or the member that admitted it, may remove a member")

// RemoveMember takes member p out of this node's federation, for good: the
// removal is signed by this node and spread to the members. The members p
// had admitted stay, re-admitted by this node.
func (n *Node) RemoveMember(ctx context.Context, p peer.ID) error {
	fed, _ := n.Federation()
	if fed == "" {
		return errors.New("this node is in no federation")
	}
	if p == n.ID() {
		return errors.New("a node cannot remove itself: ask another member")
	}
	if p == fed {
		return errors.New("the founder of the federation cannot be removed: to leave it out, found a new federation")
	}
	if n.wasRemoved(p) {
		return nil
	}
	n.fedMu.Lock()
	c := n.members[p]
	var children []peer.ID
	for m, mc := range n.members {
		if mc.Admitter == p && m != p {
			children = append(children, m)
		}
	}
	n.fedMu.Unlock()
	if c == nil {
		return fmt.Errorf("%s is not a member of this federation (see 'baluchon federation members')", p)
	}
	if n.ID() != fed && c.Admitter != n.ID() {
		return ErrCannotRemove
	}
	now := time.Now()
	r, err := proto.SignRemoval(n.key, fed, p, now)
	if err != nil {
		return err
	}
	var certs []*proto.MemberCert
	for _, m := range children {
		mc, err := proto.SignMember(n.key, fed, m, now)
		if err != nil {
			return err
		}
		certs = append(certs, mc)
	}
	if _, err := n.addMembership(ctx, fed, certs, []*proto.Removal{r}); err != nil {
		return err
	}
	if !n.wasRemoved(p) {
		return ErrCannotRemove
	}
	n.goBackground(func(ctx context.Context) {
		n.publish(ctx, &proto.Gossip{Members: n.memberSet()}) // node/gossip.go
		n.pushMembers(ctx)
	})
	return nil
}
