package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// TestSupersedeAdoptions: adopting a state stops the fetches in flight of
// the states it descends from, even when their heads are in no store (the
// chain is known from the fetches in flight themselves), and leaves alone
// a fetch of a state on another branch.
func TestSupersedeAdoptions(t *testing.T) {
	n := startNode(t, Config{})
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := rawPrefix.Sum([]byte("a manifest"))
	now := time.Now()
	sign := func(seq uint64, parents ...head) head {
		t.Helper()
		var ps []cid.Cid
		for _, p := range parents {
			ps = append(ps, p.cid)
		}
		h, err := keys.SignHead(seq, manifest, ps, now)
		if err != nil {
			t.Fatal(err)
		}
		hd, err := newHead(h)
		if err != nil {
			t.Fatal(err)
		}
		return hd
	}
	// 1 ← 2 ← 3 ← 4 on one branch, 1 ← 2' on another; 3 is stored nowhere
	// and fetched by nobody.
	h1 := sign(1)
	h2 := sign(2, h1)
	h3 := sign(3, h2)
	h4 := sign(4, h3)
	other := sign(2, h1)
	other.Time = other.Time.Add(time.Second) // a distinct block
	if other, err = newHead(other.Head); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fetch1, done1 := n.startAdoption(ctx, h1)
	defer done1()
	fetch2, done2 := n.startAdoption(ctx, h2)
	defer done2()
	fetch2again, done2again := n.startAdoption(ctx, h2)
	defer done2again()
	fetchOther, doneOther := n.startAdoption(ctx, other)
	defer doneOther()

	// 3 is not known: the walk from 4 stops there, and stops nothing.
	n.supersedeAdoptions(ctx, h4)
	for _, f := range []context.Context{fetch1, fetch2, fetch2again, fetchOther} {
		if f.Err() != nil {
			t.Fatal("a fetch was stopped although its state's link to the new one is not known")
		}
	}
	// 3 in flight too: 4 descends from 3, 2 (fetched twice) and 1.
	fetch3, done3 := n.startAdoption(ctx, h3)
	defer done3()
	n.supersedeAdoptions(ctx, h4)
	for name, f := range map[string]context.Context{"1": fetch1, "2": fetch2, "2 again": fetch2again, "3": fetch3} {
		if !errors.Is(context.Cause(f), errSuperseded) {
			t.Errorf("fetch of state %s: %v, want it stopped as superseded", name, context.Cause(f))
		}
	}
	if fetchOther.Err() != nil {
		t.Error("the fetch of a state on another branch was stopped")
	}
}
