//go:build linux

package testnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Shaping is what a weak link does to every packet, in each direction:
// as tc netem's "rate", "delay" and "loss".
type Shaping struct {
	Rate  int           // bits per second
	Delay time.Duration // one way
	Loss  float64       // fraction of packets dropped, 0 to 1
}

// String is the shaping in netem's words.
func (s Shaping) String() string {
	return fmt.Sprintf("rate %dkbit delay %dms loss %g%%", s.Rate/1000, s.Delay.Milliseconds(), s.Loss*100)
}

// WeakLink is the link between the two hosts of an NS, shaped. With the
// kernel's sch_netem, every host's eth0 sends through "tc qdisc netem";
// a kernel without it (as some CI machines) gets the same shaping from a
// user-space link: each host's eth0 is taken off the bridge and its
// address moved to a TAP device, whose frames this process carries to
// the other host's TAP, delayed, rate-limited and dropped like netem
// would (a FIFO of at most netemLimit frames per direction). Via says
// which.
type WeakLink struct {
	ns    *NS
	shape Shaping
	Via   string // "tc netem" or "user-space link"

	cut   atomic.Bool
	taps  []*os.File
	wg    sync.WaitGroup
	mu    sync.Mutex
	stats [2]LinkStats // per direction: 0 = host 0 → host 1
}

// LinkStats counts the frames of one direction of a user-space link.
type LinkStats struct {
	Frames, Bytes, Lost, Cut, Overflow int
}

// netemLimit is netem's default queue length, in packets.
const netemLimit = 1000

// weakTAP is the name of the TAP device of a user-space link.
const weakTAP = "wk0"

// WeakLink shapes the link between the two hosts of ns (N must be 2),
// before any host starts. The shaping is undone when the test ends.
func (ns *NS) WeakLink(s Shaping) *WeakLink {
	ns.tb.Helper()
	if len(ns.hosts) != 2 {
		ns.tb.Fatalf("testnet: WeakLink needs an NS of 2 hosts, this one has %d", len(ns.hosts))
	}
	wl := &WeakLink{ns: ns, shape: s}
	err := wl.netem("add", s)
	switch {
	case err == nil:
		wl.Via = "tc netem"
		return wl
	case strings.Contains(err.Error(), "qdisc kind is unknown") || strings.Contains(err.Error(), "executable file not found"):
		// No sch_netem (or no tc): the same shaping in user space.
	default:
		ns.tb.Fatalf("testnet: shape the link: %v", err)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		ns.tb.Skipf("testnet: a weak link needs tc netem (kernel module sch_netem) or TAP devices (/dev/net/tun), and this machine has neither: %v", err)
	}
	if err := wl.userSpace(weakTAP); err != nil {
		ns.tb.Fatalf("testnet: no tc netem here, and the user-space link failed: %v", err)
	}
	wl.Via = "user-space link (this kernel has no sch_netem)"
	return wl
}

