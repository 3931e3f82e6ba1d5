package api

import (
	"context"
	"net/http"

	"baluchon/node"
	"baluchon/proto"
)

// Routes of the node itself, its peers and its health:
//
//	GET  /v1/id              → IDInfo
//	POST /v1/connect         {"addr": MULTIADDR} → {"peer": ID}
//	GET  /v1/peers           → {"peers": [MULTIADDR…]}
//	GET  /v1/pair            → {"code": PAIRING CODE}
//	POST /v1/pair            {"code": CODE} → {"peer": ID}
//	GET  /v1/status          → node.Status
//	POST /v1/gc              → node.GCResult
func (s *server) peerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/id", s.id)
	mux.HandleFunc("POST /v1/connect", s.connect)
	mux.HandleFunc("GET /v1/peers", s.peers)
	mux.HandleFunc("GET /v1/pair", s.pairingCode)
	mux.HandleFunc("POST /v1/pair", s.pair)
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("POST /v1/gc", s.gc)
}

// IDInfo describes a running node.
type IDInfo struct {
	ID               string   `json:"id"`
	Addrs            []string `json:"addrs"`
	MaxDocumentBytes int64    `json:"max_document_bytes"`
}

func (s *server) id(w http.ResponseWriter, r *http.Request) {
	info := IDInfo{ID: s.n.ID().String(), MaxDocumentBytes: s.n.MaxDocumentBytes()}
	for _, a := range s.n.Addrs() {
		info.Addrs = append(info.Addrs, a.String())
	}
	writeJSON(w, info)
}

// ID returns the node's identity and addresses.
func (c *Client) ID(ctx context.Context) (*IDInfo, error) {
	var out IDInfo
	return &out, c.json(ctx, "GET", "/v1/id", nil, nil, &out)
}

func (s *server) connect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Addr string `json:"addr"`
	}
	if err := readJSON(r, 4096, &req); err != nil {
		badRequest(w, err)
		return
	}
	p, err := s.n.Connect(r.Context(), req.Addr, true)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"peer": p.String()})
}

// Connect connects the node to a peer and remembers it.
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	var out struct {
		Peer string `json:"peer"`
	}
	err := c.json(ctx, "POST", "/v1/connect", nil, map[string]string{"addr": addr}, &out)
	return out.Peer, err
}

func (s *server) peers(w http.ResponseWriter, r *http.Request) {
	peers := []string{}
	for _, a := range s.n.Peers() {
		peers = append(peers, a.String())
	}
	writeJSON(w, map[string][]string{"peers": peers})
}

// Peers returns the node's connected peers.
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var out struct {
		Peers []string `json:"peers"`
	}
	err := c.json(ctx, "GET", "/v1/peers", nil, nil, &out)
	return out.Peers, err
}

// readCode reads a JSON {"code": TEXT} request.
func readCode(r *http.Request) (*proto.Code, error) {
	var req struct {
		Code string `json:"code"`
	}
	if err := readJSON(r, 4096, &req); err != nil {
		return nil, &proto.CodeError{Msg: "no code in the request"}
	}
	return proto.ParseCode(req.Code)
}

func (s *server) pairingCode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"code": s.n.PairingCode().String()})
}

// PairingCode returns the node's pairing code.
func (c *Client) PairingCode(ctx context.Context) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	err := c.json(ctx, "GET", "/v1/pair", nil, nil, &out)
	return out.Code, err
}

func (s *server) pair(w http.ResponseWriter, r *http.Request) {
	code, err := readCode(r)
	if err == nil {
		err = s.n.Pair(r.Context(), code)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"peer": code.Peer.String()})
}

// Pair connects the node to the node of a pairing code, and remembers it.
func (c *Client) Pair(ctx context.Context, code string) (string, error) {
	var out struct {
		Peer string `json:"peer"`
	}
	err := c.json(ctx, "POST", "/v1/pair", nil, map[string]string{"code": code}, &out)
	return out.Peer, err
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.n.Status(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, st)
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*node.Status, error) {
	var out node.Status
	return &out, c.json(ctx, "GET", "/v1/status", nil, nil, &out)
}

func (s *server) gc(w http.ResponseWriter, r *http.Request) {
	res, err := s.n.GC(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, res)
}

// GC deletes the blocks no pin reaches.
func (c *Client) GC(ctx context.Context) (*node.GCResult, error) {
	var out node.GCResult
	err := c.json(ctx, "POST", "/v1/gc", nil, map[string]string{}, &out)
	return &out, err
}
