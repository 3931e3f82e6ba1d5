package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Issue 7: card replacement and recovery are key rotations (a new vault);
// they must neither empty the trash nor rewrite who did what in the
// access log.

// TestTrustTrashAcrossReplacement: a document deleted before a card
// replacement is still in the new card's trash, with its deletion date,
// and restores byte for byte at another node after it.
func TestTrustTrashAcrossReplacement(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b := net.Nodes[0], net.Nodes[1]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := reg.Card
	content := make([]byte, 700<<10) // several blocks: the payload is reused
	rand.Read(content)
	gone, err := a.Add(ctx, old, bytes.NewReader(content), node.DocMeta{Title: "Jugement", Category: "Justice"})
	if err != nil {
		t.Fatal(err)
	}
	live := addDoc(t, a, old, "Passeport", "Identité", "Passeport de Moussa K.")
	if err := a.Remove(ctx, old, gone.ID); err != nil {
		t.Fatal(err)
	}
	before, err := a.Trash(ctx, old)
	if err != nil || len(before) != 1 || before[0].ID != gone.ID {
		t.Fatalf("trash before the replacement: %+v, %v", before, err)
	}

	fresh, _, err := a.Replace(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	var after []node.TrashItem
	eventually(t, 10*time.Second, "the deleted document is not in the new card's trash", func() bool {
		after, err = b.Trash(ctx, fresh)
		return err == nil && len(after) == 1
	})
	it := after[0]
	if it.ID != gone.ID || it.Title != "Jugement" || !it.Deleted.Equal(before[0].Deleted) || !it.Purge.Equal(before[0].Purge) {
		t.Fatalf("trash after the replacement: %+v; before: %+v", it, before[0])
	}
	restored, err := b.Restore(ctx, fresh, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range net.Nodes {
		if got := readDoc(t, n, fresh, restored.ID); !bytes.Equal(got, content) {
			t.Fatalf("node %d: the restored document differs (%d bytes, want %d)", i, len(got), len(content))
		}
		if got := readDoc(t, n, fresh, live.ID); string(got) != "Passeport de Moussa K." {
			t.Fatalf("node %d reads %q", i, got)
		}
	}
}

// TestTrustLogAcrossRotations: after a card replacement at A and a
// recovery finished at C, every line of the access log names the
// structure that really did it; a member that appends a log record to
// the old vault after the rotations, claiming to be another structure,
// shows under its own verified name.
func TestTrustLogAcrossRotations(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	nameA, nameB, nameC := "CCAS d'Angers", "Accueil de jour Saint-Jean", "Maraude du Nord"
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := reg.Card
	step := func() { time.Sleep(20 * time.Millisecond) } // distinct times
	doc := addDoc(t, a, old, "Attestation CAF", "CAF", "Attestation CAF")
	step()
	readDoc(t, b, old, doc.ID)
	step()
	if _, err := c.Deposit(ctx, reg.Vault, strings.NewReader("courrier"), node.DepositMetaIn{Title: "Courrier"}); err != nil {
		t.Fatal(err)
	}
	step()
	// B was shown the card: it keeps the old vault's keys.
	stolen := stealKeys(t, b, a, old)
	fresh, _, err := a.Replace(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	step()

	// The card is lost again; C recovers from the vault id on the paper.
	req, err := c.RecoveryStart(ctx, reg.Vault)
	if err != nil {
		t.Fatal(err)
	}
	card := recoverCard(t, ctx, c, req, a, b)
	_ = fresh
	step()

	// B forges a log line in the old vault: "CAF deposited".
	e := &vault.LogEntry{Time: time.Now().UTC(), Actor: c.ID().String(), ActorName: "CAF", Action: vault.ActionDeposit, Note: "forged by B"}
	sealed, err := e.Seal(stolen.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	r, err := proto.SignRecord(b.Host().Peerstore().PrivKey(b.ID()), proto.RecordLog, reg.Vault, time.Now(), sealed)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []*node.Node{a, c} {
		mustAnnounce(t, ctx, b.Host(), to.ID(), &proto.Announcement{Vault: reg.Vault, Records: []*proto.Record{r}})
	}

	want := []string{
		nameA + " create",
		nameA + " add",
		nameB + " get",
		nameC + " deposit",
		nameA + " replace-card",
		nameC + " recover",
	}
	for i, n := range net.Nodes {
		var lines []node.LogLine
		var got []string
		eventually(t, 10*time.Second, "the log does not hold every action", func() bool {
			lines, err = n.AccessLog(ctx, card)
			got = got[:0]
			forged := false
			for _, l := range lines {
				got = append(got, l.Who+" "+l.Action)
				if l.Note == "forged by B" {
					forged = true
				}
			}
			return err == nil && containsInOrder(got, want) && forged
		})
		for _, l := range lines {
			switch {
			case l.Who == "CAF":
				t.Fatalf("node %d: a faked name reached the log: %+v", i, l)
			case l.Note == "forged by B" && l.Who != nameB:
				t.Fatalf("node %d: the forged line shows as %q, not as its signer %q", i, l.Who, nameB)
			case l.Action == vault.ActionGet && l.DocID == doc.ID && l.Who != nameB:
				t.Fatalf("node %d: B's get shows as %q", i, l.Who)
			case l.Action == vault.ActionDeposit && l.Note != "forged by B" && l.Who != nameC:
				t.Fatalf("node %d: C's deposit shows as %q", i, l.Who)
			}
		}
		if i == 0 {
			t.Logf("log: %s", strings.Join(got, "; "))
		}
	}
	// The manifest's history holds the old identity, encrypted: no home
	// holds it in clear.
	net.Close()
	for i := range net.Nodes {
		found, err := Scan(net.Home(i), map[string][]byte{"old content identity": []byte(stolen.IdentityString())})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 0 {
			t.Fatalf("node %d's home holds in clear: %v", i, found)
		}
	}
}

// TestTrustLogAcrossReplacementOnUSB: the export of a vault by its card
// carries the log written before a card replacement (it stays in the old
// vault): a node cut off from the others reads it from the USB stick,
// each line under the name of the structure that did it.
func TestTrustLogAcrossReplacementOnUSB(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 4)
	a, b, d := net.Nodes[0], net.Nodes[1], net.Nodes[3]
	// D, a member cut off from the others (a zone blanche), gets the stick.
	for i := range 3 {
		net.Disconnect(3, i)
	}
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	doc := addDoc(t, a, reg.Card, "Attestation CAF", "CAF", "Attestation CAF")
	readDoc(t, b, reg.Card, doc.ID)
	fresh, _, err := a.Replace(ctx, reg.Card)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "A does not have B's log line", func() bool {
		lines, err := a.AccessLog(ctx, fresh)
		if err != nil {
			return false
		}
		for _, l := range lines {
			if l.Action == vault.ActionGet && l.Who == "Accueil de jour Saint-Jean" {
				return true
			}
		}
		return false
	})
	plan, err := a.PlanExportVault(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	var car bytes.Buffer
	if err := a.WriteExport(ctx, plan, &car, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Import(ctx, &car, nil); err != nil {
		t.Fatal(err)
	}
	lines, err := d.AccessLog(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Who+" "+l.Action)
	}
	want := []string{"CCAS d'Angers create", "CCAS d'Angers add", "Accueil de jour Saint-Jean get", "CCAS d'Angers replace-card"}
	if !containsInOrder(got, want) {
		t.Fatalf("log at the cut-off node: %v", got)
	}
}
