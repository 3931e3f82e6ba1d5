package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of the delegations, which let a structure read a vault without
// its card:
//
//	POST   /v1/delegations              (card) {"to": PEER, "categories": […], "days": N} → {"id": ID}
//	GET    /v1/delegations              (card) → [node.DelegationInfo]
//	DELETE /v1/delegations/{id}         (card) → {}
//	GET    /v1/vaults/{vault}/docs      → ListInfo, through a delegation
//	GET    /v1/vaults/{vault}/docs/{id} → the document, through a delegation
func (s *server) delegationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/delegations", s.withCard(s.delegate))
	mux.HandleFunc("GET /v1/delegations", s.withCard(s.delegations))
	mux.HandleFunc("DELETE /v1/delegations/{id}", s.withCard(s.revokeDelegation))
	mux.HandleFunc("GET /v1/vaults/{vault}/docs", s.withVault(s.delegatedList))
	mux.HandleFunc("GET /v1/vaults/{vault}/docs/{id}", s.withVault(s.delegatedGet))
}

func (s *server) delegate(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	var req struct {
		To         string   `json:"to"`
		Categories []string `json:"categories"`
		Days       int      `json:"days"`
	}
	if err := readJSON(r, 64<<10, &req); err != nil {
		badRequest(w, err)
		return
	}
	to, err := peer.Decode(req.To)
	if err != nil {
		badRequest(w, errors.New("the structure to delegate to is not a peer id (see 'baluchon federation members')"))
		return
	}
	if req.Days <= 0 || req.Days > 3660 {
		badRequest(w, errors.New("a delegation lasts 1 to 3660 days"))
		return
	}
	id, err := s.n.Delegate(r.Context(), card, node.DelegateOptions{To: to, Categories: req.Categories, Until: time.Now().Add(time.Duration(req.Days) * 24 * time.Hour)})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"id": id})
}

// Delegate gives a structure read access to categories for days.
func (c *Client) Delegate(ctx context.Context, card *vault.Card, to string, categories []string, days int) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if categories == nil {
		categories = []string{}
	}
	err := c.json(ctx, "POST", "/v1/delegations", card, map[string]any{"to": to, "categories": categories, "days": days}, &out)
	return out.ID, err
}

func (s *server) delegations(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	ds, err := s.n.Delegations(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	if ds == nil {
		ds = []node.DelegationInfo{}
	}
	writeJSON(w, ds)
}

// Delegations lists the vault's delegations.
func (c *Client) Delegations(ctx context.Context, card *vault.Card) ([]node.DelegationInfo, error) {
	var out []node.DelegationInfo
	err := c.json(ctx, "GET", "/v1/delegations", card, nil, &out)
	return out, err
}

func (s *server) revokeDelegation(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	if err := s.n.RevokeDelegation(r.Context(), card, r.PathValue("id")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{})
}

// RevokeDelegation ends a delegation.
func (c *Client) RevokeDelegation(ctx context.Context, card *vault.Card, id string) error {
	var out map[string]string
	return c.json(ctx, "DELETE", "/v1/delegations/"+url.PathEscape(id), card, nil, &out)
}

func (s *server) delegatedList(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
	entries, err := s.n.DelegatedList(r.Context(), v)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, ListInfo{Vault: v.String(), Docs: docInfos(entries), Deposited: []DocInfo{}})
}

// DelegatedList lists a vault's documents through a delegation.
func (c *Client) DelegatedList(ctx context.Context, vaultID string) (*ListInfo, error) {
	var out ListInfo
	err := c.json(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/docs", nil, nil, &out)
	return &out, err
}

func (s *server) delegatedGet(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
	d, err := s.n.DelegatedGet(r.Context(), v, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	defer d.Close()
	s.sendDocument(w, d, d.Size)
}

// DelegatedGet returns a document through a delegation.
func (c *Client) DelegatedGet(ctx context.Context, vaultID, id string) (io.ReadCloser, int64, error) {
	resp, err := c.do(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/docs/"+url.PathEscape(id), nil, nil, -1)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}
