package testnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

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

// BenchmarkAddBatchWorkload measures, in-process (no HTTP, no second
// process), one batch of 400 documents shaped as the bench's workload at
// scale 1 (three in four of 11–54 kB, one in four of 65–435 kB), added to
// a vault that grows by 400 each round: what an add costs at the node
// itself. MB/s is of plaintext. The CPU profile of this (-cpuprofile)
// is where docs/performance.md's breakdowns come from.
func BenchmarkAddBatchWorkload(b *testing.B) {
	ctx := context.Background()
	net := New(b, 1, Options{})
	n := net.Nodes[0]
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var docs [][]byte
	total := 0
	for i := 0; i < 400; i++ {
		size := 11_000 + rng.IntN(43_000)
		if i%4 == 3 {
			size = 65_000 + rng.IntN(370_000)
		}
		d := randomBytes(b, size)
		docs = append(docs, d)
		total += size
	}
	b.SetBytes(int64(total))
	b.ResetTimer()
	for b.Loop() {
		_, err := n.AddBatch(ctx, card, func(add node.AddFunc) error {
			for _, d := range docs {
				if _, err := add(io.Reader(bytes.NewReader(d)), node.DocMeta{Title: "x"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
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

// BenchmarkCardReplace measures `card replace` on a vault of documents of
// 5 MB of random bytes: a key rotation that gives each document a new
// header and reuses its payload blocks. "full" is, in the same run, the
// rotation that re-encrypts every byte (the path of documents stored
// before headers had a leaf of their own). MB/s is of the vault's
// plaintext. The vault holds 30 MB; BALUCHON_BENCH_MB=300 makes it 300 MB
// (60 documents), the size of the target.
func BenchmarkCardReplace(b *testing.B) {
	ctx := context.Background()
	total := 30
	if s := os.Getenv("BALUCHON_BENCH_MB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 5 {
			b.Fatalf("BALUCHON_BENCH_MB=%q: want a number of megabytes, 5 or more", s)
		}
		total = v
	}
	const docSize = 5_000_000
	docs := total * 1_000_000 / docSize
	net := New(b, 1, Options{})
	n := net.Nodes[0]
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for range docs {
		if _, err := n.Add(ctx, card, bytes.NewReader(randomBytes(b, docSize)), node.DocMeta{Title: "scan"}); err != nil {
			b.Fatal(err)
		}
	}
	size := int64(docs * docSize)
	report := func(b *testing.B, what string, start time.Time, rounds int) {
		secs := time.Since(start).Seconds() / float64(rounds)
		b.ReportMetric(secs, "s/vault")
		b.Logf("%s of a %d MB vault (%d documents): %.2f s, %.0f MB/s", what, size/1_000_000, docs, secs, float64(size)/1e6/secs)
	}
	b.Run("rekey", func(b *testing.B) {
		b.SetBytes(size)
		start, rounds := time.Now(), 0
		for b.Loop() {
			fresh, _, err := n.Replace(ctx, card)
			if err != nil {
				b.Fatal(err)
			}
			card = fresh
			rounds++
		}
		report(b, "card replace", start, rounds)
	})
	b.Run("full", func(b *testing.B) {
		b.SetBytes(size)
		start, rounds := time.Now(), 0
		for b.Loop() {
			if _, st, err := n.RotateFull(ctx, card); err != nil || st.Reencrypted != docs {
				b.Fatalf("full rotation: %+v, %v", st, err)
			}
			rounds++
		}
		report(b, "full re-encryption", start, rounds)
	})
}
