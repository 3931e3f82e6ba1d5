package node

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mh "github.com/multiformats/go-multihash"

	"baluchon/proto"
	"baluchon/vault"
)

// Finding a vault in a large federation: a federation-private Kademlia DHT
// (go-libp2p-kad-dht, protocol /baluchon/kad/1.0.0, server mode, provider
// records only). Only members enter the routing table and are asked; a
// non-member's DHT stream is reset before a byte is read (memberHost).
//
// A node provides, for every vault it keeps, the vault's key and the key of
// each card record it keeps for it (dhtKey): a node shown a card that no
// connected member knows finds its holders in O(log n) steps, connects to
// them and resolves the card there (findCardInDHT). The keys are hashes
// of the ids, so a provider record names neither; a member could still
// test a card it holds, as it can by asking /baluchon/resolve.
//
// Keeping members connected: a node keeps up to keptMembers members
// connected on its own (peering, reconnection at each sync round); the
// DHT's routing table adds its own connections, bounded by the connection
// manager (20–40).

// dhtPrefix is the DHT's protocol prefix: /baluchon/kad/1.0.0.
const dhtPrefix protocol.ID = "/baluchon"

// dhtProtocol is the DHT's protocol.
const dhtProtocol = dhtPrefix + "/kad/1.0.0"

// keptMembers is how many members a node keeps connected on its own.
const keptMembers = 8

// reprovideInterval is how often a node provides again what it keeps
// (provider records live 48 hours).
const reprovideInterval = 12 * time.Hour

// dhtState is the DHT and what the node provided.
type dhtState struct {
	mu       sync.Mutex
	d        *dht.IpfsDHT
	provided map[cid.Cid]time.Time
}

// dhtKey is the DHT key of a card lookup id or a vault id.
func dhtKey(kind string, id []byte) cid.Cid {
	sum := sha256.Sum256(append([]byte("baluchon dht "+kind+" "), id...))
	m, _ := mh.Encode(sum[:], mh.SHA2_256)
	return cid.NewCidV1(cid.Raw, m)
}

func cardDHTKey(l vault.LookupID) cid.Cid { return dhtKey("card", l[:]) }
func vaultDHTKey(v vault.VaultID) cid.Cid { return dhtKey("vault", v[:]) }

// memberHost is the host as the DHT sees it: the streams of its protocol
// are served to members only.
type memberHost struct {
	host.Host
	n *Node
}

func (h memberHost) gate(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !h.n.IsMember(s.Conn().RemotePeer()) {
			s.Reset()
			return
		}
		handler(s)
	}
}

func (h memberHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.gate(handler))
}

func (h memberHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, h.gate(handler))
}

// startDHT starts the federation's DHT and the loop that provides what the
// node keeps.
func (n *Node) startDHT() error {
	isMember := func(_ any, p peer.ID) bool { return n.IsMember(p) }
	d, err := dht.New(memberHost{n.host, n},
		dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(dhtPrefix),
		dht.DisableValues(),
		// Kademlia's own α = 3 and a k of 10: a federation is hundreds
		// of members, not the public network's thousands, and a small
		// machine does not dial 10 peers at once per query step.
		dht.Concurrency(3),
		dht.BucketSize(10),
		dht.RoutingTableFilter(isMember),
		dht.QueryFilter(func(_ any, ai peer.AddrInfo) bool { return n.IsMember(ai.ID) }),
		dht.BootstrapPeersFunc(n.knownMembers),
	)
	if err != nil {
		return err
	}
	n.dht.d = d
	n.dht.provided = map[cid.Cid]time.Time{}
	n.goLoop(n.provideLoop)
	return nil
}

// knownMembers returns the members whose addresses this node knows.
func (n *Node) knownMembers() []peer.AddrInfo {
	_, members := n.Federation()
	var out []peer.AddrInfo
	for _, m := range members {
		if m == n.ID() {
			continue
		}
		if addrs := n.host.Peerstore().Addrs(m); len(addrs) > 0 {
			out = append(out, peer.AddrInfo{ID: m, Addrs: addrs})
		}
	}
	return out
}

// provideLoop provides, every sync interval, the keys of the vaults and
// cards this node keeps that it has not provided in reprovideInterval.
func (n *Node) provideLoop(ctx context.Context) {
	t := time.NewTicker(max(time.Second, time.Duration(n.cfg.SyncInterval)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.fillRoutingTable()
			if fed, _ := n.Federation(); fed != "" && n.dht.d.RoutingTable().Size() > 0 {
				n.provideHeld(ctx)
			}
		}
	}
}

