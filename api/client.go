package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"baluchon/node"
	"baluchon/vault"
)

// CardHeader carries the card text of a request.
const CardHeader = "Baluchon-Card"

// ErrNotRunning says that no node runs in a home.
var ErrNotRunning = errors.New("no baluchon node is running in this home")

// Client talks to the local API of the node running in a home. Its
// methods are in the files of their features, next to the routes they
// call.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Dial returns a client of the node running in home. It fails with
// ErrNotRunning, or node.ErrNotInitialised, when there is none.
func Dial(home string) (*Client, error) {
	addr, err := os.ReadFile(filepath.Join(home, addrFile))
	if errors.Is(err, fs.ErrNotExist) {
		if !node.IsInitialised(home) {
			return nil, fmt.Errorf("%s: %w", home, node.ErrNotInitialised)
		}
		return nil, fmt.Errorf("%s: %w", home, ErrNotRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("read API address: %w", err)
	}
	tok, err := os.ReadFile(filepath.Join(home, tokenFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", home, ErrNotRunning)
		}
		return nil, fmt.Errorf("read API token: %w", err)
	}
	return &Client{
		base:  "http://" + strings.TrimSpace(string(addr)),
		token: strings.TrimSpace(string(tok)),
		http:  &http.Client{Transport: &http.Transport{Proxy: nil}},
	}, nil
}

func (c *Client) do(ctx context.Context, method, path string, card *vault.Card, body io.Reader, size int64) (*http.Response, error) {
	return c.doType(ctx, method, path, card, body, size, "")
}

// doType is do with the body's Content-Type (empty: none).
func (c *Client) doType(ctx context.Context, method, path string, card *vault.Card, body io.Reader, size int64, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if card != nil {
		req.Header.Set(CardHeader, card.String())
	}
	if body != nil && size >= 0 {
		req.ContentLength = size
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("talk to the node: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var eb errorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb); err != nil || eb.Code == "" {
			return nil, &Error{Status: resp.StatusCode, Code: CodeInternal, Message: fmt.Sprintf("the node answered %s", resp.Status)}
		}
		return nil, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	return resp, nil
}

// json sends in (if not nil) as JSON and reads the answer into out.
func (c *Client) json(ctx context.Context, method, path string, card *vault.Card, in, out any) error {
	var body io.Reader
	size := int64(-1)
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, size = strings.NewReader(string(b)), int64(len(b))
	}
	resp, err := c.do(ctx, method, path, card, body, size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readAnswer(resp, 64<<20, out)
}

// readAnswer decodes a JSON answer of at most limit bytes.
func readAnswer(resp *http.Response, limit int64, out any) error {
	if err := json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(out); err != nil {
		return fmt.Errorf("read the node's answer: %w", err)
	}
	return nil
}

// requestCard reads the card of a request.
func requestCard(r *http.Request) (*vault.Card, error) {
	text := r.Header.Get(CardHeader)
	if text == "" {
		return nil, &vault.CardTextError{Kind: vault.CardLength}
	}
	return vault.ParseCard(text)
}

// readJSON reads a JSON request body of at most limit bytes.
func readJSON(r *http.Request, limit int64, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, limit)).Decode(v)
}

// withCard gives f the card of the request, or answers bad_card.
func (s *server) withCard(f func(http.ResponseWriter, *http.Request, *vault.Card)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		card, err := requestCard(r)
		if err != nil {
			s.fail(w, err)
			return
		}
		f(w, r, card)
	}
}

// withVault gives f the vault id of the path.
func (s *server) withVault(f func(http.ResponseWriter, *http.Request, vault.VaultID)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := vault.ParseVaultID(r.PathValue("vault"))
		if err != nil {
			badRequest(w, errors.New("not a vault id: 'baluchon card new' printed it as 'vault …'"))
			return
		}
		f(w, r, v)
	}
}

// metaQuery encodes a document's metadata as the query of an upload.
func metaQuery(m node.DocMeta) string {
	q := url.Values{}
	for k, v := range map[string]string{"title": m.Title, "category": m.Category, "name": m.FileName, "mime": m.MIME} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}
