package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/ipfs/boxo/bitswap"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/peering"
	pin "github.com/ipfs/boxo/pinning/pinner"
	"github.com/ipfs/boxo/pinning/pinner/dspinner"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"baluchon/internal/rfcomm"
	"baluchon/proto"
)

// Options are the choices made when a node starts (as opposed to Config,
// which is kept in the home).
type Options struct {
	// Home is the node's folder. It must have been initialised with Init.
	Home string
	// Listen, when not empty, replaces the config's listen addresses for
	// this run only.
	Listen []string
	// Logger receives the node's log. Nil means no log.
	Logger *slog.Logger
	// MDNS, when not nil, replaces the config's mdns setting for this run.
	MDNS *bool
	// Clock, when not nil, replaces time.Now for the trash period (tests
	// move it forward by weeks).
	Clock func() time.Time
	// KeyPassphrase gives the passphrase of the node's keys when they are
	// protected (see keyfile.go); it is called at most once, and only
	// then. Nil: a protected key gives ErrKeyLocked.
	KeyPassphrase func() (string, error)
	// Bluetooth, when not nil, replaces the machine's Bluetooth sockets
	// (tests give an rfcomm.StandIn adapter).
	Bluetooth rfcomm.Sockets
}

// Node is one structure's running program: libp2p host, encrypted block
// store, bitswap and baluchon's protocols. Its outward faces are packages
// of their own over its exported operations: the local API (baluchon/api).
type Node struct {
	home string
	cfg  Config
	log  *slog.Logger

	lock    *os.File
	store   *store
	host    host.Host
	bitswap *bitswap.Bitswap
	bserv   blockservice.BlockService
	dag     ipld.DAGService
	// freshDAG adds blocks new by construction (store.fresh): a batch's
	// documents, the manifest pages.
	freshDAG ipld.DAGService
	pinner   pin.Pinner
	peering  *peering.PeeringService

	// streamed counts the blocks received by DAG streams (dagstream.go).
	streamed streamCounts

	// vaultMu serialises the changes to one vault's heads and pins.
	vaultMu sync.Map // vault id (string) → *sync.Mutex
	// memMu serialises the changes to the vaults' monotone records.
	memMu sync.Mutex
	// cfgMu guards cfg.Peers and writes of config.json.
	cfgMu sync.Mutex

	// syncSlots bounds the background syncs started by peers.
	syncSlots chan struct{}
	// depositMu makes a deposit's count against maxPendingDeposits and its
	// keeping one step, whichever peers bring deposits at once.
	depositMu sync.Mutex
	// key is the node's libp2p key: it signs member certificates.
	key crypto.PrivKey
	// fedMu guards federation and members; inviteMu makes the use of an
	// invitation atomic.
	fedMu      sync.Mutex
	recMu      sync.Mutex // recordings.go
	followMu   sync.Mutex // the list of followed people (followed.go)
	federation peer.ID
	members    map[peer.ID]*proto.MemberCert
	removed    map[peer.ID]*proto.Removal    // members taken out (node/removal.go)
	proofs     map[peer.ID]*proto.MemberCert // what allowed their removal
	inviteMu   sync.Mutex
	sync       *syncState
	structKey  *age.HybridIdentity
	structures map[peer.ID]*proto.StructureRecord
	mdns       interface{ Close() error }
	reach      reachState  // node/reach.go
	dht        dhtState    // node/dht.go
	gossip     gossipState // node/gossip.go

	// ctx is cancelled by Close; background work (announcements, fetches)
	// runs under it and is counted in wg. closing, under bgMu, stops new
	// background work once Close has begun.
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	bgMu    sync.Mutex
	closing bool
	// gcMu keeps garbage collection apart from operations that write and
	// pin blocks (see gc.go).
	gcMu sync.RWMutex
	// clock is Options.Clock.
	clock func() time.Time
	// logq holds access-log records until they are stored (accesslog.go).
	logq logQueue
	// pulls remembers when the records of each vault were last pulled
	// from the peers (recordpull.go).
	pulls pullMemo
	// sgc throttles the collections of superseded states (supersede.go).
	sgc supersedeGC
}

