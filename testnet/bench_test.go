package testnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"baluchon/node"
	"baluchon/vault"
)

// BenchmarkAdd measures storing a 16 MiB document: encryption, chunking,
// blocks written and synced to disk, new signed state. MB/s is plaintext.
func BenchmarkAdd(b *testing.B) {
	ctx := context.Background()
	net := New(b, 1, Options{})
	n := net.Nodes[0]
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	data := randomBytes(b, 16<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := n.Add(ctx, card, bytes.NewReader(data), node.DocMeta{Title: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch measures a structure that has never seen a person getting
// their whole vault (4 documents of 8 MiB) from another node on loopback:
// resolve the card, fetch and pin every block, read every document back.
func BenchmarkFetch(b *testing.B) {
	ctx := context.Background()
	net := New(b, 1, Options{})
	a := net.Nodes[0]
	card, _, err := a.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const docs, size = 4, 8 << 20
	var ids []string
	for range docs {
		e, err := a.Add(ctx, card, bytes.NewReader(randomBytes(b, size)), node.DocMeta{})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	b.SetBytes(docs * size)
	b.ResetTimer()
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		fresh := New(b, 1, Options{Seed: fmt.Sprintf("fresh %d", round)})
		f := fresh.Nodes[0]
		if err := f.Host().Connect(ctx, peerInfo(a)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		fetchAll(b, f, card, ids)
		b.StopTimer()
		fresh.Close()
		b.StartTimer()
	}
}

func fetchAll(b *testing.B, n *node.Node, card *vault.Card, ids []string) {
	ctx := context.Background()
	if _, _, err := n.List(ctx, card); err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		d, err := n.Get(ctx, card, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, d); err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}
