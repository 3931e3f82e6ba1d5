package rfcomm_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"baluchon/internal/rfcomm"
	"baluchon/proto"
)

const echo = "/test/echo/1"

// newHost is a libp2p host whose only transport is RFCOMM, over the
// stand-in adapter bd, with libp2p's default upgrade, as for TCP: TLS or
// Noise, then yamux.
func newHost(t *testing.T, air *rfcomm.StandIn, bd [6]byte) host.Host {
	t.Helper()
	addr, err := proto.BluetoothMultiaddr(bd, rfcomm.DefaultChannel)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(
		libp2p.NoTransports,
		libp2p.Transport(rfcomm.New(air.Adapter(bd))),
		libp2p.ListenAddrs(addr),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	h.SetStreamHandler(echo, func(s network.Stream) {
		defer s.Close()
		_, _ = io.Copy(s, s)
	})
	return h
}

func roundTrip(ctx context.Context, a host.Host, b peer.ID, msg string) (string, error) {
	s, err := a.NewStream(ctx, b, echo)
	if err != nil {
		return "", err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	werr := make(chan error, 1)
	go func() { // the echo comes back while msg is written
		_, err := io.WriteString(s, msg)
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(s)
	if err == nil {
		err = <-werr
	}
	return string(got), err
}

// TestTransport: two hosts connect over the transport, authenticated and
// multiplexed; a cut ends the connection, and once healed they connect
// again.
func TestTransport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	air := rfcomm.NewStandIn(t.TempDir())
	a := newHost(t, air, [6]byte{0xB8, 0x27, 0xEB, 0, 0, 0xA})
	b := newHost(t, air, [6]byte{0xB8, 0x27, 0xEB, 0, 0, 0xB})
	if len(a.Addrs()) != 1 || !strings.HasPrefix(a.Addrs()[0].String(), "/bt/B8:27:EB:00:00:0A/rfcomm/25") {
		t.Fatalf("host A listens on %v", a.Addrs())
	}
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err != nil {
		t.Fatal(err)
	}
	conns := b.Network().ConnsToPeer(a.ID())
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	st := conns[0].ConnState()
	if (st.Security != "/noise" && st.Security != "/tls/1.0.0") || st.StreamMultiplexer != "/yamux/1.0.0" {
		t.Errorf("connection state %+v, want Noise or TLS, and yamux, as over TCP", st)
	}
	if conns[0].RemotePeer() != a.ID() {
		t.Errorf("remote peer %s, want %s", conns[0].RemotePeer(), a.ID())
	}
	for _, msg := range []string{"first", strings.Repeat("x", 1<<20)} {
		if got, err := roundTrip(ctx, b, a.ID(), msg); err != nil || got != msg {
			t.Fatalf("echo of %d bytes: %d bytes back, %v", len(msg), len(got), err)
		}
	}

	air.Cut()
	deadline := time.Now().Add(5 * time.Second)
	for b.Network().Connectedness(a.ID()) == network.Connected {
		if time.Now().After(deadline) {
			t.Fatal("still connected after the cut")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err == nil {
		t.Fatal("connected while cut")
	}
	air.Heal()
	if sw, ok := b.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(a.ID()) // the dial while cut failed
	}
	var err error
	for range 50 {
		if err = b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no connection after the cut healed: %v", err)
	}
	if got, err := roundTrip(ctx, b, a.ID(), "after the cut"); err != nil || got != "after the cut" {
		t.Fatalf("echo after the cut: %q, %v", got, err)
	}
}

// TestTransportRefuses: the transport dials only Bluetooth addresses, and
// listens only on its adapter's.
func TestTransportRefuses(t *testing.T) {
	air := rfcomm.NewStandIn(t.TempDir())
	tr, err := rfcomm.New(air.Adapter([6]byte{1, 2, 3, 4, 5, 6}))(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.CanDial(ma.StringCast("/ip4/10.0.0.1/tcp/4001")) {
		t.Error("CanDial of a TCP address")
	}
	if !tr.CanDial(ma.StringCast("/bt/01:02:03:04:05:07/rfcomm/3")) {
		t.Error("cannot dial a Bluetooth address")
	}
	if _, err := tr.Listen(ma.StringCast("/bt/01:02:03:04:05:07/rfcomm/3")); err == nil {
		t.Error("listens on another adapter's address")
	}
}
