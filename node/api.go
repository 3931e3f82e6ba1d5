package node

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// The local API lets the CLI on the same machine drive a running node. It
// listens on loopback only and every request must carry the bearer token
// that the node writes to HOME/api.token (mode 0600, so only the node's
// user can read it). Requests that concern a vault carry the card text in
// the CardHeader header; the node holds the vault keys only for the time of
// the request.
//
//	GET  /v1/id              → IDInfo
//	POST /v1/connect         {"addr": MULTIADDR} → {"peer": ID}
//	GET  /v1/peers           → {"peers": [MULTIADDR…]}
//	POST /v1/vaults          → {"card": TEXT, "vault": ID}
//	POST /v1/docs?title=&category=&name=&mime=   body: the document → DocInfo
//	GET  /v1/docs            → {"vault": ID, "docs": [DocInfo…]}
//	GET  /v1/docs/{id}[?raw=1] → the document (plaintext, or age ciphertext)
//	DELETE /v1/docs/{id}     → {}: to the trash (see api_trash.go)
//	GET  /v1/identity        → {"identity": AGE-SECRET-KEY-PQ-1…}
//	GET  /v1/export[?all=1]  → a CAR of the card's vault (or of all vaults);
//	                           header ExportBytesHeader: bytes of blocks to come
//	POST /v1/import          body: a CAR → ImportResult
//	GET  /v1/pair            → {"code": PAIRING CODE}
//	POST /v1/pair            {"code": CODE} → {"peer": ID}
//	POST /v1/federation/invite → {"code": INVITATION, "federation": ID}
//	POST /v1/federation/join {"code": INVITATION} → {"federation": ID}
//	GET  /v1/federation      → {"federation": ID, "members": [ID…], "removed": [ID…], "names": {ID: NAME}}
//	POST /v1/federation/remove {"member": ID} → {"removed": ID}
//	GET  /v1/status          → Status
//	POST /v1/open            opens the card's vault, fetching it if this node
//	                         does not have it yet; streams JSON lines
//	                         {"done": BYTES, "total": BYTES}… then
//	                         {"vault": ID, "docs": N} or {"code": …, "error": …}
//
// Errors are JSON {"code": CODE, "error": MESSAGE} with an HTTP status; the
// codes are the Code* constants.

// CardHeader carries the card text of a request.
const CardHeader = "Baluchon-Card"

// API error codes.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeBadCard          = "bad_card"
	CodeUnknownCard      = "unknown_card"
	CodeVaultUnreachable = "vault_unreachable"
	CodeNoDocument       = "no_document"
	CodeTooLarge         = "too_large"
	CodeBadAddr          = "bad_addr"
	CodeUnreachable      = "unreachable"
	CodeBadImport        = "bad_import"
	CodeBadCode          = "bad_code"
	CodeInvitation       = "invitation"
	CodeCardReplaced     = "card_replaced"
	CodeNoDelegation     = "no_delegation"
	CodeNotEnough        = "not_enough_approvals"
	CodeRefused          = "refused"
	CodeQuota            = "quota"
	CodeTooManyDeposits  = "too_many_deposits"
	CodeInternal         = "internal"
)

// ExportBytesHeader tells the size of the blocks of an export, for
// progress bars.
const ExportBytesHeader = "Baluchon-Export-Bytes"

// IDInfo describes a running node.
type IDInfo struct {
	ID               string   `json:"id"`
	Addrs            []string `json:"addrs"`
	MaxDocumentBytes int64    `json:"max_document_bytes"`
}

// DocInfo is a document as the API shows it.
type DocInfo struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Category string    `json:"category"`
	Size     int64     `json:"size"`
	Added    time.Time `json:"added"`
	AddedBy  string    `json:"added_by,omitempty"`
	FileName string    `json:"file_name,omitempty"`
	MIME     string    `json:"mime,omitempty"`
}

func docInfo(e vault.Entry) DocInfo {
	return DocInfo{ID: e.ID, Title: e.Title, Category: e.Category, Size: e.Size, Added: e.Added, AddedBy: e.AddedBy, FileName: e.FileName, MIME: e.MIME}
}

type apiServer struct {
	srv   *http.Server
	ln    net.Listener
	token string
	home  string
	done  chan struct{}
}

