package testnet

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// These tests play a member of the federation turned hostile: it runs its
// own program with its node's key (the testnet identities are derived from
// the test's name) and talks to the other members through its node's host.

// TestTrustCopiedRecoveryRequest: a member copies a genuine recovery
// request with its own key (and a key of its own to receive the shares).
// The copy is refused, the guardians approve the genuine request only
// after confirming who asked, and no share is ever sealed to the copier.
func TestTrustCopiedRecoveryRequest(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 4)
	a, c, d := net.Nodes[0], net.Nodes[2], net.Nodes[3]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := reg.Vault
	var guardians []*node.Node
	for _, n := range net.Nodes {
		if slices.Contains(reg.Guardians, n.ID()) {
			guardians = append(guardians, n)
		}
	}
	if len(guardians) < 2 {
		t.Fatalf("guardians %v: not found among the nodes", reg.Guardians)
	}

	// The card is lost: at C (Maraude du Nord) a worker starts a recovery.
	req, err := c.RecoveryStart(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	var genuine *proto.Record
	eventually(t, 10*time.Second, "the request does not reach the guardians", func() bool {
		for _, g := range guardians {
			if g == d || g == c {
				continue
			}
			rs, err := proto.GetRecords(ctx, d.Host(), g.ID(), v)
			if err != nil {
				return false
			}
			for _, r := range rs {
				if r.Kind == proto.RecordRecovery && r.Author == c.ID() {
					genuine = r
				}
			}
			if genuine == nil {
				return false
			}
		}
		return true
	})

	// D (Foyer Emmaüs) copies it: the same request id, its own signature,
	// and a key of its own to receive the shares. It tries until its copy
	// would be the first one a node finds.
	thief, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	f, err := proto.Fields(genuine.Payload, 3)
	if err != nil {
		t.Fatal(err)
	}
	payload := proto.JoinFields(f[0], []byte(thief.Recipient().String()), f[2])
	key := Identity(t.Name(), 3)
	var copied *proto.Record
	genuineKey := cidOf(genuine).String()
	for i := range 200 {
		r, err := proto.SignRecord(key, proto.RecordRecovery, v, genuine.Time.Add(time.Duration(i)*time.Millisecond), payload)
		if err != nil {
			t.Fatal(err)
		}
		if cidOf(r).String() < genuineKey {
			copied = r
			break
		}
	}
	if copied == nil {
		t.Fatal("no copy sorts before the genuine request")
	}
	for _, g := range guardians {
		if g == d {
			continue
		}
		if err := proto.Announce(ctx, d.Host(), g.ID(), &proto.Announcement{Vault: v, Records: []*proto.Record{copied}}); err != nil {
			t.Logf("announce the copy to %s: %v", g.Name(), err)
		}
	}
	time.Sleep(500 * time.Millisecond)

	// Each guardian lists the genuine request only, under the name C's
	// node signed, and approves it once the worker confirmed C.
	for _, g := range guardians {
		if g == d || g == c {
			continue
		}
		// C's structure record may reach a loaded node after the request.
		eventually(t, 10*time.Second, g.Name()+" does not know the requester's name", func() bool {
			rs, _ := g.RecoveryRequests(ctx)
			return slices.ContainsFunc(rs, func(r node.RecoveryRequest) bool { return r.Name == "Maraude du Nord" })
		})
		rs, err := g.RecoveryRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Requester != c.ID().String() || r.Name != "Maraude du Nord" {
				t.Errorf("%s lists a request from %s (%q)", g.Name(), r.Requester, r.Name)
			}
		}
		if err := g.RecoveryApprove(ctx, cidOf(copied).String(), c.ID()); err == nil {
			t.Errorf("%s approved the copy", g.Name())
		}
		if err := g.RecoveryApprove(ctx, req.ID, d.ID()); err == nil {
			t.Errorf("%s approved with the copier confirmed as the requester", g.Name())
		}
		if err := g.RecoveryApprove(ctx, req.ID, c.ID()); err != nil {
			t.Errorf("%s approves the genuine request: %v", g.Name(), err)
		}
	}
	time.Sleep(500 * time.Millisecond)

	// No approval anywhere opens with the copier's key.
	for _, g := range net.Nodes {
		rs, err := proto.GetRecords(ctx, d.Host(), g.ID(), v)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r.Kind != proto.RecordApproval {
				continue
			}
			af, err := proto.Fields(r.Payload, 3)
			if err != nil {
				continue
			}
			if _, err := vault.OpenShare(af[2], thief); err == nil {
				t.Fatalf("%s sealed its share to the copier", net.Nodes[slices.IndexFunc(net.Nodes, func(n *node.Node) bool { return n.ID() == r.Author })].Name())
			}
			if peer.ID(af[1]) != c.ID() {
				t.Errorf("an approval names %s as the requester", peer.ID(af[1]))
			}
		}
	}
}

