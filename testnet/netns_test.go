//go:build linux

package testnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"baluchon/node"
)

// TestNSHarness checks the namespace harness itself: nodes start in their
// namespaces, reach each other over the bridge, and Cut partitions a host
// until Heal.
func TestNSHarness(t *testing.T) {
	t.Parallel()
	// No multicast: if nodes ever discover each other by mDNS, host 2
	// must still not know host 0 before it connects.
	ns := NewNS(t, NSOptions{N: 3, NoMulticast: true})
	for i := range 3 {
		ns.Start(i)
	}

	lines := strings.Split(strings.TrimSpace(ns.MustRun(0, "id")), "\n")
	id0 := lines[0]
	if !strings.HasPrefix(id0, "12D3Koo") {
		t.Fatalf("first line of 'baluchon id' is %q, want a peer id", id0)
	}
	if !slices.ContainsFunc(lines[1:], func(a string) bool { return strings.HasPrefix(a, "/ip4/"+ns.IP(0)+"/") }) {
		t.Errorf("'baluchon id' on host 0 does not list its bridge address %s:\n%s", ns.IP(0), strings.Join(lines, "\n"))
	}
	addr0 := fmt.Sprintf("/ip4/%s/tcp/4001/p2p/%s", ns.IP(0), id0)
	if got := ns.Addr(0); got != addr0 {
		t.Errorf("Addr(0) = %s, want %s", got, addr0)
	}

	ns.MustRun(1, "connect", addr0)
	if peers := ns.MustRun(1, "peers"); !strings.Contains(peers, id0) {
		t.Fatalf("host 1 connected to host 0, but its peers are:\n%s", peers)
	}

	ns.Cut(0)
	start := time.Now()
	stdout, stderr, err := ns.Run(2, "connect", addr0)
	if err == nil {
		t.Fatalf("host 2 connected to host 0 while host 0 was cut off\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if d := time.Since(start); d > node.ConnectTimeout+6*time.Second {
		t.Errorf("connect to a cut host failed after %v, want the CLI's bound (%v, and 5 s of slack) or less", d.Round(time.Second), node.ConnectTimeout)
	}
	t.Logf("connect while cut: %v, %v", time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(stderr))

	ns.Heal(0)
	// The failed dial leaves host 0's addresses in libp2p's dial backoff
	// (5 s and more): retry.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, stderr, err := ns.Run(2, "connect", addr0)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host 2 cannot connect to host 0 after Heal: %v\n%s\nlog of host 2:\n%s", err, stderr, ns.Log(2))
		}
		time.Sleep(time.Second)
	}
	if peers := ns.MustRun(2, "peers"); !strings.Contains(peers, id0) {
		t.Fatalf("host 2 connected to host 0, but its peers are:\n%s", peers)
	}

	// A killed host starts again with its home, so its identity.
	id2 := ns.PeerID(2)
	ns.Kill(2)
	if _, _, err := ns.Run(2, "id"); err == nil {
		t.Errorf("'baluchon id' answers on host 2 after Kill")
	}
	ns.Start(2)
	if got := ns.PeerID(2); got != id2 {
		t.Errorf("host 2's peer id is %s after a restart, was %s", got, id2)
	}
	if log := ns.Log(2); strings.Count(log, "=== testnet:") != 2 || !strings.Contains(log, id2) {
		t.Errorf("log of host 2 does not show its two runs:\n%s", log)
	}

	for i := range 3 {
		ns.Stop(i)
	}
	if log := ns.Log(0); !strings.Contains(log, "stopped") {
		t.Errorf("log of host 0 does not show a clean stop:\n%s", log)
	}
}

// TestNSMulticastBlocked checks that multicast crosses the bridge by
// default, and that NoMulticast stops it but not unicast.
func TestNSMulticastBlocked(t *testing.T) {
	t.Parallel()
	skipUnlessNS(t)
	probe, err := buildCommand(t.TempDir(), "baluchon/testnet/internal/mcastprobe")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		noMulticast bool
	}{
		{"default", false},
		{"NoMulticast", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := NewNS(t, NSOptions{N: 2, NoMulticast: tc.noMulticast})
			// The port of mDNS is 5353: another port, so that no mDNS
			// responder of the machine could answer.
			mcastErr := sendProbe(t, ns, probe, "224.0.0.251:55353")
			if tc.noMulticast && mcastErr == nil {
				t.Errorf("with NoMulticast, a multicast datagram from host 0 reached host 1")
			}
			if !tc.noMulticast && mcastErr != nil {
				t.Errorf("multicast from host 0 did not reach host 1: %v", mcastErr)
			}
			// A control: the link works for unicast (and so ARP).
			if err := sendProbe(t, ns, probe, ns.IP(1)+":55354"); err != nil {
				t.Errorf("unicast from host 0 did not reach host 1: %v", err)
			}
		})
	}
}

// sendProbe sends datagrams to group (or a unicast address) from host 0
// and tells whether host 1 received one within 3 s.
func sendProbe(t *testing.T, ns *NS, probe, group string) error {
	t.Helper()
	token := rand.Text()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	recv := ns.command(ctx, 1, probe, "-iface", "eth0", "-group", group, "-token", token, "-for", "3s", "recv")
	var recvOut strings.Builder
	recv.Stdout, recv.Stderr = &recvOut, &recvOut
	if err := recv.Start(); err != nil {
		t.Fatalf("start the receiver: %v", err)
	}
	// Let the receiver join the group; datagrams sent before are lost.
	time.Sleep(300 * time.Millisecond)
	send := ns.command(ctx, 0, probe, "-iface", "eth0", "-group", group, "-token", token, "-for", "3s", "send")
	if out, err := send.CombinedOutput(); err != nil {
		recv.Process.Kill()
		recv.Wait()
		t.Fatalf("send to %s: %v\n%s", group, err, out)
	}
	err := recv.Wait()
	if _, ok := err.(*exec.ExitError); ok && strings.Contains(recvOut.String(), "nothing received") {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(recvOut.String()))
	}
	if err != nil {
		t.Fatalf("receive from %s: %v\n%s", group, err, recvOut.String())
	}
	if !strings.HasPrefix(recvOut.String(), "received from "+ns.IP(0)+":") {
		t.Fatalf("receiver says %q, want a datagram from host 0 (%s)", recvOut.String(), ns.IP(0))
	}
	return nil
}
