package proto_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/proto"
)

// TestAdmitBeforeReading: a peer that the handler does not admit gets a
// "refused" status, and the handler never sees its request.
func TestAdmitBeforeReading(t *testing.T) {
	ctx := context.Background()
	client, server, h := pair(t)
	f := newFixture(t)
	h.AddCard(f.rec)
	h.SetHeads(f.keys.VaultID(), f.heads...)
	var (
		mu    sync.Mutex
		asked []protocol.ID
	)
	h.AdmitFunc = func(from peer.ID, id protocol.ID) bool {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, id)
		return from != client.ID()
	}
	var re *proto.RemoteError
	if _, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID()); !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Errorf("resolve by a refused peer: got %v, want refused", err)
	}
	if _, err := proto.Heads(ctx, client, server.ID(), f.keys.VaultID()); !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Errorf("heads by a refused peer: got %v, want refused", err)
	}
	if err := proto.Announce(ctx, client, server.ID(), &proto.Announcement{Vault: f.keys.VaultID(), Heads: f.heads}); !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Errorf("announce by a refused peer: got %v, want refused", err)
	}
	mu.Lock()
	if want := []protocol.ID{proto.ResolveID, proto.HeadsID, proto.AnnounceID}; !slices.Equal(asked, want) {
		t.Errorf("Admit was asked for %v, want %v", asked, want)
	}
	mu.Unlock()
	h.AdmitFunc = nil
	if _, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID()); err != nil {
		t.Errorf("resolve by an admitted peer: %v", err)
	}
	if err := proto.Announce(ctx, client, server.ID(), &proto.Announcement{Vault: f.keys.VaultID(), Heads: f.heads}); err != nil {
		t.Errorf("announce by an admitted peer: %v", err)
	}
}
