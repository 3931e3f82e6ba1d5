package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenLoopbackIsHTTP(t *testing.T) {
	home := t.TempDir()
	l, err := Listen("127.0.0.1:0", home)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.TLS || !strings.HasPrefix(l.URL, "http://127.0.0.1:") {
		t.Errorf("loopback: TLS %v, URL %s", l.TLS, l.URL)
	}
	if _, err := os.Stat(filepath.Join(home, CertFile)); err == nil {
		t.Error("a certificate was made for a loopback page")
	}
	if _, err := Listen("nowhere", home); err == nil || !strings.Contains(err.Error(), "want HOST:PORT") {
		t.Errorf("bad address: %v", err)
	}
}

func TestListenTLS(t *testing.T) {
	home := t.TempDir()
	l, err := listen("127.0.0.1:0", home, true)
	if err != nil {
		t.Fatal(err)
	}
	if !l.TLS || !strings.HasPrefix(l.URL, "https://127.0.0.1:") || len(l.Fingerprint) != 95 {
		t.Fatalf("TLS %v, URL %s, fingerprint %q", l.TLS, l.URL, l.Fingerprint)
	}
	fi, err := os.Stat(filepath.Join(home, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	e := newEnv(t)
	s, err := New(Config{Node: e.node, Home: home, TLS: true, Fingerprint: l.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, l) }()

	var seen string
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // self-signed: checked by fingerprint below
		VerifyConnection: func(cs tls.ConnectionState) error {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			seen = fingerprint(sum[:])
			return nil
		},
	}}}
	r, err := c.Get(l.URL + "setup")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if seen != l.Fingerprint {
		t.Errorf("served certificate %s, announced %s", seen, l.Fingerprint)
	}
	if !strings.Contains(string(b), l.Fingerprint) {
		t.Error("the page does not show the certificate's fingerprint")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// the certificate is kept
	l2, err := listen("127.0.0.1:0", home, true)
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if l2.Fingerprint != l.Fingerprint {
		t.Error("a new certificate was made at the second start")
	}
}
