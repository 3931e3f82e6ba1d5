package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"baluchon/vault"
)

// Routes of the trash:
//
//	DELETE /v1/docs/{id}                (card) → {}: the document goes to the trash
//	GET    /v1/trash                    (card) → [TrashInfo]
//	POST   /v1/trash/{id}/restore       (card) → DocInfo, under a new id
func (s *server) trashRoutes(mux *http.ServeMux) {
	mux.HandleFunc("DELETE /v1/docs/{id}", s.withCard(s.remove))
	mux.HandleFunc("GET /v1/trash", s.withCard(s.trash))
	mux.HandleFunc("POST /v1/trash/{id}/restore", s.withCard(s.restore))
}

// TrashInfo is a deleted document as the API shows it.
type TrashInfo struct {
	DocInfo
	Deleted time.Time `json:"deleted"`
	Purge   time.Time `json:"purge"` // when it leaves the trash for good
}

func (s *server) remove(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	if err := s.n.Remove(r.Context(), card, r.PathValue("id")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, struct{}{})
}

// Remove deletes document id of the vault of card: it goes to the trash.
func (c *Client) Remove(ctx context.Context, card *vault.Card, id string) error {
	var out struct{}
	return c.json(ctx, http.MethodDelete, "/v1/docs/"+url.PathEscape(id), card, nil, &out)
}

func (s *server) trash(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	items, err := s.n.Trash(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]TrashInfo, 0, len(items))
	for _, t := range items {
		out = append(out, TrashInfo{DocInfo: docInfo(t.Entry), Deleted: t.Deleted, Purge: t.Purge})
	}
	writeJSON(w, out)
}

// Trash lists the deleted documents that can still be restored.
func (c *Client) Trash(ctx context.Context, card *vault.Card) ([]TrashInfo, error) {
	var out []TrashInfo
	err := c.json(ctx, http.MethodGet, "/v1/trash", card, nil, &out)
	return out, err
}

func (s *server) restore(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	e, err := s.n.Restore(r.Context(), card, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, docInfo(e))
}

// Restore brings back deleted document id, under a new id.
func (c *Client) Restore(ctx context.Context, card *vault.Card, id string) (*DocInfo, error) {
	var out DocInfo
	if err := c.json(ctx, http.MethodPost, "/v1/trash/"+url.PathEscape(id)+"/restore", card, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
