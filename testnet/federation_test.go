package testnet

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// fastFederation is a config whose sync and grace periods suit a test.
func fastFederation() *node.Config {
	return &node.Config{
		SyncInterval: node.Duration(200 * time.Millisecond),
		ReplicaGrace: node.Duration(2 * time.Second),
		RetireGrace:  node.Duration(time.Second),
		Replicas:     2,
	}
}

// join makes node j a member through an invitation of node i.
func join(t *testing.T, net *Net, i, j int) {
	t.Helper()
	ctx := context.Background()
	code, err := net.Nodes[i].Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := proto.ParseCode(code.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Nodes[j].JoinFederation(ctx, parsed); err != nil {
		t.Fatalf("node %d joins through node %d: %v", j, i, err)
	}
}

// eventually polls cond every 100 ms for up to limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	eventuallyErr(t, limit, what, cond, nil)
}

// mustAnnounce sends a from node to peer to, trying again while the
// receiver resets the stream (over its per-peer stream limits, as a loaded
// machine's own background announcements may leave it).
func mustAnnounce(t *testing.T, ctx context.Context, from host.Host, to peer.ID, a *proto.Announcement) {
	t.Helper()
	var err error
	eventuallyErr(t, 10*time.Second, "announcement refused", func() bool {
		err = proto.Announce(ctx, from, to, a)
		return err == nil
	}, &err)
}

// eventuallyErr is eventually, with the last error the condition saw in
// the failure message.
func eventuallyErr(t *testing.T, limit time.Duration, what string, cond func() bool, last *error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			if last != nil && *last != nil {
				t.Fatalf("after %s: %s (last error: %v)", limit, what, *last)
			}
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func keeps(n *node.Node, v vault.VaultID) bool {
	vs, err := n.Vaults(context.Background())
	return err == nil && slices.Contains(vs, v)
}

// TestFederation: members are admitted by one-time invitations and learn
// of each other; a vault made at A gets a second replica at another member
// without anyone asking; a non-member cannot make a member store anything;
// when the member with the replica disappears for longer than the grace
// period, the remaining member takes a copy.
func TestFederation(t *testing.T) {
	ctx := context.Background()
	net := New(t, 4, Options{Config: fastFederation()})
	a, b, c, d := net.Nodes[0], net.Nodes[1], net.Nodes[2], net.Nodes[3]
	net.ConnectAll()

	join(t, net, 0, 1) // A founds the federation and admits B
	join(t, net, 1, 2) // B admits C
	eventually(t, 10*time.Second, "A does not know C as a member", func() bool { return a.IsMember(c.ID()) })
	fed, members := a.Federation()
	if fed != a.ID() || len(members) != 3 || slices.Contains(members, d.ID()) {
		t.Fatalf("federation %s, members %v", fed, members)
	}

	// An invitation is good for one node only.
	code, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := New(t, 1, Options{Seed: "late", Config: fastFederation()})
	if _, err := other.Nodes[0].JoinFederation(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := d.JoinFederation(ctx, code); !errors.Is(err, node.ErrInvitation) {
		t.Fatalf("second use of an invitation: got %v", err)
	}
	other.Close()

	// A vault made at A is copied to one other member, unasked.
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := a.Add(ctx, card, bytes.NewReader([]byte("Carte d'identité, recto verso")), node.DocMeta{Title: "CNI"})
	if err != nil {
		t.Fatal(err)
	}
	var replica *node.Node
	eventually(t, 20*time.Second, "no member took a replica of the vault", func() bool {
		for _, n := range []*node.Node{b, c} {
			if keeps(n, vid) {
				replica = n
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // a few more sync rounds: still exactly one replica
	if keeps(b, vid) && keeps(c, vid) {
		t.Fatal("both B and C keep the vault: over the target of 2")
	}
	if keeps(d, vid) {
		t.Fatal("the non-member keeps the vault")
	}

	// The non-member D gets the card shown: no member resolves it for D,
	// so D cannot open the vault. D tries to push a state to A: refused,
	// A's store unchanged.
	if _, err := d.Add(ctx, card, bytes.NewReader([]byte("added at a non-member")), node.DocMeta{}); err == nil {
		t.Fatal("a non-member opened a member's vault with its card")
	}
	blocksBefore, _ := a.BlockCount(ctx)
	headsBefore, _ := proto.Heads(ctx, b.Host(), a.ID(), vid) // as member B sees them
	dHeads := headsBefore
	err = proto.Announce(ctx, d.Host(), a.ID(), &proto.Announcement{Vault: vid, Heads: dHeads})
	var re *proto.RemoteError
	if !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Fatalf("announcement by a non-member: got %v, want refused", err)
	}
	if _, err := proto.Sync(ctx, d.Host(), a.ID(), &proto.Holdings{}); !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Fatalf("sync by a non-member: got %v, want refused", err)
	}
	time.Sleep(time.Second)
	blocksAfter, _ := a.BlockCount(ctx)
	headsAfter, _ := proto.Heads(ctx, b.Host(), a.ID(), vid)
	if blocksAfter != blocksBefore || !sameHeads(headsBefore, headsAfter) {
		t.Fatalf("A's store changed after a non-member's push: %d → %d blocks, heads %d → %d", blocksBefore, blocksAfter, len(headsBefore), len(headsAfter))
	}

	// The member with the replica goes away for good: after the grace
	// period the other member takes a copy, and everything is still there.
	remaining := c
	for i, n := range net.Nodes[1:3] {
		if n == replica {
			net.Stop(i + 1)
		} else {
			remaining = n
		}
	}
	// (a replica copies the vault's states, then its card records)
	eventually(t, 30*time.Second, "no member replaced the lost replica", func() bool {
		cards, _ := remaining.VaultCards(ctx, vid)
		return keeps(remaining, vid) && len(cards) > 0
	})
	net.Stop(0) // even A goes: the remaining member has the whole vault
	_, entries, err := remaining.List(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || e.ID == doc.ID
	}
	if !found {
		t.Fatal("the remaining member does not list the document")
	}
	if got := readDoc(t, remaining, card, doc.ID); string(got) != "Carte d'identité, recto verso" {
		t.Fatalf("remaining member reads %q", got)
	}
}

func sameHeads(a, b []*vault.Head) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Marshal(), b[i].Marshal()) {
			return false
		}
	}
	return true
}
