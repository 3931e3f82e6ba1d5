package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// vaultOfSizes makes a vault at n holding one document of random bytes
// (drawn from seed) of each of sizes, in one state, and returns its card
// and manifest root.
func vaultOfSizes(t *testing.T, n *Node, seed uint64, sizes ...int) (*vault.Card, cid.Cid) {
	t.Helper()
	ctx := context.Background()
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	_, err = n.AddBatch(ctx, card, func(add AddFunc) error {
		for i, size := range sizes {
			doc := make([]byte, size)
			for j := range doc {
				doc[j] = byte(rng.Uint32())
			}
			if _, err := add(bytes.NewReader(doc), DocMeta{Title: fmt.Sprintf("doc %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	front, err := n.frontier(ctx, v)
	if err != nil || len(front) != 1 {
		t.Fatalf("frontier: %d heads, %v", len(front), err)
	}
	return card, front[0].Manifest
}

// dagStreamPair starts a node holding a vault of a few documents (some
// of several leaves) and a member of its federation connected to it. It
// returns the vault's manifest root, the blocks of its DAG and their
// bytes.
func dagStreamPair(t *testing.T) (a, b *Node, card *vault.Card, root cid.Cid, dag *cid.Set, size int64) {
	t.Helper()
	ctx := context.Background()
	a, b = startNode(t, Config{}), startNode(t, Config{})
	connect(t, b, a)
	code, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinFederation(ctx, code); err != nil {
		t.Fatal(err)
	}
	card, root = vaultOfSizes(t, a, 1, 2500<<10, 700, 1200<<10, 40<<10, 3)
	dag = cid.NewSet()
	err = walkDAG(ctx, root, a.offlineLinks(), func(c cid.Cid) bool {
		dag.Add(c)
		n, err := a.store.blocks.GetSize(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		size += int64(n)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, card, root, dag, size
}

func connect(t *testing.T, from *Node, to *Node) {
	t.Helper()
	if err := from.Host().Connect(context.Background(), peer.AddrInfo{ID: to.ID(), Addrs: to.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// TestDAGStreamMember: a member gets a vault state's DAG in one stream,
// every block once and nothing else, and a first open takes it whole
// from the stream; a non-member is refused before its request is read.
func TestDAGStreamMember(t *testing.T) {
	ctx := context.Background()
	a, b, card, root, dag, size := dagStreamPair(t)

	seen := cid.NewSet()
	err := proto.GetDAG(ctx, b.Host(), a.ID(), root, false, func(c cid.Cid, data []byte) error {
		if !dag.Has(c) {
			return fmt.Errorf("block %s is not in the DAG", c)
		}
		if !seen.Visit(c) {
			return fmt.Errorf("block %s sent twice", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen.Len() != dag.Len() {
		t.Fatalf("%d blocks streamed, the DAG has %d", seen.Len(), dag.Len())
	}

	got, complete, err := b.streamDAG(ctx, root, -1, nil)
	if err != nil || !complete || got != size {
		t.Fatalf("streamDAG: %d of %d bytes, complete %v, %v", got, size, complete, err)
	}
	if !b.completeHere(ctx, root) {
		t.Fatal("the streamed DAG is not complete at the member")
	}
	// The state comes whole through a first open.
	c := startNode(t, Config{})
	connect(t, c, a)
	code, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.JoinFederation(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, card); err != nil {
		t.Fatal(err)
	}
	if !c.completeHere(ctx, root) {
		t.Fatal("a first open left the DAG incomplete")
	}
	// The root came alone first (the declared size is checked on it),
	// and was not sent again; the head block came too.
	if st := c.TransferStats(); st.Duplicates != 0 || st.Bytes < uint64(size) || st.Bytes > uint64(size)+4096 || st.Blocks != uint64(dag.Len())+1 {
		t.Fatalf("a first open received %+v, want the %d blocks of %d bytes once each and the head", st, dag.Len(), size)
	}
	// The connections to a count the streamed bytes, until a disconnects.
	for _, pc := range c.Conns() {
		if pc.Peer == a.ID().String() && pc.ReceivedBytes < uint64(size) {
			t.Fatalf("the connection to the streaming peer says %d bytes received, want at least %d", pc.ReceivedBytes, size)
		}
	}
	if err := c.Host().Network().ClosePeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); c.streamedFrom(a.ID()) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the bytes streamed from a peer are still counted after it disconnected")
		}
	}

	// A budget too small stops the stream with a QuotaError.
	d := startNode(t, Config{})
	connect(t, d, a)
	if code, err = a.Invite(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.JoinFederation(ctx, code); err != nil {
		t.Fatal(err)
	}
	var qe *QuotaError
	if _, _, err := d.streamDAG(ctx, root, size/2, nil); !errors.As(err, &qe) {
		t.Fatalf("streamDAG over the budget: %v, want a QuotaError", err)
	}

	// A non-member is refused, and nothing it sent was read.
	stranger := startNode(t, Config{})
	connect(t, stranger, a)
	taken := 0
	err = proto.GetDAG(ctx, stranger.Host(), a.ID(), root, false, func(cid.Cid, []byte) error { taken++; return nil })
	var re *proto.RemoteError
	if !errors.As(err, &re) || re.Status != proto.StatusRefused || taken != 0 {
		t.Fatalf("a non-member's stream: %v after %d blocks, want refused before any", err, taken)
	}
}

// fakeDAGServer starts a host that answers the DAG stream protocol with
// serve.
func fakeDAGServer(t *testing.T, serve func(w io.Writer)) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	h.SetStreamHandler(proto.DAGStreamID, func(s network.Stream) {
		defer s.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(s, 1<<10))
		msg(s, []byte{byte(proto.StatusOK)})
		serve(s)
	})
	return h
}

// msg writes a length-prefixed message.
func msg(w io.Writer, body []byte) {
	_, _ = w.Write(append(binary.AppendUvarint(nil, uint64(len(body))), body...))
}

// blockMsg writes the message of one block.
func blockMsg(w io.Writer, c cid.Cid, data []byte) {
	cb := c.Bytes()
	msg(w, append(append(binary.AppendUvarint(nil, uint64(len(cb))), cb...), data...))
}

// TestDAGStreamHostile: a peer that sends a block the state does not
// link, or a block that does not match its CID, gets nothing of it
// stored; a stream cut in the middle keeps what came, and the fetch
// resumed takes only the rest.
func TestDAGStreamHostile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b, _, root, _, size := dagStreamPair(t)
	rootBlock, err := a.store.blocks.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	stray := []byte("a block that no block of the state links")
	strayCID, err := rawPrefix.Sum(stray)
	if err != nil {
		t.Fatal(err)
	}
	has := func(c cid.Cid) bool {
		ok, err := b.store.blocks.Has(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		name  string
		serve func(w io.Writer)
		after func()
	}{
		{"not linked", func(w io.Writer) {
			blockMsg(w, strayCID, stray)
			msg(w, nil)
		}, func() {
			if has(strayCID) {
				t.Error("a block that the state does not link was stored")
			}
		}},
		{"corrupt", func(w io.Writer) {
			data := bytes.Clone(rootBlock.RawData())
			data[len(data)-1] ^= 1
			blockMsg(w, root, data)
			msg(w, nil)
		}, func() {
			if has(root) {
				t.Error("a block that does not match its CID was stored")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeDAGServer(t, tc.serve)
			if err := b.Host().Connect(ctx, peer.AddrInfo{ID: fake.ID(), Addrs: fake.Addrs()}); err != nil {
				t.Fatal(err)
			}
			got, complete, err := b.streamDAGFrom(ctx, fake.ID(), root, -1, nil)
			if err != nil || complete || got != 0 {
				t.Fatalf("streamDAGFrom: %d bytes, complete %v, %v; want nothing taken and no stop", got, complete, err)
			}
			tc.after()
		})
	}

	// A stream cut after a few blocks: they are kept, and the fetch that
	// resumes takes the rest only.
	const sent = 6
	fake := fakeDAGServer(t, func(w io.Writer) {
		k := 0
		_ = a.answerDAGStream(ctx, root, func(c cid.Cid, data []byte) error {
			if k == sent {
				return errors.New("cut")
			}
			k++
			blockMsg(w, c, data)
			return nil
		})
		if s, ok := w.(network.Stream); ok {
			time.Sleep(300 * time.Millisecond) // what was sent arrives, then the cut
			_ = s.Reset()
		}
	})
	if err := b.Host().Connect(ctx, peer.AddrInfo{ID: fake.ID(), Addrs: fake.Addrs()}); err != nil {
		t.Fatal(err)
	}
	streamed, complete, err := b.streamDAGFrom(ctx, fake.ID(), root, -1, nil)
	if err != nil || complete || streamed == 0 {
		t.Fatalf("a cut stream: %d bytes, complete %v, %v", streamed, complete, err)
	}
	if !has(root) {
		t.Fatal("the blocks of a cut stream were not kept")
	}
	fake.Close()
	rest, err := b.fetchDAG(withDAGStream(ctx), root, -1)
	if err != nil {
		t.Fatal(err)
	}
	if streamed+rest != size {
		t.Fatalf("%d bytes streamed then %d fetched, the state has %d: something was fetched twice", streamed, rest, size)
	}
	if !b.completeHere(ctx, root) {
		t.Fatal("the resumed fetch left the DAG incomplete")
	}
}

// TestDAGStreamProgress: the progress of a first open counts every byte
// of the state once, whether the stream brings it whole or is cut and
// bitswap brings the rest, whether the root was here before (it is
// fetched alone first, to check the declared size) and whether some
// block below it was.
func TestDAGStreamProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// a holds a vault and answers by bitswap only; the stream comes from
	// m, which holds all of the state or only its first blocks. Outside a
	// federation, the connected peers are trusted.
	a := startNode(t, Config{})
	a.Host().RemoveStreamHandler(proto.DAGStreamID)
	_, root := vaultOfSizes(t, a, 3, 1200<<10, 700, 40<<10, 3)
	// order: the state's blocks in the order a stream sends them.
	var order []cid.Cid
	var size int64
	err := a.answerDAGStream(ctx, root, func(c cid.Cid, data []byte) error {
		order = append(order, c)
		size += int64(len(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rootLinks, err := a.offlineLinks()(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	// deep: a block below a block below the root (were a block that the
	// root links here, the fetch would be a resumed one, without a
	// stream).
	var deep cid.Cid
	for _, c := range order[1:] {
		if !slices.ContainsFunc(rootLinks, func(l *ipld.Link) bool { return l.Cid.Equals(c) }) {
			deep = c
			break
		}
	}
	if !deep.Defined() {
		t.Fatal("the state has no block two links below its root")
	}
	copyBlocks := func(to *Node, cids ...cid.Cid) {
		t.Helper()
		for _, c := range cids {
			blk, err := a.store.blocks.Get(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := to.store.blocks.Put(ctx, blk); err != nil {
				t.Fatal(err)
			}
		}
	}
	whole := startNode(t, Config{})
	copyBlocks(whole, order...)
	const sent = 4
	cut := startNode(t, Config{})
	copyBlocks(cut, order[:sent]...)

	for _, tc := range []struct {
		name string
		m    *Node
		here []cid.Cid // blocks the fetching node has before
	}{
		{"whole", whole, nil},
		{"whole, root here", whole, []cid.Cid{root}},
		{"whole, root and a block below here", whole, []cid.Cid{root, deep}},
		{"cut", cut, nil},
		{"cut, root here", cut, []cid.Cid{root}},
		{"cut, root and a block below here", cut, []cid.Cid{root, deep}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startNode(t, Config{})
			copyBlocks(b, tc.here...)
			connect(t, b, a)
			connect(t, b, tc.m)
			var p Progress
			if _, err := b.fetchDAG(WithProgress(withDAGStream(ctx), &p), root, -1); err != nil {
				t.Fatal(err)
			}
			if !b.completeHere(ctx, root) {
				t.Fatal("the fetch left the DAG incomplete")
			}
			if b.streamed.blocks.Load() == 0 {
				t.Fatal("nothing came by the stream")
			}
			if done, _ := p.Values(); done != uint64(size) {
				t.Fatalf("progress counted %d bytes, the state has %d", done, size)
			}
		})
	}
}
