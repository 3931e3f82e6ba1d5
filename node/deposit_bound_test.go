package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// TestDepositBoundUnderConcurrentAnnouncements: deposits of one structure
// announced by several peers at once are kept up to maxPendingDeposits,
// not one more per announcement taken at the same moment.
func TestDepositBoundUnderConcurrentAnnouncements(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	_, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(i int) *proto.Record {
		doc, _ := rawPrefix.Sum([]byte(fmt.Sprint("deposited document ", i)))
		r, err := proto.SignRecord(key, proto.RecordDeposit, v, time.Now(), proto.JoinFields(doc.Bytes(), []byte("sealed")))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range maxPendingDeposits - 1 {
		n.takeRecords(ctx, []*proto.Record{deposit(i)})
	}
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() { n.takeRecords(ctx, []*proto.Record{deposit(100 + i)}) })
	}
	wg.Wait()
	author, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := n.pendingBy(ctx, v, author); err != nil || k != maxPendingDeposits {
		t.Fatalf("%d pending deposits of one structure kept (%v), want the bound, %d", k, err, maxPendingDeposits)
	}
}
