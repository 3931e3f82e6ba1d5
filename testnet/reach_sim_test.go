package testnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// The federation simulation (docs/federation.md, "Scale"): N in-process
// nodes on loopback grown by invitations, node i joining through node i/2.
// It asserts that every member knows every other, that a card never seen
// opens at the node farthest from its holder (through the DHT), that the
// vault reaches its replica target, that a new head reaches every replica,
// and that connections per node stay bounded; and prints the figures.
//
// CI runs it at simNodesCI nodes (about 30 s here); BALUCHON_SIM_NODES=50,100,200 runs the
// sizes of the table in docs/federation.md.
const simNodesCI = 50

func TestReachFederationSim(t *testing.T) {
	sizes := []int{simNodesCI}
	if s := os.Getenv("BALUCHON_SIM_NODES"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 4 {
				t.Fatalf("BALUCHON_SIM_NODES=%q: give sizes of at least 4, separated by commas", s)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) { simFederation(t, n) })
	}
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func simFederation(t *testing.T, size int) {
	ctx := context.Background()
	heap0 := heapInUse()
	cfg := &node.Config{
		Listen:       []string{"/ip4/127.0.0.1/tcp/0"},
		SyncInterval: node.Duration(5 * time.Second),
		ReplicaGrace: node.Duration(time.Minute),
		Replicas:     2,
	}
	f := false
	cfg.MDNS = &f
	start := time.Now()
	cpu0 := cpuTime()
	net := New(t, size, Options{Config: cfg})
	startTime := time.Since(start)

	// Growth by invitations: node i joins through node i/2.
	start, cpu1 := time.Now(), cpuTime()
	for i := 1; i < size; i++ {
		simJoin(t, net, i/2, i)
	}
	joinTime, joinCPU := time.Since(start), cpuTime()-cpu1
	eventually(t, 2*time.Minute, "membership does not converge", func() bool {
		for i, n := range net.Nodes {
			if _, ms := n.Federation(); len(ms) != size {
				if time.Since(start) > 30*time.Second {
					st, _ := n.Status(ctx)
					t.Logf("node %d knows %d members, %d structures", i, len(ms), st.Structures)
				}
				return false
			}
		}
		return true
	})
	convergeTime := time.Since(start)

	// A vault registered at node 0 (the root of the invitation tree).
	holder, far := net.Nodes[0], net.Nodes[size-1]
	card, vid, err := holder.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Add(ctx, card, bytes.NewReader([]byte("Titre de séjour, recto verso")), node.DocMeta{Title: "Titre de séjour"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the vault does not reach its replica target", func() bool {
		return len(keepers(net, vid)) >= cfg.Replicas
	})
	// Its holders provide it in the DHT within a sync interval or two.
	eventually(t, time.Minute, "the card's holders do not provide it", func() bool {
		return holder.Provided(card.LookupID())
	})
	// The farthest node is connected to none of the holders (the DHT's
	// routing may have connected it to one: cut those connections).
	for _, i := range keepers(net, vid) {
		if err := far.Host().Network().ClosePeer(net.Nodes[i].ID()); err != nil {
			t.Fatal(err)
		}
	}

	// Open the never-seen card at the farthest node.
	qctx, qcancel := context.WithCancel(ctx)
	qctx, events := routing.RegisterForQueryEvents(qctx)
	dhtReqs := make(chan int)
	go func() {
		k := 0
		for e := range events {
			if e.Type == routing.SendingQuery {
				k++
			}
		}
		dhtReqs <- k
	}()
	asked := len(far.Host().Network().Peers())
	start = time.Now()
	got, entries, err := far.List(qctx, card)
	openTime := time.Since(start)
	if err != nil {
		t.Fatalf("open a never-seen card at the farthest node: %v", err)
	}
	if got != vid || len(entries) != 1 {
		t.Fatalf("farthest node opened vault %s with %d documents", got, len(entries))
	}
	qcancel() // closes events

	// A new head reaches every node that keeps the vault.
	if _, err := holder.Add(ctx, card, bytes.NewReader([]byte("Attestation CAF")), node.DocMeta{Title: "CAF"}); err != nil {
		t.Fatal(err)
	}
	want, err := holder.VaultHeads(ctx, vid)
	if err != nil || len(want) != 1 {
		t.Fatalf("heads at the holder: %v %v", want, err)
	}
	start = time.Now()
	var replicas []int
	eventually(t, time.Minute, "a replica does not take the new head", func() bool {
		replicas = keepers(net, vid)
		for _, i := range replicas {
			hs, err := net.Nodes[i].VaultHeads(ctx, vid)
			if err != nil || len(hs) != 1 || hs[0].Seq != want[0].Seq {
				return false
			}
		}
		return true
	})
	headTime := time.Since(start)

	// Connections and memory per node, CPU.
	conns := make([]int, size)
	published := 0
	for i, n := range net.Nodes {
		conns[i] = len(n.Host().Network().Peers())
		published += n.GossipPublished()
	}
	mean := 0
	for _, c := range conns {
		mean += c
	}
	heap := heapInUse() - min(heap0, heapInUse())
	totalCPU := cpuTime() - cpu0
	t.Logf("federation of %d nodes: start %v; joins %v (CPU %v, %.1f ms per join); membership converged %v after the first join",
		size, startTime.Round(time.Millisecond), joinTime.Round(time.Millisecond), joinCPU.Round(time.Millisecond),
		float64(joinCPU.Milliseconds())/float64(size-1), convergeTime.Round(time.Millisecond))
	reqs := <-dhtReqs
	t.Logf("open a never-seen card at node %d (holder node 0): %v, %d DHT requests, %d connected members asked first",
		size-1, openTime.Round(time.Millisecond), reqs, asked)
	if reqs == 0 {
		t.Error("the card was opened without asking the DHT: the test did not test what it says")
	}
	t.Logf("new head at every replica (%d keep the vault): %v", len(replicas), headTime.Round(time.Millisecond))
	t.Logf("connections per node: mean %.1f, max %d; heap %.1f MiB per node; gossip messages published %d; CPU %v in all (%.0f ms per node)",
		float64(mean)/float64(size), slices.Max(conns), float64(heap)/float64(size)/(1<<20), published,
		totalCPU.Round(time.Millisecond), float64(totalCPU.Milliseconds())/float64(size))
	// The connection manager trims to 20 above 40 connections, sparing
	// those younger than a minute (the DHT's queries open many): the mean
	// stays within twice its high mark at any size.
	if m := float64(mean) / float64(size); m > 80 {
		t.Errorf("nodes hold %.1f connections on average: the connection manager does not bound them", m)
	}
}

// simJoin makes node j a member through an invitation of node i, trying
// again when the loaded machine lets a handshake time out.
func simJoin(t *testing.T, net *Net, i, j int) {
	t.Helper()
	ctx := context.Background()
	var err error
	for try := range 5 {
		if try > 0 {
			time.Sleep(5 * time.Second)
		}
		var code *proto.Code
		if code, err = net.Nodes[i].Invite(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err = net.Nodes[j].JoinFederation(ctx, code); err == nil {
			return
		}
		t.Logf("node %d joins through node %d, try %d: %v", j, i, try+1, err)
		if sw, ok := net.Nodes[j].Host().Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(net.Nodes[i].ID())
		}
	}
	t.Fatalf("node %d joins through node %d: %v", j, i, err)
}

// keepers returns the nodes that keep vault v.
func keepers(net *Net, v vault.VaultID) []int {
	var out []int
	for i, n := range net.Nodes {
		if keeps(n, v) {
			out = append(out, i)
		}
	}
	return out
}
