package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baluchon/node"
)

const testToken = "0123456789abcdef"

// serve returns a test server of the API over f.
func serve(t *testing.T, f *fakeNode) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(newHandler(f, testToken, slog.New(slog.DiscardHandler)))
	t.Cleanup(s.Close)
	return s
}

// call sends a request with the token (and the card, when not empty) and
// returns the status and the decoded error body, if any.
func call(t *testing.T, s *httptest.Server, method, path, token, card string, body io.Reader) (*http.Response, errorBody) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if card != "" {
		req.Header.Set(CardHeader, card)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb errorBody
	if resp.StatusCode/100 != 2 {
		if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
			t.Fatalf("%s %s: error body: %v", method, path, err)
		}
	}
	return resp, eb
}

func TestAuth(t *testing.T) {
	f := newFake(t, 1)
	s := serve(t, f)
	for _, tc := range []struct {
		name   string
		header string
		status int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer fedcba9876543210", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"token without scheme", testToken, http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/v1/id", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusUnauthorized {
				var eb errorBody
				json.NewDecoder(resp.Body).Decode(&eb)
				if eb.Code != CodeUnauthorized || eb.Error != "missing or wrong API token" {
					t.Fatalf("got %+v", eb)
				}
			}
		})
	}
	// A refused request reaches no operation of the node.
	call(t, s, "POST", "/v1/vaults", "wrong", "", nil)
	if c := f.Calls(); len(c) != 0 {
		t.Fatalf("a request without the token called %v", c)
	}
}

func TestStartDialClose(t *testing.T) {
	f := newFake(t, 2)
	home := t.TempDir()
	srv, err := Start(f, Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.Stat(filepath.Join(home, tokenFile))
	if err != nil || tok.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", tok, err)
	}
	c, err := Dial(home)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.ID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != f.id.String() || info.MaxDocumentBytes != f.cfg.MaxDocumentBytes || len(info.Addrs) != 1 {
		t.Fatalf("got %+v", info)
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("listens on %s", srv.Addr())
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ID(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after close: got %v, want ErrNotRunning", err)
	}
	for _, name := range []string{addrFile, tokenFile} {
		if _, err := os.Stat(filepath.Join(home, name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind after close", name)
		}
	}
	if _, err := Dial(home); !errors.Is(err, node.ErrNotInitialised) {
		t.Fatalf("dial a home without a node: got %v", err)
	}
}

func TestDialNotRunning(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := node.Init(home, node.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(home); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
}

func TestStartOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.org:80", "no port"} {
		t.Run(addr, func(t *testing.T) {
			home := t.TempDir()
			_, err := Start(newFake(t, 3), Options{Home: home, Addr: addr})
			if err == nil {
				t.Fatal("started")
			}
			if addr != "no port" && !strings.Contains(err.Error(), "not a loopback address") {
				t.Fatalf("got %v", err)
			}
			if entries, _ := os.ReadDir(home); len(entries) != 0 {
				t.Fatalf("a refused start wrote %v", entries)
			}
		})
	}
}
