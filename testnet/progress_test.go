package testnet

import (
	"bytes"
	"context"
	"testing"

	"baluchon/api"
	"baluchon/node"
	"baluchon/vault"
)

// TestOpenProgress: the first copy of a vault to a node reports its
// progress in bytes, up to the whole vault; a second open has nothing to
// fetch and reports none.
func TestOpenProgress(t *testing.T) {
	ctx := context.Background()
	net := New(t, 2, Options{API: true})
	net.Connect(0, 1)
	card, _, err := net.Nodes[0].CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Nodes[0].Add(ctx, card, bytes.NewReader(randomBytes(t, 6<<20)), node.DocMeta{}); err != nil {
		t.Fatal(err)
	}
	cl, err := api.Dial(net.Home(1))
	if err != nil {
		t.Fatal(err)
	}
	var last, total uint64
	calls := 0
	if err := cl.Open(ctx, card, func(d, tt uint64) { last, total = d, tt; calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || total < 6<<20 || last != total {
		t.Fatalf("progress: %d calls, last %d of %d bytes", calls, last, total)
	}
	calls = 0
	if err := cl.Open(ctx, card, func(uint64, uint64) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("a second open reported progress %d times", calls)
	}
	stranger, _ := api.Dial(net.Home(1))
	if err := stranger.Open(ctx, mustStrangerCard(t), nil); err == nil {
		t.Fatal("opened an unknown card")
	}
}

func mustStrangerCard(t *testing.T) *vault.Card {
	c, err := vault.NewCard(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