// Start opens the node in opts.Home and starts it. The caller must Close it.
func Start(ctx context.Context, opts Options) (*Node, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !IsInitialised(opts.Home) {
		return nil, fmt.Errorf("%s: %w", opts.Home, ErrNotInitialised)
	}
	if _, err := checkHomeFormat(opts.Home); err != nil {
		return nil, err
	}
	cfg, err := readConfig(opts.Home)
	if err != nil {
		return nil, err
	}
	n := &Node{home: opts.Home, cfg: cfg.withDefaults(), log: log, syncSlots: make(chan struct{}, maxSyncs), sync: newSyncState(), clock: opts.Clock}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if len(opts.Listen) > 0 {
		c := Config{Listen: opts.Listen}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		n.cfg.Listen = opts.Listen
	}
	started := false
	defer func() {
		if !started {
			n.Close()
		}
	}()
	if n.lock, err = lockHome(opts.Home); err != nil {
		return nil, err
	}
	if err := migrateHome(opts.Home); err != nil {
		return nil, err
	}
	kp := newKeyPass(opts.KeyPassphrase)
	if n.key, err = loadIdentity(opts.Home, kp); err != nil {
		return nil, fmt.Errorf("load node identity: %w", err)
	}
	// Both keys are read before anything else is opened: a wrong
	// passphrase changes nothing.
	newPass := ""
	if protected, _ := KeysProtected(opts.Home); protected {
		newPass, _ = kp.passphrase()
	}
	if n.structKey, err = loadStructureKeyWith(opts.Home, kp, newPass); err != nil {
		return nil, fmt.Errorf("structure key: %w", err)
	}
	if n.store, err = openStore(opts.Home); err != nil {
		return nil, err
	}
	n.cfg.bluetooth = opts.Bluetooth
	if n.host, err = newHost(n.key, &n.cfg, n.reachOptions()...); err != nil {
		return nil, err
	}
	n.bitswap = newBitswap(n.ctx, n.host, n.store, n.trusted)
	n.bserv = blockservice.New(n.store.blocks, n.bitswap)
	n.dag = merkledag.NewDAGService(n.bserv)
	n.freshDAG = merkledag.NewDAGService(blockservice.New(n.store.fresh, n.bitswap, blockservice.WriteThrough(true)))
	if n.pinner, err = dspinner.New(ctx, n.store.ldb, n.dag); err != nil {
		return nil, fmt.Errorf("open pins: %w", err)
	}
	if err := n.loadFederation(ctx); err != nil {
		return nil, err
	}
	if err := n.startStructure(ctx); err != nil {
		return nil, fmt.Errorf("structure key: %w", err)
	}
	proto.Register(n.host, protoHandler{n}, n.log)
	if err := n.startDHT(); err != nil {
		return nil, fmt.Errorf("start the federation's DHT: %w", err)
	}
	if err := n.startGossip(ctx); err != nil {
		return nil, fmt.Errorf("start the federation's gossip: %w", err)
	}
	if n.peering, err = n.startPeering(); err != nil {
		return nil, err
	}
	n.watchMembers()
	if err := n.watchReach(); err != nil {
		return nil, fmt.Errorf("follow reachability: %w", err)
	}
	if opts.MDNS != nil {
		n.cfg.MDNS = opts.MDNS
	}
	// mDNS only makes sense, and only talks to the network, when the node
	// listens beyond loopback (on a link there now, or to come: links.go).
	if *n.cfg.MDNS && !loopbackOnly(n.host.Network().ListenAddresses()) {
		if err := n.startMDNS(); err != nil {
			return nil, fmt.Errorf("start local network discovery (mDNS): %w", err)
		}
	}
	n.goLoop(n.syncLoop)
	n.goLoop(n.trimLoop)
	n.log.Info("node started", "peer", n.host.ID(), "home", n.home)
	started = true
	return n, nil
}

