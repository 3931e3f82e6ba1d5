package api

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of the deposits ("mail received for a person"), documents put in
// a vault without its card:
//
//	POST /v1/vaults/{vault}/deposit?title=&category=&name=&mime=  body → {"deposit": ID}
//	GET  /v1/vaults/{vault}/pending → [node.PendingDeposit]
func (s *server) depositRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/vaults/{vault}/deposit", s.withVault(s.deposit))
	mux.HandleFunc("GET /v1/vaults/{vault}/pending", s.withVault(s.pendingDeposits))
}

func (s *server) deposit(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
	if max := s.n.MaxDocumentBytes(); r.ContentLength > max {
		s.fail(w, &node.TooLargeError{Limit: max})
		return
	}
	q := r.URL.Query()
	id, err := s.n.Deposit(r.Context(), v, r.Body, node.DepositMetaIn{Title: q.Get("title"), Category: q.Get("category"), FileName: q.Get("name"), MIME: q.Get("mime")})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]string{"deposit": id})
}

// Deposit stores a document in a vault without its card.
func (c *Client) Deposit(ctx context.Context, vaultID string, r io.Reader, size int64, meta node.DocMeta) (string, error) {
	resp, err := c.do(ctx, "POST", "/v1/vaults/"+url.PathEscape(vaultID)+"/deposit?"+metaQuery(meta), nil, r, size)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Deposit string `json:"deposit"`
	}
	if err := readAnswer(resp, 1<<20, &out); err != nil {
		return "", err
	}
	return out.Deposit, nil
}

func (s *server) pendingDeposits(w http.ResponseWriter, r *http.Request, v vault.VaultID) {
	ps, err := s.n.PendingDeposits(r.Context(), v)
	if err != nil {
		s.fail(w, err)
		return
	}
	if ps == nil {
		ps = []node.PendingDeposit{}
	}
	writeJSON(w, ps)
}

// PendingDeposits lists a vault's deposits not yet taken in.
func (c *Client) PendingDeposits(ctx context.Context, vaultID string) ([]node.PendingDeposit, error) {
	var out []node.PendingDeposit
	err := c.json(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/pending", nil, nil, &out)
	return out, err
}
