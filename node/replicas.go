package node

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// Choosing the replicas of a vault. Every member ranks the same candidates
// for a vault by rendezvous hashing of (vault id, member id): in a
// federation that is a full mesh (at most keptMembers+1 members, each
// connected to every other), the connected members, as a member that is not
// connected there is away; in a larger one, the whole member list, which
// gossip makes the same everywhere (node/gossip.go). While fewer than the
// target keep a vault, the first missing candidates that do not keep it are
// chosen (chosenReplicas): a node takes a copy only when it is one of them,
// so the number of new copies is the number missing, whatever members each
// node happens to sync with.
//
// In a large federation a chosen member may be connected to no holder and
// never hear of the vault: the holders sync with the chosen members
// themselves (pushReplicas), which then check that the holder keeps the
// vault (holders.go) and take their copy. A chosen member that never does
// (away, or its quota full) holds the vault back one candidate only for
// widenAfter grace periods: then each node that sees the vault still short
// counts one more candidate as chosen, and one more each such period after.

// replicaWait is how many sync rounds a vault must have looked short of
// its target to this node before it takes a copy because the ranking
// chooses it. In a large federation a round syncs with a few members
// only: a member that has just heard of a vault from its newest replica
// may not have heard from the others yet, count one keeper too few and
// find itself chosen (TestReachFederationSim saw 4 keepers for a target
// of 2, plus the opener, once replicas came quickly by stream). Two rounds
// let the other keepers' holdings reach it.
const replicaWait = 2

// shortFor reports whether v has looked short of its target to this node
// (chosenReplicas) for at least d.
func (n *Node) shortFor(v vault.VaultID, d time.Duration) bool {
	n.sync.mu.Lock()
	defer n.sync.mu.Unlock()
	since, ok := n.sync.short[v]
	return ok && time.Since(since) >= d
}

// widenAfter is how many replica grace periods a vault stays short of its
// target before one more candidate is chosen.
const widenAfter = 3

// pushBudget bounds the chosen members a holder syncs with per round, on
// top of the members it syncs with anyway.
const pushBudget = keptMembers

// rank orders members by their rendezvous rank for v: the first keeps v
// first.
func rank(v vault.VaultID, ms []peer.ID) {
	type ranked struct {
		p peer.ID
		r [32]byte
	}
	rs := make([]ranked, len(ms))
	for i, p := range ms {
		rs[i] = ranked{p, rendezvous(v, p)}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Compare(string(a.r[:]), string(b.r[:])) })
	for i := range rs {
		ms[i] = rs[i].p
	}
}

// replicaCandidates returns the members that may keep a vault, this node
// among them (see above).
func (n *Node) replicaCandidates() []peer.ID {
	_, members := n.Federation()
	if len(members) > keptMembers+1 {
		return members
	}
	out := []peer.ID{n.ID()}
	for _, m := range members {
		if m != n.ID() && n.host.Network().Connectedness(m) == network.Connected {
			out = append(out, m)
		}
	}
	return out
}

// chosenReplicas returns the members chosen to take a copy of v, which
// the members in keepers keep (this node among them if it keeps v): none
// when they are the target or more.
func (n *Node) chosenReplicas(v vault.VaultID, keepers []peer.ID) []peer.ID {
	missing := n.cfg.Replicas - len(keepers)
	now := time.Now()
	n.sync.mu.Lock()
	if missing <= 0 {
		delete(n.sync.short, v)
		n.sync.mu.Unlock()
		return nil
	}
	since, ok := n.sync.short[v]
	if !ok {
		since = now
		n.sync.short[v] = now
	}
	n.sync.mu.Unlock()
	if grace := time.Duration(n.cfg.ReplicaGrace); grace > 0 {
		missing += int(now.Sub(since) / (widenAfter * grace))
	}
	var cands []peer.ID
	for _, p := range n.replicaCandidates() {
		if !slices.Contains(keepers, p) {
			cands = append(cands, p)
		}
	}
	rank(v, cands)
	return cands[:min(missing, len(cands))]
}

// pushReplicas syncs with the members chosen to keep the vaults this node
// keeps that are short of their target, when it did not sync with them this
// round (synced), so that they hear of the vaults and take their copy; at
// most pushBudget of them per round.
func (n *Node) pushReplicas(ctx context.Context, synced map[peer.ID]bool) {
	if fed, _ := n.Federation(); fed == "" {
		return
	}
	vs, err := n.Vaults(ctx)
	if err != nil {
		return
	}
	grace := time.Duration(n.cfg.ReplicaGrace)
	now := time.Now()
	push := map[peer.ID]bool{}
	for _, v := range vs {
		keepers := []peer.ID{n.ID()}
		n.sync.mu.Lock()
		for p, seen := range n.sync.holders[v] {
			if now.Sub(seen) <= grace && p != n.ID() {
				keepers = append(keepers, p)
			}
		}
		n.sync.mu.Unlock()
		for _, p := range n.chosenReplicas(v, keepers) {
			if !synced[p] && len(push) < pushBudget {
				push[p] = true
			}
		}
	}
	var wg sync.WaitGroup
	for p := range push {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n.host.Network().Connectedness(p) != network.Connected {
				cctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
				err := n.host.Connect(cctx, peer.AddrInfo{ID: p, Addrs: n.host.Peerstore().Addrs(p)})
				if err != nil && n.dht.d != nil {
					var ai peer.AddrInfo
					if ai, err = n.dht.d.FindPeer(cctx, p); err == nil {
						err = n.host.Connect(cctx, ai)
					}
				}
				cancel()
				if err != nil {
					n.log.Debug("connect to a member chosen to keep a vault", "peer", p, "err", err)
					return
				}
			}
			n.syncWith(ctx, p)
		}()
	}
	wg.Wait()
}
