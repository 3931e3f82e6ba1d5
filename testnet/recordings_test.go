package testnet

import (
	"bytes"
	"context"
	"testing"
	"time"

	"baluchon/proto"
)

// TestRecordingSpreads records a spoken text at one member and finds it at
// another, through the member set; a recording signed by a node outside
// the federation, relayed by a member, is not kept.
func TestRecordingSpreads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	net := New(t, 3, Options{Config: fastFederation()})
	net.ConnectAll()
	join(t, net, 0, 1)
	a, b, outsider := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	ctx := context.Background()
	audio := append([]byte("OggS"), bytes.Repeat([]byte{1}, 2000)...)
	if err := a.Record(ctx, "ti", "card_lost", "audio/ogg", audio); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the recording reaches the other member", func() bool {
		rec, ok := b.Recording("ti", "card_lost")
		return ok && bytes.Equal(rec.Audio, audio) && rec.Author == a.ID() && rec.MIME == "audio/ogg"
	})
	if _, ok := b.Recording("ti", "card_open"); ok {
		t.Fatal("a recording that was never made is found")
	}

	// A member relays a recording that a non-member signed: refused.
	rec, err := proto.SignRecording(Identity(t.Name(), 2), &proto.Recording{Lang: "so", Key: "card_lost", MIME: "audio/ogg", Audio: audio}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Author != outsider.ID() {
		t.Skip("testnet's identities are not derived as this test assumes")
	}
	if _, err := proto.ExchangeMembers(ctx, a.Host(), b.ID(), &proto.MemberSet{Recordings: []*proto.Record{rec}}); err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, ok := b.Recording("so", "card_lost"); ok {
		t.Fatal("a non-member's recording was kept")
	}
	// A bigger recording than the bound is refused where it is made.
	if err := a.Record(ctx, "so", "card_lost", "audio/ogg", make([]byte, proto.MaxRecordingAudio+1)); err == nil {
		t.Fatal("an over-long recording was kept")
	}
}
