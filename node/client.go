package node

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
	"strconv"
	"strings"
	"syscall"

	"baluchon/vault"
)

// ErrNotRunning says that no node runs in a home.
var ErrNotRunning = errors.New("no baluchon node is running in this home")

// Client talks to the local API of the node running in a home.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Dial returns a client of the node running in home. It fails with
// ErrNotRunning (or ErrNotInitialised) when there is none.
func Dial(home string) (*Client, error) {
	if !IsInitialised(home) {
		return nil, fmt.Errorf("%s: %w", home, ErrNotInitialised)
	}
	addr, err := os.ReadFile(filepath.Join(home, apiFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", home, ErrNotRunning)
	}
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(home, apiTokenFile))
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

// APIError is an error answered by the node.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, card *vault.Card, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
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
		var ae apiError
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ae); err != nil || ae.Code == "" {
			return nil, &APIError{Status: resp.StatusCode, Code: CodeInternal, Message: fmt.Sprintf("the node answered %s", resp.Status)}
		}
		return nil, &APIError{Status: resp.StatusCode, Code: ae.Code, Message: ae.Error}
	}
	return resp, nil
}

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
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("read the node's answer: %w", err)
	}
	return nil
}

// ID returns the node's identity and addresses.
func (c *Client) ID(ctx context.Context) (*IDInfo, error) {
	var out IDInfo
	return &out, c.json(ctx, "GET", "/v1/id", nil, nil, &out)
}

// Connect connects the node to a peer and remembers it.
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	var out struct {
		Peer string `json:"peer"`
	}
	err := c.json(ctx, "POST", "/v1/connect", nil, map[string]string{"addr": addr}, &out)
	return out.Peer, err
}

// Peers returns the node's connected peers.
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var out struct {
		Peers []string `json:"peers"`
	}
	err := c.json(ctx, "GET", "/v1/peers", nil, nil, &out)
	return out.Peers, err
}

// CreateVault creates a vault, with recovery guardians (nil: the node's
// default choice), and returns its card.
func (c *Client) CreateVault(ctx context.Context, guardians []string, threshold int) (*CreatedInfo, error) {
	var out CreatedInfo
	req := map[string]any{"threshold": threshold}
	if guardians != nil {
		req["guardians"] = guardians
	}
	err := c.json(ctx, "POST", "/v1/vaults", nil, req, &out)
	return &out, err
}

// Add stores a document of size bytes (-1 if unknown) read from r.
func (c *Client) Add(ctx context.Context, card *vault.Card, r io.Reader, size int64, meta DocMeta) (*DocInfo, error) {
	q := url.Values{}
	for k, v := range map[string]string{"title": meta.Title, "category": meta.Category, "name": meta.FileName, "mime": meta.MIME} {
		if v != "" {
			q.Set(k, v)
		}
	}
	resp, err := c.do(ctx, "POST", "/v1/docs?"+q.Encode(), card, r, size)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out DocInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("read the node's answer: %w", err)
	}
	return &out, nil
}

// List returns the documents of card's vault (and those just taken in
// from deposits).
func (c *Client) List(ctx context.Context, card *vault.Card) (*ListInfo, error) {
	var out ListInfo
	err := c.json(ctx, "GET", "/v1/docs", card, nil, &out)
	return &out, err
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

// Identity returns the vault's age content identity.
func (c *Client) Identity(ctx context.Context, card *vault.Card) (string, error) {
	var out struct {
		Identity string `json:"identity"`
	}
	err := c.json(ctx, "GET", "/v1/identity", card, nil, &out)
	return out.Identity, err
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

// Import sends a CAR export of size bytes to the node.
func (c *Client) Import(ctx context.Context, r io.Reader, size int64) (*ImportResult, error) {
	resp, err := c.do(ctx, "POST", "/v1/import", nil, r, size)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out ImportResult
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("read the node's answer: %w", err)
	}
	return &out, nil
}

// PairingCode returns the node's pairing code.
func (c *Client) PairingCode(ctx context.Context) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	err := c.json(ctx, "GET", "/v1/pair", nil, nil, &out)
	return out.Code, err
}

