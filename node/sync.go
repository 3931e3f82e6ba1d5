package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"baluchon/proto"
	"baluchon/vault"
)

// Members of a federation keep each other up to date with the sync
// protocol: when they connect, and every sync interval, each tells the
// other which vaults it keeps and their current heads. A node takes the
// new heads of the vaults it keeps (fetching their blocks), and counts, for
// every vault, which members keep it: when fewer than the replication
// target were seen within the grace period, the member chosen by
// rendezvous hashing among the others takes a copy.

// syncState is what a node knows of the other members' holdings.
type syncState struct {
	mu sync.Mutex
	// holders: vault → member → last time it said it keeps the vault,
	// for members that showed it (see holders.go).
	holders map[vault.VaultID]map[peer.ID]time.Time
	// proved: vault → member → last time it served a block of the vault.
	proved map[vault.VaultID]map[peer.ID]time.Time
	// checking: members whose holdings are being checked now.
	checking map[peer.ID]bool
	// refuted: member → vault → when it did not show it keeps the vault.
	refuted map[peer.ID]map[vault.VaultID]time.Time
	// fetching: roots of the fetches in flight (see holdFetch).
	fetching map[string]int
	// refusalGC: when a refused fetch last started a collection.
	refusalGC time.Time
	// last: vault → the last sync of its state with another member.
	last map[vault.VaultID]SyncEvent
	// quotaLogged: vault → when its refusal for quota was last logged.
	quotaLogged map[vault.VaultID]time.Time
	// replicating: vaults being copied now.
	replicating map[vault.VaultID]bool
	// adopting: vault → the fetches of its states in flight (adopting.go).
	adopting map[vault.VaultID]map[*adoption]bool
	// short: vault → since when this node has seen it short of its
	// replica target (replicas.go).
	short map[vault.VaultID]time.Time
}

// SyncEvent is one sync of a vault's state with another member.
type SyncEvent struct {
	Peer peer.ID
	Time time.Time
}

func newSyncState() *syncState {
	return &syncState{
		holders:     map[vault.VaultID]map[peer.ID]time.Time{},
		proved:      map[vault.VaultID]map[peer.ID]time.Time{},
		checking:    map[peer.ID]bool{},
		refuted:     map[peer.ID]map[vault.VaultID]time.Time{},
		fetching:    map[string]int{},
		last:        map[vault.VaultID]SyncEvent{},
		quotaLogged: map[vault.VaultID]time.Time{},
		replicating: map[vault.VaultID]bool{},
		adopting:    map[vault.VaultID]map[*adoption]bool{},
		short:       map[vault.VaultID]time.Time{},
	}
}

// holdings returns the vaults this node keeps and their current heads.
func (n *Node) holdings(ctx context.Context) (*proto.Holdings, error) {
	vs, err := n.Vaults(ctx)
	if err != nil {
		return nil, err
	}
	h := &proto.Holdings{}
	for _, v := range vs {
		front, err := n.frontier(ctx, v)
		if err != nil {
			return nil, err
		}
		vh := proto.VaultHeads{Vault: v}
		for _, f := range front {
			vh.Heads = append(vh.Heads, f.cid)
		}
		h.Vaults = append(h.Vaults, vh)
	}
	return h, nil
}

