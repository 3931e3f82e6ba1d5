//go:build linux

package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NS is a set of baluchon nodes, each a separate process in its own Linux
// network namespace, joined by a bridge: real hosts on one LAN, that a test
// can stop, kill, or cut off from the others.
//
// The topology (root namespace):
//
//	bridge <PREFIX>br (no address)
//	 ├── veth <PREFIX>v0 ── eth0 in namespace <PREFIX>-0, 10.R.S.1/24
//	 ├── veth <PREFIX>v1 ── eth0 in namespace <PREFIX>-1, 10.R.S.2/24
//	 └── …
//
// PREFIX is "bl" and 6 random hex digits, R.S random too (R in 200..250),
// so that runs in parallel do not meet. Every namespace has only its
// loopback and its /24: no route leads out of it.
//
// Methods that take a host index must be called from the test's goroutine,
// except Run, Home, IP and Log, which any goroutine may call.
type NS struct {
	tb      testing.TB
	opts    NSOptions
	dir     string
	prefix  string
	bridge  string
	net     [2]byte // the R and S of 10.R.S.0/24
	hosts   []*nsHost
	env     []string
	created []created // what cleanup deletes, in creation order
	blocked [][2]int  // routes added by Partition: from host, to host

	buildOnce sync.Once
	binary    string
	buildErr  error
}

// NSOptions tune an NS.
type NSOptions struct {
	// N is the number of hosts (1 to 250).
	N int
	// Binary is the path of a built baluchon binary. If "", the first Start
	// or Run builds baluchon/cmd/baluchon with 'go build' into a temporary
	// folder.
	Binary string
	// Listen are the addresses every node listens on (default NSListen).
	Listen []string
	// ServeArgs are added to every 'baluchon serve' command line (default
	// none).
	ServeArgs []string
	// NoMulticast keeps multicast (so mDNS) from crossing the bridge: the
	// bridge does not flood multicast frames to any host (mcast_flood off
	// on every bridge port). Broadcast still crosses, so ARP and unicast
	// work. A route such as 'unreachable 224.0.0.0/4' inside the namespaces
	// would not do: a socket bound to an interface (IP_MULTICAST_IF, as
	// mDNS responders do) sends link-local multicast without any route
	// lookup.
	NoMulticast bool
}

// NSListen are the addresses NS nodes listen on by default.
var NSListen = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// NSSkipMessage says what NewNS needs when it skips the test.
const NSSkipMessage = "needs root and iproute2 (apt-get install iproute2); .ci/run installs it"

const (
	nsStartTimeout = 30 * time.Second
	nsStopTimeout  = 15 * time.Second
	nsRunTimeout   = 2 * time.Minute
	nsLogTail      = 32 << 10 // bytes of a host's log shown in a failure
)

type nsHost struct {
	netns string // network namespace
	veth  string // bridge side of the host's veth pair
	home  string
	log   string // file that collects the serve process's output
	proc  *nsProc
}

// nsProc is a running 'baluchon serve'.
type nsProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, once done is closed
}

func (p *nsProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// created is a network namespace or link that this NS made.
type created struct {
	netns bool
	name  string
}

// NewNS creates the namespaces, the bridge and the links of opts.N hosts,
// none of them running yet, and deletes all of it when the test ends, even
// when it fails. It skips the test when it is not run as root on Linux with
// iproute2 installed.
func NewNS(tb testing.TB, opts NSOptions) *NS {
	tb.Helper()
	skipUnlessNS(tb)
	if opts.N < 1 || opts.N > 250 {
		tb.Fatalf("testnet: NSOptions.N is %d, want 1 to 250", opts.N)
	}
	if len(opts.Listen) == 0 {
		opts.Listen = NSListen
	}
	ns := &NS{tb: tb, opts: opts, dir: tb.TempDir(), binary: opts.Binary}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BALUCHON_HOME=") {
			ns.env = append(ns.env, kv)
		}
	}
	if err := ns.pickNames(); err != nil {
		tb.Fatalf("testnet: %v", err)
	}
	tb.Cleanup(ns.cleanup)
	if err := ns.setUp(); err != nil {
		if strings.Contains(err.Error(), "Operation not permitted") {
			tb.Skipf("testnet: cannot make network namespaces here (%v); %s, with CAP_NET_ADMIN and CAP_SYS_ADMIN", err, NSSkipMessage)
		}
		tb.Fatalf("testnet: set up network namespaces: %v", err)
	}
	return ns
}

// skipUnlessNS skips the test unless it can make network namespaces.
func skipUnlessNS(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("testnet: network namespaces are Linux only; %s", NSSkipMessage)
	}
	if os.Geteuid() != 0 {
		tb.Skipf("testnet: not root; %s", NSSkipMessage)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skipf("testnet: no 'ip' command; %s", NSSkipMessage)
	}
}

