package proto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	mh "github.com/multiformats/go-multihash"
)

// blockStore serves the blocks it holds to the peers it knows.
type blockStore struct {
	blocks  map[cid.Cid][]byte
	members map[peer.ID]bool
}

// Admit lets every peer ask: Block itself refuses non-members here.
func (s *blockStore) Admit(peer.ID, protocol.ID) bool { return true }

func (s *blockStore) Block(_ context.Context, from peer.ID, c cid.Cid) ([]byte, error) {
	if !s.members[from] {
		return nil, ErrRefused
	}
	b, ok := s.blocks[c]
	if !ok {
		return nil, ErrNotFound
	}
	return b, nil
}

func blockCID(t testing.TB, data []byte) cid.Cid {
	c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBlockProtocol(t *testing.T) {
	mn, err := mocknet.FullMeshConnected(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mn.Close() })
	hs := mn.Hosts()
	client, srv, stranger := hs[0], hs[1], hs[2]
	data := bytes.Repeat([]byte("ciphertext "), 1000)
	c := blockCID(t, data)
	missing := blockCID(t, []byte("not held"))
	s := &blockStore{blocks: map[cid.Cid][]byte{c: data}, members: map[peer.ID]bool{client.ID(): true}}
	registerBlock(srv, s, &server{admit: s, log: slog.New(slog.DiscardHandler)})
	ctx := context.Background()

	got, err := GetBlock(ctx, client, srv.ID(), c)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get block: %v", err)
	}
	var nonce [NonceSize]byte
	nonce[0] = 7
	proof, err := ProveBlock(ctx, client, srv.ID(), c, nonce)
	if err != nil || proof != BlockProof(nonce, data) || proof != sha256.Sum256(append(nonce[:], data...)) {
		t.Fatalf("prove block: %x, %v", proof, err)
	}
	if _, err := GetBlock(ctx, client, srv.ID(), missing); !IsNotFound(err) {
		t.Fatalf("missing block: %v", err)
	}
	if _, err := GetBlock(ctx, stranger, srv.ID(), c); err == nil || !errors.Is(err, ErrRefused) && !bytes.Contains([]byte(err.Error()), []byte("refused")) {
		t.Fatalf("a stranger got a block: %v", err)
	}
}

func FuzzDecodeBlockRequest(f *testing.F) {
	c := blockCID(f, []byte("block"))
	f.Add(blockRequest(c, nil))
	f.Add(blockRequest(c, make([]byte, NonceSize)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, nonce, err := decodeBlockRequest(b)
		if err != nil {
			return
		}
		if again := blockRequest(c, nonce); !bytes.Equal(again, b) {
			t.Fatalf("request %x re-encodes as %x", b, again)
		}
	})
}

func FuzzDecodeBlockResponse(f *testing.F) {
	f.Add(appendBytes(appendStatus(nil, StatusOK, ""), []byte("data")))
	f.Add(appendStatus(nil, StatusNotFound, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := decodeBlockResponse(b, 64)
		if err == nil && len(data) > 64 {
			t.Fatalf("decoded %d bytes over the limit of 64", len(data))
		}
	})
}