// answerSync answers a member that tells what it keeps (proto.FederationHandler).
func (n *Node) answerSync(ctx context.Context, from peer.ID, h *proto.Holdings) (*proto.Holdings, error) {
	if !n.IsMember(from) {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	mine, err := n.holdings(ctx)
	if err != nil {
		return nil, err
	}
	n.takeHoldings(from, h)
	return mine, nil
}

// answerCards answers a member asking for the card records of a vault, to keep
// a replica that the card can be found at (proto.FederationHandler).
func (n *Node) answerCards(ctx context.Context, from peer.ID, v vault.VaultID) ([]*proto.CardRecord, error) {
	if !n.IsMember(from) {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	cards, err := n.vaultCards(ctx, v)
	if err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return nil, proto.ErrNotFound
	}
	return cards, nil
}

// syncVault takes the heads a member has of a vault this node keeps.
func (n *Node) syncVault(ctx context.Context, from peer.ID, vh proto.VaultHeads) {
	front, err := n.frontier(ctx, vh.Vault)
	if err != nil || len(front) == 0 {
		return // not kept here: replication decides
	}
	var missing []cid.Cid
	for _, c := range vh.Heads {
		if !contains(front, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		n.noteSync(vh.Vault, from)
		return
	}
	select {
	case n.syncSlots <- struct{}{}:
		defer func() { <-n.syncSlots }()
	default:
		// Every slot busy: the member's next holdings bring these heads
		// again, rather than a goroutine per message waiting here.
		n.log.Debug("vault state from member left for later: syncs busy", "vault", vh.Vault, "peer", from)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	var heads []*vault.Head
	for _, c := range missing {
		h, err := n.loadHead(ctx, vh.Vault, c)
		if err != nil {
			n.log.Debug("head from member not available", "vault", vh.Vault, "peer", from, "err", err)
			continue
		}
		heads = append(heads, h)
	}
	changed, err := n.adoptHeads(ctx, vh.Vault, heads)
	if err != nil {
		n.log.Warn("vault sync failed", "vault", vh.Vault, "peer", from, "err", err)
		return
	}
	n.noteSync(vh.Vault, from)
	if changed {
		n.log.Info("vault state synced", "vault", vh.Vault, "peer", from)
		if s, err := n.frontier(ctx, vh.Vault); err == nil {
			n.announce(&session{id: vh.Vault, front: s})
		}
	}
}

func (n *Node) noteSync(v vault.VaultID, p peer.ID) {
	n.sync.mu.Lock()
	defer n.sync.mu.Unlock()
	n.sync.last[v] = SyncEvent{Peer: p, Time: time.Now()}
}

// syncWith runs the sync protocol with member p.
func (n *Node) syncWith(ctx context.Context, p peer.ID) {
	mine, err := n.holdings(ctx)
	if err != nil {
		n.log.Warn("list kept vaults", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	theirs, err := proto.Sync(ctx, n.host, p, mine)
	if err != nil {
		n.log.Debug("sync", "peer", p, "err", err)
		return
	}
	n.takeHoldings(p, theirs)
}

// syncRound dials the members that are not connected, syncs with every
// connected member (a few in a large federation) and with the members
// chosen to keep the vaults it keeps that are short of their target, then
// checks replication.
func (n *Node) syncRound(ctx context.Context) {
	n.reconnectMembers(ctx)
	// A member that does not answer must not hold up the round: each sync
	// is bounded by the sync interval.
	rctx, cancel := context.WithTimeout(ctx, max(time.Second, time.Duration(n.cfg.SyncInterval)))
	defer cancel()
	var wg sync.WaitGroup
	synced := map[peer.ID]bool{}
	for _, p := range n.syncPeers() {
		synced[p] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.syncWith(rctx, p)
		}()
	}
	wg.Wait()
	n.pushReplicas(rctx, synced)
	n.checkReplication(ctx)
}

// syncPeers returns the connected members this node syncs with: all of
// them in a small federation; in a large one, where gossip carries the new
// heads and the DHT finds holders, the members it keeps connected (peering)
// and others at random, keptMembers in all, so that a round costs the same
// at any size.
func (n *Node) syncPeers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if p != n.ID() && n.IsMember(p) {
			out = append(out, p)
		}
	}
	if len(out) <= keptMembers {
		return out
	}
	if _, ms := n.Federation(); len(ms) <= smallFederation {
		return out
	}
	kept := map[peer.ID]bool{}
	for _, p := range n.peering.ListPeers() {
		kept[p.ID] = true
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	slices.SortStableFunc(out, func(a, b peer.ID) int {
		switch {
		case kept[a] && !kept[b]:
			return -1
		case kept[b] && !kept[a]:
			return 1
		}
		return 0
	})
	return out[:keptMembers]
}

// reconnectMembers dials, at the addresses the peer store still has, the
// members that are not connected: after a partition heals, members find
// each other again within a sync interval.
func (n *Node) reconnectMembers(ctx context.Context) {
	_, members := n.Federation()
	// A large federation is not a full mesh: a node keeps up to
	// keptMembers members connected (the DHT and gossip reach the others).
	connected := 0
	for _, m := range members {
		if m != n.ID() && n.host.Network().Connectedness(m) == network.Connected {
			connected++
		}
	}
	rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	var wg sync.WaitGroup
	for _, m := range members {
		if connected >= keptMembers {
			break
		}
		if m == n.ID() || n.host.Network().Connectedness(m) == network.Connected {
			continue
		}
		addrs := n.host.Peerstore().Addrs(m)
		if len(addrs) == 0 {
			continue
		}
		connected++
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, min(5*time.Second, max(time.Second, time.Duration(n.cfg.SyncInterval))))
			defer cancel()
			if err := n.host.Connect(ctx, peer.AddrInfo{ID: m, Addrs: addrs}); err == nil {
				n.log.Info("member reconnected", "peer", m)
			}
		}()
	}
	wg.Wait()
}

// gcInterval is how often a node collects the blocks nothing needs.
const gcInterval = 24 * time.Hour

// syncLoop runs sync rounds every sync interval, and a garbage collection
// every day, until the node closes.
func (n *Node) syncLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(n.cfg.SyncInterval))
	defer t.Stop()
	gc := time.NewTicker(gcInterval)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.syncRound(ctx)
			n.retireDue(ctx)
		case <-gc.C:
			if _, err := n.GC(ctx); err != nil {
				n.log.Warn("garbage collection failed", "err", err)
			}
		}
	}
}

