//go:build linux

package testnet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// nsInit prepares host i's home with a config for a test: short sync and
// grace periods, replicas 2.
func nsInit(t *testing.T, ns *NS, i int) {
	t.Helper()
	ns.MustRun(i, "init")
	cfg := map[string]any{
		"listen":        NSListen,
		"replicas":      2,
		"sync_interval": "1s",
		"replica_grace": "5s",
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(ns.Home(i), "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor runs a command on host i until its output contains want, for up
// to limit.
func waitFor(t *testing.T, ns *NS, i int, limit time.Duration, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	var out, errOut string
	var err error
	for time.Now().Before(deadline) {
		out, errOut, err = ns.Run(i, args...)
		if err == nil && strings.Contains(out, want) {
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("host %d: %q never showed %q within %s; last stdout:\n%s\nstderr:\n%s\nerr: %v\nlog:\n%s", i, args, want, limit, out, errOut, err, ns.Log(i))
	return ""
}

func nsAdd(t *testing.T, ns *NS, i int, card, title, file, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(ns.MustRun(i, "add", "--card", card, "--title", title, path))
}

// TestNSZoneBlanche is the federation scenario across real network stacks:
// four structures with no address typed find each other by mDNS and form a
// federation; a vault made at n1 and opened at n3 syncs; the network splits
// into {n1,n2} | {n3,n4}, and each side adds a document to the same vault;
// once healed, every node lists both documents, byte-identical; n1 is lost
// for good, yet every document is still there and the vault is back to two
// replicas.
func TestNSZoneBlanche(t *testing.T) {
	ns := NewNS(t, NSOptions{N: 4})
	for i := range 4 {
		nsInit(t, ns, i)
		ns.Start(i)
	}
	// mDNS: every node finds the three others, no address given.
	for i := range 4 {
		deadline := time.Now().Add(30 * time.Second)
		for {
			out := ns.MustRun(i, "peers")
			if strings.Count(out, "/p2p/") >= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("host %d found only these peers by mDNS:\n%s\nlog:\n%s", i, out, ns.Log(i))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// The federation: n1 invites the three others.
	for i := 1; i < 4; i++ {
		code := strings.TrimSpace(ns.MustRun(0, "federation", "invite"))
		ns.MustRun(i, "federation", "join", code)
	}
	for i := range 4 {
		waitFor(t, ns, i, 30*time.Second, "(4 members", "status")
	}

	dir := t.TempDir()
	card := filepath.Join(dir, "card.txt")
	ns.MustRun(0, "card", "new", "--out", card)
	doc1 := nsAdd(t, ns, 0, card, "Passeport", "passeport.txt", "Passeport n° 19AB12345, valable 2034")
	// n3 is shown the card: it keeps the vault too.
	waitFor(t, ns, 2, 30*time.Second, doc1, "ls", "--card", card)

	// Partition {n1,n2} | {n3,n4}; each side adds a document.
	ns.Partition([]int{0, 1}, []int{2, 3})
	time.Sleep(2 * time.Second)
	docA := nsAdd(t, ns, 0, card, "Attestation CAF", "caf.txt", "Attestation CAF, ajoutée côté n1 pendant la coupure")
	docB := nsAdd(t, ns, 2, card, "Ordonnance", "ordonnance.txt", "Ordonnance, ajoutée côté n3 pendant la coupure")
	if out := ns.MustRun(0, "ls", "--card", card); strings.Contains(out, docB) {
		t.Fatal("n1 sees n3's document during the partition")
	}

	ns.HealPartition()
	for i := range 4 {
		for _, id := range []string{doc1, docA, docB} {
			waitFor(t, ns, i, 60*time.Second, id, "ls", "--card", card)
		}
	}
	for i := range 4 {
		for id, want := range map[string]string{
			docA: "Attestation CAF, ajoutée côté n1 pendant la coupure",
			docB: "Ordonnance, ajoutée côté n3 pendant la coupure",
		} {
			if got := ns.MustRun(i, "get", "--card", card, id); got != want {
				t.Fatalf("host %d reads %s as %q", i, id, got)
			}
		}
	}

	// n1 is lost for good. Every document is still there, and once the
	// grace period has passed, n1 no longer counts as a replica while the
	// vault is still kept by at least the target of two structures.
	n1 := ns.PeerID(0)
	ns.Kill(0)
	for _, id := range []string{doc1, docA, docB} {
		ns.MustRun(3, "get", "--card", card, id)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			Vaults []struct {
				Replicas int      `json:"replicas"`
				Target   int      `json:"target"`
				Holders  []string `json:"holders"`
			} `json:"vaults"`
		}
		out := ns.MustRun(2, "status", "--json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		if len(st.Vaults) == 1 && !slices.Contains(st.Vaults[0].Holders, n1) && st.Vaults[0].Replicas >= st.Vaults[0].Target && st.Vaults[0].Target == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the vault is not back to its replication target without n1:\n%s", out)
		}
		time.Sleep(time.Second)
	}
}

// TestNSPairingWithoutMulticast: where multicast is blocked, nodes do not
// find each other, and a pairing code connects them.
func TestNSPairingWithoutMulticast(t *testing.T) {
	ns := NewNS(t, NSOptions{N: 2, NoMulticast: true})
	ns.Start(0)
	ns.Start(1)
	time.Sleep(5 * time.Second)
	if out := ns.MustRun(1, "peers"); strings.Contains(out, "/p2p/") {
		t.Fatalf("host 1 found a peer although multicast is blocked:\n%s", out)
	}
	code := strings.TrimSpace(ns.MustRun(0, "pair"))
	if !strings.Contains(code, "-") {
		t.Fatalf("pairing code %q", code)
	}
	ns.MustRun(1, "pair", code)
	out := ns.MustRun(1, "peers")
	if !strings.Contains(out, ns.PeerID(0)) {
		t.Fatalf("host 1 is not connected to host 0 after pairing:\n%s", out)
	}
	// Remembered: after a restart of host 1, it reconnects by itself.
	ns.Stop(1)
	ns.Start(1)
	waitFor(t, ns, 1, 30*time.Second, ns.PeerID(0), "peers")
}
