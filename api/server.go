package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"baluchon/internal/atomicfile"
	"baluchon/node"
)

// Files of the home that tell a client where the running node's API is.
const (
	addrFile  = "api"       // address of the local API
	tokenFile = "api.token" // its bearer token, mode 0600
)

// Options are the settings of the local API.
type Options struct {
	// Home is the node's folder: the API writes its address to HOME/api
	// and its bearer token to HOME/api.token there, and removes both
	// when it closes.
	Home string
	// Addr is the address to listen on (the node's config has it as
	// "api"). It must be a loopback address. Empty: node.DefaultAPI,
	// 127.0.0.1:0, a free port.
	Addr string
	// Logger receives the API's log. Nil means no log.
	Logger *slog.Logger
}

// Server is the local API of a running node.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	home string
	done chan struct{}
	stop context.CancelFunc
}

// Start serves the local API of n on a loopback address and writes
// HOME/api and HOME/api.token. The caller must Close it, before closing
// the node.
func Start(n Node, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := opts.Addr
	if addr == "" {
		addr = node.DefaultAPI
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("api address %q is not a loopback address: the local API must not be reachable from the network", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the local API on %s (is the port already in use? change \"api\" in %s): %w", addr, filepath.Join(opts.Home, "config.json"), err)
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		ln.Close()
		return nil, err
	}
	token := hex.EncodeToString(tok)
	if err := atomicfile.Write(filepath.Join(opts.Home, tokenFile), []byte(token+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("write api token: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(opts.Home, addrFile), []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
		ln.Close()
		os.Remove(filepath.Join(opts.Home, tokenFile))
		return nil, fmt.Errorf("write api address: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{ln: ln, home: opts.Home, done: make(chan struct{}), stop: stop}
	s.srv = &http.Server{
		Handler:           newHandler(n, token, log),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("local API stopped", "err", err)
		}
	}()
	log.Info("local API listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr returns the address the API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the API: requests under way get five seconds, then are
// cancelled. It removes HOME/api and HOME/api.token.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.stop()
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	os.Remove(filepath.Join(s.home, addrFile))
	os.Remove(filepath.Join(s.home, tokenFile))
	return nil
}

// server answers the routes for a node.
type server struct {
	n   Node
	log *slog.Logger
}

// newHandler returns the API's routes behind the bearer token check.
func newHandler(n Node, token string, log *slog.Logger) http.Handler {
	s := &server{n: n, log: log}
	mux := http.NewServeMux()
	s.peerRoutes(mux)
	s.cardRoutes(mux)
	s.documentRoutes(mux)
	s.trashRoutes(mux)
	s.recoveryRoutes(mux)
	s.delegationRoutes(mux)
	s.depositRoutes(mux)
	s.federationRoutes(mux)
	s.usbRoutes(mux)
	s.courierRoutes(mux)
	return auth(token, mux)
}

// auth lets through the requests that carry the bearer token.
func auth(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, errors.New("missing or wrong API token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