// watchMembers syncs with a member as soon as it connects, and keeps
// members connected.
func (n *Node) watchMembers() {
	n.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			p := c.RemotePeer()
			if !n.IsMember(p) {
				return
			}
			// Kept connected: the first members met, up to keptMembers
			// (a large federation is not a full mesh, node/dht.go).
			if len(n.peering.ListPeers()) < keptMembers {
				n.peering.AddPeer(peer.AddrInfo{ID: p, Addrs: []ma.Multiaddr{c.RemoteMultiaddr()}})
			}
			n.goBackground(func(ctx context.Context) {
				// In a small federation, member sets are exchanged on
				// each connection; in a large one that made joining cost
				// O(N²) per node: gossip spreads them (node/gossip.go).
				if _, ms := n.Federation(); len(ms) <= smallFederation {
					n.exchangeMembers(ctx, p)
				}
				n.syncWith(ctx, p)
			})
		},
	})
}

// rendezvous ranks a member for keeping a vault: the lowest rank keeps it
// first. Every member computes the same ranks.
func rendezvous(v vault.VaultID, p peer.ID) [32]byte {
	return sha256.Sum256(append(v[:], []byte(p)...))
}

// checkReplication takes a copy of each vault that fewer members than the
// target keep, when this node is one the ranking chooses (replicas.go).
func (n *Node) checkReplication(ctx context.Context) {
	if fed, _ := n.Federation(); fed == "" {
		return
	}
	grace := time.Duration(n.cfg.ReplicaGrace)
	type job struct {
		v       vault.VaultID
		holders []peer.ID
	}
	var jobs []job
	now := time.Now()
	n.sync.mu.Lock()
	for v, hs := range n.sync.holders {
		var live []peer.ID
		for p, seen := range hs {
			if now.Sub(seen) <= grace && p != n.ID() {
				live = append(live, p)
			}
		}
		if len(live) == 0 || n.sync.replicating[v] {
			continue
		}
		jobs = append(jobs, job{v, live})
	}
	n.sync.mu.Unlock()
	for _, j := range jobs {
		if front, err := n.frontier(ctx, j.v); err != nil || len(front) > 0 {
			continue // kept here already
		}
		if !slices.Contains(n.chosenReplicas(j.v, j.holders), n.ID()) {
			continue
		}
		if !n.shortFor(j.v, replicaWait*time.Duration(n.cfg.SyncInterval)) {
			continue // not yet: see replicaWait
		}
		n.sync.mu.Lock()
		n.sync.replicating[j.v] = true
		n.sync.mu.Unlock()
		// Not an opHold operation as a whole: the fetch is named by
		// holdFetch (gc.go), the card records are written under opHold.
		n.goRun(func(ctx context.Context) {
			defer func() {
				n.sync.mu.Lock()
				delete(n.sync.replicating, j.v)
				n.sync.mu.Unlock()
			}()
			n.replicate(ctx, j.v, j.holders)
		})
	}
}

// replicate takes a copy of vault v from one of its holders.
func (n *Node) replicate(ctx context.Context, v vault.VaultID, holders []peer.ID) {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	for _, p := range holders {
		heads, err := proto.Heads(ctx, n.host, p, v)
		if err != nil {
			continue
		}
		if !n.quotaAllows(ctx, v, heads) {
			return
		}
		cards, err := proto.Cards(ctx, n.host, p, v)
		if err != nil {
			n.log.Debug("cards of vault to replicate", "vault", v, "peer", p, "err", err)
			continue
		}
		if _, err := n.adoptHeads(ctx, v, heads); err != nil {
			n.log.Warn("replica of vault failed", "vault", v, "peer", p, "err", err)
			continue
		}
		release := n.opHold() // card records are written, then pinned
		for _, rec := range cards {
			if err := n.takeCard(ctx, v, rec); err != nil {
				n.log.Warn("store card of replica", "vault", v, "err", err)
			}
		}
		release()
		n.noteSync(v, p)
		n.log.Info("replica taken: this node now also keeps the vault", "vault", v, "from", p)
		n.goBackground(func(ctx context.Context) { n.syncRound(ctx) })
		return
	}
}

