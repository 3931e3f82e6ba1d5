package api

// Route of several documents added as one change (the command line's
// add with several files):
//
//	POST /v1/docs/batch  (card) body: multipart/form-data, for each
//	                     document a part "meta" (JSON BatchMeta) then a
//	                     part "doc" (its bytes) → []DocInfo; one new vault
//	                     state for all, made durable once; nothing is
//	                     stored when one document fails

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"baluchon/node"
	"baluchon/vault"
)

// BatchMeta is what the part "meta" of a batch says of the document in
// the part "doc" that follows it.
type BatchMeta struct {
	Title    string `json:"title,omitempty"`
	Category string `json:"category,omitempty"`
	FileName string `json:"name,omitempty"`
	MIME     string `json:"mime,omitempty"`
}

// maxBatchMeta bounds the part "meta" of a batch.
const maxBatchMeta = 8 << 10

func (s *server) addBatch(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		badRequest(w, errors.New("a batch is a multipart/form-data body"))
		return
	}
	// The multipart reader reads 4 kB at a time: under it, a buffer that
	// takes what the connection has in 64 kB reads (a batch of 300 MB is
	// then 5,000 reads of the socket, not 75,000).
	mr := multipart.NewReader(bufio.NewReaderSize(r.Body, 64<<10), params["boundary"])
	max := s.n.MaxDocumentBytes()
	entries, err := s.n.AddBatch(r.Context(), card, func(add node.AddFunc) error {
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return &badInput{fmt.Errorf("read document %d of the batch: %w", i+1, err)}
			}
			if p.FormName() != "meta" {
				return &badInput{fmt.Errorf("part %d of the batch: want \"meta\", got %q", i+1, p.FormName())}
			}
			var bm BatchMeta
			dec := json.NewDecoder(io.LimitReader(p, maxBatchMeta))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&bm); err != nil {
				return &badInput{fmt.Errorf("meta of document %d of the batch: %w", i+1, err)}
			}
			if p, err = mr.NextPart(); err != nil || p.FormName() != "doc" {
				return &badInput{fmt.Errorf("document %d of the batch: its part \"doc\" is missing", i+1)}
			}
			meta := node.DocMeta{Title: bm.Title, Category: bm.Category, FileName: bm.FileName, MIME: bm.MIME}
			if _, err := add(io.LimitReader(p, max+1), meta); err != nil {
				return fmt.Errorf("document %d of the batch (%s): %w", i+1, bm.FileName, err)
			}
		}
	})
	if bi := (*badInput)(nil); errors.As(err, &bi) {
		badRequest(w, bi.err)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, docInfos(entries))
}

// badInput is a malformed batch, told apart from the node's errors.
type badInput struct{ err error }

func (b *badInput) Error() string { return b.err.Error() }
func (b *badInput) Unwrap() error { return b.err }

// BatchFile is one document of Client.AddBatch.
type BatchFile struct {
	Meta node.DocMeta
	// Open returns the document's bytes; it is called when the document's
	// turn comes, before Meta is read (so it may fill Meta in), and what
	// it returns is closed after.
	Open func() (io.ReadCloser, error)
}

// AddBatch stores files in card's vault as one new vault state: all of
// them, durably, or none.
func (c *Client) AddBatch(ctx context.Context, card *vault.Card, files []BatchFile) ([]DocInfo, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeBatch(mw, files))
	}()
	resp, err := c.doType(ctx, "POST", "/v1/docs/batch", card, pr, -1, mw.FormDataContentType())
	pr.CloseWithError(errors.New("batch request ended"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []DocInfo
	if err := readAnswer(resp, 64<<20, &out); err != nil {
		return nil, err
	}
	if len(out) != len(files) {
		return nil, fmt.Errorf("the node stored %d documents of %d", len(out), len(files))
	}
	return out, nil
}

func writeBatch(mw *multipart.Writer, files []BatchFile) error {
	for i := range files {
		if err := writeBatchFile(mw, &files[i]); err != nil {
			return err
		}
	}
	return mw.Close()
}

func writeBatchFile(mw *multipart.Writer, f *BatchFile) error {
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := json.Marshal(BatchMeta{Title: f.Meta.Title, Category: f.Meta.Category, FileName: f.Meta.FileName, MIME: f.Meta.MIME})
	if err != nil {
		return err
	}
	if err := mw.WriteField("meta", string(b)); err != nil {
		return err
	}
	w, err := mw.CreateFormFile("doc", "doc")
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}
