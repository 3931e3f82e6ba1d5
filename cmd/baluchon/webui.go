package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"

	"baluchon/cardprint"
	"baluchon/node"
	"baluchon/web"
)

// uiOff is the --ui value that serves no page.
const uiOff = "off"

// uiOptions are serve's flags for the web page beyond its address.
type uiOptions struct {
	clamAV string // --clamav
	scans  string // --scans
}

// startUI serves the structure's web page of n on addr until ctx ends; the
// returned function waits for it to stop. When addr is the default (not
// asked for) and its port is taken, by another node on this machine, the
// page takes a free port instead.
func startUI(ctx context.Context, e *env, n *node.Node, addr string, asked bool, uo uiOptions, log *slog.Logger) (wait func(), err error) {
	if addr == uiOff {
		return func() {}, nil
	}
	l, err := web.Listen(addr, e.home)
	if err != nil && !asked && errors.Is(err, syscall.EADDRINUSE) {
		l, err = web.Listen("127.0.0.1:0", e.home)
	}
	if err != nil {
		return nil, err
	}
	code := ""
	if l.TLS && web.NeedsSetup(e.home) {
		// on the network, whoever comes first must not become the admin
		code = web.NewSetupCode()
	}
	s, err := web.New(web.Config{Node: n, Cards: cardprint.Printer{}, Recordings: n, Home: e.home, TLS: l.TLS, Fingerprint: l.Fingerprint, Hosts: l.Hosts, SetupCode: code, ClamAV: uo.clamAV, ScansFolder: uo.scans, Logger: log,
		Version: currentVersion().String(), Reachable: func() []string { return multiaddrStrings(n.Addrs()) }})
	if err != nil {
		l.Close()
		return nil, err
	}
	if err := l.WriteAddr(e.home); err != nil {
		l.Close()
		return nil, err
	}
	fmt.Fprintf(e.stderr, "web page on %s\n", l.URL)
	if l.TLS {
		fmt.Fprintf(e.stderr, "  its certificate's SHA-256 fingerprint: %s\n", l.Fingerprint)
	}
	if code != "" {
		fmt.Fprintf(e.stderr, "  first visit: the page asks for this code: %s\n", code)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer s.Close()
		defer web.RemoveAddr(e.home)
		if err := s.Serve(ctx, l); err != nil {
			log.Error("web page stopped", "err", err)
		}
	}()
	return func() { <-done }, nil
}

// multiaddrStrings is the text of each address.
func multiaddrStrings(as []ma.Multiaddr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
