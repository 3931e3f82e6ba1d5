package api

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of couriers (a file carried between two nodes that never meet;
// see node/courier.go):
//
//	GET  /v1/have          → the have file of every vault this node keeps
//	POST /v1/export/delta  body: a have file (card optional) → a CAR of what
//	                       its node lacks, for the card's vault or, without
//	                       a card, for the vaults the file names; header
//	                       ExportBytesHeader: bytes of blocks to come
//
// They are served when the node implements CourierOps (*node.Node does).
func (s *server) courierRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/have", s.have)
	mux.HandleFunc("POST /v1/export/delta", s.exportDelta)
}

// CourierOps are the delta exports of couriers. They are not part of Node
// so that its fakes need not have them.
type CourierOps interface {
	Have(ctx context.Context, vaults []vault.VaultID) (*node.Have, error)
	PlanExportDelta(ctx context.Context, have *node.Have, card *vault.Card) (*node.ExportPlan, error)
}

var _ CourierOps = (*node.Node)(nil)

func (s *server) courier(w http.ResponseWriter) (CourierOps, bool) {
	c, ok := s.n.(CourierOps)
	if !ok {
		http.Error(w, "this node has no delta exports", http.StatusNotImplemented)
	}
	return c, ok
}

func (s *server) have(w http.ResponseWriter, r *http.Request) {
	c, ok := s.courier(w)
	if !ok {
		return
	}
	h, err := c.Have(r.Context(), nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = node.WriteHave(w, h)
}

func (s *server) exportDelta(w http.ResponseWriter, r *http.Request) {
	c, ok := s.courier(w)
	if !ok {
		return
	}
	have, err := node.ReadHave(r.Body)
	if err != nil {
		s.fail(w, err)
		return
	}
	var card *vault.Card
	if r.Header.Get(CardHeader) != "" {
		if card, err = requestCard(r); err != nil {
			s.fail(w, err)
			return
		}
	}
	plan, err := c.PlanExportDelta(r.Context(), have, card)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car; version=1")
	w.Header().Set(ExportBytesHeader, strconv.FormatInt(plan.Bytes, 10))
	if err := s.n.WriteExport(r.Context(), plan, w, nil); err != nil {
		s.log.Warn("delta export failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// Have returns the node's have file.
func (c *Client) Have(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.do(ctx, "GET", "/v1/have", nil, nil, -1)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ExportDelta returns a reader of a CAR of what the node of the have file
// lacks: of card's vault, or of the vaults the file names when card is
// nil. bytes is the size of its blocks.
func (c *Client) ExportDelta(ctx context.Context, have io.Reader, size int64, card *vault.Card) (r io.ReadCloser, bytes int64, err error) {
	resp, err := c.do(ctx, "POST", "/v1/export/delta", card, have, size)
	if err != nil {
		return nil, 0, err
	}
	bytes, _ = strconv.ParseInt(resp.Header.Get(ExportBytesHeader), 10, 64)
	return resp.Body, bytes, nil
}
