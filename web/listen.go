package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files the page keeps in the node's home.
const (
	// AddrFile holds the page's address (its URL) while the node runs.
	AddrFile = "ui"
	// CertFile and KeyFile are the page's self-signed certificate and its
	// key, made the first time the page is served beyond this machine.
	CertFile = "web-cert.pem"
	KeyFile  = "web-key.pem"
)

// DefaultAddr is where the page is served when nothing else is asked.
const DefaultAddr = "127.0.0.1:8080"

// Listener is where the page is served.
type Listener struct {
	net.Listener
	// URL is the page's address, such as "http://127.0.0.1:8080/".
	URL string
	// TLS: served over HTTPS, with the certificate of Fingerprint.
	TLS bool
	// Fingerprint is the certificate's SHA-256 ("AB:12:…"), if TLS.
	Fingerprint string
	// Hosts are this machine's names, for the Host check.
	Hosts []string
}

// Listen opens the page's listener on addr (port 0 picks a free port). A
// loopback address is served over HTTP; any other over HTTPS, with a
// self-signed certificate kept in home and made on first use.
func Listen(addr, home string) (*Listener, error) {
	host, _, _ := net.SplitHostPort(addr)
	return listen(addr, home, !isLoopback(host))
}

func listen(addr, home string, useTLS bool) (*Listener, error) {
	_, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("page address %q: want HOST:PORT, such as %s or 0.0.0.0:8443", addr, DefaultAddr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve the page on %s: %w", addr, err)
	}
	l := &Listener{Listener: ln}
	hostname, _ := os.Hostname()
	if hostname != "" {
		l.Hosts = []string{hostname, hostname + ".local"}
	}
	bound := ln.Addr().(*net.TCPAddr)
	if !useTLS {
		l.URL = "http://" + net.JoinHostPort(bound.IP.String(), fmt.Sprint(bound.Port)) + "/"
		return l, nil
	}
	cert, err := loadOrMakeCert(home, l.Hosts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	sum := sha256.Sum256(cert.Certificate[0])
	l.Fingerprint = fingerprint(sum[:])
	l.TLS = true
	l.Listener = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	shown := bound.IP
	if shown.IsUnspecified() {
		shown = lanIP()
	}
	l.URL = "https://" + net.JoinHostPort(shown.String(), fmt.Sprint(bound.Port)) + "/"
	return l, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// lanIP is an address of this machine on its network, for the URL shown.
func lanIP() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

func fingerprint(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02X", c)
	}
	return s.String()
}

// loadOrMakeCert reads the page's certificate from home, making it (for
// this machine's addresses and names, 10 years) if there is none.
func loadOrMakeCert(home string, names []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(home, CertFile), filepath.Join(home, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, nil
	}
	if _, statErr := os.Stat(certPath); !errors.Is(statErr, fs.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("read the page's certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "baluchon", Organization: []string{"baluchon"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              append([]string{"localhost"}, names...),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("make the page's certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("write the page's key: %w", err)
	}
	if err := writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("write the page's certificate: %w", err)
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// writeFileAtomic writes a file that is never seen half-written.
func writeFileAtomic(name string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// WriteAddr keeps the page's address in home/ui (RemoveAddr removes it).
func (l *Listener) WriteAddr(home string) error {
	if err := writeFileAtomic(filepath.Join(home, AddrFile), []byte(l.URL+"\n"), 0o644); err != nil {
		return fmt.Errorf("write the page's address: %w", err)
	}
	return nil
}

// RemoveAddr removes home/ui, when the page stops.
func RemoveAddr(home string) { os.Remove(filepath.Join(home, AddrFile)) }

// Serve serves the page on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l *Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}
