package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"baluchon/node"
	"baluchon/vault"
)

// Routes of the documents of a vault opened by its card:
//
//	POST /v1/docs?title=&category=&name=&mime=   (card) body: the document → DocInfo
//	POST /v1/docs/batch      (card) several documents, one vault state (batch.go)
//	GET  /v1/docs            (card) → ListInfo
//	GET  /v1/docs/{id}[?raw=1] (card) → the document (plaintext, or age ciphertext)
//	POST /v1/docs/many       (card) several documents, one session (getmany.go)
//	POST /v1/open            (card) opens the vault, fetching it if this node
//	                         does not have it yet; streams JSON lines
//	                         {"done": BYTES, "total": BYTES}… then
//	                         {"vault": ID, "docs": N} or {"code": …, "error": …}
func (s *server) documentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/docs", s.withCard(s.add))
	mux.HandleFunc("POST /v1/docs/batch", s.withCard(s.addBatch))
	mux.HandleFunc("GET /v1/docs", s.withCard(s.list))
	mux.HandleFunc("GET /v1/docs/{id}", s.withCard(s.get))
	mux.HandleFunc("POST /v1/docs/many", s.withCard(s.getMany))
	mux.HandleFunc("POST /v1/open", s.withCard(s.open))
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

func docInfos(es []vault.Entry) []DocInfo {
	out := make([]DocInfo, 0, len(es))
	for _, e := range es {
		out = append(out, docInfo(e))
	}
	return out
}

// ListInfo is the answer to GET /v1/docs.
type ListInfo struct {
	Vault     string    `json:"vault"`
	Docs      []DocInfo `json:"docs"`
	Deposited []DocInfo `json:"deposited"` // just taken in from deposits
}

func (s *server) add(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	if max := s.n.MaxDocumentBytes(); r.ContentLength > max {
		s.fail(w, &node.TooLargeError{Limit: max})
		return
	}
	q := r.URL.Query()
	meta := node.DocMeta{Title: q.Get("title"), Category: q.Get("category"), FileName: q.Get("name"), MIME: q.Get("mime")}
	e, err := s.n.Add(r.Context(), card, r.Body, meta)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, docInfo(e))
}

// Add stores a document of size bytes (-1 if unknown) read from r.
func (c *Client) Add(ctx context.Context, card *vault.Card, r io.Reader, size int64, meta node.DocMeta) (*DocInfo, error) {
	resp, err := c.do(ctx, "POST", "/v1/docs?"+metaQuery(meta), card, r, size)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out DocInfo
	if err := readAnswer(resp, 1<<20, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *server) list(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	o, err := s.n.Open(r.Context(), card)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, ListInfo{Vault: o.Vault.String(), Docs: docInfos(o.Entries), Deposited: docInfos(o.Deposited)})
}

// List returns the documents of card's vault (and those just taken in
// from deposits).
func (c *Client) List(ctx context.Context, card *vault.Card) (*ListInfo, error) {
	var out ListInfo
	err := c.json(ctx, "GET", "/v1/docs", card, nil, &out)
	return &out, err
}

func (s *server) get(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	raw := r.URL.Query().Get("raw") == "1"
	var (
		d   *node.Document
		err error
	)
	if raw {
		d, err = s.n.GetRaw(r.Context(), card, r.PathValue("id"))
	} else {
		d, err = s.n.Get(r.Context(), card, r.PathValue("id"))
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	defer d.Close()
	size := d.Size
	if raw {
		size = -1
		if sz, ok := d.Closer.(interface{ Size() uint64 }); ok {
			size = int64(sz.Size())
		}
	}
	s.sendDocument(w, d, size)
}

// sendDocument streams a document of size bytes (-1: unknown).
func (s *server) sendDocument(w http.ResponseWriter, d io.Reader, size int64) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if size >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if _, err := io.CopyBuffer(w, d, make([]byte, 256<<10)); err != nil {
		// The status is sent already: break the connection so that the
		// client sees a truncated transfer, never a short file as success.
		s.log.Warn("document transfer failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// Get returns a reader of a document (its ciphertext when raw) and its
// size in bytes. The caller must close it; a transfer cut short is an
// error, never a short read.
func (c *Client) Get(ctx context.Context, card *vault.Card, id string, raw bool) (io.ReadCloser, int64, error) {
	path := "/v1/docs/" + url.PathEscape(id)
	if raw {
		path += "?raw=1"
	}
	resp, err := c.do(ctx, "GET", path, card, nil, -1)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
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

func (s *server) open(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func(ev OpenEvent) {
		_ = enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	p := &node.Progress{}
	type result struct {
		v    vault.VaultID
		docs []vault.Entry
		err  error
	}
	done := make(chan result, 1)
	go func() {
		v, docs, err := s.n.List(node.WithProgress(r.Context(), p), card)
		done <- result{v, docs, err}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				_, code := s.errorCode(res.err)
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

// Open opens card's vault at the node, which fetches it first if it does
// not have it yet; progress is called with the bytes fetched and to fetch.
func (c *Client) Open(ctx context.Context, card *vault.Card, progress func(done, total uint64)) error {
	resp, err := c.do(ctx, "POST", "/v1/open", card, nil, -1)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<20))
	for {
		var ev OpenEvent
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("read the node's answer: %w", err)
		}
		switch {
		case ev.Code != "":
			return &Error{Status: http.StatusOK, Code: ev.Code, Message: ev.Error}
		case ev.Vault != "":
			return nil
		case progress != nil:
			progress(ev.Done, ev.Total)
		}
	}
}
