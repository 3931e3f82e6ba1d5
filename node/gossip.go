package node

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"

	"baluchon/proto"
)

// Gossip inside a federation (go-libp2p-pubsub's gossipsub, one topic per
// federation, proto.GossipTopic). Two kinds of message travel on it
// (proto.Gossip):
//
//   - announcements: a vault's new heads with their attestations, card
//     records, and signed records of every kind (access-log entries,
//     deposits, recovery requests and approvals, and any kind added
//     later): whatever announceAll sends;
//   - members: certificates, structure records and removals, with the
//     sender's signed peer record (its addresses), so that membership and
//     the members' addresses converge without every node talking to every
//     other. Each member publishes its own ("hello") when it joins, when
//     its addresses change and every helloInterval; the member that admits
//     a node publishes its certificate.
//
// Messages are signed by their author (pubsub's strict signing) and
// checked before they are relayed (validateGossip): the author must be a
// member, and every record, head and certificate in it must verify (a
// message passed on by a peer not known as a member yet makes the node
// exchange member sets with it). Only members publish; a node does not
// pass a message on, nor graft a mesh link, to a non-member (pubsub's peer
// filter). What a node keeps of a message is then its own decision, as for
// /baluchon/announce.

// helloInterval is how often a member publishes its addresses and chain of
// certificates, and exchanges member sets with one connected member.
const helloInterval = 10 * time.Minute

// catchUpAfter are the waits, after joining the topic, before each
// exchange of member sets with a connected member: what was published while
// the node's mesh formed reaches it within seconds, and a few later ones
// make up for gossip lost to a busy machine.
var catchUpAfter = []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute}

// smallFederation is the size up to which members exchange their member
// sets on every connection.
const smallFederation = 16

// helloMinGap bounds how often a member publishes its hello.
const helloMinGap = 5 * time.Second

type gossipState struct {
	mu        sync.Mutex
	ps        *pubsub.PubSub
	topic     *pubsub.Topic
	fed       peer.ID
	lastHello time.Time
	caughtUp  map[peer.ID]time.Time // see catchUp
	// published counts the messages this node published (simulation
	// figures).
	published int
}

// startGossip starts pubsub; the node joins its federation's topic now or
// when it founds or joins one (gossipTopic).
func (n *Node) startGossip(ctx context.Context) error {
	params := pubsub.DefaultGossipSubParams()
	ps, err := pubsub.NewGossipSub(n.ctx, n.host,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(proto.MaxGossip+1024),
		pubsub.WithPeerFilter(func(p peer.ID, _ string) bool { return n.IsMember(p) }),
		pubsub.WithGossipSubParams(params),
		pubsub.WithFloodPublish(true),
	)
	if err != nil {
		return err
	}
	n.gossip.ps = ps
	if fed, _ := n.Federation(); fed != "" {
		if _, err := n.gossipTopic(); err != nil {
			return err
		}
	}
	sub, err := n.host.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return err
	}
	n.goLoop(func(ctx context.Context) {
		defer sub.Close()
		t := time.NewTicker(helloInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-sub.Out():
				if !ok {
					return
				}
				n.publishHello(ctx)
			case <-t.C:
				n.publishHello(ctx)
				n.exchangeWithOne(ctx)
			}
		}
	})
	return nil
}

// gossipTopic returns the federation's topic, joining it (and reading it)
// the first time. It is nil outside a federation.
func (n *Node) gossipTopic() (*pubsub.Topic, error) {
	fed, _ := n.Federation()
	g := &n.gossip
	g.mu.Lock()
	defer g.mu.Unlock()
	if fed == "" || g.ps == nil {
		return nil, nil
	}
	if g.topic != nil && g.fed == fed {
		return g.topic, nil
	}
	name := proto.GossipTopic(fed)
	if err := g.ps.RegisterTopicValidator(name, n.validateGossip); err != nil {
		return nil, err
	}
	t, err := g.ps.Join(name)
	if err != nil {
		return nil, err
	}
	s, err := t.Subscribe()
	if err != nil {
		return nil, err
	}
	g.topic, g.fed = t, fed
	n.goLoop(func(ctx context.Context) { n.readGossip(ctx, s) })
	// What was published while this node's subscription spread and its
	// mesh formed is missed: catch up with a member shortly after.
	n.goLoop(func(ctx context.Context) {
		for _, d := range catchUpAfter {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
				n.exchangeWithOne(ctx)
			}
		}
	})
	return t, nil
}

