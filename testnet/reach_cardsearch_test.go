package testnet

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"baluchon/node"
	"baluchon/proto"
)

// TestCardSearchPastAStallingMember: a never-seen card opens while a
// connected member holds the resolve request without ever answering. The
// search asks the DHT beside the connected members and takes the first
// holder that answers, instead of waiting for every connected member (which
// took the whole resolve timeout, then asked the DHT).
func TestCardSearchPastAStallingMember(t *testing.T) {
	ctx := context.Background()
	cfg := fastFederation()
	cfg.SyncInterval = node.Duration(time.Second)
	// One copy of each vault, the holder's: with two, the opener took the
	// second copy in some runs (the ranking depends on the vault's id),
	// and then had the vault before opening it whenever its copy came
	// before the holder's DHT record (more likely since a first open comes
	// by DAG stream, faster).
	cfg.Replicas = 1
	net := New(t, 3, Options{Config: cfg})
	join(t, net, 0, 1)
	join(t, net, 1, 2)
	holder, staller, opener := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	card, vid, err := holder.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Add(ctx, card, bytes.NewReader([]byte("Titre de séjour")), node.DocMeta{Title: "Titre de séjour"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the holder does not provide the card in the DHT", func() bool {
		return holder.Provided(card.LookupID())
	})
	// The staller never answers a resolve request until the test ends.
	release := make(chan struct{})
	defer close(release)
	staller.Host().SetStreamHandler(proto.ResolveID, func(s network.Stream) {
		<-release
		s.Reset()
	})
	// The opener is connected to the staller only; the holder is found in
	// the DHT (or, if a sync round reconnected it, among the members).
	if keeps(opener, vid) {
		t.Fatal("the opener keeps the vault: the test would not search")
	}
	net.Disconnect(2, 0)
	// Half of the resolve timeout: before, the search waited the whole of
	// it for the staller, then asked the DHT with no time left.
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, entries, err := opener.List(octx, card)
	if err != nil {
		t.Fatalf("open the card past a stalling member: %v", err)
	}
	if octx.Err() != nil {
		t.Fatal("the card opened only when the caller's deadline came: the search waited for the stalling member")
	}
	if got != vid || len(entries) != 1 {
		t.Fatalf("opened vault %s with %d documents", got, len(entries))
	}
}
