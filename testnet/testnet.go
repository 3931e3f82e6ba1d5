// Package testnet starts several real baluchon nodes for scenario tests
// and benchmarks: in this process on loopback (New), or as separate
// processes in Linux network namespaces joined by a bridge (NewNS), so that
// mDNS, partitions and node loss cross real network stacks.
//
// Node identities are derived from the test's name and the node's index,
// so that a failure reproduces with the same peer ids.
package testnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/api"
	"baluchon/node"
)

// Net is a set of nodes started for one test.
type Net struct {
	tb     testing.TB
	Nodes  []*node.Node
	apis   map[int]*api.Server
	homes  []string
	clocks []func() time.Time
}

// Options tune a Net.
type Options struct {
	// API starts each node's local HTTP API too.
	API bool
	// Config is the config of every node (nil: defaults, with loopback
	// listen addresses).
	Config *node.Config
	// Seed is mixed with the test's name into the nodes' identities: two
	// Nets of one test need different seeds.
	Seed string
	// Names, when given, are the structures' names, one per node.
	Names []string
	// Clocks, when given, are the nodes' clocks, one per node (nil:
	// time.Now), so that a test can move a node weeks ahead.
	Clocks []func() time.Time
	// Tune, when given, changes the config of node i before it starts.
	Tune func(i int, cfg *node.Config)
}

// Listen are the loopback addresses testnet nodes listen on: TCP and QUIC,
// on free ports.
var Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

// New starts n nodes. They are closed when the test ends. Set
// BALUCHON_TEST_LOG=1 to see their logs.
func New(tb testing.TB, n int, opts Options) *Net {
	tb.Helper()
	net := &Net{tb: tb, clocks: opts.Clocks}
	for i := range n {
		home := filepath.Join(tb.TempDir(), fmt.Sprintf("node%d", i))
		cfg := node.Config{}
		if opts.Config != nil {
			cfg = *opts.Config
		}
		if len(cfg.Listen) == 0 {
			cfg.Listen = Listen
		}
		if i < len(opts.Names) {
			cfg.Name = opts.Names[i]
		}
		if opts.Tune != nil {
			opts.Tune(i, &cfg)
		}
		if err := node.Init(home, node.InitOptions{Config: &cfg, Identity: Identity(tb.Name()+opts.Seed, i)}); err != nil {
			tb.Fatalf("init node %d: %v", i, err)
		}
		net.homes = append(net.homes, home)
		net.Nodes = append(net.Nodes, nil)
		net.Start(i, opts.API)
	}
	tb.Cleanup(net.Close)
	return net
}

// Identity returns the libp2p key of node i of the named test.
func Identity(name string, i int) crypto.PrivKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "baluchon testnet %s %d", name, i))
	key, _, err := crypto.GenerateEd25519Key(&seedReader{seed: seed[:]})
	if err != nil {
		panic(err)
	}
	return key
}

// seedReader yields the bytes of a seed, then the SHA-256 chain of it.
type seedReader struct{ seed []byte }

func (r *seedReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.seed)
		n += k
		s := sha256.Sum256(r.seed)
		r.seed = s[:]
	}
	return n, nil
}

func logger() *slog.Logger {
	if os.Getenv("BALUCHON_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Start (re)starts node i on its home.
func (net *Net) Start(i int, withAPI bool) *node.Node {
	net.tb.Helper()
	if net.Nodes[i] != nil {
		net.tb.Fatalf("node %d is already running", i)
	}
	var clock func() time.Time
	if i < len(net.clocks) {
		clock = net.clocks[i]
	}
	n, err := node.Start(context.Background(), node.Options{Home: net.homes[i], Logger: logger(), Clock: clock})
	if err != nil {
		net.tb.Fatalf("start node %d: %v", i, err)
	}
	net.Nodes[i] = n
	if withAPI {
		s, err := api.Start(n, api.Options{Home: net.homes[i], Addr: n.Config().API, Logger: logger()})
		if err != nil {
			n.Close()
			net.Nodes[i] = nil
			net.tb.Fatalf("start the API of node %d: %v", i, err)
		}
		if net.apis == nil {
			net.apis = map[int]*api.Server{}
		}
		net.apis[i] = s
	}
	return n
}

// Stop closes node i, as when a structure switches its node off.
func (net *Net) Stop(i int) {
	net.tb.Helper()
	if s := net.apis[i]; s != nil {
		s.Close()
		delete(net.apis, i)
	}
	if n := net.Nodes[i]; n != nil {
		if err := n.Close(); err != nil {
			net.tb.Errorf("stop node %d: %v", i, err)
		}
		net.Nodes[i] = nil
	}
}

// Home returns the home folder of node i.
func (net *Net) Home(i int) string { return net.homes[i] }

func peerInfo(n *node.Node) peer.AddrInfo {
	return peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()}
}

// Connect connects node i to node j.
func (net *Net) Connect(i, j int) {
	net.tb.Helper()
	if err := net.Nodes[i].Host().Connect(context.Background(), peerInfo(net.Nodes[j])); err != nil {
		net.tb.Fatalf("connect node %d to node %d: %v", i, j, err)
	}
}

// ConnectAll connects every pair of running nodes.
func (net *Net) ConnectAll() {
	net.tb.Helper()
	for i := range net.Nodes {
		for j := i + 1; j < len(net.Nodes); j++ {
			if net.Nodes[i] != nil && net.Nodes[j] != nil {
				net.Connect(i, j)
			}
		}
	}
}

// Disconnect closes the connections between node i and node j, as a cut
// network would.
func (net *Net) Disconnect(i, j int) {
	net.tb.Helper()
	a, b := net.Nodes[i], net.Nodes[j]
	if err := a.Host().Network().ClosePeer(b.ID()); err != nil {
		net.tb.Fatalf("disconnect node %d from node %d: %v", i, j, err)
	}
	a.Host().Peerstore().ClearAddrs(b.ID())
	b.Host().Peerstore().ClearAddrs(a.ID())
}

// Close stops every node.
func (net *Net) Close() {
	for i := range net.Nodes {
		net.Stop(i)
	}
}

// Scan reports, for each needle, the files under dir that contain it.
// Needles shorter than 8 bytes are refused: they would match by chance.
func Scan(dir string, needles map[string][]byte) (map[string][]string, error) {
	for name, nd := range needles {
		if len(nd) < 8 {
			return nil, fmt.Errorf("needle %q is too short to scan for", name)
		}
	}
	found := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		for name, nd := range needles {
			if bytes.Contains(data, nd) {
				found[name] = append(found[name], path)
			}
		}
		return nil
	})
	return found, err
}
