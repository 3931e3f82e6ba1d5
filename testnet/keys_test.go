package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"baluchon/node"
	"baluchon/vault"
)

// federated starts n nodes named "Structure A", "Structure B"… in one
// federation founded by the first, and waits until each knows every
// other's structure key.
func federated(t *testing.T, n int) *Net {
	t.Helper()
	names := []string{"CCAS d'Angers", "Accueil de jour Saint-Jean", "Maraude du Nord", "Foyer Emmaüs"}
	net := New(t, n, Options{Config: fastFederation(), Names: names[:n]})
	net.ConnectAll()
	for i := 1; i < n; i++ {
		join(t, net, 0, i)
	}
	eventually(t, 20*time.Second, "members do not know each other's structure keys", func() bool {
		for _, a := range net.Nodes {
			for _, b := range net.Nodes {
				if !a.IsMember(b.ID()) || !a.KnowsStructure(b.ID()) {
					return false
				}
			}
		}
		return true
	})
	return net
}

func addDoc(t *testing.T, n *node.Node, card *vault.Card, title, category, content string) vault.Entry {
	t.Helper()
	e, err := n.Add(context.Background(), card, strings.NewReader(content), node.DocMeta{Title: title, Category: category})
	if err != nil {
		t.Fatalf("add %s: %v", title, err)
	}
	return e
}

// TestRecovery: a person loses their card; at another structure a worker
// starts a recovery; one guardian's approval is not enough, two are; the
// new card opens everything at every node, and the old one is refused at
// every node.
func TestRecovery(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Guardians) != 3 || reg.Threshold != 2 {
		t.Fatalf("guardians %v, threshold %d; want 2 of 3", reg.Guardians, reg.Threshold)
	}
	old := reg.Card
	doc1 := addDoc(t, a, old, "Passeport", "Identité", "Passeport de Moussa K.")
	doc2 := addDoc(t, a, old, "Attestation CAF", "CAF", "Attestation CAF de Moussa K.")

	// A share alone rebuilds nothing.
	share, err := a.GuardianShare(ctx, reg.Vault)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.CombineShares([]*vault.Share{share}); !errors.Is(err, vault.ErrNotEnoughShares) {
		t.Fatalf("one share: got %v, want ErrNotEnoughShares", err)
	}

	// The card is lost. At C, a worker starts a recovery.
	req, err := c.RecoveryStart(ctx, reg.Vault)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "guardian A does not see the request", func() bool {
		rs, _ := a.RecoveryRequests(ctx)
		return len(rs) == 1 && rs[0].ID == req.ID
	})
	if err := a.RecoveryApprove(ctx, req.ID, c.ID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, _, err := c.RecoveryFinish(ctx, req.ID); !errors.Is(err, vault.ErrNotEnoughShares) {
		t.Fatalf("finish with one approval: got %v, want ErrNotEnoughShares", err)
	}
	eventually(t, 10*time.Second, "guardian B does not see the request", func() bool {
		rs, _ := b.RecoveryRequests(ctx)
		return len(rs) == 1
	})
	if err := b.RecoveryApprove(ctx, req.ID, c.ID()); err != nil {
		t.Fatal(err)
	}
	var card *vault.Card
	eventually(t, 10*time.Second, "recovery does not finish with two approvals", func() bool {
		card, _, err = c.RecoveryFinish(ctx, req.ID)
		return err == nil
	})
	if card.String() == old.String() {
		t.Fatal("the recovered card is the old one")
	}

	// The new card opens everything everywhere; the old one is refused
	// everywhere, with the date.
	for i, n := range net.Nodes {
		eventually(t, 10*time.Second, "old card still opens", func() bool {
			_, _, err := n.List(ctx, old)
			var cr *node.CardReplacedError
			return errors.As(err, &cr)
		})
		_, _, err := n.List(ctx, old)
		if !strings.Contains(err.Error(), "this card was replaced on") || !strings.Contains(err.Error(), "ask for the new one") {
			t.Fatalf("node %d: old card refused with %q", i, err)
		}
		if got := readDoc(t, n, card, doc1.ID); string(got) != "Passeport de Moussa K." {
			t.Fatalf("node %d reads %q with the new card", i, got)
		}
		if got := readDoc(t, n, card, doc2.ID); string(got) != "Attestation CAF de Moussa K." {
			t.Fatalf("node %d reads %q with the new card", i, got)
		}
	}
}

