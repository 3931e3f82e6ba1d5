package node

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/test"
)

// TestReach: a node on loopback says "LAN only"; one declared public in
// its config says "direct"; a reachability that is neither is refused.
func TestReach(t *testing.T) {
	if got := startNode(t, Config{}).Reach(); got != ReachLAN {
		t.Errorf("a loopback node is reachable %q, want %q", got, ReachLAN)
	}
	if got := startNode(t, Config{Reachability: "public"}).Reach(); got != ReachDirect {
		t.Errorf("a node declared public is reachable %q, want %q", got, ReachDirect)
	}
	cfg := Config{Reachability: "sometimes"}
	if err := cfg.Validate(); err == nil {
		t.Error("reachability \"sometimes\" was accepted")
	}
}

// TestRelayAndDHTForMembersOnly: the relay a member runs takes
// reservations from members only and relays between members only; the
// federation's DHT resets a non-member's stream before reading it.
func TestRelayAndDHTForMembersOnly(t *testing.T) {
	ctx := context.Background()
	a, b, c := startNode(t, Config{}), startNode(t, Config{}), startNode(t, Config{})
	if err := b.Host().Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinFederation(ctx, code); err != nil {
		t.Fatal(err)
	}
	stranger := test.RandPeerIDFatal(t)
	acl := memberACL{a}
	if !acl.AllowReserve(b.ID(), nil) || acl.AllowReserve(c.ID(), nil) || acl.AllowReserve(stranger, nil) {
		t.Error("the relay's reservations are not for members only")
	}
	if !acl.AllowConnect(b.ID(), nil, a.ID()) || acl.AllowConnect(c.ID(), nil, b.ID()) || acl.AllowConnect(b.ID(), nil, c.ID()) {
		t.Error("the relay does not relay between members only")
	}

	// A non-member's DHT stream is reset; a member's is served.
	for _, tc := range []struct {
		name   string
		from   *Node
		served bool
	}{{"member", b, true}, {"non-member", c, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := tc.from.Host().Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Host().Addrs()}); err != nil {
				t.Fatal(err)
			}
			s, err := tc.from.Host().NewStream(ctx, a.ID(), dhtProtocol)
			if err != nil {
				if tc.served {
					t.Fatal(err)
				}
				return
			}
			defer s.Close()
			// A FIND_NODE for the peer's own key (protobuf: type 4, key).
			key := []byte(tc.from.ID())
			msg := append([]byte{0x08, 0x04, 0x12, byte(len(key))}, key...)
			_, _ = s.Write(append([]byte{byte(len(msg))}, msg...))
			_ = s.CloseWrite()
			b, err := io.ReadAll(s)
			if tc.served && (err != nil || len(b) == 0) {
				t.Fatalf("a member's DHT request got no answer: %d bytes, %v", len(b), err)
			}
			if !tc.served && len(b) > 0 {
				t.Fatalf("a non-member's DHT request was answered (%d bytes)", len(b))
			}
		})
	}
}
