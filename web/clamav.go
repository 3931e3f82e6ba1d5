package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// ClamAV: uploads are scanned by a clamd reachable on this machine
// (Debian's clamav-daemon), through its INSTREAM command. A refused file is
// never stored: while the upload streams, its bytes go to clamd and, sealed
// under a key that lives only in memory for this one upload, to a temporary
// file in the home; only when clamd answers that the stream is clean is that
// file opened again and given to the node. The temporary file is removed in
// every case, and whatever a crash left is removed when the page starts.

// DefaultClamAV are the addresses tried when Config.ClamAV is empty: the
// unix socket of Debian's clamav-daemon, then clamd's TCP port on loopback.
var DefaultClamAV = []string{"/run/clamav/clamd.ctl", "127.0.0.1:3310"}

// ClamAVOff in Config.ClamAV: uploads are not scanned.
const ClamAVOff = "off"

// ScanDir is the folder of the home where uploads wait, sealed, for the
// antivirus's answer.
const ScanDir = "upload-scan"

const (
	clamChunk       = 64 << 10         // bytes per INSTREAM chunk
	clamDialTimeout = 2 * time.Second  // to reach clamd
	clamIOTimeout   = 30 * time.Second // for each chunk clamd reads
	clamVerdictWait = 5 * time.Minute  // for clamd's answer once all is sent
)

// VirusError: the antivirus found a virus in a file.
type VirusError struct{ Name string }

func (e *VirusError) Error() string { return "virus found: " + e.Name }

// errScan: the antivirus could not scan a file (clamd stopped answering,
// refused the stream, or said something unexpected).
var errScan = errors.New("antivirus scan failed")

// errScanLimit: the file is larger than clamd scans (its StreamMaxLength,
// 25 MB in Debian's clamd.conf, below the node's largest document).
var errScanLimit = fmt.Errorf("%w: larger than clamd's StreamMaxLength", errScan)

// clamd is a clamd daemon at one address ("/path/to/socket" or
// "unix:/path", or "host:port").
type clamd struct{ addr string }

func (c clamd) dial(ctx context.Context) (net.Conn, error) {
	network, addr := "tcp", c.addr
	if a, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", a
	} else if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	d := net.Dialer{Timeout: clamDialTimeout}
	return d.DialContext(ctx, network, addr)
}

// ping asks clamd whether it answers.
func (c clamd) ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(clamDialTimeout))
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return err
	}
	reply, err := readReply(conn)
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("clamd answered %q to ping", reply)
	}
	return nil
}

