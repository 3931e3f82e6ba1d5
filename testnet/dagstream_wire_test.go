package testnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/proto"
)

// TestTrustWireDAGStreamIdle: a peer that the DAG stream protocol
// admits (outside a federation, every peer) cannot hold a stream open:
// one that sends half a request, and one that asks for a vault state of
// 6 MiB and reads nothing of the answer, each have their stream ended
// by the node within proto.StreamTimeout of the last progress.
func TestTrustWireDAGStreamIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := New(t, 1, Options{}).Nodes[0]
	card, v, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(ctx, card, bytes.NewReader(randomBytes(t, 6<<20)), node.DocMeta{}); err != nil {
		t.Fatal(err)
	}
	heads, err := n.VaultHeads(ctx, v)
	if err != nil || len(heads) == 0 {
		t.Fatalf("heads: %d, %v", len(heads), err)
	}
	// request is a DAG stream request for the vault's state.
	cb := heads[0].Manifest.Bytes()
	body := append(binary.AppendUvarint(nil, uint64(len(cb))), cb...)
	request := append(binary.AppendUvarint(nil, uint64(len(body))), body...)

	inbound := func() int {
		var k int
		_ = n.Host().Network().ResourceManager().ViewProtocol(proto.DAGStreamID, func(s network.ProtocolScope) error {
			k = s.Stat().NumStreamsInbound
			return nil
		})
		return k
	}
	start := time.Now()
	for _, send := range [][]byte{
		request[:len(request)/2], // half a request, then nothing
		request,                  // a whole request, then nothing read
	} {
		evil := outsider(t)
		if err := evil.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()}); err != nil {
			t.Fatal(err)
		}
		st, err := evil.NewStream(ctx, n.ID(), proto.DAGStreamID)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Reset()
		if _, err := st.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	// Both streams are held (neither was refused) ...
	time.Sleep(time.Second)
	if k := inbound(); k != 2 {
		t.Fatalf("%d inbound DAG streams a second after they were opened, want the 2 idle ones", k)
	}
	// ... until the timeout.
	eventually(t, proto.StreamTimeout+5*time.Second, "an idle DAG stream is still open", func() bool {
		return inbound() == 0
	})
	t.Logf("idle DAG streams ended after %v", time.Since(start).Round(100*time.Millisecond))
}