// Pair connects the node to the node of a pairing code, and remembers it.
func (c *Client) Pair(ctx context.Context, code string) (string, error) {
	var out struct {
		Peer string `json:"peer"`
	}
	err := c.json(ctx, "POST", "/v1/pair", nil, map[string]string{"code": code}, &out)
	return out.Peer, err
}

// Invite makes an invitation into the node's federation.
func (c *Client) Invite(ctx context.Context) (code, federation string, err error) {
	var out struct {
		Code       string `json:"code"`
		Federation string `json:"federation"`
	}
	err = c.json(ctx, "POST", "/v1/federation/invite", nil, nil, &out)
	return out.Code, out.Federation, err
}

// Join joins the federation of an invitation.
func (c *Client) Join(ctx context.Context, code string) (string, error) {
	var out struct {
		Federation string `json:"federation"`
	}
	err := c.json(ctx, "POST", "/v1/federation/join", nil, map[string]string{"code": code}, &out)
	return out.Federation, err
}

// Federation returns the node's federation and its members.
func (c *Client) Federation(ctx context.Context) (string, []string, error) {
	var out struct {
		Federation string   `json:"federation"`
		Members    []string `json:"members"`
	}
	err := c.json(ctx, "GET", "/v1/federation", nil, nil, &out)
	return out.Federation, out.Members, err
}

// FederationInfo is the node's federation: its members, the former ones,
// and the names of both (from their signed structure records).
type FederationInfo struct {
	Federation string            `json:"federation"`
	Members    []string          `json:"members"`
	Removed    []string          `json:"removed"`
	Names      map[string]string `json:"names"`
}

// FederationInfo returns the node's federation, with names.
func (c *Client) FederationInfo(ctx context.Context) (*FederationInfo, error) {
	var out FederationInfo
	err := c.json(ctx, "GET", "/v1/federation", nil, nil, &out)
	return &out, err
}

// RemoveMember takes a member out of the node's federation.
func (c *Client) RemoveMember(ctx context.Context, member string) error {
	var out map[string]string
	return c.json(ctx, "POST", "/v1/federation/remove", nil, map[string]string{"member": member}, &out)
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	return &out, c.json(ctx, "GET", "/v1/status", nil, nil, &out)
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
			return &APIError{Status: http.StatusOK, Code: ev.Code, Message: ev.Error}
		case ev.Vault != "":
			return nil
		case progress != nil:
			progress(ev.Done, ev.Total)
		}
	}
}

// ReplaceCard gives the person a new card; the old one stops working.
// It returns the new card and the vault's new id.
func (c *Client) ReplaceCard(ctx context.Context, card *vault.Card) (text, vaultID string, err error) {
	var out struct {
		Card  string `json:"card"`
		Vault string `json:"vault"`
	}
	err = c.json(ctx, "POST", "/v1/card/replace", card, nil, &out)
	return out.Card, out.Vault, err
}

// RecoveryStart starts the recovery of a vault.
func (c *Client) RecoveryStart(ctx context.Context, vaultID string) (*RecoveryRequest, error) {
	var out RecoveryRequest
	err := c.json(ctx, "POST", "/v1/recovery", nil, map[string]string{"vault": vaultID}, &out)
	return &out, err
}

// RecoveryRequests lists the requests naming this node as guardian.
func (c *Client) RecoveryRequests(ctx context.Context) ([]RecoveryRequest, error) {
	var out []RecoveryRequest
	err := c.json(ctx, "GET", "/v1/recovery", nil, nil, &out)
	return out, err
}

// RecoveryApprove approves a recovery request as a guardian; requester is
// the peer id of the structure the worker confirmed as the one that asked.
func (c *Client) RecoveryApprove(ctx context.Context, id, requester string) error {
	var out map[string]string
	return c.json(ctx, "POST", "/v1/recovery/"+url.PathEscape(id)+"/approve", nil, map[string]string{"requester": requester}, &out)
}

