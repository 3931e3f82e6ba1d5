//go:build linux

package testnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baluchon/node"
)

// natDocBytes is the size of each document of TestNSNATRelayThenPunch: a
// few bitswap blocks.
const natDocBytes = 1_500_000

// natStatus is what TestNSNATRelayThenPunch reads of 'status --json'.
type natStatus struct {
	Reach string          `json:"reach"`
	Conns []node.PeerConn `json:"conns"`
}

func natStatusOf(t *testing.T, ns *NS, i int) natStatus {
	t.Helper()
	var st natStatus
	out := ns.MustRun(i, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json on host %d: %v\n%s", i, err, out)
	}
	return st
}

// connsTo are the connections in st to peer p.
func connsTo(st natStatus, p string) []node.PeerConn {
	var out []node.PeerConn
	for _, c := range st.Conns {
		if c.Peer == p {
			out = append(out, c)
		}
	}
	return out
}

// bitswapOn reports whether connection c has a bitswap stream open.
func bitswapOn(c node.PeerConn) bool {
	for _, s := range c.Streams {
		if strings.HasPrefix(s, "/ipfs/bitswap") {
			return true
		}
	}
	return false
}

// TestNSNATRelayThenPunch is the "done means" of crossing NATs: host 0 is
// a public member (a structure with a public address); hosts 1 (A) and 2
// (B) are structures each behind its own home router doing masquerade
// (nftables), with "reachability": "private". A and B take reservations at
// host 0's relay (AutoRelay, members only, unlimited).
//
//  1. The routers are symmetric NATs towards each other (a new random
//     port for each destination), so hole punching fails: a card
//     registered at A opens at B through the relay, over an unlimited
//     relayed connection, and that connection carried the blocks.
//  2. The routers keep ports towards each other too (port-preserving
//     masquerade, as most home boxes do): A and B connect again through
//     the relay, DCUtR turns it into a direct connection, and a second
//     card opens over the direct one.
func TestNSNATRelayThenPunch(t *testing.T) {
	t.Parallel()
	ns := NewNS(t, NSOptions{N: 3, NoMulticast: true})
	nat := ns.NATs(1, 2)
	nat.SymmetricBetweenNATs()
	const pub, a, b = 0, 1, 2
	for i, reach := range []string{"public", "private", "private"} {
		ns.MustRun(i, "init")
		cfg := map[string]any{"listen": NSListen, "replicas": 1, "sync_interval": "1s", "replica_grace": "5s", "reachability": reach}
		buf, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(ns.Home(i), "config.json"), buf, 0o600); err != nil {
			t.Fatal(err)
		}
		ns.Start(i)
	}
	idPub, idA := ns.PeerID(pub), ns.PeerID(a)
	for _, i := range []int{a, b} {
		code := strings.TrimSpace(ns.MustRun(pub, "federation", "invite"))
		ns.MustRun(i, "federation", "join", code)
	}
	for i := range 3 {
		waitFor(t, ns, i, 30*time.Second, "(3 members", "status")
	}

	// Reach: the public member says direct; the NATed ones hold a
	// reservation at its relay (AutoRelay's boot delay is 10 s).
	start := time.Now()
	if out := ns.MustRun(pub, "status"); !strings.Contains(out, "reachable "+node.ReachDirect+"\n") {
		t.Errorf("the public member's status does not say %q:\n%s", "reachable "+node.ReachDirect, out)
	}
	for _, i := range []int{a, b} {
		waitFor(t, ns, i, 60*time.Second, "reachable "+node.ReachRelayed+"\n", "status")
	}
	t.Logf("A and B reachable through the relay after %v", time.Since(start).Round(100*time.Millisecond))
	circuitA := fmt.Sprintf("/ip4/%s/tcp/4001/p2p/%s/p2p-circuit/p2p/%s", nat.PublicIP(pub), idPub, idA)
	if out := ns.MustRun(a, "id"); !strings.Contains(out, "/p2p-circuit") {
		t.Errorf("A holds a reservation but 'baluchon id' lists no relayed address:\n%s", out)
	}

	dir := t.TempDir()
	card1 := filepath.Join(dir, "card1.txt")
	ns.MustRun(a, "card", "new", "--out", card1)
	doc1 := nsAdd(t, ns, a, card1, "Passeport", "passeport.pdf", string(randomBytes(t, natDocBytes)))

	// 1. Through the relay.
	ns.MustRun(b, "connect", circuitA)
	start = time.Now()
	relayed1 := start
	waitFor(t, ns, b, 90*time.Second, doc1, "ls", "--card", card1)
	took := time.Since(start)
	st := natStatusOf(t, ns, b)
	toA := connsTo(st, idA)
	if len(toA) == 0 {
		t.Fatalf("B opened the card but has no connection to A: %+v", st.Conns)
	}
	var relayedBitswap bool
	for _, c := range toA {
		if !c.Relayed {
			t.Errorf("B has a direct connection to A (%s) while the routers are symmetric NATs towards each other", c.Remote)
		}
		if c.Limited {
			t.Errorf("B's relayed connection to A is limited (%s): the member relay should give unlimited ones", c.Remote)
		}
		relayedBitswap = relayedBitswap || bitswapOn(c)
	}
	if got := toA[0].ReceivedBytes; got < natDocBytes {
		t.Errorf("B received %d bytes of blocks from A, want at least the document's %d", got, natDocBytes)
	}
	t.Logf("card 1 opened at B through the relay in %v: connections to A %+v", took.Round(100*time.Millisecond), toA)
	if !relayedBitswap {
		t.Errorf("no bitswap stream on B's relayed connection to A, yet A is its only route to the blocks: %+v", toA)
	}
	if n := len(connsTo(natStatusOf(t, ns, pub), idA)); n == 0 {
		t.Errorf("the relay has no connection to A")
	}

	// 2. Hole punching. A new relayed connection is needed: DCUtR runs
	// when one opens, started by the side that receives it (A, the
	// reserving one), and only if both sides already know their own
	// public address (libp2p registers the DCUtR handler only then). So:
	//   - the first relayed connection's attempts end first: A tries for
	//     up to 3 × 5 s and refuses a second attempt to the same peer
	//     meanwhile ("another hole punching attempt to this peer is
	//     active");
	//   - A restarts (a restarted B would reconnect to A through the
	//     relay at once, before it knows its public address, and A
	//     would find no DCUtR handler at B: "protocols not supported");
	//     a restarted A takes a new reservation only after AutoRelay's
	//     10 s boot delay, by when it knows its address;
	//   - B connects to A through the relay again.
	card2 := filepath.Join(dir, "card2.txt")
	ns.MustRun(a, "card", "new", "--out", card2)
	doc2 := nsAdd(t, ns, a, card2, "Acte de naissance", "acte.pdf", string(randomBytes(t, natDocBytes)))
	time.Sleep(time.Until(relayed1.Add(20 * time.Second)))
	for _, c := range connsTo(natStatusOf(t, ns, b), idA) {
		if !c.Relayed {
			t.Fatalf("hole punching succeeded between symmetric NATs (%s): the test's NATs are not what it says", c.Remote)
		}
	}
	t.Logf("20 s later, B's connection to A is still relayed: DCUtR failed between the symmetric NATs")
	nat.PortPreservingBetweenNATs()
	ns.Stop(a)
	ns.Start(a)
	waitFor(t, ns, a, 60*time.Second, "reachable "+node.ReachRelayed+"\n", "status")
	start = time.Now()
	for {
		_, stderr, err := ns.Run(b, "connect", circuitA)
		if err == nil {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("B cannot connect to the restarted A through the relay: %v\n%s", err, stderr)
		}
		time.Sleep(time.Second)
	}
	var direct []node.PeerConn
	for time.Since(start) < 60*time.Second && len(direct) == 0 {
		for _, c := range connsTo(natStatusOf(t, ns, b), idA) {
			if !c.Relayed {
				direct = append(direct, c)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(direct) == 0 {
		t.Fatalf("no direct connection from B to A 60 s after a relayed one, with port-preserving NATs: hole punching (DCUtR) failed\nlog of A:\n%s\nlog of B:\n%s", ns.logTail(a), ns.logTail(b))
	}
	t.Logf("hole punching: B connected directly to A %v after the relayed connection: %s", time.Since(start).Round(100*time.Millisecond), direct[0].Remote)
	if !strings.Contains(direct[0].Remote, nat.RouterIP(a)) {
		t.Errorf("B's direct connection to A is to %s, want A's router's public address %s", direct[0].Remote, nat.RouterIP(a))
	}
	start = time.Now()
	waitFor(t, ns, b, 90*time.Second, doc2, "ls", "--card", card2)
	took = time.Since(start)
	toA = connsTo(natStatusOf(t, ns, b), idA)
	var directBitswap, relayedBitswap2 bool
	for _, c := range toA {
		if c.Relayed {
			relayedBitswap2 = relayedBitswap2 || bitswapOn(c)
		} else {
			directBitswap = directBitswap || bitswapOn(c)
		}
	}
	t.Logf("card 2 opened at B in %v: connections to A %+v", took.Round(100*time.Millisecond), toA)
	if len(toA) == 0 || toA[0].ReceivedBytes < natDocBytes {
		t.Errorf("B received too few bytes of blocks from A for card 2: %+v", toA)
	}
	if !directBitswap || relayedBitswap2 {
		t.Errorf("bitswap ran over the direct connection: %v, over the relayed one: %v; want only the direct one: %+v", directBitswap, relayedBitswap2, toA)
	}
}
