package node

import (
	"net/http"
	"time"

	"baluchon/vault"
)

// Routes of the trash:
//
//	DELETE /v1/docs/{id}                (card) → {}: the document goes to the trash
//	GET    /v1/trash                    (card) → [TrashInfo]
//	POST   /v1/trash/{id}/restore       (card) → DocInfo, under a new id
func (n *Node) trashRoutes(mux *http.ServeMux) {
	mux.HandleFunc("DELETE /v1/docs/{id}", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		if err := n.Remove(r.Context(), card, r.PathValue("id")); err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, struct{}{})
	}))
	mux.HandleFunc("GET /v1/trash", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		items, err := n.Trash(r.Context(), card)
		if err != nil {
			n.fail(w, err)
			return
		}
		out := make([]TrashInfo, 0, len(items))
		for _, t := range items {
			out = append(out, TrashInfo{DocInfo: docInfo(t.Entry), Deleted: t.Deleted, Purge: t.Purge})
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("POST /v1/trash/{id}/restore", n.withCard(func(w http.ResponseWriter, r *http.Request, card *vault.Card) {
		e, err := n.Restore(r.Context(), card, r.PathValue("id"))
		if err != nil {
			n.fail(w, err)
			return
		}
		writeJSON(w, docInfo(e))
	}))
}

// TrashInfo is a deleted document as the API shows it.
type TrashInfo struct {
	DocInfo
	Deleted time.Time `json:"deleted"`
	Purge   time.Time `json:"purge"` // when it leaves the trash for good
}