func readReply(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b, err = b[:i], nil
	}
	if err != nil && len(b) == 0 {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// clamStream is one INSTREAM: what is written to it is sent to clamd in
// chunks; verdict ends the stream and reads clamd's answer.
type clamStream struct {
	conn net.Conn
	stop func() bool
	err  error
}

func (c clamd) stream(ctx context.Context) (*clamStream, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &clamStream{conn: conn, stop: context.AfterFunc(ctx, func() { conn.Close() })}
	conn.SetWriteDeadline(time.Now().Add(clamIOTimeout))
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *clamStream) close() {
	s.stop()
	s.conn.Close()
}

func (s *clamStream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), clamChunk)
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(k))
		s.conn.SetWriteDeadline(time.Now().Add(clamIOTimeout))
		if _, err := s.conn.Write(hdr[:]); err != nil {
			s.err = err
			return n, err
		}
		if _, err := s.conn.Write(p[:k]); err != nil {
			s.err = err
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// verdict ends the stream: "" when clamd found the stream clean, a
// *VirusError when it found a virus, errScan otherwise.
func (s *clamStream) verdict() error {
	defer s.close()
	if s.err == nil {
		s.conn.SetWriteDeadline(time.Now().Add(clamIOTimeout))
		_, s.err = s.conn.Write([]byte{0, 0, 0, 0})
	}
	// clamd may have answered before closing (size limit): read it anyway
	s.conn.SetReadDeadline(time.Now().Add(clamVerdictWait))
	reply, err := readReply(s.conn)
	if err != nil {
		return fmt.Errorf("%w: %v", errScan, err)
	}
	reply = strings.TrimPrefix(reply, "stream: ")
	switch {
	case strings.Contains(reply, "size limit exceeded"):
		return errScanLimit
	case reply == "OK" && s.err == nil:
		return nil
	case strings.HasSuffix(reply, " FOUND"):
		return &VirusError{Name: strings.TrimSuffix(reply, " FOUND")}
	}
	return fmt.Errorf("%w: clamd answered %q", errScan, reply)
}

// antivirus is how uploads are scanned.
type antivirus struct {
	addrs    []string // tried in order
	required bool     // set by the admin: an unreachable clamd refuses uploads
	dir      string   // HOME/upload-scan
}

func newAntivirus(cfg string, home string) *antivirus {
	a := &antivirus{dir: filepath.Join(home, ScanDir)}
	switch strings.TrimSpace(cfg) {
	case ClamAVOff:
	case "":
		a.addrs = DefaultClamAV
	default:
		a.addrs, a.required = []string{strings.TrimSpace(cfg)}, true
	}
	// what a crash left: sealed under keys that are gone, useless
	os.RemoveAll(a.dir)
	return a
}

// AntivirusState is what the admin's health page says of the antivirus.
type AntivirusState int

const (
	AntivirusOff      AntivirusState = iota // no clamd installed (or scanning turned off)
	AntivirusOn                             // clamd answers: uploads are scanned
	AntivirusDown                           // clamd is installed or set, but does not answer
	AntivirusDisabled                       // Config.ClamAV is "off"
	AntivirusRequired                       // the clamd set in Config.ClamAV does not answer: uploads are refused
)

// state says whether a clamd answers.
func (a *antivirus) state(ctx context.Context) AntivirusState {
	if len(a.addrs) == 0 {
		return AntivirusDisabled
	}
	installed := a.required
	for _, addr := range a.addrs {
		if (clamd{addr}).ping(ctx) == nil {
			return AntivirusOn
		}
		if _, err := os.Stat(strings.TrimPrefix(addr, "unix:")); err == nil {
			installed = true
		}
	}
	if a.required {
		return AntivirusRequired
	}
	if installed {
		return AntivirusDown
	}
	return AntivirusOff
}

// open starts an INSTREAM with the first clamd that answers; nil, nil when
// none does and scanning is not required.
func (a *antivirus) open(ctx context.Context) (*clamStream, error) {
	var last error
	for _, addr := range a.addrs {
		s, err := clamd{addr}.stream(ctx)
		if err == nil {
			return s, nil
		}
		last = err
	}
	if a.required && last != nil {
		return nil, fmt.Errorf("%w: %v", errScan, last)
	}
	return nil, nil
}

// scan reads r to its end through the antivirus. It returns the plaintext
// to store once clamd found it clean (the caller closes it, which removes
// the sealed temporary file), or nil, nil when no antivirus is reachable
// and none is required: then r has not been read, and is stored as is.
func (a *antivirus) scan(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	cs, err := a.open(ctx)
	if cs == nil || err != nil {
		return nil, err
	}
	sealed, err := a.seal(ctx, cs, r)
	if err != nil {
		return nil, err
	}
	return sealed, nil
}

// seal streams r to clamd and, encrypted under a key made for this upload
// alone, to a temporary file; after a clean verdict it returns that file's
// plaintext.
func (a *antivirus) seal(ctx context.Context, cs *clamStream, r io.Reader) (_ io.ReadCloser, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		cs.close()
		return nil, fmt.Errorf("upload key: %w", err)
	}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		cs.close()
		return nil, fmt.Errorf("upload scan folder: %w", err)
	}
	tmp, err := os.CreateTemp(a.dir, "upload-*.age")
	if err != nil {
		cs.close()
		return nil, fmt.Errorf("upload scan file: %w", err)
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(name)
		}
	}()
	enc, err := age.Encrypt(tmp, id.Recipient())
	if err != nil {
		cs.close()
		return nil, fmt.Errorf("upload seal: %w", err)
	}
	// the file's bytes go to both; a write to clamd failing stops the copy
	_, cerr := io.Copy(io.MultiWriter(enc, cs), r)
	if cerr != nil && cs.err == nil {
		cs.close()
		return nil, cerr // the upload itself failed (too big, interrupted)
	}
	if verr := cs.verdict(); verr != nil {
		return nil, verr
	}
	if cerr != nil {
		return nil, fmt.Errorf("%w: %v", errScan, cerr)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("upload seal: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("upload scan file: %w", err)
	}
	dec, err := age.Decrypt(tmp, id)
	if err != nil {
		return nil, fmt.Errorf("upload unseal: %w", err)
	}
	return &sealedFile{Reader: dec, f: tmp}, nil
}

// sealedFile is the plaintext of a sealed upload; Close removes the file.
type sealedFile struct {
	io.Reader
	f *os.File
}

func (s *sealedFile) Close() error {
	s.f.Close()
	return os.Remove(s.f.Name())
}

// scanned gives store the document read from r once the antivirus found it
// clean (or at once when no antivirus is reachable and none is required).
// A file refused by the antivirus never reaches store.
func (s *Server) scanned(ctx context.Context, r io.Reader, store func(io.Reader) error) error {
	sealed, err := s.av.scan(ctx, r)
	if err != nil {
		return err
	}
	if sealed == nil {
		return store(r)
	}
	defer sealed.Close()
	return store(sealed)
}

// scanRefusal is what the worker reads when the antivirus refused a file,
// with the answer's status; ok is false for another error.
func (s *Server) scanRefusal(l *loc, name string, err error) (status int, msg string, ok bool) {
	var v *VirusError
	switch {
	case errors.As(err, &v):
		s.log.Warn("web upload refused by the antivirus", "virus", v.Name)
		return http.StatusUnprocessableEntity, l.t("upload_virus", "Name", l.bidi(name), "Virus", l.bidi(v.Name)), true
	case errors.Is(err, errScanLimit):
		s.log.Error("web upload not scanned", "err", err)
		return http.StatusRequestEntityTooLarge, l.t("upload_scan_limit", "Name", l.bidi(name)), true
	case errors.Is(err, errScan):
		s.log.Error("web upload not scanned", "err", err)
		return http.StatusServiceUnavailable, l.t("upload_scan_failed", "Name", l.bidi(name)), true
	}
	return 0, "", false
}

// antivirusMessage is the message id the health page shows.
func (s *Server) antivirusMessage(ctx context.Context) string {
	switch s.av.state(ctx) {
	case AntivirusOn:
		return "antivirus_on"
	case AntivirusDown:
		return "antivirus_down"
	case AntivirusDisabled:
		return "antivirus_disabled"
	case AntivirusRequired:
		return "antivirus_required_down"
	}
	return "antivirus_off"
}
