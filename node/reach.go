package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	relay "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// Crossing NATs. Structures sit behind internet boxes (NAT, sometimes
// carrier-grade NAT); go-libp2p does the work:
//
//   - port mapping (UPnP, NAT-PMP) asks the box to forward the listen port
//     (only when the node listens beyond loopback);
//   - AutoNAT (v1 service and client, v2 client and server) asks other
//     peers to dial back, so that a node learns whether it is reachable;
//   - a member that AutoNAT finds publicly reachable serves as a circuit
//     relay v2, for members only (memberACL), with no limit on a relayed
//     connection's time or data: a limited relayed connection blocks
//     bitswap, so a default relay would only help hole punching;
//   - a member behind a NAT takes reservations at such members
//     (AutoRelay, with the connected members as candidates) and announces
//     the relayed addresses;
//   - hole punching (DCUtR) turns a relayed connection into a direct one
//     where the NAT types allow it.
//
// Config.Reachability forces what AutoNAT would find ("public" for a
// structure with a public address and an open port, "private" to always
// take relays).

// Reach says how a node can be reached, in Status.Reach.
const (
	ReachDirect  = "direct"          // reachable at a public address
	ReachRelayed = "through a relay" // behind a NAT, reachable through a member's relay
	ReachLAN     = "LAN only"        // neither: only on its local network, or by dialling out
)

// relayResources are the limits of the relay a public member runs for the
// others: unlimited relayed connections (Limit nil), so that bitswap runs
// over them when hole punching fails; enough reservations for a large
// federation, several structures behind one carrier-grade NAT address.
func relayResources() relay.Resources {
	rc := relay.DefaultResources()
	rc.Limit = nil
	rc.MaxReservations = 1024
	rc.MaxCircuits = 64
	rc.BufferSize = 64 << 10
	rc.MaxReservationsPerIP = 128
	rc.MaxReservationsPerASN = 1024
	return rc
}

// memberACL lets members only reserve a slot in this node's relay, and
// relays only between members.
type memberACL struct{ n *Node }

func (a memberACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool { return a.n.IsMember(p) }

func (a memberACL) AllowConnect(src peer.ID, _ ma.Multiaddr, dest peer.ID) bool {
	return a.n.IsMember(src) && a.n.IsMember(dest)
}

// reachOptions are the libp2p options that make a node reachable across
// NATs; see above.
func (n *Node) reachOptions() []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.EnableRelayService(relay.WithResources(relayResources()), relay.WithACL(memberACL{n})),
		libp2p.EnableAutoRelayWithPeerSource(n.relayCandidates,
			autorelay.WithBootDelay(10*time.Second), autorelay.WithMinInterval(10*time.Second),
			autorelay.WithNumRelays(2), autorelay.WithBackoff(time.Minute)),
		libp2p.EnableHolePunching(),
		libp2p.EnableNATService(),
		libp2p.EnableAutoNATv2(),
	}
	var listen []ma.Multiaddr
	for _, s := range n.cfg.Listen {
		if a, err := ma.NewMultiaddr(s); err == nil {
			listen = append(listen, a)
		}
	}
	// UPnP and NAT-PMP talk to the local network: not for a node that
	// listens on loopback only (tests, a node reached through a tunnel).
	if !loopbackOnly(listen) {
		opts = append(opts, libp2p.NATPortMap())
	}
	switch n.cfg.Reachability {
	case "public":
		opts = append(opts, libp2p.ForceReachabilityPublic())
	case "private":
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	return opts
}

// relayCandidates gives AutoRelay the members this node knows addresses
// of, connected ones first (autorelay.PeerSource).
func (n *Node) relayCandidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, num)
	defer close(out)
	_, members := n.Federation()
	var later []peer.AddrInfo
	for _, m := range members {
		if m == n.ID() || len(out) == num {
			continue
		}
		addrs := n.host.Peerstore().Addrs(m)
		if len(addrs) == 0 {
			continue
		}
		ai := peer.AddrInfo{ID: m, Addrs: addrs}
		if n.host.Network().Connectedness(m) == network.Connected {
			out <- ai
		} else {
			later = append(later, ai)
		}
	}
	for _, ai := range later {
		if len(out) == num {
			break
		}
		out <- ai
	}
	return out
}

// reachState follows AutoNAT's verdict on this node.
type reachState struct {
	mu sync.Mutex
	r  network.Reachability
}

// watchReach follows the host's reachability events until the node closes.
func (n *Node) watchReach() error {
	if err := n.watchHolePunch(); err != nil {
		return err
	}
	return n.onEvent(new(event.EvtLocalReachabilityChanged), func(e any) {
		r := e.(event.EvtLocalReachabilityChanged).Reachability
		n.reach.mu.Lock()
		n.reach.r = r
		n.reach.mu.Unlock()
		n.log.Info("reachability", "reachability", r.String(), "reach", n.Reach())
	})
}

// Reach says how other structures can reach this node: ReachDirect when
// AutoNAT (or the config) found it publicly reachable, ReachRelayed when it
// holds a reservation at a member's relay, ReachLAN otherwise.
func (n *Node) Reach() string {
	n.reach.mu.Lock()
	r := n.reach.r
	n.reach.mu.Unlock()
	if n.cfg.Reachability == "public" {
		r = network.ReachabilityPublic
	}
	addrs := n.host.Addrs()
	for _, a := range addrs {
		if isRelayed(a) {
			return ReachRelayed
		}
	}
	if r == network.ReachabilityPublic {
		return ReachDirect
	}
	return ReachLAN
}

// isRelayed reports whether a is an address through a relay.
func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