// TestCardReplace: a person who still has the card gets a new one; the
// old one stops working at every node.
func TestCardReplace(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a := net.Nodes[0]
	card, _, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := addDoc(t, a, card, "Bulletin de paie", "Travail", "Bulletin de paie de mars")
	for _, n := range net.Nodes[1:] {
		if _, _, err := n.List(ctx, card); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := a.ReplaceCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range net.Nodes {
		eventually(t, 10*time.Second, "old card still opens", func() bool {
			_, _, err := n.List(ctx, card)
			var cr *node.CardReplacedError
			return errors.As(err, &cr)
		})
		if got := readDoc(t, n, fresh, doc.ID); string(got) != "Bulletin de paie de mars" {
			t.Fatalf("node %d reads %q with the new card", i, got)
		}
	}
}

// TestDelegation: with the card, the person lets structure B open their
// CAF documents for a month; B opens a CAF document without the card, is
// refused a health document; a new CAF document joins the delegation; once
// revoked, B and every other node are refused.
func TestDelegation(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caf := addDoc(t, a, card, "Attestation CAF", "CAF", "Attestation CAF: 612,45 EUR")
	sante := addDoc(t, a, card, "Ordonnance", "Santé", "Ordonnance du Dr Martin")
	id, err := a.Delegate(ctx, card, node.DelegateOptions{To: b.ID(), Categories: []string{"CAF"}, Until: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var docs []vault.Entry
	eventually(t, 10*time.Second, "B does not see the delegation", func() bool {
		docs, err = b.DelegatedList(ctx, vid)
		return err == nil
	})
	if len(docs) != 1 || docs[0].ID != caf.ID {
		t.Fatalf("B lists %v through the delegation", docs)
	}
	if got := readDelegated(t, b, vid, caf.ID); got != "Attestation CAF: 612,45 EUR" {
		t.Fatalf("B reads %q", got)
	}
	if _, err := b.DelegatedGet(ctx, vid, sante.ID); !errors.Is(err, node.ErrNoDelegation) {
		t.Fatalf("B opens the health document: %v", err)
	}
	if _, err := c.DelegatedList(ctx, vid); !errors.Is(err, node.ErrNoDelegation) {
		t.Fatalf("C, without a delegation: %v", err)
	}
	caf2 := addDoc(t, a, card, "Attestation CAF avril", "CAF", "Attestation CAF d'avril")
	eventually(t, 10*time.Second, "the new CAF document does not join the delegation", func() bool {
		docs, _ := b.DelegatedList(ctx, vid)
		return len(docs) == 2
	})
	if got := readDelegated(t, b, vid, caf2.ID); got != "Attestation CAF d'avril" {
		t.Fatalf("B reads %q", got)
	}
	if err := a.RevokeDelegation(ctx, card, id); err != nil {
		t.Fatal(err)
	}
	for i, n := range net.Nodes {
		eventually(t, 10*time.Second, "a revoked delegation still opens", func() bool {
			_, err := n.DelegatedGet(ctx, vid, caf.ID)
			return errors.Is(err, node.ErrNoDelegation)
		})
		if _, err := n.DelegatedList(ctx, vid); !errors.Is(err, node.ErrNoDelegation) {
			t.Fatalf("node %d lists through a revoked delegation: %v", i, err)
		}
	}
	list, err := a.Delegations(ctx, card)
	if err != nil || len(list) != 1 || list[0].Revoked.IsZero() {
		t.Fatalf("delegations %+v (%v)", list, err)
	}
}

func readDelegated(t *testing.T, n *node.Node, v vault.VaultID, id string) string {
	t.Helper()
	d, err := n.DelegatedGet(context.Background(), v, id)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeposit: structure C, which receives the person's mail, deposits a
// scanned letter without the card; it is pending; C cannot list or read
// the vault; at the next card session the document joins the vault and the
// person is told who deposited it.
func TestDeposit(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, c := net.Nodes[0], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Passeport", "Identité", "Passeport secret de Fatou")
	letter := []byte("Courrier de la CAF: rendez-vous le 12 mars")
	if _, err := c.Deposit(ctx, vid, bytes.NewReader(letter), node.DepositMetaIn{Title: "Courrier CAF", Category: "CAF", FileName: "courrier.pdf"}); err != nil {
		t.Fatal(err)
	}
	var pending []node.PendingDeposit
	eventually(t, 20*time.Second, "A does not see the deposit as pending", func() bool {
		pending, err = a.PendingDeposits(ctx, vid)
		return err == nil && len(pending) == 1
	})
	if pending[0].By != "Maraude du Nord" {
		t.Fatalf("pending at A: %+v", pending)
	}
	if _, err := c.DelegatedList(ctx, vid); !errors.Is(err, node.ErrNoDelegation) {
		t.Fatalf("the depositor lists the vault: %v", err)
	}
	o, err := a.Open(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Deposited) != 1 || o.Deposited[0].AddedBy != "Maraude du Nord" || o.Deposited[0].Title != "Courrier CAF" {
		t.Fatalf("deposited: %+v", o.Deposited)
	}
	if len(o.Entries) != 2 {
		t.Fatalf("the vault lists %d documents, want 2", len(o.Entries))
	}
	if got := readDoc(t, a, card, o.Deposited[0].ID); !bytes.Equal(got, letter) {
		t.Fatalf("the deposited letter reads %q", got)
	}
	if pending, _ := a.PendingDeposits(ctx, vid); len(pending) != 0 {
		t.Fatalf("still pending after the card session: %+v", pending)
	}
	o, err = a.Open(ctx, card)
	if err != nil || len(o.Deposited) != 0 || len(o.Entries) != 2 {
		t.Fatalf("second session: %+v (%v)", o, err)
	}
}

// TestAccessLog: every action on a vault, at whatever node, is in its log,
// in order, readable with the card in plain words; no home holds it in
// plaintext.
func TestAccessLog(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func() { time.Sleep(20 * time.Millisecond) } // distinct times
	doc := addDoc(t, a, card, "Attestation CAF", "CAF", "Attestation CAF")
	step()
	if _, _, err := b.List(ctx, card); err != nil {
		t.Fatal(err)
	}
	step()
	readDoc(t, b, card, doc.ID)
	step()
	if _, err := c.Deposit(ctx, vid, strings.NewReader("courrier"), node.DepositMetaIn{Title: "Courrier"}); err != nil {
		t.Fatal(err)
	}
	step()
	id, err := a.Delegate(ctx, card, node.DelegateOptions{To: b.ID(), Categories: []string{"CAF"}, Until: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	step()
	eventually(t, 10*time.Second, "B does not see the delegation", func() bool {
		_, err := b.DelegatedGet(ctx, vid, doc.ID)
		return err == nil
	})
	step()
	if err := a.RevokeDelegation(ctx, card, id); err != nil {
		t.Fatal(err)
	}
	step()
	fresh, err := a.ReplaceCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	step()
	var lines []node.LogLine
	eventually(t, 10*time.Second, "the log does not hold every action", func() bool {
		lines, err = c.AccessLog(ctx, fresh)
		return err == nil && len(lines) >= 10
	})
	var got []string
	for _, l := range lines {
		got = append(got, l.Who+" "+l.Action)
	}
	want := []string{
		"CCAS d'Angers create",
		"CCAS d'Angers add",
		"Accueil de jour Saint-Jean list",
		"Accueil de jour Saint-Jean get",
		"Maraude du Nord deposit",
		"CCAS d'Angers delegate",
		"Accueil de jour Saint-Jean get",
		"CCAS d'Angers revoke-delegation",
		"CCAS d'Angers replace-card",
	}
	if !containsInOrder(got, want) {
		t.Fatalf("log:\n%s\nwant, in order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range lines {
		if l.Action == "get" && l.DocTitle != "Attestation CAF" {
			t.Fatalf("a download's title is %q", l.DocTitle)
		}
	}
	net.Close()
	for i := range 3 {
		found, err := Scan(net.Home(i), map[string][]byte{
			"log action": []byte(`"action":"`),
			"delegation": []byte(`revoke-delegation`),
			"doc title":  []byte(`Attestation CAF`),
		})
		if err != nil {
			t.Fatal(err)
		}
		for what, files := range found {
			t.Errorf("node %d stores %s in plaintext in %v", i, what, files)
		}
	}
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestRotation: when the vault keys may have leaked, a full rotation
// re-encrypts every document to new keys; the card keeps working at every
// node, delegations and the log follow, and the old content identity opens
// no block that any node still pins.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b := net.Nodes[0], net.Nodes[1]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	card, oldVault := reg.Card, reg.Vault
	big := randomBytes(t, 3<<20)
	d1, err := a.Add(ctx, card, bytes.NewReader(big), node.DocMeta{Title: "Scan", Category: "CAF"})
	if err != nil {
		t.Fatal(err)
	}
	d2 := addDoc(t, a, card, "Ordonnance", "Santé", "Ordonnance du Dr Martin")
	for _, n := range net.Nodes[1:] {
		if _, _, err := n.List(ctx, card); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Delegate(ctx, card, node.DelegateOptions{To: b.ID(), Categories: []string{"CAF"}, Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	oldIdentity, err := a.ContentIdentity(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(oldIdentity))
	if err != nil {
		t.Fatal(err)
	}

	for i, n := range net.Nodes {
		if k := oldKeysOpen(t, n, ids); k < 3 {
			t.Fatalf("before the rotation, node %d pins only %d files the identity opens: the check below could not fail", i, k)
		}
	}

	oldDocs := []vault.Entry{d1, d2}
	newVault, err := a.Rotate(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if newVault == oldVault {
		t.Fatal("rotation kept the vault id")
	}
	newIdentity, err := a.ContentIdentity(ctx, card)
	if err != nil || newIdentity == oldIdentity {
		t.Fatalf("content identity after rotation: same=%v (%v)", newIdentity == oldIdentity, err)
	}
	for i, n := range net.Nodes {
		var lastErr error
		eventuallyErr(t, 20*time.Second, "the card does not open the new vault", func() bool {
			v, _, err := n.List(ctx, card)
			lastErr = err
			if err == nil && v != newVault {
				lastErr = fmt.Errorf("node %d opens vault %s, not the new one", i, v)
			}
			return err == nil && v == newVault
		}, &lastErr)
		if got := readDoc(t, n, card, d1.ID); !bytes.Equal(got, big) {
			t.Fatalf("node %d: the scan differs after rotation", i)
		}
		if got := readDoc(t, n, card, d2.ID); string(got) != "Ordonnance du Dr Martin" {
			t.Fatalf("node %d reads %q", i, got)
		}
	}
	if docs, err := b.DelegatedList(ctx, oldVault); err != nil || len(docs) != 1 {
		t.Fatalf("the delegation does not follow the rotation: %v (%v)", docs, err)
	}
	// No node pins a block the old identity opens.
	for i, n := range net.Nodes {
		eventually(t, 20*time.Second, "a node still pins data of the old keys", func() bool {
			return oldKeysOpen(t, n, ids) == 0
		})
		t.Logf("node %d pins %d files, none opened by the old identity", i, len(n.PinnedFiles(ctx)))
		// And the old ciphertext leaves the disk.
		eventually(t, 20*time.Second, "a node still stores a document encrypted to the old keys", func() bool {
			for _, e := range oldDocs {
				if n.HasBlock(ctx, e.CID) {
					return false
				}
			}
			return true
		})
	}
	lines, err := a.AccessLog(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range lines {
		actions = append(actions, l.Action)
	}
	if !containsInOrder(actions, []string{"create", "add", "add", "delegate", "rotate"}) {
		t.Fatalf("log after rotation: %v", actions)
	}
}

// oldKeysOpen counts the pinned roots of n whose bytes are an age file
// that ids decrypt.
func oldKeysOpen(t *testing.T, n *node.Node, ids []age.Identity) int {
	ctx := context.Background()
	count := 0
	for _, c := range n.PinnedFiles(ctx) {
		// A pinned block should be here; if a read waits on the network
		// (under load, a state still being taken in), it is counted as
		// still open rather than let the test hang or pass.
		open, stuck := func() (bool, bool) {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			r, err := n.ReadDAG(rctx, c)
			if err != nil {
				return false, rctx.Err() != nil // else not a file: a manifest root
			}
			head := make([]byte, 21)
			k, _ := io.ReadFull(r, head)
			r.Close()
			if string(head[:k]) != "age-encryption.org/v1" {
				return false, rctx.Err() != nil
			}
			if r, err = n.ReadDAG(rctx, c); err != nil {
				return false, rctx.Err() != nil
			}
			defer r.Close()
			_, err = age.Decrypt(r, ids...)
			return err == nil, rctx.Err() != nil
		}()
		if open || stuck {
			count++
		}
	}
	return count
}
