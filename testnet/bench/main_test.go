package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary be a bench node too: the bench starts its
// nodes by running its own executable with -node.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-node" {
		if err := runNode(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs the whole benchmark on a sliver of the workload
// (20 documents, 3 MB): every step must work; no figure is judged.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench's smoke run starts two node processes")
	}
	if err := run(0.01, 1, t.TempDir(), 8); err != nil {
		t.Fatal(err)
	}
}

func TestWorkload(t *testing.T) {
	docs := workload(1, 1)
	if len(docs) != 2000 {
		t.Fatalf("%d documents, want 2000", len(docs))
	}
	if total := totalSize(docs); total < 299e6 || total > 300e6 {
		t.Fatalf("%d bytes, want 300 MB", total)
	}
	again := workload(1, 1)
	for i := range docs {
		if docs[i] != again[i] {
			t.Fatal("the workload is not the same for the same seed")
		}
	}
}