// quotaAllows reports whether the vault fits in the storage quota, and logs
// a clear line (at most once an hour per vault) when it does not.
func (n *Node) quotaAllows(ctx context.Context, v vault.VaultID, heads []*vault.Head) bool {
	if n.cfg.MaxStorageBytes == 0 {
		return true
	}
	var need uint64
	for _, h := range heads {
		nd, err := n.dag.Get(ctx, h.Manifest)
		if err != nil {
			continue
		}
		if s, err := nd.Size(); err == nil && s > need {
			need = s
		}
	}
	free, err := n.storageFree(ctx)
	if err != nil {
		return false
	}
	if free < 0 || int64(need) <= free {
		return true
	}
	n.quotaLog(v, "storage quota reached: not taking a replica of this vault; raise max_storage_bytes in config.json or free space",
		"needs_bytes", need, "free_bytes", free, "quota_bytes", n.cfg.MaxStorageBytes)
	return false
}

// VaultStatus is what a node knows of one vault it keeps: never a name.
type VaultStatus struct {
	Vault    string    `json:"vault"`
	Replicas int       `json:"replicas"`
	Target   int       `json:"target"`
	Holders  []string  `json:"holders"`
	LastPeer string    `json:"last_sync_peer,omitempty"`
	LastTime time.Time `json:"last_sync,omitzero"`
	// LastChange is the structure that wrote the vault's latest state,
	// from its attestation (node/attest.go).
	LastChange *LastChange `json:"last_change,omitempty"`
}

// Status is what `baluchon status` shows.
type Status struct {
	Peer       string `json:"peer"`
	Federation string `json:"federation,omitempty"`
	Members    int    `json:"members"`
	Structures int    `json:"structures"` // structure keys known

	Connected int `json:"connected"`
	// Reach is how other structures reach this node: "direct", "through
	// a relay" or "LAN only" (node/reach.go).
	Reach      string        `json:"reach"`
	UsedBytes  uint64        `json:"used_bytes"`
	QuotaBytes int64         `json:"quota_bytes"`
	Vaults     []VaultStatus `json:"vaults"`

	// Holdings is how many (vault, member) holdings this node counts:
	// each shown by a block the member served (see holders.go).
	Holdings int `json:"holdings"`

	// Transfers counts the blocks received since the node started
	// (transfers.go).
	Transfers TransferStats `json:"transfers"`

	// Conns are the open connections, with their path and streams
	// (conns.go).
	Conns []PeerConn `json:"conns,omitempty"`
}

// Status reports, for each vault this node keeps, how many structures are
// known to keep it and where its last sync happened.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	fed, members := n.Federation()
	used, _ := n.storageUsed(ctx)
	n.fedMu.Lock()
	structures := len(n.structures)
	n.fedMu.Unlock()
	st := &Status{Peer: n.ID().String(), Federation: fed.String(), Members: len(members), Structures: structures, Connected: len(n.host.Network().Peers()), Reach: n.Reach(), UsedBytes: used, QuotaBytes: n.cfg.MaxStorageBytes, Vaults: []VaultStatus{}, Transfers: n.TransferStats(), Conns: n.Conns()}
	if fed == "" {
		st.Federation = ""
	}
	vs, err := n.Vaults(ctx)
	if err != nil {
		return nil, err
	}
	changes := make(map[vault.VaultID]*LastChange, len(vs))
	for _, v := range vs {
		changes[v] = n.lastChange(ctx, v)
	}
	grace := time.Duration(n.cfg.ReplicaGrace)
	n.sync.mu.Lock()
	defer n.sync.mu.Unlock()
	for _, hs := range n.sync.holders {
		for p, seen := range hs {
			if time.Since(seen) <= grace && p != n.ID() {
				st.Holdings++
			}
		}
	}
	for _, v := range vs {
		vst := VaultStatus{Vault: v.String(), Target: n.cfg.Replicas, Holders: []string{n.ID().String()}, LastChange: changes[v]}
		for p, seen := range n.sync.holders[v] {
			if time.Since(seen) <= grace && p != n.ID() {
				vst.Holders = append(vst.Holders, p.String())
			}
		}
		slices.Sort(vst.Holders[1:])
		vst.Replicas = len(vst.Holders)
		if ev, ok := n.sync.last[v]; ok {
			vst.LastPeer, vst.LastTime = ev.Peer.String(), ev.Time
		}
		st.Vaults = append(st.Vaults, vst)
	}
	return st, nil
}