func cidOf(r *proto.Record) cid.Cid {
	c, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: 0x12, MhLength: -1}.Sum(r.Marshal())
	return c
}

// TestTrustFakedName: member C writes, with its own key, an access-log
// entry and a deposit whose sealed contents say they come from "CAF" (and
// name A's peer id). The person sees C's name, from C's signed structure
// record, never "CAF".
func TestTrustFakedName(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, c := net.Nodes[0], net.Nodes[2]
	card, v, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Passeport", "Identité", "Passeport de Fatou")
	idText, err := a.ContentIdentity(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.ParseHybridIdentity(idText)
	if err != nil {
		t.Fatal(err)
	}
	to := id.Recipient()

	// A genuine deposit by C gives it a document to point at.
	if _, err := c.Deposit(ctx, v, strings.NewReader("courrier"), node.DepositMetaIn{Title: "Courrier"}); err != nil {
		t.Fatal(err)
	}
	var doc []byte
	eventually(t, 10*time.Second, "A does not get C's deposit", func() bool {
		rs, err := proto.GetRecords(ctx, c.Host(), a.ID(), v)
		if err != nil {
			return false
		}
		for _, r := range rs {
			if r.Kind == proto.RecordDeposit && r.Author == c.ID() {
				f, err := proto.Fields(r.Payload, 2)
				if err == nil {
					doc = f[0]
				}
			}
		}
		return doc != nil
	})

	key := Identity(t.Name(), 2)
	entry := &vault.LogEntry{Time: time.Now().UTC(), Actor: a.ID().String(), ActorName: "CAF", Action: vault.ActionGet, Note: "CAF"}
	sealedEntry, err := entry.Seal(to)
	if err != nil {
		t.Fatal(err)
	}
	logRec, err := proto.SignRecord(key, proto.RecordLog, v, time.Now(), sealedEntry)
	if err != nil {
		t.Fatal(err)
	}
	meta := &vault.DepositMeta{Title: "Attestation de la CAF", Size: 8, By: "CAF", ByPeer: a.ID().String(), Deposited: time.Now().UTC()}
	sealedMeta, err := meta.Seal(to)
	if err != nil {
		t.Fatal(err)
	}
	depRec, err := proto.SignRecord(key, proto.RecordDeposit, v, time.Now(), proto.JoinFields(doc, sealedMeta))
	if err != nil {
		t.Fatal(err)
	}
	mustAnnounce(t, ctx, c.Host(), a.ID(), &proto.Announcement{Vault: v, Records: []*proto.Record{logRec, depRec}})

	o, err := a.Open(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Deposited) != 2 {
		t.Fatalf("%d deposits taken in, want 2", len(o.Deposited))
	}
	for _, e := range o.Deposited {
		if e.AddedBy != "Maraude du Nord" {
			t.Errorf("deposit %q shown as deposited by %q", e.Title, e.AddedBy)
		}
	}
	lines, err := a.AccessLog(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var forged bool
	for _, l := range lines {
		if strings.Contains(l.Who, "CAF") {
			t.Errorf("the log shows %q %s", l.Who, l.Action)
		}
		if l.Action == vault.ActionGet && l.Note == "CAF" {
			forged = true
			if l.Who != "Maraude du Nord" {
				t.Errorf("the forged entry is shown from %q", l.Who)
			}
		}
	}
	if !forged {
		t.Error("the forged entry is not in the log at all: it should be, under its signer's name")
	}
}

// TestTrustRemovedMember: the founder removes member C; the removal
// reaches B; C's later head, records and deposits are refused by A and B,
// C leaves the member lists, and no certificate brings it back.
func TestTrustRemovedMember(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, v, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Passeport", "Identité", "Passeport de Fatou")
	if _, _, err := c.List(ctx, card); err != nil { // C keeps the vault, and saw the card
		t.Fatal(err)
	}
	if _, _, err := b.List(ctx, card); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveMember(ctx, c.ID()); err == nil {
		t.Fatal("B removed a member it did not admit")
	}
	if err := a.RemoveMember(ctx, c.ID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "B does not learn of the removal", func() bool {
		_, ms := b.Federation()
		return !b.IsMember(c.ID()) && !slices.Contains(ms, c.ID())
	})
	if _, ms := a.Federation(); slices.Contains(ms, c.ID()) || len(ms) != 2 {
		t.Fatalf("A's members after the removal: %v (A %s, B %s, C %s, removed %v)", ms, a.ID(), b.ID(), c.ID(), a.Removed())
	}

	// C goes on as if nothing happened: a new document (a head and a log
	// entry), a deposit.
	removedAt := time.Now()
	net.Connect(2, 0)
	net.Connect(2, 1)
	addDoc(t, c, card, "Faux document", "Identité", "écrit par C après son retrait")
	if _, err := c.Deposit(ctx, v, strings.NewReader("dépôt de C"), node.DepositMetaIn{Title: "Dépôt de C"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	for _, n := range []*node.Node{a, b} {
		_, entries, err := n.List(ctx, card)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Title == "Faux document" {
				t.Errorf("%s took the head written by the removed member", n.Name())
			}
		}
		pending, err := n.PendingDeposits(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Errorf("%s keeps the removed member's deposit: %+v", n.Name(), pending)
		}
		if rs, err := proto.GetRecords(ctx, a.Host(), n.ID(), v); err == nil && n != a {
			for _, r := range rs {
				if r.Author == c.ID() && r.Time.After(removedAt) {
					t.Errorf("%s keeps a record the removed member wrote after its removal (kind %d)", n.Name(), r.Kind)
				}
			}
		}
	}

	// C cannot come back: a certificate for C, signed by C itself or by
	// an accomplice member (B), admits nobody.
	fed, _ := a.Federation()
	self, _ := proto.SignMember(Identity(t.Name(), 2), fed, c.ID(), time.Now())
	byB, _ := proto.SignMember(Identity(t.Name(), 1), fed, c.ID(), time.Now())
	_, _ = proto.ExchangeMembers(ctx, b.Host(), a.ID(), &proto.MemberSet{Certs: []*proto.MemberCert{self, byB}})
	time.Sleep(200 * time.Millisecond)
	if a.IsMember(c.ID()) {
		t.Fatal("a certificate re-admitted the removed member")
	}
}

// TestTrustHeadAttribution: every head names, through its attestation,
// the member that wrote it: A's status says which structure made a vault's
// last change.
func TestTrustHeadAttribution(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b := net.Nodes[0], net.Nodes[1]
	card, v, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Passeport", "Identité", "Passeport de Fatou")
	if got := a.HeadAuthor(ctx, v); got != a.ID() {
		t.Fatalf("head author at A: %s, want A", got)
	}
	addDoc(t, b, card, "Attestation CAF", "CAF", "Attestation CAF de Fatou")
	eventually(t, 10*time.Second, "A does not attribute the last change to B", func() bool {
		st, err := a.Status(ctx)
		if err != nil {
			return false
		}
		for _, vs := range st.Vaults {
			if vs.Vault == v.String() && vs.LastChange != nil {
				return vs.LastChange.Name == "Accueil de jour Saint-Jean" && vs.LastChange.Peer == b.ID().String()
			}
		}
		return false
	})
	if got := a.HeadAuthor(ctx, v); got != b.ID() {
		t.Fatalf("head author at A: %s, want B", got)
	}
	// The attestation travels on USB sticks too.
	plan, err := b.PlanExportVault(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteExport(ctx, plan, &buf, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("BLCNVR1\n\x05")) {
		t.Fatal("the export holds no head attestation")
	}
}

// TestTrustVouchOnFounding: a node that took a vault's state outside any
// federation (from a paired peer) vouches for it when it founds one, so
// that a new member takes a replica of it.
func TestTrustVouchOnFounding(t *testing.T) {
	ctx := context.Background()
	net := New(t, 3, Options{Config: fastFederation(), Names: []string{"Hors fédération", "CCAS d'Angers", "Maraude du Nord"}})
	net.ConnectAll()
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, v, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Passeport", "Identité", "Passeport de Fatou")
	if _, _, err := b.List(ctx, card); err != nil { // B keeps the vault now
		t.Fatal(err)
	}
	net.Disconnect(0, 1)
	net.Disconnect(0, 2)
	join(t, net, 1, 2) // B founds a federation, C joins
	eventually(t, 20*time.Second, "C does not take a replica of the vault B vouched for", func() bool {
		return keeps(c, v)
	})
	if got := c.HeadAuthor(ctx, v); got != b.ID() {
		t.Fatalf("C attributes the state to %s, want B (who vouched for it)", got)
	}
}
