package testnet

import (
	"context"
	"strings"
	"testing"

	"baluchon/node"
)

// BenchmarkAddSmall measures adding a 1 KiB document: the time is the
// per-state cost (manifest, signed head, its attestation, syncs), not the
// document's.
func BenchmarkAddSmall(b *testing.B) {
	ctx := context.Background()
	net := New(b, 1, Options{})
	n := net.Nodes[0]
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	doc := strings.Repeat("x", 1024)
	b.ResetTimer()
	for b.Loop() {
		if _, err := n.Add(ctx, card, strings.NewReader(doc), node.DocMeta{Title: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
