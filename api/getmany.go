package api

// Route of several documents read in one card session (the command
// line's get of several documents, a full download):
//
//	POST /v1/docs/many  (card) body: JSON {"ids": [ID…]} (empty or absent:
//	                    every document) → multipart/mixed: for each
//	                    document a part "meta" (JSON DocInfo) then a part
//	                    "doc" (its plaintext); a transfer cut short is a
//	                    broken connection, never a short multipart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"

	"baluchon/node"
	"baluchon/vault"
)

// maxManyRequest bounds the body of POST /v1/docs/many: 10,000 ids.
const maxManyRequest = 1 << 20

// manyRequest is the body of POST /v1/docs/many.
type manyRequest struct {
	IDs []string `json:"ids"`
}

func (s *server) getMany(w http.ResponseWriter, r *http.Request, card *vault.Card) {
	var req manyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxManyRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && err != io.EOF {
		badRequest(w, fmt.Errorf("the body is {\"ids\": [ID…]}: %w", err))
		return
	}
	var mw *multipart.Writer
	buf := make([]byte, 256<<10)
	err := s.n.GetMany(r.Context(), card, req.IDs, func(d *node.Document) error {
		if mw == nil {
			mw = multipart.NewWriter(w)
			w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
		}
		meta, err := json.Marshal(docInfo(d.Entry))
		if err != nil {
			return err
		}
		p, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}, "Content-Disposition": {`form-data; name="meta"`}})
		if err != nil {
			return err
		}
		if _, err := p.Write(meta); err != nil {
			return err
		}
		if p, err = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {`form-data; name="doc"`}}); err != nil {
			return err
		}
		n, err := io.CopyBuffer(p, d, buf)
		if err == nil && n != d.Size {
			err = fmt.Errorf("document %s: %d bytes, its entry says %d", d.ID, n, d.Size)
		}
		return err
	})
	if err != nil && mw == nil {
		s.fail(w, err)
		return
	}
	if err != nil {
		// The status is sent already: break the connection so that the
		// client sees a truncated transfer, never a short answer as success.
		s.log.Warn("documents transfer failed", "err", err)
		panic(http.ErrAbortHandler)
	}
	if mw == nil { // an empty vault
		mw = multipart.NewWriter(w)
		w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	}
	if err := mw.Close(); err != nil {
		s.log.Warn("documents transfer failed", "err", err)
	}
}

// GetMany reads the documents ids of card's vault (every document when
// ids is empty) in one card session at the node and calls each with each
// document's description and plaintext, in turn. A document cut short or
// of another size than its description says is an error.
func (c *Client) GetMany(ctx context.Context, card *vault.Card, ids []string, each func(DocInfo, io.Reader) error) error {
	b, err := json.Marshal(manyRequest{IDs: ids})
	if err != nil {
		return err
	}
	resp, err := c.doType(ctx, "POST", "/v1/docs/many", card, bytes.NewReader(b), int64(len(b)), "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return errors.New("the node's answer is not multipart/mixed")
	}
	mr := multipart.NewReader(bufio.NewReaderSize(resp.Body, 64<<10), params["boundary"]) // as addBatch's
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if len(ids) > 0 && i != len(ids) {
				return fmt.Errorf("the node sent %d documents of %d", i, len(ids))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read document %d: %w", i+1, err)
		}
		if p.FormName() != "meta" {
			return fmt.Errorf("part %d of the answer: want \"meta\", got %q", i+1, p.FormName())
		}
		var info DocInfo
		if err := json.NewDecoder(io.LimitReader(p, maxBatchMeta)).Decode(&info); err != nil {
			return fmt.Errorf("description of document %d: %w", i+1, err)
		}
		if p, err = mr.NextPart(); err != nil || p.FormName() != "doc" {
			return fmt.Errorf("document %d (%s): its part \"doc\" is missing", i+1, info.ID)
		}
		cr := &countReader{r: p}
		if err := each(info, cr); err != nil {
			return err
		}
		// What each left unread is read, so that the size is checked.
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return fmt.Errorf("document %s: %w", info.ID, err)
		}
		if cr.n != info.Size {
			return fmt.Errorf("document %s: %d bytes, want %d", info.ID, cr.n, info.Size)
		}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}
