package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of the recovery of a lost card by its guardians:
//
//	POST /v1/recovery                {"vault": ID} → node.RecoveryRequest
//	GET  /v1/recovery                → [node.RecoveryRequest] naming this node as guardian
//	POST /v1/recovery/{id}/approve   {"requester": PEERID} → {} (the structure the worker confirmed)
//	POST /v1/recovery/{id}/finish    → {"card": TEXT, "vault": ID}
func (s *server) recoveryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/recovery", s.recoveryStart)
	mux.HandleFunc("GET /v1/recovery", s.recoveryRequests)
	mux.HandleFunc("POST /v1/recovery/{id}/approve", s.recoveryApprove)
	mux.HandleFunc("POST /v1/recovery/{id}/finish", s.recoveryFinish)
}

func (s *server) recoveryStart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Vault string `json:"vault"`
	}
	if err := readJSON(r, 4096, &req); err != nil {
		badRequest(w, err)
		return
	}
	v, err := vault.ParseVaultID(req.Vault)
	if err != nil {
		badRequest(w, err)
		return
	}
	rr, err := s.n.RecoveryStart(r.Context(), v)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, rr)
}

// RecoveryStart starts the recovery of a vault.
func (c *Client) RecoveryStart(ctx context.Context, vaultID string) (*node.RecoveryRequest, error) {
	var out node.RecoveryRequest
	err := c.json(ctx, "POST", "/v1/recovery", nil, map[string]string{"vault": vaultID}, &out)
	return &out, err
}

func (s *server) recoveryRequests(w http.ResponseWriter, r *http.Request) {
	rs, err := s.n.RecoveryRequests(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	if rs == nil {
		rs = []node.RecoveryRequest{}
	}
	writeJSON(w, rs)
}

// RecoveryRequests lists the requests naming this node as guardian.
func (c *Client) RecoveryRequests(ctx context.Context) ([]node.RecoveryRequest, error) {
	var out []node.RecoveryRequest
	err := c.json(ctx, "GET", "/v1/recovery", nil, nil, &out)
	return out, err
}

func (s *server) recoveryApprove(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requester string `json:"requester"`
	}
	if err := readJSON(r, 4096, &req); err != nil {
		badRequest(w, err)
		return
	}
	from, err := peer.Decode(req.Requester)
	if err != nil {
		badRequest(w, errors.New("approving needs the peer id of the structure that asked, as confirmed by the worker (see 'baluchon recover list')"))
		return
	}
	if err := s.n.RecoveryApprove(r.Context(), r.PathValue("id"), from); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{})
}

// RecoveryApprove approves a recovery request as a guardian; requester is
// the peer id of the structure the worker confirmed as the one that asked.
func (c *Client) RecoveryApprove(ctx context.Context, id, requester string) error {
	var out map[string]string
	return c.json(ctx, "POST", "/v1/recovery/"+url.PathEscape(id)+"/approve", nil, map[string]string{"requester": requester}, &out)
}

func (s *server) recoveryFinish(w http.ResponseWriter, r *http.Request) {
	c, v, err := s.n.RecoveryFinish(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"card": c.String(), "vault": v.String()})
}

// RecoveryFinish completes a recovery and returns the new card.
func (c *Client) RecoveryFinish(ctx context.Context, id string) (card, vaultID string, err error) {
	var out struct {
		Card  string `json:"card"`
		Vault string `json:"vault"`
	}
	err = c.json(ctx, "POST", "/v1/recovery/"+url.PathEscape(id)+"/finish", nil, map[string]string{}, &out)
	return out.Card, out.Vault, err
}
