package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"

	"baluchon/proto"
	"baluchon/vault"
)

// TestCardCap: junk card records fill a vault's place up to the cap and no
// further; a card that opens the vault here always finds a place, pushing
// out the latest-come junk, and opened cards come first.
func TestCardCap(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	var last vault.LookupID
	for range 30 {
		jc, err := vault.NewCard(nil)
		if err != nil {
			t.Fatal(err)
		}
		env := make([]byte, 200)
		_, _ = rand.Read(env)
		c, _ := rawPrefix.Sum(env)
		err = n.takeCard(ctx, v, &proto.CardRecord{Pointer: jc.SignPointer(c, time.Now()), Envelope: env})
		switch {
		case errors.Is(err, ErrTooManyCards):
			refused++
		case err != nil:
			t.Fatal(err)
		default:
			last = jc.LookupID()
		}
	}
	if refused != 30-(maxCardsPerVault-1) {
		t.Fatalf("%d junk records refused, want %d", refused, 30-(maxCardsPerVault-1))
	}
	// A second card of the vault, made here (as a replacement is).
	rec, _, err := n.findCard(ctx, card.LookupID())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := vault.OpenEnvelope(card, rec.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	card2, err := vault.NewCard(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec2, err := n.newCardRecord(ctx, card2, keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.storeCard(ctx, v, rec2); err != nil {
		t.Fatalf("a card made here was refused: %v", err)
	}
	cards, err := n.vaultCards(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != maxCardsPerVault {
		t.Fatalf("%d card records kept, want %d", len(cards), maxCardsPerVault)
	}
	first := map[vault.LookupID]bool{cards[0].Pointer.Lookup: true, cards[1].Pointer.Lookup: true}
	if !first[card.LookupID()] || !first[card2.LookupID()] {
		t.Fatal("the cards opened here do not come first")
	}
	for _, c := range cards {
		if c.Pointer.Lookup == last {
			t.Fatal("the latest-come junk record was not the one pushed out")
		}
	}
	if got, _ := n.localCard(ctx, last); got != nil {
		t.Fatal("the pushed-out record still resolves")
	}
	if _, err := n.Open(ctx, card); err != nil {
		t.Fatal(err)
	}
}

// TestWalkBound: a chain deeper than maxDAGDepth gives ErrDAGBound to
// every walk; a shallow one walks.
func TestWalkBound(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	build := func(depth int) cid.Cid {
		c, err := n.putRaw(ctx, []byte("bottom"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range depth {
			nd := merkledag.NodeWithData([]byte(fmt.Sprint(i)))
			if err := nd.SetCidBuilder(pbPrefix); err != nil {
				t.Fatal(err)
			}
			child, err := n.dag.Get(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := nd.AddNodeLink("", child); err != nil {
				t.Fatal(err)
			}
			if err := n.dag.Add(ctx, nd); err != nil {
				t.Fatal(err)
			}
			c = nd.Cid()
		}
		return c
	}
	shallow, deep := build(maxDAGDepth), build(maxDAGDepth+1)
	count := 0
	if err := walkDAG(ctx, shallow, n.offlineLinks(), func(cid.Cid) bool { count++; return true }); err != nil || count != maxDAGDepth+1 {
		t.Fatalf("shallow walk: %d blocks, %v", count, err)
	}
	if err := walkDAG(ctx, deep, n.offlineLinks(), func(cid.Cid) bool { return true }); !errors.Is(err, ErrDAGBound) {
		t.Fatalf("deep walk: %v", err)
	}
	if _, err := n.fetchDAG(ctx, deep, -1); !errors.Is(err, ErrDAGBound) {
		t.Fatalf("deep fetch: %v", err)
	}
	if _, err := n.fetchDAG(ctx, shallow, -1); err != nil {
		t.Fatalf("shallow fetch: %v", err)
	}
}

// TestGCKeepsFetchInFlight: a collection during a fetch keeps what the
// fetch brought so far, although the fetch holds no lock.
func TestGCKeepsFetchInFlight(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	leaf, err := n.putRaw(ctx, []byte("leaf"))
	if err != nil {
		t.Fatal(err)
	}
	nd := merkledag.NodeWithData([]byte("root"))
	if err := nd.SetCidBuilder(pbPrefix); err != nil {
		t.Fatal(err)
	}
	child, err := n.dag.Get(ctx, leaf)
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.AddNodeLink("", child); err != nil {
		t.Fatal(err)
	}
	if err := n.dag.Add(ctx, nd); err != nil {
		t.Fatal(err)
	}
	release := n.holdFetch(nd.Cid())
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if !n.HasBlock(ctx, nd.Cid()) || !n.HasBlock(ctx, leaf) {
		t.Fatal("a collection deleted the blocks of a fetch in flight")
	}
	release()
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if n.HasBlock(ctx, nd.Cid()) || n.HasBlock(ctx, leaf) {
		t.Fatal("the blocks of a finished, unpinned fetch were kept")
	}
}