// validateGossip decides whether a gossip message is taken and passed on:
// its author and the peer it came from are members, and it verifies. The
// certificates of a members message prove themselves: they are merged
// first, so that the certificate of a new member, published by its
// admitter, lets its own messages through.
func (n *Node) validateGossip(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	author := m.GetFrom()
	g, err := proto.DecodeGossip(m.Data)
	if err != nil {
		n.log.Debug("gossip refused", "author", author, "from", from, "err", err)
		return pubsub.ValidationReject
	}
	if g.Members != nil && !n.knowsAll(g.Members) {
		fed, _ := n.Federation()
		if fed == "" {
			return pubsub.ValidationIgnore
		}
		if _, err := n.addMembership(ctx, fed, g.Members.Certs, g.Members.Removals); err != nil {
			n.log.Debug("gossip members", "author", author, "err", err)
			return pubsub.ValidationReject
		}
	}
	if !n.IsMember(author) {
		// Gossip missed (the author's admission arrived nowhere here):
		// ask the member it came through for its member set, once a
		// minute at most.
		n.catchUp(from)
		return pubsub.ValidationIgnore
	}
	if from != n.ID() && !n.IsMember(from) {
		// The author is a member and signed it; the member that passed
		// it on joined after the last news this node had: learn of it.
		n.catchUp(from)
	}
	if g.PeerRecord != nil {
		_, rec, err := record.ConsumeEnvelope(g.PeerRecord, peer.PeerRecordEnvelopeDomain)
		if err != nil {
			return pubsub.ValidationReject
		}
		if pr, ok := rec.(*peer.PeerRecord); !ok || pr.PeerID != author {
			return pubsub.ValidationReject
		}
	}
	m.ValidatorData = g
	n.log.Debug("gossip taken", "author", author, "from", from, "members", g.Members != nil)
	return pubsub.ValidationAccept
}

// catchUp exchanges member sets with p (a member not known here yet, or
// the member a message came through), at most once a minute.
func (n *Node) catchUp(p peer.ID) {
	if p == n.ID() {
		return
	}
	n.gossip.mu.Lock()
	if time.Since(n.gossip.caughtUp[p]) < time.Minute {
		n.gossip.mu.Unlock()
		return
	}
	if n.gossip.caughtUp == nil {
		n.gossip.caughtUp = map[peer.ID]time.Time{}
	}
	n.gossip.caughtUp[p] = time.Now()
	n.gossip.mu.Unlock()
	n.goBackground(func(ctx context.Context) { n.exchangeMembers(ctx, p) })
}

// knowsAll reports whether every certificate and removal of ms is already
// kept: most hellos change nothing, and cost no membership computation.
func (n *Node) knowsAll(ms *proto.MemberSet) bool {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	for _, c := range ms.Certs {
		old := n.members[c.Member]
		if old == nil {
			old = n.proofs[c.Member]
		}
		if old == nil || !bytes.Equal(old.Marshal(), c.Marshal()) {
			return false
		}
	}
	for _, r := range ms.Removals {
		if n.removed[r.Member] == nil {
			return false
		}
	}
	return true
}

// readGossip takes the messages of the topic until the node closes.
func (n *Node) readGossip(ctx context.Context, s *pubsub.Subscription) {
	defer s.Cancel()
	for {
		m, err := s.Next(ctx)
		if err != nil {
			return
		}
		author := m.GetFrom()
		if author == n.ID() {
			continue
		}
		g, ok := m.ValidatorData.(*proto.Gossip)
		if !ok {
			continue
		}
		switch {
		case g.Announcement != nil:
			if err := n.answerAnnounce(ctx, author, g.Announcement); err != nil {
				n.log.Debug("gossip announcement not taken", "author", author, "vault", g.Announcement.Vault, "err", err)
			}
		case g.Members != nil:
			if err := n.addStructures(ctx, g.Members.Structures); err != nil {
				n.log.Debug("gossip structures", "author", author, "err", err)
			}
			if g.PeerRecord != nil {
				n.takePeerRecord(g.PeerRecord)
			}
			// Recordings are kept only from current members (keepRecording).
			n.takeRecordings(ctx, author, g.Members.Recordings)
		}
	}
}

