package proto

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// BlockID is the protocol with which a member checks that another member
// keeps a vault it says it keeps, before counting it as a replica.
//
// Request: the CID of a block (uvarint-prefixed bytes), then a nonce of
// 0 or 32 bytes. Response: a status; with OK, uvarint-prefixed bytes: the
// block itself when the nonce is empty (blocks of at most MaxBlockAnswer
// bytes), or SHA-256(nonce ‖ block) when it is not, which proves that the
// answering node holds the block without sending it. Only members are
// answered, from the node's own store.
const BlockID protocol.ID = "/baluchon/block/1.0.0"

// Limits of the block protocol.
const (
	// MaxBlockAnswer bounds a block sent whole.
	MaxBlockAnswer = 1<<20 + 4096
	// NonceSize is the size of a proof's nonce.
	NonceSize = 32

	maxBlockRequest  = 10 + maxCID + NonceSize
	maxBlockResponse = 1 + 8 + 10 + MaxBlockAnswer
)

// BlockHandler serves the block protocol.
type BlockHandler interface {
	// Block returns the data of block c from this node's store, or
	// ErrNotFound.
	Block(ctx context.Context, from peer.ID, c cid.Cid) ([]byte, error)
}

func registerBlock(h host.Host, handler BlockHandler, s *server) {
	h.SetStreamHandler(BlockID, s.wrap(BlockID, maxBlockRequest, func(ctx context.Context, from peer.ID, req []byte) []byte {
		c, nonce, err := decodeBlockRequest(req)
		if err != nil {
			return appendStatus(nil, StatusInvalid, err.Error())
		}
		data, err := handler.Block(ctx, from, c)
		if err != nil {
			return s.errorResponse(BlockID, from, err)
		}
		if len(nonce) == 0 {
			if len(data) > MaxBlockAnswer {
				return appendStatus(nil, StatusRefused, "block too large to send whole")
			}
			return appendBytes(appendStatus(nil, StatusOK, ""), data)
		}
		sum := blockProof(nonce, data)
		return appendBytes(appendStatus(nil, StatusOK, ""), sum[:])
	}))
}

// blockProof is what a node that holds data answers to nonce.
func blockProof(nonce, data []byte) [32]byte {
	h := sha256.New()
	h.Write(nonce)
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// BlockProof returns what a node holding data answers to nonce.
func BlockProof(nonce [NonceSize]byte, data []byte) [32]byte { return blockProof(nonce[:], data) }

func blockRequest(c cid.Cid, nonce []byte) []byte {
	return append(appendBytes(nil, c.Bytes()), nonce...)
}

// decodeBlockRequest decodes a block request: a CID and a nonce of 0 or
// NonceSize bytes.
func decodeBlockRequest(b []byte) (cid.Cid, []byte, error) {
	d := newDecoder(b)
	cb := d.Bytes(maxCID)
	nonce := d.Fixed(len(d.Rest()))
	if err := d.End(); err != nil {
		return cid.Undef, nil, err
	}
	c, err := cid.Cast(cb)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("block request: %w", err)
	}
	if len(nonce) != 0 && len(nonce) != NonceSize {
		return cid.Undef, nil, fmt.Errorf("block request: nonce of %d bytes, want 0 or %d", len(nonce), NonceSize)
	}
	return c, nonce, nil
}

// decodeBlockResponse decodes a block response of at most max data bytes.
func decodeBlockResponse(b []byte, max int) ([]byte, error) {
	d := newDecoder(b)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	data := d.Bytes(max)
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	return data, nil
}

// GetBlock asks member p for block c, sent whole, and checks it against
// its CID.
func GetBlock(ctx context.Context, h host.Host, p peer.ID, c cid.Cid) ([]byte, error) {
	resp, err := roundTrip(ctx, h, p, BlockID, blockRequest(c, nil), maxBlockResponse)
	if err != nil {
		return nil, err
	}
	data, err := decodeBlockResponse(resp, MaxBlockAnswer)
	if err != nil {
		return nil, err
	}
	got, err := c.Prefix().Sum(data)
	if err != nil || !got.Equals(c) {
		return nil, errors.New("block: the data does not match its CID")
	}
	return data, nil
}

// ProveBlock asks member p to prove that it holds block c: the answer is
// to be compared with BlockProof(nonce, data).
func ProveBlock(ctx context.Context, h host.Host, p peer.ID, c cid.Cid, nonce [NonceSize]byte) ([32]byte, error) {
	var out [32]byte
	resp, err := roundTrip(ctx, h, p, BlockID, blockRequest(c, nonce[:]), maxBlockResponse)
	if err != nil {
		return out, err
	}
	b, err := decodeBlockResponse(resp, 32)
	if err != nil {
		return out, err
	}
	if len(b) != 32 {
		return out, errors.New("block proof: malformed")
	}
	copy(out[:], b)
	return out, nil
}
