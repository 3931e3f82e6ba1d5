package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	flatfs "github.com/ipfs/go-ds-flatfs"
	ipld "github.com/ipfs/go-ipld-format"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Tests of issue 7, finding 4 (and the DAG walks of finding 7): a member
// plays the attacker against what the other members store or believe.

var (
	rawCID = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
	pbCID  = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}
)

// trustNet starts a federation of n connected members; tune sets each
// one's config.
func trustNet(t *testing.T, n int, tune func(i int, cfg *node.Config)) *Net {
	t.Helper()
	names := []string{"CCAS d'Angers", "Accueil de jour Saint-Jean", "Maraude du Nord", "Foyer Emmaüs"}
	net := New(t, n, Options{Config: fastFederation(), Names: names[:n], Tune: tune})
	net.ConnectAll()
	for i := 1; i < n; i++ {
		join(t, net, 0, i)
	}
	eventually(t, 20*time.Second, "members do not know each other", func() bool {
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

func status(t *testing.T, n *node.Node) *node.Status {
	t.Helper()
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func vaultStatus(t *testing.T, n *node.Node, v vault.VaultID) node.VaultStatus {
	t.Helper()
	for _, vs := range status(t, n).Vaults {
		if vs.Vault == v.String() {
			return vs
		}
	}
	t.Fatalf("node does not keep vault %s", v)
	return node.VaultStatus{}
}

func pendingCount(n *node.Node, v vault.VaultID) int {
	p, err := n.PendingDeposits(context.Background(), v)
	if err != nil {
		return -1
	}
	return len(p)
}

// TestTrustOversizedDeposit: a member deposits a document far over what
// the others accept; a member with a storage quota and a member with a
// per-document limit keep nothing of it; a member cannot pile up pending
// deposits in a vault.
func TestTrustOversizedDeposit(t *testing.T) {
	ctx := context.Background()
	const quota = 6 << 20
	net := trustNet(t, 3, func(i int, cfg *node.Config) {
		cfg.Replicas = 3
		switch i {
		case 0:
			cfg.MaxStorageBytes = quota
		case 1:
			cfg.MaxDocumentBytes = 1 << 20
		}
	})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "B and C do not keep the vault", func() bool { return keeps(b, vid) && keeps(c, vid) })
	usedA, usedB := status(t, a).UsedBytes, status(t, b).UsedBytes
	if usedA > quota/2 {
		t.Fatalf("A uses %d bytes before the deposit", usedA)
	}

	// C deposits 10 MB: over A's quota and over B's document limit.
	if _, err := c.Deposit(ctx, vid, bytes.NewReader(randomBytes(t, 10<<20)), node.DepositMetaIn{Title: "Gros fichier"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "A and B do not know of the deposit", func() bool {
		return pendingCount(a, vid) == 1 && pendingCount(b, vid) == 1
	})
	time.Sleep(3 * time.Second) // time to fetch 10 MB on loopback, many times over
	if used := status(t, a).UsedBytes; used > quota {
		t.Fatalf("A uses %d bytes, over its quota of %d", used, quota)
	}
	if grew := status(t, b).UsedBytes - usedB; grew > 1<<20 {
		t.Fatalf("B keeps %d more bytes after a deposit over its document limit", grew)
	}
	if status(t, a).QuotaBytes != quota {
		t.Fatal("A's status does not show its quota")
	}

	// C deposits small letters: its own node refuses the 16th pending one
	// (the large one counts) with a clear error.
	for i := range 16 {
		_, err := c.Deposit(ctx, vid, strings.NewReader(fmt.Sprintf("lettre %d", i)), node.DepositMetaIn{Title: "Lettre"})
		switch {
		case i < 15 && err != nil:
			t.Fatal(err)
		case i == 15 && !errors.Is(err, node.ErrTooManyDeposits):
			t.Fatalf("the 17th pending deposit: got %v, want ErrTooManyDeposits", err)
		}
	}
	// C signs 10 more deposit records itself and announces them: A and B
	// keep 16 pending deposits of C at most.
	for i := range 10 {
		rec, err := proto.SignRecord(Identity(t.Name(), 2), proto.RecordDeposit, vid, time.Now(), proto.JoinFields(rawBlock(t, []byte(fmt.Sprint("forged ", i))).Cid().Bytes(), []byte("sealed")))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []*node.Node{a, b} {
			mustAnnounce(t, ctx, c.Host(), n.ID(), &proto.Announcement{Vault: vid, Records: []*proto.Record{rec}})
		}
	}
	time.Sleep(2 * time.Second)
	for _, n := range []*node.Node{a, b} {
		if k := pendingCount(n, vid); k != 16 {
			t.Fatalf("%s keeps %d pending deposits of one member, want 16 (the bound)", n.Name(), k)
		}
	}

	// A new state of the vault over A's quota (a large document added at
	// C with the card): A does not take it.
	headsA, _ := a.VaultHeads(ctx, vid)
	if _, err := c.Add(ctx, card, bytes.NewReader(randomBytes(t, 10<<20)), node.DocMeta{Title: "Scan"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if used := status(t, a).UsedBytes; used > quota {
		t.Fatalf("A uses %d bytes after a new state, over its quota of %d", used, quota)
	}
	if now, _ := a.VaultHeads(ctx, vid); len(now) != len(headsA) || !now[0].Manifest.Equals(headsA[0].Manifest) {
		t.Fatal("A took a state over its quota")
	}
}

// TestTrustJunkCards: a member attaches 1000 card records of its own
// making to a person's vault; every node keeps at most 16, answers with the
// real card first, and the real card opens the vault everywhere.
func TestTrustJunkCards(t *testing.T) {
	ctx := context.Background()
	net := trustNet(t, 3, func(i int, cfg *node.Config) { cfg.Replicas = 3 })
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Attestation", "Identité", "Attestation de domicile")
	eventually(t, 20*time.Second, "B and C do not keep the vault", func() bool { return keeps(b, vid) && keeps(c, vid) })

	var junk []*proto.CardRecord
	for range 1000 {
		jc, err := vault.NewCard(nil)
		if err != nil {
			t.Fatal(err)
		}
		env := randomBytes(t, 300)
		envCID, _ := rawCID.Sum(env)
		junk = append(junk, &proto.CardRecord{Pointer: jc.SignPointer(envCID, time.Now()), Envelope: env})
	}
	for _, target := range []*node.Node{a, b} {
		for i := 0; i < len(junk); i += proto.MaxCards {
			var err error
			for range 5 { // an attacker tries again
				if err = proto.Announce(ctx, c.Host(), target.ID(), &proto.Announcement{Vault: vid, Cards: junk[i : i+proto.MaxCards]}); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range []*node.Node{a, b} {
		cards, err := n.VaultCards(ctx, vid)
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) > 16 || len(cards) < 8 {
			t.Fatalf("%s keeps %d card records for the vault, want at most 16 (and the junk to have arrived)", n.Name(), len(cards))
		}
		// What a member taking a replica gets: the real card among the
		// few records of the answer.
		answer, err := proto.Cards(ctx, c.Host(), n.ID(), vid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(answer, func(r *proto.CardRecord) bool { return r.Pointer.Lookup == card.LookupID() }) {
			t.Fatalf("%s does not answer the real card among its %d first records", n.Name(), len(answer))
		}
	}
	for _, n := range []*node.Node{a, b, c} {
		if _, err := n.Open(ctx, card); err != nil {
			t.Fatalf("the card does not open at %s: %v", n.Name(), err)
		}
	}
}

// TestTrustFakeHoldings: a member says it keeps 20,000 vaults, one of them
// real; the other member counts none of it, and counts a member as a
// replica once it served a block of the vault.
func TestTrustFakeHoldings(t *testing.T) {
	ctx := context.Background()
	net := trustNet(t, 3, func(i int, cfg *node.Config) { cfg.Replicas = 1 })
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heads, err := a.VaultHeads(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := rawCID.Sum(heads[0].Marshal())
	claims := &proto.Holdings{Vaults: []proto.VaultHeads{{Vault: vid, Heads: []cid.Cid{hc}}}}
	for range 20000 - 1 {
		var v vault.VaultID
		_, _ = rand.Read(v[:])
		fake, _ := rawCID.Sum(v[:])
		claims.Vaults = append(claims.Vaults, proto.VaultHeads{Vault: v, Heads: []cid.Cid{fake}})
	}
	if _, err := proto.Sync(ctx, b.Host(), a.ID(), claims); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		if r := vaultStatus(t, a, vid).Replicas; r != 1 {
			t.Fatalf("A counts %d replicas of a vault only it keeps", r)
		}
		if h := status(t, a).Holdings; h != 0 {
			t.Fatalf("A believes %d holdings that no member showed", h)
		}
	}

	// C gets the card shown, so keeps the vault: A counts it once C served
	// a block.
	if _, err := c.Open(ctx, card); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "A does not count C as a replica", func() bool {
		vs := vaultStatus(t, a, vid)
		return vs.Replicas == 2 && slices.Contains(vs.Holders, c.ID().String())
	})
	if vs := vaultStatus(t, a, vid); slices.Contains(vs.Holders, b.ID().String()) {
		t.Fatalf("A counts B as a holder: %+v", vs)
	}
	if h := status(t, a).Holdings; h != 1 {
		t.Fatalf("A believes %d holdings, want 1", h)
	}
}

// exportFile mirrors the index of an export (node/car.go).
type exportFile struct {
	Version int               `json:"baluchon_export"`
	Vaults  []exportFileVault `json:"vaults"`
}

type exportFileVault struct {
	Vault string   `json:"vault"`
	Heads []string `json:"heads"`
	Cards []struct {
		Pointer  string `json:"pointer"`
		Envelope string `json:"envelope"`
	} `json:"cards"`
	Records []string `json:"records,omitempty"`
}

// writeCAR writes a CAR whose root is the index idx, with blks.
func writeCAR(t *testing.T, idx *exportFile, blks []blocks.Block) []byte {
	t.Helper()
	ib, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	ic, _ := rawCID.Sum(ib)
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, []cid.Cid{ic}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Put(ctx, ic.KeyString(), ib); err != nil {
		t.Fatal(err)
	}
	for _, b := range blks {
		if err := w.Put(ctx, b.Cid().KeyString(), b.RawData()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rawBlock(t *testing.T, data []byte) blocks.Block {
	t.Helper()
	c, _ := rawCID.Sum(data)
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pbNode makes a dag-pb node with data and links to children.
func pbNode(t *testing.T, data string, children ...blocks.Block) *merkledag.ProtoNode {
	t.Helper()
	nd := merkledag.NodeWithData([]byte(data))
	if err := nd.SetCidBuilder(pbCID); err != nil {
		t.Fatal(err)
	}
	for i, ch := range children {
		if err := nd.AddRawLink(fmt.Sprint(i), &ipld.Link{Cid: ch.Cid(), Size: uint64(len(ch.RawData()))}); err != nil {
			t.Fatal(err)
		}
	}
	return nd
}

// TestTrustCraftedCAR: a file holds, next to a real export, blocks that
// nothing verified reaches, a record signed by a non-member, and the head
// of another vault padded with junk blocks; the import stores only what
// verified heads and members' records reach.
func TestTrustCraftedCAR(t *testing.T) {
	ctx := context.Background()
	net := trustNet(t, 2, nil)
	a, b := net.Nodes[0], net.Nodes[1]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addDoc(t, a, card, "Titre de séjour", "Identité", "Titre de séjour, valable dix ans")
	plan, err := a.PlanExportVault(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	var exp bytes.Buffer
	if err := a.WriteExport(ctx, plan, &exp, nil); err != nil {
		t.Fatal(err)
	}
	br, err := carv2.NewBlockReader(bytes.NewReader(exp.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var (
		idx  exportFile
		blks []blocks.Block
	)
	for {
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if blk.Cid().Equals(br.Roots[0]) {
			if err := json.Unmarshal(blk.RawData(), &idx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		blks = append(blks, blk)
	}
	var junk []blocks.Block
	// Blocks that nothing names.
	for range 4 {
		junk = append(junk, rawBlock(t, randomBytes(t, 4096)))
	}
	pn := pbNode(t, "junk", junk[0], junk[1])
	junkPB, _ := blocks.NewBlockWithCid(pn.RawData(), pn.Cid())
	junk = append(junk, junkPB)
	// A record of the vault signed by a non-member.
	stranger, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := proto.SignRecord(stranger, proto.RecordLog, vid, time.Now(), []byte("forged entry"))
	if err != nil {
		t.Fatal(err)
	}
	fb := rawBlock(t, forged.Marshal())
	junk = append(junk, fb)
	idx.Vaults[0].Records = append(idx.Vaults[0].Records, fb.Cid().String())
	// Another vault: a verified head over a small DAG, padded with
	// blocks its DAG does not reach.
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	leaf := rawBlock(t, randomBytes(t, 1000))
	root := pbNode(t, "baluchon manifest v1", leaf)
	rootBlk, _ := blocks.NewBlockWithCid(root.RawData(), root.Cid())
	h, err := keys.SignHead(1, root.Cid(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hb := rawBlock(t, h.Marshal())
	padding := []blocks.Block{rawBlock(t, randomBytes(t, 8192)), rawBlock(t, randomBytes(t, 8192))}
	junk = append(junk, padding...)
	idx.Vaults = append(idx.Vaults, idx.Vaults[0])
	idx.Vaults[1].Vault = keys.VaultID().String()
	idx.Vaults[1].Heads = []string{hb.Cid().String()}
	idx.Vaults[1].Cards = nil
	idx.Vaults[1].Records = nil

	// A record of a vault whose state the file does not bring.
	var other vault.VaultID
	_, _ = rand.Read(other[:])
	orphan, err := proto.SignRecord(stranger, proto.RecordLog, other, time.Now(), []byte("orphan entry"))
	if err != nil {
		t.Fatal(err)
	}
	ob := rawBlock(t, orphan.Marshal())
	junk = append(junk, ob)
	idx.Vaults = append(idx.Vaults, exportFileVault{Vault: other.String(), Heads: []string{}, Records: []string{ob.Cid().String()}})

	all := slices.Concat(blks, junk, []blocks.Block{hb, rootBlk, leaf})
	file := writeCAR(t, &idx, all)
	if _, err := b.Import(ctx, bytes.NewReader(file), nil); err != nil {
		t.Fatal(err)
	}
	for i, j := range junk {
		if b.HasBlock(ctx, j.Cid()) {
			t.Fatalf("junk block %d of the file was stored", i)
		}
	}
	// Inside a federation a state no member attests is left out, with its
	// blocks.
	for _, c := range []cid.Cid{hb.Cid(), rootBlk.Cid(), leaf.Cid()} {
		if b.HasBlock(ctx, c) {
			t.Fatalf("block %s of a state no member wrote was stored", c)
		}
	}
	rs, err := b.VaultRecords(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	strangerID, _ := peer.IDFromPrivateKey(stranger)
	if len(rs) == 0 {
		t.Fatal("the members' records of the file were not taken")
	}
	for _, r := range rs {
		if r.Author == strangerID {
			t.Fatal("a record signed by a non-member was taken")
		}
	}
	if _, err := b.Open(ctx, card); err != nil {
		t.Fatalf("the imported vault does not open: %v", err)
	}

	// Outside a federation: records whose signature verifies and whose
	// vault's verified state the file brings.
	alone := New(t, 1, Options{Seed: "alone"}).Nodes[0]
	if _, err := alone.Import(ctx, bytes.NewReader(file), nil); err != nil {
		t.Fatal(err)
	}
	rs, err = alone.VaultRecords(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rs, func(r *proto.Record) bool { return r.Author == strangerID }) {
		t.Fatal("outside a federation, a signed record of a vault the file brings was not taken")
	}
	if rs, _ := alone.VaultRecords(ctx, other); len(rs) != 0 {
		t.Fatal("a record of a vault whose state the file does not bring was taken")
	}
	for _, c := range []cid.Cid{hb.Cid(), rootBlk.Cid(), leaf.Cid()} {
		if !alone.HasBlock(ctx, c) {
			t.Fatalf("block %s of a verified vault state was not stored outside a federation", c)
		}
	}
	for i, j := range junk[:5] {
		if alone.HasBlock(ctx, j.Cid()) {
			t.Fatalf("junk block %d of the file was stored outside a federation", i)
		}
	}
}

// chain makes a chain of n dag-pb blocks over one raw leaf, and returns
// its blocks, root last.
func chain(t *testing.T, n int) []blocks.Block {
	t.Helper()
	prev := rawBlock(t, []byte("bottom"))
	out := []blocks.Block{prev}
	for i := range n {
		nd := merkledag.NodeWithData([]byte(fmt.Sprint(i)))
		if err := nd.SetCidBuilder(pbCID); err != nil {
			t.Fatal(err)
		}
		if err := nd.AddRawLink("", &ipld.Link{Cid: prev.Cid(), Size: uint64(len(prev.RawData()))}); err != nil {
			t.Fatal(err)
		}
		blk, err := blocks.NewBlockWithCid(nd.RawData(), nd.Cid())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, blk)
		prev = blk
	}
	return out
}

// TestTrustDeepChain: a chain of 100,000 linked tiny blocks as a vault
// state in a file, and a chain of 1,000 as a member's deposit, give a
// clear error, and garbage collection and export still work.
func TestTrustDeepChain(t *testing.T) {
	ctx := context.Background()
	blks := chain(t, 100_000)
	top := blks[len(blks)-1]
	// For the fetch, a chain of 1,000 is deep enough (and quick to write
	// to a store one file per block).
	short := chain(t, 1000)
	shortTop := short[len(short)-1]

	net := trustNet(t, 2, nil)
	a := net.Nodes[0]
	// B, the attacker, holds the chain in its own store.
	net.Stop(1)
	dir := filepath.Join(net.Home(1), "blocks")
	fs, err := flatfs.CreateOrOpen(dir, flatfs.NextToLast(2), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := blockstore.NewBlockstoreNoPrefix(fs).PutMany(ctx, short); err != nil {
		t.Fatal(err)
	}
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	b := net.Start(1, false)
	net.Connect(0, 1)

	// As a vault state in a file.
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	h, err := keys.SignHead(1, top.Cid(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hb := rawBlock(t, h.Marshal())
	idx := &exportFile{Version: 1, Vaults: []exportFileVault{{Vault: keys.VaultID().String(), Heads: []string{hb.Cid().String()}}}}
	file := writeCAR(t, idx, append([]blocks.Block{hb}, blks...))
	_, err = a.Import(ctx, bytes.NewReader(file), nil)
	if !errors.Is(err, node.ErrDAGBound) {
		t.Fatalf("import of a 100,000-deep chain: got %v, want a DAG bound error", err)
	}
	if _, err := a.GC(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := a.PlanExportAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteExport(ctx, plan, io.Discard, nil); err != nil {
		t.Fatal(err)
	}

	// As a deposit of member B in a vault A keeps.
	_, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.BlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := proto.SignRecord(Identity(t.Name(), 1), proto.RecordDeposit, vid, time.Now(), proto.JoinFields(shortTop.Cid().Bytes(), []byte("sealed")))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "B is not connected to A again", func() bool {
		return proto.Announce(ctx, b.Host(), a.ID(), &proto.Announcement{Vault: vid, Records: []*proto.Record{rec}}) == nil
	})
	time.Sleep(5 * time.Second)
	after, err := a.BlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after-before > 200 {
		t.Fatalf("A fetched %d blocks of a 1,000-deep chain", after-before)
	}
	if _, err := a.GC(ctx); err != nil {
		t.Fatal(err)
	}
}
