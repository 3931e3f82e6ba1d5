package testnet

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	mh "github.com/multiformats/go-multihash"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Issue 7, finding 1: a replaced card must keep nothing. The attacker is
// whoever held the old card: they kept a copy of the old envelope's keys
// (resolved from a node before the replacement, opened with the card) and
// craft states signed with the old key, carried to an honest node on a USB
// stick (a CAR export).

// stealKeys resolves the card's envelope from node at, through the libp2p
// host of from, and opens it: what a finder holds.
func stealKeys(t *testing.T, from, at *node.Node, card *vault.Card) *vault.Keys {
	t.Helper()
	rec, err := proto.Resolve(context.Background(), from.Host(), at.ID(), card.LookupID())
	if err != nil {
		t.Fatalf("resolve the card before its replacement: %v", err)
	}
	keys, err := vault.OpenEnvelope(card, rec.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

var (
	rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
	pbPrefix  = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}
)

// forgedState is a vault state signed with stolen keys, as a CAR export:
// an empty manifest, the public state given, and a head whose parents are
// the current heads of the vault (asked of node at through from's host),
// so that it supersedes them.
func forgedState(t *testing.T, from, at *node.Node, keys *vault.Keys, public *vault.PublicState) []byte {
	return forgedChain(t, from, at, keys, public, 1)
}

// forgedChain is forgedState with a chain of n forged heads, each the
// parent of the next: a node that checks a head against its parents only
// sees forged parents.
func forgedChain(t *testing.T, from, at *node.Node, keys *vault.Keys, public *vault.PublicState, n int) []byte {
	t.Helper()
	ctx := context.Background()
	blocks := map[cid.Cid][]byte{}
	raw := func(b []byte) *merkledag.RawNode {
		nd, err := merkledag.NewRawNodeWPrefix(b, rawPrefix)
		if err != nil {
			t.Fatal(err)
		}
		blocks[nd.Cid()] = b
		return nd
	}
	var body bytes.Buffer
	if err := vault.NewManifest().Encrypt(&body, keys.Recipient()); err != nil {
		t.Fatal(err)
	}
	root := merkledag.NodeWithData([]byte("baluchon manifest v1"))
	if err := root.SetCidBuilder(pbPrefix); err != nil {
		t.Fatal(err)
	}
	if err := root.AddNodeLink("m", raw(body.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := root.AddNodeLink("p", raw(public.Marshal())); err != nil {
		t.Fatal(err)
	}
	blocks[root.Cid()] = root.RawData()
	heads, err := proto.Heads(ctx, from.Host(), at.ID(), keys.VaultID())
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	var parents []cid.Cid
	for _, h := range heads {
		seq = max(seq, h.Seq)
		c, _ := rawPrefix.Sum(h.Marshal())
		parents = append(parents, c)
		blocks[c] = h.Marshal()
	}
	// The forger is a member (a structure that was shown the card): it
	// attests the heads it writes, as every member does.
	priv := from.Host().Peerstore().PrivKey(from.ID())
	var hb cid.Cid
	var records []string
	for range n {
		seq++
		h, err := keys.SignHead(seq, root.Cid(), parents, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		hb = raw(h.Marshal()).Cid()
		parents = []cid.Cid{hb}
		att, err := proto.SignRecord(priv, proto.RecordHead, keys.VaultID(), time.Now(), hb.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, `"`+raw(att.Marshal()).Cid().String()+`"`)
	}
	idx := []byte(`{"baluchon_export":1,"vaults":[{"vault":"` + keys.VaultID().String() + `","heads":["` + hb.String() + `"],"cards":[],"records":[` + strings.Join(records, ",") + `]}]}`)
	ic := raw(idx).Cid()
	var car bytes.Buffer
	w, err := storage.NewWritable(&car, []cid.Cid{ic}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, ic.KeyString(), idx); err != nil {
		t.Fatal(err)
	}
	for c, b := range blocks {
		if !c.Equals(ic) {
			if err := w.Put(ctx, c.KeyString(), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return car.Bytes()
}

func isReplaced(err error) bool {
	var cr *node.CardReplacedError
	return errors.As(err, &cr)
}

// TestReplacedCardKeepsNothing: after `card replace`, whoever kept the old
// card and its keys reads no document added since, cannot sign a state
// that makes an honest node accept the old card again, gets the old card's
// envelope from no node, and cannot make a node drop the vault with a
// forged forward.
func TestReplacedCardKeepsNothing(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := reg.Card
	before := addDoc(t, a, old, "Passeport", "Identité", "Passeport de Moussa K.")
	for _, n := range net.Nodes[1:] {
		if _, _, err := n.List(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	stolen := stealKeys(t, c, a, old)

	fresh, newVault, err := a.Replace(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if newVault == reg.Vault {
		t.Fatal("the replacement kept the vault id, so the old keys")
	}
	after := addDoc(t, a, fresh, "Titre de séjour", "Identité", "Titre de séjour de Moussa K.")

	// The old content identity opens no document added since.
	raw, err := a.GetRaw(ctx, fresh, after.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	if _, err := ct.ReadFrom(raw); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := stolen.DecryptDocument(bytes.NewReader(ct.Bytes())); !errors.Is(err, vault.ErrWrongKeys) {
		t.Fatalf("the old keys on a document added after the replacement: %v", err)
	}
	// Nor the documents of before, as the new vault stores them.
	raw, err = a.GetRaw(ctx, fresh, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stolen.DecryptDocument(raw); !errors.Is(err, vault.ErrWrongKeys) {
		t.Fatalf("the old keys on a re-keyed document: %v", err)
	}
	raw.Close()
	for i, n := range net.Nodes {
		eventually(t, 10*time.Second, "the old card is not refused", func() bool {
			_, _, err := n.List(ctx, old)
			return isReplaced(err)
		})
		if got := readDoc(t, n, fresh, before.ID); string(got) != "Passeport de Moussa K." {
			t.Fatalf("node %d reads %q with the new card", i, got)
		}
	}

	// No node hands out the old card's envelope any more.
	for i, n := range net.Nodes {
		for j, from := range net.Nodes {
			if i == j {
				continue
			}
			if _, err := proto.Resolve(ctx, from.Host(), n.ID(), old.LookupID()); err == nil {
				t.Fatalf("node %d resolves the replaced card for node %d", i, j)
			}
		}
	}

	// A state signed with the old key whose public state drops the
	// revocation (and the forward), over the vault's current heads:
	// node B refuses it, or adopts it and still refuses the old card.
	car := forgedState(t, c, b, stolen, stolen.NewPublicState())
	if _, err := b.Import(ctx, bytes.NewReader(car), nil); err != nil {
		t.Logf("import of the forged state: %v", err)
	}
	if _, _, err := b.List(ctx, old); !isReplaced(err) {
		t.Fatalf("after a forged state without the revocation, the old card gets %v", err)
	}
	// Two forged heads in a chain: checked against its (forged) parent,
	// the top one passes, and B adopts it; what B remembers of the vault
	// still refuses the old card.
	car = forgedChain(t, c, b, stolen, stolen.NewPublicState(), 2)
	res, err := b.Import(ctx, bytes.NewReader(car), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.NewStates != 1 {
		t.Fatalf("the forged chain was not adopted (%+v): the check below could not fail", res)
	}
	if _, _, err := b.List(ctx, old); !isReplaced(err) {
		t.Fatalf("after a forged chain of states without the revocation, the old card gets %v", err)
	}
	if _, err := proto.Resolve(ctx, c.Host(), b.ID(), old.LookupID()); err == nil {
		t.Fatal("after a forged state, node B resolves the replaced card")
	}
	if got := readDoc(t, b, fresh, after.ID); string(got) != "Titre de séjour de Moussa K." {
		t.Fatalf("node B reads %q with the new card", got)
	}
}

// TestForgedForwardKeepsVault: a state signed with leaked keys that says
// the vault moved to another makes no node unpin or collect the vault.
func TestForgedForwardKeepsVault(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, v, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := addDoc(t, a, card, "Acte de naissance", "Identité", "Acte de naissance de Moussa K.")
	if _, _, err := b.List(ctx, card); err != nil {
		t.Fatal(err)
	}
	stolen := stealKeys(t, c, a, card)
	elsewhere, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	public := stolen.NewPublicState()
	to := elsewhere.VaultID()
	public.MovedTo = &to
	for _, n := range []*node.Node{a, b} {
		if _, err := n.Import(ctx, bytes.NewReader(forgedState(t, c, n, stolen, public)), nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // longer than the test's retire grace
	for i, n := range []*node.Node{a, b} {
		if _, err := n.GC(ctx); err != nil {
			t.Fatal(err)
		}
		if !n.HasBlock(ctx, doc.CID) {
			t.Fatalf("node %d dropped the document of vault %s after a forged forward", i, v)
		}
		r, err := n.ReadDAG(ctx, doc.CID)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		plain, err := stolen.DecryptDocument(r)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		var got bytes.Buffer
		got.ReadFrom(plain)
		r.Close()
		if got.String() != "Acte de naissance de Moussa K." {
			t.Fatalf("node %d keeps %q", i, got.String())
		}
	}
}

// TestFinderReplacementUndone: someone finds a person's card and has it
// replaced at a structure before the loss is reported. The person, with
// the vault id of their paper file, asks another structure for a recovery:
// it follows the forward to the finder's vault, the guardians (the same
// as the vault's: a replacement keeps them) approve, and the new card
// opens everything while the finder's card and the lost one are refused
// everywhere.
func TestFinderReplacementUndone(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lost := reg.Card
	doc := addDoc(t, a, lost, "Passeport", "Identité", "Passeport de Moussa K.")

	// The finder has the card replaced at B.
	finder, finderVault, err := b.Replace(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	byFinder := addDoc(t, b, finder, "Courrier", "Divers", "Courrier reçu pour Moussa K.")
	finderKeys := stealKeys(t, c, b, finder)

	// The person goes to C with the vault id of the paper file.
	req, err := c.RecoveryStart(ctx, reg.Vault)
	if err != nil {
		t.Fatal(err)
	}
	if req.Vault != finderVault.String() {
		t.Fatalf("the recovery is of vault %s, not of the latest one %s", req.Vault, finderVault)
	}
	card := recoverCard(t, ctx, c, req, a, b)
	// The finder still has the keys of their card's vault: they sign a
	// state of it without the revocations, and bring it to A.
	eventually(t, 10*time.Second, "A does not refuse the finder's card", func() bool {
		_, _, err := a.List(ctx, finder)
		return isReplaced(err)
	})
	if _, err := a.Import(ctx, bytes.NewReader(forgedState(t, b, a, finderKeys, finderKeys.NewPublicState())), nil); err != nil {
		t.Fatal(err)
	}
	// What the person adds now, the finder's keys do not open.
	later := addDoc(t, c, card, "Récépissé", "Identité", "Récépissé de demande de titre")
	raw, err := c.GetRaw(ctx, card, later.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := finderKeys.DecryptDocument(raw); !errors.Is(err, vault.ErrWrongKeys) {
		t.Fatalf("the finder's keys on a document added after the recovery: %v", err)
	}
	raw.Close()
	for i, n := range net.Nodes {
		for name, k := range map[string]*vault.Card{"finder's": finder, "lost": lost} {
			eventually(t, 10*time.Second, "the "+name+" card is not refused", func() bool {
				_, _, err := n.List(ctx, k)
				return isReplaced(err)
			})
		}
		if got := readDoc(t, n, card, doc.ID); string(got) != "Passeport de Moussa K." {
			t.Fatalf("node %d reads %q with the recovered card", i, got)
		}
		if got := readDoc(t, n, card, byFinder.ID); !strings.Contains(string(got), "Courrier") {
			t.Fatalf("node %d reads %q with the recovered card", i, got)
		}
	}
}

// TestForgedForwardDoesNotStopRecovery: whoever holds a vault's leaked
// keys signs a forward to a vault of their own (whose guardians would be
// theirs); a recovery started from the person's vault id does not follow
// it, and the guardians of the vault still give the person a new card.
func TestForgedForwardDoesNotStopRecovery(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 3)
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	reg, err := a.Register(ctx, node.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	doc := addDoc(t, a, reg.Card, "Passeport", "Identité", "Passeport de Moussa K.")
	if _, _, err := b.List(ctx, reg.Card); err != nil {
		t.Fatal(err)
	}
	stolen := stealKeys(t, c, a, reg.Card)
	theirs, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	public := stolen.NewPublicState()
	to := theirs.VaultID()
	public.MovedTo = &to
	for _, n := range []*node.Node{a, b} {
		if _, err := n.Import(ctx, bytes.NewReader(forgedState(t, c, n, stolen, public)), nil); err != nil {
			t.Fatal(err)
		}
	}
	req, err := c.RecoveryStart(ctx, reg.Vault)
	if err != nil {
		t.Fatalf("recovery after a forged forward: %v", err)
	}
	card := recoverCard(t, ctx, c, req, a, b)
	for i, n := range net.Nodes {
		eventually(t, 10*time.Second, "the lost card is not refused", func() bool {
			_, _, err := n.List(ctx, reg.Card)
			return isReplaced(err)
		})
		if got := readDoc(t, n, card, doc.ID); string(got) != "Passeport de Moussa K." {
			t.Fatalf("node %d reads %q with the recovered card", i, got)
		}
	}
}

// recoverCard has each guardian approve recovery request req (once it
// sees it, alone) for the structure at, then finishes it there and
// returns the new card.
func recoverCard(t *testing.T, ctx context.Context, at *node.Node, req *node.RecoveryRequest, guardians ...*node.Node) *vault.Card {
	t.Helper()
	for _, g := range guardians {
		eventually(t, 10*time.Second, g.Name()+" does not see the request", func() bool {
			rs, _ := g.RecoveryRequests(ctx)
			return len(rs) == 1 && rs[0].ID == req.ID
		})
		if err := g.RecoveryApprove(ctx, req.ID, at.ID()); err != nil {
			t.Fatal(err)
		}
	}
	var card *vault.Card
	var err error
	eventuallyErr(t, 10*time.Second, "the recovery does not finish", func() bool {
		card, _, err = at.RecoveryFinish(ctx, req.ID)
		return err == nil
	}, &err)
	return card
}