// pickNames chooses a prefix that no namespace or link has yet, and the
// subnet.
func (ns *NS) pickNames() error {
	for range 10 {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("pick names: %w", err)
		}
		prefix := "bl" + hex.EncodeToString(b[:])
		taken := exists(filepath.Join("/sys/class/net", prefix+"br"))
		for i := 0; i < ns.opts.N && !taken; i++ {
			taken = exists(filepath.Join("/run/netns", fmt.Sprintf("%s-%d", prefix, i))) ||
				exists(filepath.Join("/sys/class/net", fmt.Sprintf("%sv%d", prefix, i)))
		}
		if taken {
			continue
		}
		ns.prefix, ns.bridge = prefix, prefix+"br"
		ns.net = [2]byte{200 + b[0]%51, b[1]}
		for i := range ns.opts.N {
			home := filepath.Join(ns.dir, fmt.Sprintf("host%d", i))
			ns.hosts = append(ns.hosts, &nsHost{
				netns: fmt.Sprintf("%s-%d", prefix, i),
				veth:  fmt.Sprintf("%sv%d", prefix, i),
				home:  home,
				log:   home + ".log",
			})
		}
		return nil
	}
	return errors.New("pick names: every name tried is taken")
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func (ns *NS) setUp() error {
	if err := ip("link", "add", ns.bridge, "type", "bridge", "mcast_snooping", "0"); err != nil {
		return err
	}
	ns.created = append(ns.created, created{name: ns.bridge})
	if err := ip("link", "set", ns.bridge, "up"); err != nil {
		return err
	}
	for i, h := range ns.hosts {
		if err := ip("netns", "add", h.netns); err != nil {
			return err
		}
		ns.created = append(ns.created, created{netns: true, name: h.netns})
		// The namespace end is made in the namespace directly, as eth0.
		if err := ip("link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns); err != nil {
			return err
		}
		ns.created = append(ns.created, created{name: h.veth})
		cmds := [][]string{
			{"link", "set", h.veth, "master", ns.bridge},
		}
		if ns.opts.NoMulticast {
			cmds = append(cmds, []string{"link", "set", h.veth, "type", "bridge_slave", "mcast_flood", "off"})
		}
		cmds = append(cmds,
			[]string{"link", "set", h.veth, "up"},
			[]string{"-n", h.netns, "addr", "add", ns.IP(i) + "/24", "dev", "eth0"},
			[]string{"-n", h.netns, "link", "set", "eth0", "up"},
			[]string{"-n", h.netns, "link", "set", "lo", "up"},
		)
		for _, args := range cmds {
			if err := ip(args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// ip runs the ip command.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// cleanup kills what still runs and deletes what NewNS created, and only
// that.
func (ns *NS) cleanup() {
	for i, h := range ns.hosts {
		if h.proc == nil {
			continue
		}
		_ = h.proc.cmd.Process.Kill()
		select {
		case <-h.proc.done:
		case <-time.After(nsStopTimeout):
			ns.tb.Errorf("testnet: host %d (pid %d) did not die after SIGKILL", i, h.proc.cmd.Process.Pid)
		}
		h.proc = nil
	}
	if ns.tb.Failed() {
		for i := range ns.hosts {
			if log := ns.logTail(i); log != "" {
				ns.tb.Logf("testnet: log of host %d (%s):\n%s", i, ns.IP(i), log)
			}
		}
	}
	// Links first: deleting one end of a veth pair deletes both at once,
	// whereas the kernel deletes a namespace's links in the background.
	for _, c := range ns.created {
		if !c.netns && c.name != ns.bridge {
			ns.deleteLink(c.name)
		}
	}
	for _, c := range ns.created {
		if c.name == ns.bridge {
			ns.deleteLink(c.name)
		}
	}
	for _, c := range ns.created {
		if c.netns {
			if err := ip("netns", "del", c.name); err != nil {
				ns.tb.Errorf("testnet: cleanup: %v", err)
			}
		}
	}
}

func (ns *NS) deleteLink(name string) {
	if !exists(filepath.Join("/sys/class/net", name)) {
		return // a veth that went with its peer
	}
	if err := ip("link", "del", name); err != nil && exists(filepath.Join("/sys/class/net", name)) {
		ns.tb.Errorf("testnet: cleanup: %v", err)
	}
}

func (ns *NS) host(i int) *nsHost {
	ns.tb.Helper()
	if i < 0 || i >= len(ns.hosts) {
		ns.tb.Fatalf("testnet: no host %d (there are %d)", i, len(ns.hosts))
	}
	return ns.hosts[i]
}

// Home is host i's baluchon folder.
func (ns *NS) Home(i int) string { return ns.host(i).home }

// IP is host i's IPv4 address on the bridge, 10.R.S.(i+1).
func (ns *NS) IP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", ns.net[0], ns.net[1], i+1)
}

// Log is everything host i's serve processes (all of them, if it was
// restarted) wrote so far.
func (ns *NS) Log(i int) string {
	b, err := os.ReadFile(ns.host(i).log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	return string(b)
}

// logTail is the end of host i's log, short enough for a failure message.
func (ns *NS) logTail(i int) string {
	log := ns.Log(i)
	if len(log) > nsLogTail {
		log = "…" + log[len(log)-nsLogTail:]
	}
	return log
}

// bin returns the baluchon binary, building it the first time.
func (ns *NS) bin() (string, error) {
	ns.buildOnce.Do(func() {
		if ns.binary != "" {
			return
		}
		bin, err := buildCommand(ns.dir, "baluchon/cmd/baluchon")
		if err != nil {
			ns.buildErr = err
			return
		}
		ns.binary = bin
	})
	return ns.binary, ns.buildErr
}

// buildCommand builds the command of package pkg (in this module) into
// dir.
func buildCommand(dir, pkg string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	out, err := exec.Command(goCmd, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// command is a command run in host i's namespace.
func (ns *NS) command(ctx context.Context, i int, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.hosts[i].netns, name}, args...)...)
	cmd.Env = ns.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Start starts 'baluchon serve' on host i and waits until it answers
// 'baluchon id' (at most 30 s). Its home is made on the first start; a
// restart keeps it.
func (ns *NS) Start(i int) {
	ns.tb.Helper()
	h := ns.host(i)
	if h.proc != nil && !h.proc.exited() {
		ns.tb.Fatalf("testnet: host %d is already running", i)
	}
	bin, err := ns.bin()
	if err != nil {
		ns.tb.Fatalf("testnet: %v", err)
	}
	args := []string{"serve", "--home", h.home}
	for _, a := range ns.opts.Listen {
		args = append(args, "--listen", a)
	}
	args = append(args, ns.opts.ServeArgs...)
	log, err := os.OpenFile(h.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		ns.tb.Fatalf("testnet: start host %d: %v", i, err)
	}
	fmt.Fprintf(log, "=== testnet: %s baluchon %s\n", time.Now().Format(time.TimeOnly), strings.Join(args, " "))
	// Not CommandContext: the process outlives this call.
	cmd := ns.command(context.Background(), i, bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// 'ip netns exec' execs baluchon, so this is baluchon's own pid, and
	// it dies with the test process even when cleanup cannot run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	log.Close()
	if err != nil {
		ns.tb.Fatalf("testnet: start host %d: %v", i, err)
	}
	p := &nsProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.proc = p

	deadline := time.Now().Add(nsStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, stderr, err := ns.run(ctx, i, "id")
		cancel()
		if err == nil {
			return
		}
		if p.exited() {
			ns.tb.Fatalf("testnet: host %d exited while starting (%v); its log:\n%s", i, p.err, ns.logTail(i))
		}
		if time.Now().After(deadline) {
			ns.tb.Fatalf("testnet: host %d does not answer 'baluchon id' %v after its start: %v\n%s\nits log:\n%s",
				i, nsStartTimeout, err, stderr, ns.logTail(i))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops host i's node with SIGTERM and waits for it to exit (at most
// 15 s, then SIGKILL). The test fails if the node did not exit cleanly.
func (ns *NS) Stop(i int) {
	ns.tb.Helper()
	p := ns.running(i)
	if p.exited() {
		ns.tb.Errorf("testnet: host %d had exited before Stop (%v); its log:\n%s", i, p.err, ns.logTail(i))
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(nsStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		ns.tb.Errorf("testnet: host %d did not stop %v after SIGTERM, killed it; its log:\n%s", i, nsStopTimeout, ns.logTail(i))
		return
	}
	if p.err != nil {
		ns.tb.Errorf("testnet: host %d did not stop cleanly: %v; its log:\n%s", i, p.err, ns.logTail(i))
	}
}

// Kill kills host i's node with SIGKILL, as a power loss would, and waits
// for it to be gone.
func (ns *NS) Kill(i int) {
	ns.tb.Helper()
	p := ns.running(i)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// running returns host i's process and forgets it: the host is stopped
// after Stop or Kill.
func (ns *NS) running(i int) *nsProc {
	ns.tb.Helper()
	h := ns.host(i)
	if h.proc == nil {
		ns.tb.Fatalf("testnet: host %d is not running", i)
	}
	p := h.proc
	h.proc = nil
	return p
}

// Run runs 'baluchon ARGS... --home HOME' in host i's namespace, and
// returns its output. It gives up after 2 minutes.
func (ns *NS) Run(i int, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), nsRunTimeout)
	defer cancel()
	return ns.run(ctx, i, args...)
}

func (ns *NS) run(ctx context.Context, i int, args ...string) (stdout, stderr string, err error) {
	if i < 0 || i >= len(ns.hosts) {
		return "", "", fmt.Errorf("no host %d (there are %d)", i, len(ns.hosts))
	}
	bin, err := ns.bin()
	if err != nil {
		return "", "", err
	}
	var out, errOut bytes.Buffer
	cmd := ns.command(ctx, i, bin, withHome(args, ns.hosts[i].home)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.String(), errOut.String(), fmt.Errorf("baluchon %s on host %d: %w", strings.Join(args, " "), i, err)
	}
	return out.String(), errOut.String(), nil
}

// withHome adds --home to a command line, before a "--" that ends the
// flags.
func withHome(args []string, home string) []string {
	out := make([]string, 0, len(args)+2)
	for j, a := range args {
		if a == "--" {
			out = append(out, "--home", home)
			return append(out, args[j:]...)
		}
		out = append(out, a)
	}
	return append(out, "--home", home)
}

// MustRun is Run, and fails the test, with the command's output and the
// host's log, when the command fails.
func (ns *NS) MustRun(i int, args ...string) string {
	ns.tb.Helper()
	stdout, stderr, err := ns.Run(i, args...)
	if err != nil {
		ns.tb.Fatalf("testnet: %v\nstdout:\n%s\nstderr:\n%s\nlog of host %d:\n%s", err, stdout, stderr, i, ns.logTail(i))
	}
	return stdout
}

// Cut takes down host i's link to the bridge: host i no longer reaches
// any other host, nor they it, until Heal.
func (ns *NS) Cut(i int) {
	ns.tb.Helper()
	if err := ip("link", "set", ns.host(i).veth, "down"); err != nil {
		ns.tb.Fatalf("testnet: cut host %d: %v", i, err)
	}
}

// Heal brings host i's link to the bridge back up.
func (ns *NS) Heal(i int) {
	ns.tb.Helper()
	if err := ip("link", "set", ns.host(i).veth, "up"); err != nil {
		ns.tb.Fatalf("testnet: heal host %d: %v", i, err)
	}
}

// PeerID is host i's peer id, from 'baluchon id'. The host must be
// running.
func (ns *NS) PeerID(i int) string {
	ns.tb.Helper()
	id, _, _ := strings.Cut(ns.MustRun(i, "id"), "\n")
	return strings.TrimSpace(id)
}

// Addr is host i's TCP address on the bridge with its peer id, for
// 'baluchon connect'. The host must be running.
func (ns *NS) Addr(i int) string {
	ns.tb.Helper()
	return fmt.Sprintf("/ip4/%s/tcp/%s/p2p/%s", ns.IP(i), ns.tcpPort(), ns.PeerID(i))
}

// tcpPort is the port of the first TCP listen address.
func (ns *NS) tcpPort() string {
	ns.tb.Helper()
	for _, a := range ns.opts.Listen {
		parts := strings.Split(a, "/")
		for j := 0; j+1 < len(parts); j++ {
			if parts[j] == "tcp" {
				if _, err := strconv.Atoi(parts[j+1]); err == nil {
					return parts[j+1]
				}
			}
		}
	}
	ns.tb.Fatalf("testnet: no TCP listen address in %q", ns.opts.Listen)
	return ""
}

// Partition splits the hosts into groups that cannot reach each other:
// inside each host's namespace, a blackhole route to every host of the
// other groups (so that the drop is immediate, not a timeout). Multicast
// still crosses, so hosts may still see each other by mDNS but cannot
// connect. HealPartition removes the routes.
func (ns *NS) Partition(groups ...[]int) {
	ns.tb.Helper()
	group := map[int]int{}
	for g, hs := range groups {
		for _, h := range hs {
			group[h] = g
		}
	}
	for i := range ns.hosts {
		for j := range ns.hosts {
			gi, iok := group[i]
			gj, jok := group[j]
			if i == j || !iok || !jok || gi == gj {
				continue
			}
			if err := ip("-n", ns.hosts[i].netns, "route", "add", "blackhole", ns.IP(j)+"/32"); err != nil {
				ns.tb.Fatalf("testnet: partition host %d from host %d: %v", i, j, err)
			}
			ns.blocked = append(ns.blocked, [2]int{i, j})
		}
	}
}

// HealPartition removes the routes Partition added.
func (ns *NS) HealPartition() {
	ns.tb.Helper()
	for _, b := range ns.blocked {
		if err := ip("-n", ns.hosts[b[0]].netns, "route", "del", "blackhole", ns.IP(b[1])+"/32"); err != nil {
			ns.tb.Fatalf("testnet: heal route from host %d to host %d: %v", b[0], b[1], err)
		}
	}
	ns.blocked = nil
}