// netem adds or changes the netem qdisc of both hosts' eth0.
func (wl *WeakLink) netem(verb string, s Shaping) error {
	for _, h := range wl.ns.hosts {
		args := []string{"-n", h.netns, "qdisc", verb, "dev", "eth0", "root", "netem",
			"limit", fmt.Sprint(netemLimit), "delay", fmt.Sprintf("%dms", s.Delay.Milliseconds()),
			"loss", fmt.Sprintf("%g%%", s.Loss*100), "rate", fmt.Sprintf("%dbit", s.Rate)}
		out, err := exec.Command("tc", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Cut drops every packet, both ways, until Heal: as when a phone leaves
// the room, nothing tells either host.
func (wl *WeakLink) Cut() {
	wl.ns.tb.Helper()
	if wl.taps == nil {
		cut := wl.shape
		cut.Loss = 1
		if err := wl.netem("change", cut); err != nil {
			wl.ns.tb.Fatalf("testnet: cut the weak link: %v", err)
		}
		return
	}
	wl.cut.Store(true)
}

// Heal lets packets through again.
func (wl *WeakLink) Heal() {
	wl.ns.tb.Helper()
	if wl.taps == nil {
		if err := wl.netem("change", wl.shape); err != nil {
			wl.ns.tb.Fatalf("testnet: heal the weak link: %v", err)
		}
		return
	}
	wl.cut.Store(false)
}

// Stats returns the counts of a user-space link (zero with tc netem).
func (wl *WeakLink) Stats() [2]LinkStats {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	return wl.stats
}

// PANLink joins the two hosts of ns (N must be 2) by a new link, shaped,
// such as a Bluetooth PAN or a phone's tethering makes when it connects:
// a new Ethernet-like interface, named bnep0 as Linux names a PAN's, that
// appears in each host's namespace (possibly while its node runs) and
// takes the host's address. Call NoLink first for hosts that must have no
// link before.
func (ns *NS) PANLink(s Shaping) *WeakLink {
	ns.tb.Helper()
	if len(ns.hosts) != 2 {
		ns.tb.Fatalf("testnet: PANLink needs an NS of 2 hosts, this one has %d", len(ns.hosts))
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		ns.tb.Skipf("testnet: a PAN link is made of TAP devices, and this machine has no /dev/net/tun: %v", err)
	}
	wl := &WeakLink{ns: ns, shape: s, Via: "user-space link"}
	if err := wl.userSpace("bnep0"); err != nil {
		ns.tb.Fatalf("testnet: make the PAN link: %v", err)
	}
	return wl
}

// NoLink takes host i off the bridge before its node starts: eth0 down,
// without its address. The host then has no network at all.
func (ns *NS) NoLink(i int) {
	ns.tb.Helper()
	h := ns.host(i)
	for _, args := range [][]string{
		{"-n", h.netns, "addr", "flush", "dev", "eth0"},
		{"-n", h.netns, "link", "set", "eth0", "down"},
	} {
		if err := ip(args...); err != nil {
			ns.tb.Fatalf("testnet: unplug host %d: %v", i, err)
		}
	}
}

// userSpace moves both hosts' addresses to TAP devices named name and
// carries the frames between them.
func (wl *WeakLink) userSpace(name string) error {
	for i, h := range wl.ns.hosts {
		tap, err := openTAP(h.netns, name)
		if err != nil {
			wl.close()
			return err
		}
		wl.taps = append(wl.taps, tap)
		for _, args := range [][]string{
			{"-n", h.netns, "addr", "flush", "dev", "eth0"},
			{"-n", h.netns, "link", "set", "eth0", "down"},
			{"-n", h.netns, "addr", "add", wl.ns.IP(i) + "/24", "dev", name},
			{"-n", h.netns, "link", "set", name, "up"},
		} {
			if err := ip(args...); err != nil {
				wl.close()
				return err
			}
		}
	}
	wl.ns.tb.Cleanup(wl.close)
	wl.carry(0, wl.taps[0], wl.taps[1])
	wl.carry(1, wl.taps[1], wl.taps[0])
	return nil
}

// close closes the TAP devices (which deletes them) and waits for the
// carriers.
func (wl *WeakLink) close() {
	for _, t := range wl.taps {
		t.Close()
	}
	wl.wg.Wait()
}

type frame struct {
	data []byte
	due  time.Time
}

// carry moves frames from in to out as netem would: each frame lost with
// probability Loss, then queued (at most netemLimit), sent out after the
// frames before it at Rate, and delivered Delay later.
func (wl *WeakLink) carry(dir int, in, out *os.File) {
	q := make(chan frame, netemLimit)
	wl.wg.Add(2)
	go func() {
		defer wl.wg.Done()
		defer close(q)
		var free time.Time // when the "wire" is free again
		buf := make([]byte, 65536)
		for {
			n, err := in.Read(buf)
			if err != nil {
				return // closed
			}
			wl.mu.Lock()
			st := &wl.stats[dir]
			st.Frames++
			st.Bytes += n
			switch {
			case wl.cut.Load():
				st.Cut++
				n = 0
			case rand.Float64() < wl.shape.Loss:
				st.Lost++
				n = 0
			case len(q) == cap(q):
				st.Overflow++
				n = 0
			}
			wl.mu.Unlock()
			if n == 0 {
				continue
			}
			if now := time.Now(); free.Before(now) {
				free = now
			}
			free = free.Add(time.Duration(float64(n*8) / float64(wl.shape.Rate) * float64(time.Second)))
			q <- frame{data: append([]byte(nil), buf[:n]...), due: free.Add(wl.shape.Delay)}
		}
	}()
	go func() {
		defer wl.wg.Done()
		for f := range q {
			if d := time.Until(f.due); d > 0 {
				time.Sleep(d)
			}
			if wl.cut.Load() {
				continue // in flight when the link went: lost
			}
			_, _ = out.Write(f.data)
		}
	}()
}

// openTAP makes a TAP device named name in network namespace netns and
// returns its file (closing it deletes the device). The device is made
// from a thread moved into the namespace and back.
func openTAP(netns, name string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is locked and, if it cannot come back to this
		// process's namespace, never unlocked: Go then ends it with
		// the goroutine.
		runtime.LockOSThread()
		f, err := openTAPIn(netns, name)
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

func openTAPIn(netns, name string) (f *os.File, err error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + netns)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter namespace %s: %w", netns, err)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq(name); err == nil {
			ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
			if err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
				unix.Close(fd)
			}
		}
	}
	if berr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); berr != nil {
		if err == nil {
			unix.Close(fd)
		}
		return nil, errors.Join(err, fmt.Errorf("come back from namespace %s: %w", netns, berr))
	}
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("make TAP device %s in %s: %w", name, netns, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}