// startAPI listens on the configured loopback address and writes HOME/api
// and HOME/api.token.
func (n *Node) startAPI() (*apiServer, error) {
	host, _, err := net.SplitHostPort(n.cfg.API)
	if err != nil {
		return nil, fmt.Errorf("api address %q: %w", n.cfg.API, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("api address %q is not a loopback address: the local API must not be reachable from the network", n.cfg.API)
	}
	ln, err := net.Listen("tcp", n.cfg.API)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the local API on %s (is the port already in use? change \"api\" in %s): %w", n.cfg.API, configPath(n.home), err)
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		ln.Close()
		return nil, err
	}
	a := &apiServer{ln: ln, token: hex.EncodeToString(tok), home: n.home, done: make(chan struct{})}
	if err := writeFileAtomic(n.apiPath(apiTokenFile), []byte(a.token+"\n"), secretPerm); err != nil {
		ln.Close()
		return nil, fmt.Errorf("write api token: %w", err)
	}
	if err := writeFileAtomic(n.apiPath(apiFile), []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
		ln.Close()
		return nil, fmt.Errorf("write api address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/id", n.apiID)
	mux.HandleFunc("POST /v1/connect", n.apiConnect)
	mux.HandleFunc("GET /v1/peers", n.apiPeers)
	mux.HandleFunc("POST /v1/vaults", n.apiCreateVault)
	mux.HandleFunc("POST /v1/docs", n.apiAdd)
	mux.HandleFunc("GET /v1/docs", n.apiList)
	mux.HandleFunc("GET /v1/docs/{id}", n.apiGet)
	mux.HandleFunc("GET /v1/identity", n.apiIdentity)
	mux.HandleFunc("GET /v1/export", n.apiExport)
	mux.HandleFunc("POST /v1/import", n.apiImport)
	mux.HandleFunc("GET /v1/pair", n.apiPairingCode)
	mux.HandleFunc("POST /v1/pair", n.apiPair)
	mux.HandleFunc("POST /v1/federation/invite", n.apiInvite)
	mux.HandleFunc("POST /v1/federation/join", n.apiJoin)
	mux.HandleFunc("GET /v1/federation", n.apiFederation)
	mux.HandleFunc("POST /v1/federation/remove", n.apiRemoveMember)
	mux.HandleFunc("GET /v1/status", n.apiStatus)
	mux.HandleFunc("POST /v1/open", n.apiOpen)
	n.keyRoutes(mux)
	n.trashRoutes(mux)
	a.srv = &http.Server{
		Handler:           a.auth(mux),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return n.ctx },
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("local API stopped", "err", err)
		}
	}()
	n.log.Info("local API listening", "addr", ln.Addr().String())
	return a, nil
}

// APIAddr returns the address of the local API, or "" without one.
func (n *Node) APIAddr() string {
	if n.api == nil {
		return ""
	}
	return n.api.ln.Addr().String()
}

func (a *apiServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.srv.Shutdown(ctx)
	if err != nil {
		a.srv.Close()
	}
	<-a.done
	os.Remove(a.home + "/" + apiFile)
	os.Remove(a.home + "/" + apiTokenFile)
	return nil
}

func (a *apiServer) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + a.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, errors.New("missing or wrong API token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Error: err.Error()})
}

// fail writes an error of the node as an API error.
func (n *Node) fail(w http.ResponseWriter, err error) {
	status, code := n.errorCode(err)
	writeError(w, status, code, err)
}

// errorCode maps an error of the node to an HTTP status and an API code:
// the one place where the node's errors get their codes.
func (n *Node) errorCode(err error) (int, string) {
	var (
		tl  *TooLargeError
		nd  *NoDocumentError
		ae  *AddrError
		ue  *UnreachableError
		cte *vault.CardTextError
		ie  *ImportError
		ce  *proto.CodeError
	)
	var (
		cr *CardReplacedError
		qe *QuotaError
	)
	switch {
	case errors.As(err, &qe):
		return http.StatusInsufficientStorage, CodeQuota
	case errors.Is(err, ErrTooManyDeposits):
		return http.StatusConflict, CodeTooManyDeposits
	case errors.As(err, &cr):
		return http.StatusGone, CodeCardReplaced
	case errors.Is(err, ErrNoDelegation):
		return http.StatusForbidden, CodeNoDelegation
	case errors.Is(err, vault.ErrNotEnoughShares):
		return http.StatusConflict, CodeNotEnough
	case errors.Is(err, ErrRequesterMismatch), errors.Is(err, ErrCannotRemove), errors.Is(err, ErrNotMember):
		return http.StatusForbidden, CodeRefused
	case errors.As(err, &ce):
		return http.StatusBadRequest, CodeBadCode
	case errors.Is(err, ErrInvitation):
		return http.StatusForbidden, CodeInvitation
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, CodeBadImport
	case errors.As(err, &cte):
		return http.StatusBadRequest, CodeBadCard
	case errors.Is(err, ErrUnknownCard):
		return http.StatusNotFound, CodeUnknownCard
	case errors.Is(err, ErrVaultUnreachable):
		return http.StatusServiceUnavailable, CodeVaultUnreachable
	case errors.As(err, &nd):
		return http.StatusNotFound, CodeNoDocument
	case errors.As(err, &tl):
		return http.StatusRequestEntityTooLarge, CodeTooLarge
	case errors.As(err, &ae):
		return http.StatusBadRequest, CodeBadAddr
	case errors.As(err, &ue):
		return http.StatusBadGateway, CodeUnreachable
	}
	n.log.Error("api request failed", "err", err)
	return http.StatusInternalServerError, CodeInternal
}

