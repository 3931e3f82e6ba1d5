package api

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of the exports and imports of CAR files (a USB stick carries
// them where the network does not):
//
//	GET  /v1/export[?all=1]  (card, unless all) → a CAR of the card's vault
//	                         (or of all vaults); header ExportBytesHeader:
//	                         bytes of blocks to come
//	POST /v1/import          body: a CAR → node.ImportResult
func (s *server) usbRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/export", s.export)
	mux.HandleFunc("POST /v1/import", s.importCAR)
}

// ExportBytesHeader tells the size of the blocks of an export, for
// progress bars.
const ExportBytesHeader = "Baluchon-Export-Bytes"

func (s *server) export(w http.ResponseWriter, r *http.Request) {
	var (
		plan *node.ExportPlan
		err  error
	)
	if r.URL.Query().Get("all") == "1" {
		plan, err = s.n.PlanExportAll(r.Context())
	} else {
		var card *vault.Card
		if card, err = requestCard(r); err == nil {
			plan, err = s.n.PlanExportVault(r.Context(), card)
		}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.ipld.car; version=1")
	w.Header().Set(ExportBytesHeader, strconv.FormatInt(plan.Bytes, 10))
	if err := s.n.WriteExport(r.Context(), plan, w, nil); err != nil {
		s.log.Warn("export failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// Export returns a reader of a CAR export: of card's vault, or of every
// vault when card is nil. bytes is the size of its blocks.
func (c *Client) Export(ctx context.Context, card *vault.Card) (r io.ReadCloser, bytes int64, err error) {
	path := "/v1/export"
	if card == nil {
		path += "?all=1"
	}
	resp, err := c.do(ctx, "GET", path, card, nil, -1)
	if err != nil {
		return nil, 0, err
	}
	bytes, _ = strconv.ParseInt(resp.Header.Get(ExportBytesHeader), 10, 64)
	return resp.Body, bytes, nil
}

func (s *server) importCAR(w http.ResponseWriter, r *http.Request) {
	res, err := s.n.Import(r.Context(), r.Body, nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, res)
}

// Import sends a CAR export of size bytes to the node.
func (c *Client) Import(ctx context.Context, r io.Reader, size int64) (*node.ImportResult, error) {
	resp, err := c.do(ctx, "POST", "/v1/import", nil, r, size)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out node.ImportResult
	if err := readAnswer(resp, 1<<20, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