// newHost builds the libp2p host: TCP and QUIC only, Noise and TLS, a fixed
// resource limit and a connection manager sized for a small machine.
// Nothing is dialled until a peer is given or discovered: no public
// bootstrap peers, no public DHT (the federation's own: dht.go).
func newHost(key crypto.PrivKey, cfg *Config, extra ...libp2p.Option) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	addProtocolLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Scale(cfg.MemoryLimit, 512)))
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	// Like Kubo's "lowpower" profile.
	cm, err := connmgr.NewConnManager(20, 40, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	h, err := libp2p.New(append([]libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("baluchon"),
		bluetoothOption(cfg),
	}, extra...)...)
	if err != nil {
		rm.Close()
		return nil, listenError(err)
	}
	return h, nil
}

// ListenError says that a listen address could not be bound.
type ListenError struct{ Err error }

func (e *ListenError) Error() string {
	return fmt.Sprintf("cannot listen on the given addresses (is the port already in use?): %v", e.Err)
}
func (e *ListenError) Unwrap() error { return e.Err }

func listenError(err error) error {
	return &ListenError{Err: err}
}

// newBitswap starts bitswap, client and server, with fewer workers than the
// defaults (which are sized for a large Kubo node) and no provider search:
// blocks are asked of connected peers only. Bitswap sends nothing (no want
// list, no block, no answer) to a peer that trusted refuses.
func newBitswap(ctx context.Context, h host.Host, s *store, trusted func(peer.ID) bool) *bitswap.Bitswap {
	network := trustedNetwork{BitSwapNetwork: bsnet.NewFromIpfsHost(h), send: trusted}
	opts := append([]bitswap.Option{
		bitswap.WithPeerBlockRequestFilter(func(p peer.ID, _ cid.Cid) bool { return trusted(p) }),
	}, bitswapTuning()...)
	return bitswap.New(ctx, network, nil, s.blocks, opts...)
}

// startPeering keeps connections to the static peers of the config.
func (n *Node) startPeering() (*peering.PeeringService, error) {
	ps := peering.NewPeeringService(n.host)
	for _, s := range n.cfg.Peers {
		ai, err := ParsePeerAddr(s)
		if err != nil {
			return nil, err
		}
		ps.AddPeer(*ai)
	}
	if err := ps.Start(); err != nil {
		return nil, fmt.Errorf("start peering: %w", err)
	}
	return ps, nil
}

// Close stops the node: background work, then the network, then the
// store. Whoever started an API over the node closes it first.
func (n *Node) Close() error {
	var errs []error
	n.bgMu.Lock()
	n.closing = true
	n.bgMu.Unlock()
	n.cancel()
	if n.mdns != nil {
		errs = append(errs, n.mdns.Close())
	}
	if n.peering != nil {
		n.peering.Stop()
	}
	n.wg.Wait()
	if n.store != nil {
		n.flushLog(context.Background())
	}
	if n.host != nil {
		proto.Unregister(n.host)
	}
	if n.dht.d != nil {
		errs = append(errs, n.dht.d.Close())
	}
	if n.bitswap != nil {
		errs = append(errs, n.bitswap.Close())
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	if n.pinner != nil {
		if c, ok := n.pinner.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.lock != nil {
		errs = append(errs, n.lock.Close())
	}
	return errors.Join(errs...)
}

// ID returns the node's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Host returns the node's libp2p host.
func (n *Node) Host() host.Host { return n.host }

// Config returns the node's configuration, defaults filled in.
func (n *Node) Config() Config {
	n.cfgMu.Lock()
	defer n.cfgMu.Unlock()
	c := n.cfg
	c.Listen = slices.Clone(c.Listen)
	c.Peers = slices.Clone(c.Peers)
	return c
}

// Home returns the node's home folder.
func (n *Node) Home() string { return n.home }

// Addrs returns the node's full multiaddrs (with /p2p/<id>).
func (n *Node) Addrs() []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil {
		return nil
	}
	return addrs
}

// ParsePeerAddr parses a full multiaddr of a peer (ending with /p2p/<id>).
func ParsePeerAddr(s string) (*peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, &AddrError{Addr: s, Err: err}
	}
	ai, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return nil, &AddrError{Addr: s, Err: errors.New("it does not end with /p2p/<peer id>")}
	}
	return ai, nil
}