// RecoveryFinish completes a recovery and returns the new card.
func (c *Client) RecoveryFinish(ctx context.Context, id string) (card, vaultID string, err error) {
	var out struct {
		Card  string `json:"card"`
		Vault string `json:"vault"`
	}
	err = c.json(ctx, "POST", "/v1/recovery/"+url.PathEscape(id)+"/finish", nil, map[string]string{}, &out)
	return out.Card, out.Vault, err
}

// Delegate gives a structure read access to categories for days.
func (c *Client) Delegate(ctx context.Context, card *vault.Card, to string, categories []string, days int) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if categories == nil {
		categories = []string{}
	}
	err := c.json(ctx, "POST", "/v1/delegations", card, map[string]any{"to": to, "categories": categories, "days": days}, &out)
	return out.ID, err
}

// Delegations lists the vault's delegations.
func (c *Client) Delegations(ctx context.Context, card *vault.Card) ([]DelegationInfo, error) {
	var out []DelegationInfo
	err := c.json(ctx, "GET", "/v1/delegations", card, nil, &out)
	return out, err
}

// RevokeDelegation ends a delegation.
func (c *Client) RevokeDelegation(ctx context.Context, card *vault.Card, id string) error {
	var out map[string]string
	return c.json(ctx, "DELETE", "/v1/delegations/"+url.PathEscape(id), card, nil, &out)
}

// DelegatedList lists a vault's documents through a delegation.
func (c *Client) DelegatedList(ctx context.Context, vaultID string) (*ListInfo, error) {
	var out ListInfo
	err := c.json(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/docs", nil, nil, &out)
	return &out, err
}

// DelegatedGet returns a document through a delegation.
func (c *Client) DelegatedGet(ctx context.Context, vaultID, id string) (io.ReadCloser, int64, error) {
	resp, err := c.do(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/docs/"+url.PathEscape(id), nil, nil, -1)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.ContentLength, nil
}

// Deposit stores a document in a vault without its card.
func (c *Client) Deposit(ctx context.Context, vaultID string, r io.Reader, size int64, meta DocMeta) (string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"title": meta.Title, "category": meta.Category, "name": meta.FileName, "mime": meta.MIME} {
		if v != "" {
			q.Set(k, v)
		}
	}
	resp, err := c.do(ctx, "POST", "/v1/vaults/"+url.PathEscape(vaultID)+"/deposit?"+q.Encode(), nil, r, size)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Deposit string `json:"deposit"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("read the node's answer: %w", err)
	}
	return out.Deposit, nil
}

// PendingDeposits lists a vault's deposits not yet taken in.
func (c *Client) PendingDeposits(ctx context.Context, vaultID string) ([]PendingDeposit, error) {
	var out []PendingDeposit
	err := c.json(ctx, "GET", "/v1/vaults/"+url.PathEscape(vaultID)+"/pending", nil, nil, &out)
	return out, err
}

// AccessLog returns the vault's access log.
func (c *Client) AccessLog(ctx context.Context, card *vault.Card) ([]LogLine, error) {
	var out []LogLine
	err := c.json(ctx, "GET", "/v1/log", card, nil, &out)
	return out, err
}

// Rotate changes every key of the vault; it returns the new vault id.
func (c *Client) Rotate(ctx context.Context, card *vault.Card) (string, error) {
	var out struct {
		Vault string `json:"vault"`
	}
	err := c.json(ctx, "POST", "/v1/rotate", card, map[string]string{}, &out)
	return out.Vault, err
}

// GC deletes the blocks no pin reaches.
func (c *Client) GC(ctx context.Context) (*GCResult, error) {
	var out GCResult
	err := c.json(ctx, "POST", "/v1/gc", nil, map[string]string{}, &out)
	return &out, err
}
