package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of a person's card and vault (the card text travels in
// CardHeader):
//
//	POST /v1/vaults          {"guardians": [PEER…], "threshold": N} → CreatedInfo
//	POST /v1/card/replace    (card) → {"card": TEXT, "vault": NEW ID}
//	POST /v1/rotate          (card) → {"vault": NEW ID}
//	GET  /v1/identity        (card) → {"identity": AGE-SECRET-KEY-PQ-1…}
//	GET  /v1/log             (card) → [node.LogLine]
func (s *server) cardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/vaults", s.register)
	mux.HandleFunc("POST /v1/card/replace", s.withCard(s.replace))
	mux.HandleFunc("POST /v1/rotate", s.withCard(s.rotate))
	mux.HandleFunc("GET /v1/identity", s.withCard(s.identity))
	mux.HandleFunc("GET /v1/log", s.withCard(s.accessLog))
}

// CreatedInfo is the answer to POST /v1/vaults.
type CreatedInfo struct {
	Card      string   `json:"card"`
	Vault     string   `json:"vault"`
	Guardians []string `json:"guardians"` // names
	Threshold int      `json:"threshold"`
}

func (s *server) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Guardians []string `json:"guardians"`
		Threshold int      `json:"threshold"`
	}
	if r.ContentLength > 0 {
		if err := readJSON(r, 64<<10, &req); err != nil {
			badRequest(w, err)
			return
		}
	}
	opts := node.CreateOptions{Threshold: req.Threshold}
	if req.Guardians != nil {
		opts.Guardians = []peer.ID{}
		for _, g := range req.Guardians {
			p, err := peer.Decode(g)
			if err != nil {
				badRequest(w, fmt.Errorf("guardian %q is not a peer id", g))
				return
			}
			opts.Guardians = append(opts.Guardians, p)
		}
	}
	c, err := s.n.Register(r.Context(), opts)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := CreatedInfo{Card: c.Card.String(), Vault: c.Vault.String(), Threshold: c.Threshold, Guardians: []string{}}
	for _, g := range c.Guardians {
		out.Guardians = append(out.Guardians, s.n.StructureName(g))
	}
	writeJSON(w, out)
}

// CreateVault creates a vault, with recovery guardians (nil: the node's
// default choice), and returns its card.
func (c *Client) CreateVault(ctx context.Context, guardians []string, threshold int) (*CreatedInfo, error) {
	var out CreatedInfo
	req := map[string]any{"threshold": threshold}
	if guardians != nil {
		req["guardians"] = guardians
	}
	err := c.json(ctx, "POST", "/v1/vaults", nil, req, &out)
	return &out, err
}

func (s *server) replace(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	c, v, err := s.n.Replace(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"card": c.String(), "vault": v.String()})
}

// ReplaceCard gives the person a new card; the old one stops working.
// It returns the new card and the vault's new id.
func (c *Client) ReplaceCard(ctx context.Context, card *vault.Card) (text, vaultID string, err error) {
	var out struct {
		Card  string `json:"card"`
		Vault string `json:"vault"`
	}
	err = c.json(ctx, "POST", "/v1/card/replace", card, nil, &out)
	return out.Card, out.Vault, err
}

func (s *server) rotate(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	v, err := s.n.Rotate(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"vault": v.String()})
}

// Rotate changes every key of the vault; it returns the new vault id.
func (c *Client) Rotate(ctx context.Context, card *vault.Card) (string, error) {
	var out struct {
		Vault string `json:"vault"`
	}
	err := c.json(ctx, "POST", "/v1/rotate", card, map[string]string{}, &out)
	return out.Vault, err
}

func (s *server) identity(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	id, err := s.n.ContentIdentity(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"identity": id})
}

// Identity returns the vault's age content identity.
func (c *Client) Identity(ctx context.Context, card *vault.Card) (string, error) {
	var out struct {
		Identity string `json:"identity"`
	}
	err := c.json(ctx, "GET", "/v1/identity", card, nil, &out)
	return out.Identity, err
}

func (s *server) accessLog(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	lines, err := s.n.AccessLog(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	if lines == nil {
		lines = []node.LogLine{}
	}
	writeJSON(w, lines)
}

// AccessLog returns the vault's access log.
func (c *Client) AccessLog(ctx context.Context, card *vault.Card) ([]node.LogLine, error) {
	var out []node.LogLine
	err := c.json(ctx, "GET", "/v1/log", card, nil, &out)
	return out, err
}