// AddrError says that a peer address is malformed.
type AddrError struct {
	Addr string
	Err  error
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("%q is not a peer address (example: /ip4/192.168.1.10/tcp/4001/p2p/12D3Koo…): %v", e.Addr, e.Err)
}
func (e *AddrError) Unwrap() error { return e.Err }

// ConnectTimeout bounds Connect.
const ConnectTimeout = 10 * time.Second

// Connect dials a peer by its full multiaddr. When remember is true, the
// peer becomes a static peer: saved in the config and reconnected after a
// restart or a drop.
func (n *Node) Connect(ctx context.Context, addr string, remember bool) (peer.ID, error) {
	ai, err := ParsePeerAddr(addr)
	if err != nil {
		return "", err
	}
	if ai.ID == n.host.ID() {
		return "", errors.New("this address is this node's own")
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	if err := n.host.Connect(ctx, *ai); err != nil {
		return "", &UnreachableError{Peer: ai.ID, Err: err}
	}
	if remember {
		if err := n.rememberPeer(addr, ai); err != nil {
			return ai.ID, err
		}
	}
	return ai.ID, nil
}

// UnreachableError says that a peer could not be reached.
type UnreachableError struct {
	Peer peer.ID
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("peer %s cannot be reached: %v", e.Peer, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

func (n *Node) rememberPeer(addr string, ai *peer.AddrInfo) error {
	n.cfgMu.Lock()
	defer n.cfgMu.Unlock()
	cfg, err := readConfig(n.home)
	if err != nil {
		return err
	}
	for _, p := range cfg.Peers {
		if p == addr {
			return nil
		}
	}
	cfg.Peers = append(cfg.Peers, addr)
	if err := writeConfig(n.home, cfg); err != nil {
		return fmt.Errorf("save static peer: %w", err)
	}
	n.cfg.Peers = cfg.Peers
	n.peering.AddPeer(*ai)
	return nil
}

// Peers returns the connected peers, each with the address of one of its
// connections.
func (n *Node) Peers() []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, p := range n.host.Network().Peers() {
		conns := n.host.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: p, Addrs: []ma.Multiaddr{conns[0].RemoteMultiaddr()}})
		if err != nil || len(addrs) == 0 {
			continue
		}
		out = append(out, addrs[0])
	}
	return out
}

// goBackground runs f in the background, as an operation that may write
// and pin blocks (see opHold); Close cancels its context and waits for it.
func (n *Node) goBackground(f func(ctx context.Context)) {
	n.goRun(func(ctx context.Context) {
		defer n.opHold()()
		f(ctx)
	})
}

// goLoop runs a long-lived loop in the background, outside opHold (its
// rounds start operations of their own).
func (n *Node) goLoop(f func(ctx context.Context)) { n.goRun(f) }

// onEvent calls f with each event of evtType (a pointer to a libp2p event
// type, as EventBus().Subscribe takes) that the host emits, until the node
// closes.
func (n *Node) onEvent(evtType any, f func(e any)) error {
	sub, err := n.host.EventBus().Subscribe(evtType)
	if err != nil {
		return err
	}
	n.goLoop(func(ctx context.Context) {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				f(e)
			}
		}
	})
	return nil
}

// goRun runs f in a goroutine that Close cancels and waits for; once Close
// has begun, it runs nothing.
func (n *Node) goRun(f func(ctx context.Context)) {
	n.bgMu.Lock()
	defer n.bgMu.Unlock()
	if n.closing {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f(n.ctx)
	}()
}

// loopbackOnly reports whether every IP address is a loopback one.
func loopbackOnly(addrs []ma.Multiaddr) bool {
	for _, a := range addrs {
		if _, err := manet.ToIP(a); err == nil && !manet.IsIPLoopback(a) {
			return false
		}
	}
	return true
}
