// Package prototest provides a fake proto.Handler for tests of code that
// speaks baluchon's protocols.
package prototest

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/proto"
	"baluchon/vault"
)

// Handler is an in-memory proto.Handler. Its zero value knows nothing.
type Handler struct {
	mu    sync.Mutex
	cards map[vault.LookupID]*proto.CardRecord
	heads map[vault.VaultID][]*vault.Head
	// Refuse makes Announce answer proto.ErrRefused.
	Refuse bool
	// Announced records the announcements received.
	Announced []*proto.Announcement
	// AdmitFunc, when not nil, decides which peers may use which
	// protocols; nil admits everyone.
	AdmitFunc func(from peer.ID, id protocol.ID) bool
}

// Admit implements proto.Handler.
func (h *Handler) Admit(from peer.ID, id protocol.ID) bool {
	return h.AdmitFunc == nil || h.AdmitFunc(from, id)
}

// AddCard makes the handler know a card record.
func (h *Handler) AddCard(c *proto.CardRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cards == nil {
		h.cards = map[vault.LookupID]*proto.CardRecord{}
	}
	h.cards[c.Pointer.Lookup] = c
}

// SetHeads sets the heads the handler answers for a vault.
func (h *Handler) SetHeads(v vault.VaultID, heads ...*vault.Head) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.heads == nil {
		h.heads = map[vault.VaultID][]*vault.Head{}
	}
	h.heads[v] = heads
}

// Resolve implements proto.Handler.
func (h *Handler) Resolve(_ context.Context, _ peer.ID, id vault.LookupID) (*proto.CardRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.cards[id]; ok {
		return c, nil
	}
	return nil, proto.ErrNotFound
}

// Heads implements proto.Handler.
func (h *Handler) Heads(_ context.Context, _ peer.ID, v vault.VaultID) ([]*vault.Head, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hs, ok := h.heads[v]; ok {
		return hs, nil
	}
	return nil, proto.ErrNotFound
}

// Announce implements proto.Handler.
func (h *Handler) Announce(_ context.Context, _ peer.ID, a *proto.Announcement) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.Refuse {
		return proto.ErrRefused
	}
	h.Announced = append(h.Announced, a)
	return nil
}
