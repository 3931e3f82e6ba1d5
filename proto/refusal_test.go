package proto

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/vault"
)

// refuseAll is a handler that admits no peer.
type refuseAll struct{}

func (refuseAll) Admit(peer.ID, protocol.ID) bool { return false }
func (refuseAll) Resolve(context.Context, peer.ID, vault.LookupID) (*CardRecord, error) {
	return nil, ErrNotFound
}
func (refuseAll) Heads(context.Context, peer.ID, vault.VaultID) ([]*vault.Head, error) {
	return nil, ErrNotFound
}
func (refuseAll) Announce(context.Context, peer.ID, *Announcement) error { return ErrRefused }

func quicHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestRefusalReadAfterStoppedSend: a server refuses a peer without reading
// its request, and over QUIC its close stops the peer's sending. The peer
// must still get the refusal, not "send request: close called for
// canceled stream" (which made TestFederation flaky under load). A request
// larger than QUIC's stream window makes the stopped send certain.
func TestRefusalReadAfterStoppedSend(t *testing.T) {
	ctx := context.Background()
	client, server := quicHost(t), quicHost(t)
	Register(server, refuseAll{}, slog.New(slog.DiscardHandler))
	if err := client.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	req := make([]byte, 4<<20)
	resp, err := roundTrip(ctx, client, server.ID(), AnnounceID, req, 1<<10)
	if err != nil {
		t.Fatalf("a refused request of %d bytes: got %v, want the refusal", len(req), err)
	}
	var re *RemoteError
	if err := newDecoder(resp).expectOK(); !errors.As(err, &re) || re.Status != StatusRefused {
		t.Fatalf("a refused request: got %v, want refused", err)
	}
}
