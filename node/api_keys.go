package node

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// Routes of the "keys get lost" features:
//
//	POST   /v1/card/replace                 (card) → {"card": TEXT, "vault": NEW ID}
//	POST   /v1/recovery                     {"vault": ID} → RecoveryRequest
//	GET    /v1/recovery                     → [RecoveryRequest] naming this node as guardian
//	POST   /v1/recovery/{id}/approve        {"requester": PEERID} → {} (the structure the worker confirmed)
//	POST   /v1/recovery/{id}/finish         → {"card": TEXT, "vault": ID}
//	POST   /v1/delegations                  (card) {"to": PEER, "categories": […], "days": N} → {"id": ID}
//	GET    /v1/delegations                  (card) → [DelegationInfo]
//	DELETE /v1/delegations/{id}             (card) → {}
//	GET    /v1/vaults/{vault}/docs          → ListInfo, through a delegation
//	GET    /v1/vaults/{vault}/docs/{id}     → the document, through a delegation
//	POST   /v1/vaults/{vault}/deposit?title=&category=&name=&mime=  body → {"deposit": ID}
//	GET    /v1/vaults/{vault}/pending       → [PendingDeposit]
//	GET    /v1/log                          (card) → [LogLine]
//	POST   /v1/rotate                       (card) → {"vault": NEW ID}
//	POST   /v1/gc                           → GCResult
func (n *Node) keyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/gc", func(w http.ResponseWriter, r *http.Request) {
		res, err := n.GC(r.Context())
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, res)
	})
	mux.HandleFunc("POST /v1/card/replace", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		c, v, err := n.Replace(r.Context(), card)
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{"card": c.String(), "vault": v.String()})
	}))
	mux.HandleFunc("POST /v1/recovery", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Vault string `json:"vault"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err)
			return
		}
		v, err := vault.ParseVaultID(req.Vault)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err)
			return
		}
		rr, err := n.RecoveryStart(r.Context(), v)
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, rr)
	})
	mux.HandleFunc("GET /v1/recovery", func(w http.ResponseWriter, r *http.Request) {
		rs, err := n.RecoveryRequests(r.Context())
		if err != nil {
			n.fail(w, err)
			return
		}
		if rs == nil {
			rs = []RecoveryRequest{}
		}
		writeJSON(w, rs)
	})
	mux.HandleFunc("POST /v1/recovery/{id}/approve", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Requester string `json:"requester"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err)
			return
		}
		from, err := peer.Decode(req.Requester)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, errors.New("approving needs the peer id of the structure that asked, as confirmed by the worker (see 'baluchon recover list')"))
			return
		}
		if err := n.RecoveryApprove(r.Context(), r.PathValue("id"), from); err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{})
	})
	mux.HandleFunc("POST /v1/recovery/{id}/finish", func(w http.ResponseWriter, r *http.Request) {
		c, v, err := n.RecoveryFinish(r.Context(), r.PathValue("id"))
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{"card": c.String(), "vault": v.String()})
	})
	mux.HandleFunc("POST /v1/delegations", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		var req struct {
			To         string   `json:"to"`
			Categories []string `json:"categories"`
			Days       int      `json:"days"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, err)
			return
		}
		to, err := peer.Decode(req.To)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, errors.New("the structure to delegate to is not a peer id (see 'baluchon federation members')"))
			return
		}
		if req.Days <= 0 || req.Days > 3660 {
			writeError(w, http.StatusBadRequest, CodeBadRequest, errors.New("a delegation lasts 1 to 3660 days"))
			return
		}
		id, err := n.Delegate(r.Context(), card, DelegateOptions{To: to, Categories: req.Categories, Until: time.Now().Add(time.Duration(req.Days) * 24 * time.Hour)})
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{"id": id})
	}))
	mux.HandleFunc("GET /v1/delegations", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		ds, err := n.Delegations(r.Context(), card)
		if err != nil {
			n.fail(w, err)
			return
		}
		if ds == nil {
			ds = []DelegationInfo{}
		}
		writeJSON(w, ds)
	}))
	mux.HandleFunc("DELETE /v1/delegations/{id}", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		if err := n.RevokeDelegation(r.Context(), card, r.PathValue("id")); err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{})
	}))
	mux.HandleFunc("GET /v1/vaults/{vault}/docs", n.withVault(func(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
		entries, err := n.DelegatedList(r.Context(), v)
		if err != nil {
			n.fail(w, err)
			return
		}
		out := ListInfo{Vault: v.String(), Docs: []DocInfo{}, Deposited: []DocInfo{}}
		for _, e := range entries {
			out.Docs = append(out.Docs, docInfo(e))
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /v1/vaults/{vault}/docs/{id}", n.withVault(func(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
		d, err := n.DelegatedGet(r.Context(), v, r.PathValue("id"))
		if err != nil {
			n.fail(w, err)
			return
		}
		defer d.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(d.Size, 10))
		if _, err := io.CopyBuffer(w, d, make([]byte, 256<<10)); err != nil {
			panic(http.ErrAbortHandler)
		}
	}))
	mux.HandleFunc("POST /v1/vaults/{vault}/deposit", n.withVault(func(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
		if r.ContentLength > n.cfg.MaxDocumentBytes {
			n.fail(w, &TooLargeError{Limit: n.cfg.MaxDocumentBytes})
			return
		}
		q := r.URL.Query()
		id, err := n.Deposit(r.Context(), v, r.Body, DepositMetaIn{Title: q.Get("title"), Category: q.Get("category"), FileName: q.Get("name"), MIME: q.Get("mime")})
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{"deposit": id})
	}))
	mux.HandleFunc("GET /v1/vaults/{vault}/pending", n.withVault(func(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
		ps, err := n.PendingDeposits(r.Context(), v)
		if err != nil {
			n.fail(w, err)
			return
		}
		if ps == nil {
			ps = []PendingDeposit{}
		}
		writeJSON(w, ps)
	}))
	mux.HandleFunc("GET /v1/log", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		lines, err := n.AccessLog(r.Context(), card)
		if err != nil {
			n.fail(w, err)
			return
		}
		if lines == nil {
			lines = []LogLine{}
		}
		writeJSON(w, lines)
	}))
	mux.HandleFunc("POST /v1/rotate", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		v, err := n.Rotate(r.Context(), card)
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, map[string]string{"vault": v.String()})
	}))
}

func (n *Node) withCard(f func(http.ResponseWriter, *http.Request, *vault.Card)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		card, err := requestCard(r)
		if err != nil {
			n.fail(w, err)
			return
		}
		f(w, r, card)
	}
}

func (n *Node) withVault(f func(http.ResponseWriter, *http.Request, vault.VaultID)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := vault.ParseVaultID(r.PathValue("vault"))
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, errors.New("not a vault id: 'baluchon card new' printed it as 'vault …'"))
			return
		}
		f(w, r, v)
	}
}