// takePeerRecord keeps a member's signed addresses in the peer store.
func (n *Node) takePeerRecord(b []byte) {
	env, _, err := record.ConsumeEnvelope(b, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		return
	}
	if cab, ok := peerstore.GetCertifiedAddrBook(n.host.Peerstore()); ok {
		if _, err := cab.ConsumePeerRecord(env, peerstore.RecentlyConnectedAddrTTL); err != nil {
			n.log.Debug("peer record", "err", err)
		}
	}
}

// gossiping reports whether this node spreads announcements by gossip
// (it is in a federation).
func (n *Node) gossiping() bool {
	t, err := n.gossipTopic()
	return err == nil && t != nil
}

// publish sends g on the federation's topic. It reports false when the
// node is in no federation.
func (n *Node) publish(ctx context.Context, g *proto.Gossip) bool {
	t, err := n.gossipTopic()
	if err != nil || t == nil {
		return false
	}
	b, err := proto.EncodeGossip(g)
	if err != nil {
		n.log.Warn("gossip message not sent", "err", err)
		return true
	}
	if err := t.Publish(ctx, b); err != nil {
		n.log.Debug("publish", "err", err)
	}
	n.log.Debug("gossip published", "bytes", len(b), "topic peers", len(t.ListPeers()))
	n.gossip.mu.Lock()
	n.gossip.published++
	n.gossip.mu.Unlock()
	return true
}

// topicPeers returns the peers known to read the federation's topic.
func (n *Node) topicPeers() map[peer.ID]bool {
	out := map[peer.ID]bool{}
	if t, _ := n.gossipTopic(); t != nil {
		for _, p := range t.ListPeers() {
			out[p] = true
		}
	}
	return out
}

// chain returns the certificates from this node up to the founder.
func (n *Node) chain() []*proto.MemberCert {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	var out []*proto.MemberCert
	p := n.ID()
	for range proto.MaxMembers {
		c := n.members[p]
		if c == nil {
			break
		}
		out = append(out, c)
		if c.Admitter == p {
			break
		}
		p = c.Admitter
	}
	return out
}

// publishHello publishes this member's chain of certificates, structure
// record and signed addresses, at most once per helloMinGap.
func (n *Node) publishHello(ctx context.Context) {
	if fed, _ := n.Federation(); fed == "" {
		return
	}
	n.gossip.mu.Lock()
	if time.Since(n.gossip.lastHello) < helloMinGap {
		n.gossip.mu.Unlock()
		return
	}
	n.gossip.lastHello = time.Now()
	n.gossip.mu.Unlock()
	n.publishMembers(ctx, n.chain())
}

// publishMembers publishes certs with this node's structure record and
// signed addresses.
func (n *Node) publishMembers(ctx context.Context, certs []*proto.MemberCert) {
	ms := &proto.MemberSet{Certs: certs}
	if s := n.structure(n.ID()); s != nil {
		ms.Structures = append(ms.Structures, s)
	}
	g := &proto.Gossip{Members: ms}
	rec := peer.PeerRecordFromAddrInfo(peer.AddrInfo{ID: n.ID(), Addrs: n.host.Addrs()})
	if env, err := record.Seal(rec, n.key); err == nil {
		if b, err := env.Marshal(); err == nil && len(b) <= proto.MaxPeerRecord {
			g.PeerRecord = b
		}
	}
	n.publish(ctx, g)
}

// publishRecording publishes one recording made here, with this node's
// chain of certificates, so that every member of a large federation
// takes it without waiting for member exchanges.
func (n *Node) publishRecording(ctx context.Context, r *proto.Record) {
	if fed, _ := n.Federation(); fed == "" {
		return
	}
	n.publish(ctx, &proto.Gossip{Members: &proto.MemberSet{Certs: n.chain(), Recordings: []*proto.Record{r}}})
}

// exchangeWithOne exchanges member sets with one connected member picked
// at random: a member that missed some gossip catches up within a few
// hello intervals.
func (n *Node) exchangeWithOne(ctx context.Context) {
	var ms []peer.ID
	for _, p := range n.host.Network().Peers() {
		if n.IsMember(p) {
			ms = append(ms, p)
		}
	}
	if len(ms) > 0 {
		n.exchangeMembers(ctx, ms[rand.IntN(len(ms))])
	}
}

// GossipPublished returns how many gossip messages this node published.
func (n *Node) GossipPublished() int {
	n.gossip.mu.Lock()
	defer n.gossip.mu.Unlock()
	return n.gossip.published
}