func requestCard(r *http.Request) (*vault.Card, error) {
	text := r.Header.Get(CardHeader)
	if text == "" {
		return nil, &vault.CardTextError{Kind: vault.CardLength}
	}
	return vault.ParseCard(text)
}

func (n *Node) apiID(w http.ResponseWriter, r *http.Request) {
	info := IDInfo{ID: n.ID().String(), MaxDocumentBytes: n.cfg.MaxDocumentBytes}
	for _, a := range n.Addrs() {
		info.Addrs = append(info.Addrs, a.String())
	}
	writeJSON(w, info)
}

func (n *Node) apiConnect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Addr string `json:"addr"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err)
		return
	}
	p, err := n.Connect(r.Context(), req.Addr, true)
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"peer": p.String()})
}

func (n *Node) apiPeers(w http.ResponseWriter, r *http.Request) {
	peers := []string{}
	for _, a := range n.Peers() {
		peers = append(peers, a.String())
	}
	writeJSON(w, map[string][]string{"peers": peers})
}

func (n *Node) apiCreateVault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Guardians []string `json:"guardians"`
		Threshold int      `json:"threshold"`
	}
	if r.ContentLength > 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err)
			return
		}
	}
	opts := CreateOptions{Threshold: req.Threshold}
	if req.Guardians != nil {
		opts.Guardians = []peer.ID{}
		for _, g := range req.Guardians {
			p, err := peer.Decode(g)
			if err != nil {
				writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Errorf("guardian %q is not a peer id", g))
				return
			}
			opts.Guardians = append(opts.Guardians, p)
		}
	}
	c, err := n.Register(r.Context(), opts)
	if err != nil {
		n.fail(w, err)
		return
	}
	out := CreatedInfo{Card: c.Card.String(), Vault: c.Vault.String(), Threshold: c.Threshold, Guardians: []string{}}
	for _, g := range c.Guardians {
		out.Guardians = append(out.Guardians, n.StructureName(g))
	}
	writeJSON(w, out)
}

// CreatedInfo is the answer to POST /v1/vaults.
type CreatedInfo struct {
	Card      string   `json:"card"`
	Vault     string   `json:"vault"`
	Guardians []string `json:"guardians"` // names
	Threshold int      `json:"threshold"`
}

func (n *Node) apiAdd(w http.ResponseWriter, r *http.Request) {
	card, err := requestCard(r)
	if err != nil {
		n.fail(w, err)
		return
	}
	if r.ContentLength > n.cfg.MaxDocumentBytes {
		n.fail(w, &TooLargeError{Limit: n.cfg.MaxDocumentBytes})
		return
	}
	q := r.URL.Query()
	meta := DocMeta{Title: q.Get("title"), Category: q.Get("category"), FileName: q.Get("name"), MIME: q.Get("mime")}
	e, err := n.Add(r.Context(), card, r.Body, meta)
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, docInfo(e))
}

func (n *Node) apiList(w http.ResponseWriter, r *http.Request) {
	card, err := requestCard(r)
	if err != nil {
		n.fail(w, err)
		return
	}
	o, err := n.Open(r.Context(), card)
	if err != nil {
		n.fail(w, err)
		return
	}
	out := ListInfo{Vault: o.Vault.String(), Docs: []DocInfo{}, Deposited: []DocInfo{}}
	for _, e := range o.Entries {
		out.Docs = append(out.Docs, docInfo(e))
	}
	for _, e := range o.Deposited {
		out.Deposited = append(out.Deposited, docInfo(e))
	}
	writeJSON(w, out)
}

// ListInfo is the answer to GET /v1/docs.
type ListInfo struct {
	Vault     string    `json:"vault"`
	Docs      []DocInfo `json:"docs"`
	Deposited []DocInfo `json:"deposited"` // just taken in from deposits
}

func (n *Node) apiGet(w http.ResponseWriter, r *http.Request) {
	card, err := requestCard(r)
	if err != nil {
		n.fail(w, err)
		return
	}
	var d *Document
	if r.URL.Query().Get("raw") == "1" {
		d, err = n.GetRaw(r.Context(), card, r.PathValue("id"))
	} else {
		d, err = n.Get(r.Context(), card, r.PathValue("id"))
	}
	if err != nil {
		n.fail(w, err)
		return
	}
	defer d.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if s, ok := d.Closer.(interface{ Size() uint64 }); ok && r.URL.Query().Get("raw") == "1" {
		w.Header().Set("Content-Length", strconv.FormatUint(s.Size(), 10))
	} else if r.URL.Query().Get("raw") != "1" {
		w.Header().Set("Content-Length", strconv.FormatInt(d.Size, 10))
	}
	if _, err := io.CopyBuffer(w, d, make([]byte, 256<<10)); err != nil {
		// The status is sent already: break the connection so that the
		// client sees a truncated transfer, never a short file as success.
		n.log.Warn("document transfer failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (n *Node) apiIdentity(w http.ResponseWriter, r *http.Request) {
	card, err := requestCard(r)
	if err != nil {
		n.fail(w, err)
		return
	}
	id, err := n.ContentIdentity(r.Context(), card)
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"identity": id})
}

func (n *Node) apiExport(w http.ResponseWriter, r *http.Request) {
	var (
		plan *ExportPlan
		err  error
	)
	if r.URL.Query().Get("all") == "1" {
		plan, err = n.PlanExportAll(r.Context())
	} else {
		var card *vault.Card
		if card, err = requestCard(r); err == nil {
			plan, err = n.PlanExportVault(r.Context(), card)
		}
	}
	if err != nil {
		n.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car; version=1")
	w.Header().Set(ExportBytesHeader, strconv.FormatInt(plan.Bytes, 10))
	if err := n.WriteExport(r.Context(), plan, w, nil); err != nil {
		n.log.Warn("export failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (n *Node) apiImport(w http.ResponseWriter, r *http.Request) {
	res, err := n.Import(r.Context(), r.Body, nil)
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, res)
}

// readCode reads a JSON {"code": TEXT} request.
func readCode(r *http.Request) (*proto.Code, error) {
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		return nil, &proto.CodeError{Msg: "no code in the request"}
	}
	return proto.ParseCode(req.Code)
}

func (n *Node) apiPairingCode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"code": n.PairingCode().String()})
}

func (n *Node) apiPair(w http.ResponseWriter, r *http.Request) {
	code, err := readCode(r)
	if err == nil {
		err = n.Pair(r.Context(), code)
	}
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"peer": code.Peer.String()})
}

func (n *Node) apiInvite(w http.ResponseWriter, r *http.Request) {
	code, err := n.Invite(r.Context())
	if err != nil {
		n.fail(w, err)
		return
	}
	fed, _ := n.Federation()
	writeJSON(w, map[string]string{"code": code.String(), "federation": fed.String()})
}

func (n *Node) apiJoin(w http.ResponseWriter, r *http.Request) {
	code, err := readCode(r)
	var fed peer.ID
	if err == nil {
		fed, err = n.JoinFederation(r.Context(), code)
	}
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"federation": fed.String()})
}

func (n *Node) apiFederation(w http.ResponseWriter, r *http.Request) {
	fed, members := n.Federation()
	out := struct {
		Federation string            `json:"federation"`
		Members    []string          `json:"members"`
		Removed    []string          `json:"removed,omitempty"`
		Names      map[string]string `json:"names,omitempty"` // from the signed structure records
	}{Members: []string{}, Names: map[string]string{}}
	if fed != "" {
		out.Federation = fed.String()
	}
	for _, m := range members {
		out.Members = append(out.Members, m.String())
		out.Names[m.String()] = n.StructureName(m)
	}
	for _, m := range n.Removed() {
		out.Removed = append(out.Removed, m.String())
		out.Names[m.String()] = n.StructureName(m)
	}
	writeJSON(w, out)
}

func (n *Node) apiStatus(w http.ResponseWriter, r *http.Request) {
	st, err := n.Status(r.Context())
	if err != nil {
		n.fail(w, err)
		return
	}
	writeJSON(w, st)
}

// OpenEvent is one line of the /v1/open stream.
type OpenEvent struct {
	Done  uint64 `json:"done,omitempty"`
	Total uint64 `json:"total,omitempty"`
	Vault string `json:"vault,omitempty"`
	Docs  int    `json:"docs,omitempty"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

func (n *Node) apiOpen(w http.ResponseWriter, r *http.Request) {
	card, err := requestCard(r)
	if err != nil {
		n.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func(ev OpenEvent) {
		_ = enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	p := &Progress{}
	type result struct {
		v    vault.VaultID
		docs []vault.Entry
		err  error
	}
	done := make(chan result, 1)
	go func() {
		v, docs, err := n.List(WithProgress(r.Context(), p), card)
		done <- result{v, docs, err}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				_, code := n.errorCode(res.err)
				send(OpenEvent{Code: code, Error: res.err.Error()})
				return
			}
			if d, t := p.Values(); t > 0 {
				send(OpenEvent{Done: d, Total: t})
			}
			send(OpenEvent{Vault: res.v.String(), Docs: len(res.docs)})
			return
		case <-tick.C:
			if d, t := p.Values(); t > 0 {
				send(OpenEvent{Done: d, Total: t})
			}
		}
	}
}
