package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Routes of the node's federation of structures:
//
//	POST /v1/federation/invite → {"code": INVITATION, "federation": ID}
//	POST /v1/federation/join   {"code": INVITATION} → {"federation": ID}
//	GET  /v1/federation        → FederationInfo
//	POST /v1/federation/remove {"member": ID} → {"removed": ID}
func (s *server) federationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/federation/invite", s.invite)
	mux.HandleFunc("POST /v1/federation/join", s.join)
	mux.HandleFunc("GET /v1/federation", s.federation)
	mux.HandleFunc("POST /v1/federation/remove", s.removeMember)
}

func (s *server) invite(w http.ResponseWriter, r *http.Request) {
	code, err := s.n.Invite(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	fed, _ := s.n.Federation()
	writeJSON(w, map[string]string{"code": code.String(), "federation": fed.String()})
}

// Invite makes an invitation into the node's federation.
func (c *Client) Invite(ctx context.Context) (code, federation string, err error) {
	var out struct {
		Code       string `json:"code"`
		Federation string `json:"federation"`
	}
	err = c.json(ctx, "POST", "/v1/federation/invite", nil, nil, &out)
	return out.Code, out.Federation, err
}

func (s *server) join(w http.ResponseWriter, r *http.Request) {
	code, err := readCode(r)
	var fed peer.ID
	if err == nil {
		fed, err = s.n.JoinFederation(r.Context(), code)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"federation": fed.String()})
}

// Join joins the federation of an invitation.
func (c *Client) Join(ctx context.Context, code string) (string, error) {
	var out struct {
		Federation string `json:"federation"`
	}
	err := c.json(ctx, "POST", "/v1/federation/join", nil, map[string]string{"code": code}, &out)
	return out.Federation, err
}

// FederationInfo is the node's federation: its members, the former ones,
// and the names of both (from their signed structure records).
type FederationInfo struct {
	Federation string            `json:"federation"`
	Members    []string          `json:"members"`
	Removed    []string          `json:"removed,omitempty"`
	Names      map[string]string `json:"names,omitempty"`
}

func (s *server) federation(w http.ResponseWriter, r *http.Request) {
	fed, members := s.n.Federation()
	out := FederationInfo{Members: []string{}, Names: map[string]string{}}
	if fed != "" {
		out.Federation = fed.String()
	}
	for _, m := range members {
		out.Members = append(out.Members, m.String())
		out.Names[m.String()] = s.n.StructureName(m)
	}
	for _, m := range s.n.Removed() {
		out.Removed = append(out.Removed, m.String())
		out.Names[m.String()] = s.n.StructureName(m)
	}
	writeJSON(w, out)
}

// Federation returns the node's federation and its members.
func (c *Client) Federation(ctx context.Context) (string, []string, error) {
	fi, err := c.FederationInfo(ctx)
	return fi.Federation, fi.Members, err
}

// FederationInfo returns the node's federation, with names.
func (c *Client) FederationInfo(ctx context.Context) (*FederationInfo, error) {
	var out FederationInfo
	err := c.json(ctx, "GET", "/v1/federation", nil, nil, &out)
	return &out, err
}

func (s *server) removeMember(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Member string `json:"member"`
	}
	if err := readJSON(r, 4096, &req); err != nil {
		badRequest(w, err)
		return
	}
	p, err := peer.Decode(req.Member)
	if err != nil {
		badRequest(w, errors.New("the member to remove is not a peer id (see 'baluchon federation members')"))
		return
	}
	if err := s.n.RemoveMember(r.Context(), p); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"removed": p.String()})
}

// RemoveMember takes a member out of the node's federation.
func (c *Client) RemoveMember(ctx context.Context, member string) error {
	var out map[string]string
	return c.json(ctx, "POST", "/v1/federation/remove", nil, map[string]string{"member": member}, &out)
}