// fillRoutingTable adds the connected members to the DHT's routing table.
// The DHT weighs a peer when it connects; a peer that connected before this
// node knew it as a member (a node joining, members learned by gossip
// later) was left out by the membership filter.
func (n *Node) fillRoutingTable() {
	rt := n.dht.d.RoutingTable()
	for _, p := range n.host.Network().Peers() {
		if rt.Find(p) == "" && n.IsMember(p) {
			if ok, _ := n.host.Peerstore().SupportsProtocols(p, dhtProtocol); len(ok) == 0 {
				continue
			}
			_, _ = rt.TryAddPeer(p, true, true)
		}
	}
}

// provideHeld provides what is due.
func (n *Node) provideHeld(ctx context.Context) {
	vs, err := n.Vaults(ctx)
	if err != nil {
		return
	}
	var due []cid.Cid
	now := time.Now()
	check := func(k cid.Cid) {
		n.dht.mu.Lock()
		defer n.dht.mu.Unlock()
		if t, ok := n.dht.provided[k]; !ok || now.Sub(t) > reprovideInterval {
			due = append(due, k)
		}
	}
	for _, v := range vs {
		check(vaultDHTKey(v))
		entries, err := n.cardEntries(ctx, v)
		if err != nil {
			continue
		}
		for _, e := range entries {
			l, err := vault.ParseLookupID(e.lookup)
			if err != nil {
				continue
			}
			check(cardDHTKey(l))
		}
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, k := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := n.dht.d.Provide(pctx, k, true); err != nil {
				n.log.Debug("provide", "err", err)
				return
			}
			n.dht.mu.Lock()
			n.dht.provided[k] = time.Now()
			n.dht.mu.Unlock()
		}()
	}
	wg.Wait()
}

// connectProviders finds members that provide key and connects to up to
// want of them; it returns those connected.
func (n *Node) connectProviders(ctx context.Context, key cid.Cid, want int) []peer.ID {
	if n.dht.d == nil {
		return nil
	}
	if fed, _ := n.Federation(); fed == "" {
		return nil
	}
	var out []peer.ID
	for ai := range n.dht.d.FindProvidersAsync(ctx, key, want) {
		if ai.ID == n.ID() || !n.IsMember(ai.ID) {
			continue
		}
		if n.host.Network().Connectedness(ai.ID) != network.Connected {
			cctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
			err := n.host.Connect(cctx, ai)
			cancel()
			if err != nil {
				n.log.Debug("connect to provider", "peer", ai.ID, "err", err)
				continue
			}
		}
		out = append(out, ai.ID)
	}
	return out
}

// findCardInDHT looks for the holders of a card no connected member knows,
// connects to them as the DHT names them, and resolves the card at the
// first that answers.
func (n *Node) findCardInDHT(ctx context.Context, lookup vault.LookupID) (*proto.CardRecord, error) {
	if n.dht.d == nil {
		return nil, ErrUnknownCard
	}
	if fed, _ := n.Federation(); fed == "" {
		return nil, ErrUnknownCard
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	n.fillRoutingTable()
	n.log.Debug("looking for a card's holders in the DHT", "routing table", n.dht.d.RoutingTable().Size())
	for ai := range n.dht.d.FindProvidersAsync(ctx, cardDHTKey(lookup), 3) {
		n.log.Debug("card holder found in the DHT", "peer", ai.ID, "addrs", len(ai.Addrs))
		if ai.ID == n.ID() || !n.IsMember(ai.ID) {
			continue
		}
		if n.host.Network().Connectedness(ai.ID) != network.Connected {
			if err := n.host.Connect(ctx, ai); err != nil {
				n.log.Debug("connect to provider", "peer", ai.ID, "err", err)
				continue
			}
		}
		rec, err := proto.Resolve(ctx, n.host, ai.ID, lookup)
		if err != nil {
			n.log.Debug("resolve card at provider", "peer", ai.ID, "err", err)
			continue
		}
		return rec, nil
	}
	return nil, ErrUnknownCard
}

// Provided reports whether this node has provided the card in the DHT
// (for the simulation in testnet).
func (n *Node) Provided(l vault.LookupID) bool {
	n.dht.mu.Lock()
	defer n.dht.mu.Unlock()
	_, ok := n.dht.provided[cardDHTKey(l)]
	return ok
}
