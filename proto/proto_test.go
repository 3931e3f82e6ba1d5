package proto_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	mh "github.com/multiformats/go-multihash"

	"baluchon/proto"
	"baluchon/proto/prototest"
	"baluchon/vault"
)

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}

func pair(t *testing.T) (client, server host.Host, h *prototest.Handler) {
	t.Helper()
	mn, err := mocknet.FullMeshConnected(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mn.Close() })
	hosts := mn.Hosts()
	h = &prototest.Handler{}
	proto.Register(hosts[1], h, slog.New(slog.DiscardHandler))
	return hosts[0], hosts[1], h
}

// fixture is a vault with a card record and two heads.
type fixture struct {
	card  *vault.Card
	keys  *vault.Keys
	rec   *proto.CardRecord
	heads []*vault.Head
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	card, err := vault.NewCard(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := vault.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	env, err := vault.SealEnvelope(card, keys)
	if err != nil {
		t.Fatal(err)
	}
	envCID, err := rawPrefix.Sum(env)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := rawPrefix.Sum([]byte("manifest 1"))
	m2, _ := rawPrefix.Sum([]byte("manifest 2"))
	h1, err := keys.SignHead(1, m1, nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	h1c, _ := rawPrefix.Sum(h1.Marshal())
	h2, err := keys.SignHead(2, m2, []cid.Cid{h1c}, time.Unix(1700000100, 0))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		card:  card,
		keys:  keys,
		rec:   &proto.CardRecord{Pointer: card.SignPointer(envCID, time.Unix(1700000000, 0)), Envelope: env},
		heads: []*vault.Head{h1, h2},
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	client, server, h := pair(t)
	f := newFixture(t)

	if _, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID()); !proto.IsNotFound(err) {
		t.Fatalf("resolve of an unknown card: got %v, want not found", err)
	}
	h.AddCard(f.rec)
	got, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Envelope, f.rec.Envelope) || !got.Pointer.Envelope.Equals(f.rec.Pointer.Envelope) {
		t.Fatal("resolved record differs from the stored one")
	}
	keys, err := vault.OpenEnvelope(f.card, got.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if keys.VaultID() != f.keys.VaultID() {
		t.Fatal("resolved envelope opens another vault")
	}
}

func TestResolveRejectsWrongRecords(t *testing.T) {
	ctx := context.Background()
	client, server, _ := pair(t)
	f := newFixture(t)
	other := newFixture(t)

	// A peer answering with another card's record for this lookup id.
	bad := &lyingHandler{rec: other.rec}
	proto.Register(server, bad, slog.New(slog.DiscardHandler))
	if _, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID()); err == nil {
		t.Fatal("accepted a pointer for another card")
	}
	// An envelope that does not match its pointer.
	bad.rec = &proto.CardRecord{Pointer: f.rec.Pointer, Envelope: other.rec.Envelope}
	if _, err := proto.Resolve(ctx, client, server.ID(), f.card.LookupID()); err == nil {
		t.Fatal("accepted an envelope that does not match its pointer")
	}
}

type lyingHandler struct {
	prototest.Handler
	rec   *proto.CardRecord
	heads []*vault.Head
}

func (l *lyingHandler) Resolve(context.Context, peer.ID, vault.LookupID) (*proto.CardRecord, error) {
	return l.rec, nil
}

func (l *lyingHandler) Heads(context.Context, peer.ID, vault.VaultID) ([]*vault.Head, error) {
	return l.heads, nil
}

func TestHeads(t *testing.T) {
	ctx := context.Background()
	client, server, h := pair(t)
	f := newFixture(t)
	v := f.keys.VaultID()
	if _, err := proto.Heads(ctx, client, server.ID(), v); !proto.IsNotFound(err) {
		t.Fatalf("heads of an unknown vault: got %v, want not found", err)
	}
	h.SetHeads(v, f.heads...)
	got, err := proto.Heads(ctx, client, server.ID(), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Seq != 2 || !bytes.Equal(got[1].Marshal(), f.heads[1].Marshal()) {
		t.Fatalf("got heads %v", got)
	}

	// Heads of another vault, answered for v, are rejected.
	other := newFixture(t)
	proto.Register(server, &lyingHandler{heads: other.heads}, slog.New(slog.DiscardHandler))
	if _, err := proto.Heads(ctx, client, server.ID(), v); err == nil {
		t.Fatal("accepted heads of another vault")
	}
}

func TestAnnounce(t *testing.T) {
	ctx := context.Background()
	client, server, h := pair(t)
	f := newFixture(t)
	a := &proto.Announcement{Vault: f.keys.VaultID(), Heads: f.heads, Cards: []*proto.CardRecord{f.rec}}
	if err := proto.Announce(ctx, client, server.ID(), a); err != nil {
		t.Fatal(err)
	}
	if len(h.Announced) != 1 || len(h.Announced[0].Heads) != 2 || len(h.Announced[0].Cards) != 1 {
		t.Fatalf("handler got %+v", h.Announced)
	}
	h.Refuse = true
	err := proto.Announce(ctx, client, server.ID(), a)
	var re *proto.RemoteError
	if !errors.As(err, &re) || re.Status != proto.StatusRefused {
		t.Fatalf("refused announcement: got %v", err)
	}
	// Heads of another vault in an announcement are refused before the
	// handler sees them.
	other := newFixture(t)
	h.Refuse = false
	bad := &proto.Announcement{Vault: f.keys.VaultID(), Heads: other.heads}
	err = proto.Announce(ctx, client, server.ID(), bad)
	if !errors.As(err, &re) || re.Status != proto.StatusInvalid {
		t.Fatalf("announcement with another vault's heads: got %v", err)
	}
	if len(h.Announced) != 1 {
		t.Fatal("handler saw an invalid announcement")
	}
}

// TestOversizeRequestRefused checks that a request over the protocol's
// limit is not read.
func TestOversizeRequestRefused(t *testing.T) {
	ctx := context.Background()
	client, server, _ := pair(t)
	st, err := client.NewStream(ctx, server.ID(), proto.ResolveID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A length prefix of 1 MiB, then data.
	if _, err := st.Write([]byte{0x80, 0x80, 0x40}); err != nil {
		t.Fatal(err)
	}
	_, _ = st.Write(make([]byte, 1024))
	_ = st.CloseWrite()
	_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(st)
	if err == nil && len(b) > 0 {
		t.Fatalf("server answered an oversize request with %d bytes", len(b))
	}
}
