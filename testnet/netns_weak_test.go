//go:build linux

package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// weakShaping is the weak link of the issue: a poor 3G tether, or
// Bluetooth PAN with walls between the machines.
var weakShaping = Shaping{Rate: 1_500_000, Delay: 40 * time.Millisecond, Loss: 0.02}

// weakVaultBytes is the size of TestNSWeakLink's vault: 15 MB, three
// documents of 5 MB.
const weakVaultBytes = 15_000_000

// nsTransfers reads host i's block counts from 'status --json'.
func nsTransfers(t *testing.T, ns *NS, i int) (blocks, bytes, dups uint64, used uint64) {
	t.Helper()
	var st struct {
		UsedBytes uint64 `json:"used_bytes"`
		Transfers struct {
			Blocks     uint64 `json:"blocks_received"`
			Bytes      uint64 `json:"bytes_received"`
			Duplicates uint64 `json:"duplicate_blocks"`
		} `json:"transfers"`
	}
	out := ns.MustRun(i, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json on host %d: %v\n%s", i, err, out)
	}
	return st.Transfers.Blocks, st.Transfers.Bytes, st.Transfers.Duplicates, st.UsedBytes
}

// TestNSWeakLink: two structures whose only link is weak (1.5 Mbit/s,
// 40 ms each way, 2 % of packets lost) find each other by mDNS; a 15 MB
// vault made at A opens at B; the link is cut for 10 seconds in the middle
// of the transfer, and when it comes back the transfer resumes where it
// stopped: B never receives a block twice, and receives no more than the
// vault's blocks.
func TestNSWeakLink(t *testing.T) {
	t.Parallel()
	ns := NewNS(t, NSOptions{N: 2})
	link := ns.WeakLink(weakShaping)
	t.Logf("weak link: %s, by %s", weakShaping, link.Via)
	for i := range 2 {
		ns.MustRun(i, "init")
		ns.Start(i)
	}
	start := time.Now()
	idA := ns.PeerID(0)
	waitFor(t, ns, 1, 60*time.Second, idA, "peers")
	t.Logf("mDNS: B found A over the weak link in %v", time.Since(start).Round(100*time.Millisecond))

	dir := t.TempDir()
	card := filepath.Join(dir, "card.txt")
	ns.MustRun(0, "card", "new", "--out", card)
	var ids []string
	var files []string
	for k := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("scan-%d.pdf", k))
		if err := os.WriteFile(path, randomBytes(t, weakVaultBytes/3), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		ids = append(ids, strings.TrimSpace(ns.MustRun(0, "add", "--card", card, "--title", fmt.Sprintf("Scan %d", k+1), path)))
	}
	_, _, _, usedA := nsTransfers(t, ns, 0)

	// B is shown the card: it opens (and keeps) the vault. 'ls' waits
	// (up to 6 minutes, not Run's 2: the transfer itself takes about 2)
	// and is run again if it fails; an attempt that failed leaves what
	// came in B's store, and the next one goes on from there.
	type attempt struct {
		err  error
		took time.Duration
	}
	done := make(chan []attempt, 1)
	openStart := time.Now()
	go func() {
		var tries []attempt
		for time.Since(openStart) < 6*time.Minute {
			s := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute-time.Since(openStart))
			_, stderr, err := ns.run(ctx, 1, "ls", "--card", card)
			cancel()
			if err != nil {
				err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr))
			}
			tries = append(tries, attempt{err, time.Since(s)})
			if err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		done <- tries
	}()

	// Half way through, the link goes for 10 seconds.
	deadline := time.Now().Add(4 * time.Minute)
	for {
		_, got, _, _ := nsTransfers(t, ns, 1)
		if got >= weakVaultBytes/2 {
			t.Logf("B had received %d bytes after %v: cut", got, time.Since(openStart).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B received only %d bytes in 4 minutes", got)
		}
		time.Sleep(250 * time.Millisecond)
	}
	link.Cut()
	time.Sleep(10 * time.Second)
	link.Heal()
	healed := time.Now()

	tries := <-done
	for k, a := range tries {
		t.Logf("B's open, attempt %d: %v after %v", k+1, a.err, a.took.Round(100*time.Millisecond))
	}
	if last := tries[len(tries)-1]; last.err != nil {
		t.Fatalf("the vault never opened at B: %v", last.err)
	}
	t.Logf("15 MB vault opened at B in %v, across a 10 s cut (%v after the link came back)",
		time.Since(openStart).Round(100*time.Millisecond), time.Since(healed).Round(100*time.Millisecond))
	blocks, got, dups, _ := nsTransfers(t, ns, 1)
	t.Logf("B received %d blocks, %d bytes, %d twice; A stores %d bytes; link: %+v", blocks, got, dups, usedA, link.Stats())
	if dups != 0 {
		t.Errorf("B received %d blocks twice: the transfer did not resume where it stopped", dups)
	}
	if got > usedA {
		t.Errorf("B received %d bytes for a vault that A stores in %d", got, usedA)
	}
	for k, id := range ids {
		out := filepath.Join(dir, fmt.Sprintf("got-%d", k))
		ns.MustRun(1, "get", "--card", card, id, "-o", out)
		a, _ := os.ReadFile(files[k])
		b, _ := os.ReadFile(out)
		if string(a) != string(b) {
			t.Fatalf("document %d reads back different at B", k+1)
		}
	}
}

// TestNSPANLater: two nodes start with no network at all; a Bluetooth PAN
// (a new interface, bnep0, 2 Mbit/s and 20 ms each way) comes up between
// them later, as when a laptop joins a Raspberry Pi's PAN or a phone's
// tethering: the nodes find each other by mDNS on it, with no address
// typed and no restart, and a card made at one opens at the other.
func TestNSPANLater(t *testing.T) {
	t.Parallel()
	ns := NewNS(t, NSOptions{N: 2})
	for i := range 2 {
		ns.NoLink(i)
		ns.MustRun(i, "init")
		ns.Start(i)
	}
	time.Sleep(3 * time.Second)
	if out := ns.MustRun(1, "peers"); strings.Contains(out, "/p2p/") {
		t.Fatalf("host 1 has a peer with no network at all:\n%s", out)
	}
	link := ns.PANLink(Shaping{Rate: 2_000_000, Delay: 20 * time.Millisecond})
	up := time.Now()
	waitFor(t, ns, 1, 60*time.Second, ns.PeerID(0), "peers")
	t.Logf("mDNS on the new PAN link: B found A %v after the link came up", time.Since(up).Round(100*time.Millisecond))

	dir := t.TempDir()
	card := filepath.Join(dir, "card.txt")
	ns.MustRun(0, "card", "new", "--out", card)
	id := nsAdd(t, ns, 0, card, "Récépissé", "recepisse.txt", "Récépissé de demande d'asile n° 7512345678")
	waitFor(t, ns, 1, 60*time.Second, id, "ls", "--card", card)
	t.Logf("link: %+v", link.Stats())
}
