package web

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// eicar is the antivirus test file (it is not a virus).
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// fakeClamd speaks clamd's PING and INSTREAM on a unix socket: a stream
// holding "EICAR" is infected, any other is clean.
type fakeClamd struct {
	addr string
	ln   net.Listener

	mu       sync.Mutex
	received int64 // bytes of the current or last stream
	maxChunk int
	streams  int
	// dropAfter: the connection is closed once this many bytes are read
	dropAfter int64
	// limit: clamd's StreamMaxLength
	limit int64
}

func newFakeClamd(t *testing.T) *fakeClamd {
	t.Helper()
	// a short path: unix socket paths are bounded (108 bytes)
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := filepath.Join(dir, "clamd.ctl")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeClamd{addr: addr, ln: ln}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f
}

func (f *fakeClamd) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.conn(c)
	}
}

func (f *fakeClamd) bytes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.received
}

func (f *fakeClamd) conn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	cmd, err := br.ReadString(0)
	if err != nil {
		return
	}
	switch cmd {
	case "zPING\x00":
		c.Write([]byte("PONG\x00"))
		return
	case "zINSTREAM\x00":
	default:
		c.Write([]byte("UNKNOWN COMMAND\x00"))
		return
	}
	f.mu.Lock()
	f.streams++
	f.received = 0
	drop, limit := f.dropAfter, f.limit
	f.mu.Unlock()
	var tail []byte // enough of the stream to see EICAR across chunks
	infected := false
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 {
			break
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return
		}
		f.mu.Lock()
		f.received += int64(n)
		f.maxChunk = max(f.maxChunk, int(n))
		got := f.received
		f.mu.Unlock()
		if drop > 0 && got >= drop {
			return // clamd stopped in the middle
		}
		if limit > 0 && got > limit {
			c.Write([]byte("INSTREAM size limit exceeded. ERROR\x00"))
			return
		}
		tail = append(tail, chunk...)
		if bytes.Contains(tail, []byte("EICAR")) {
			infected = true
		}
		if len(tail) > 16 {
			tail = tail[len(tail)-16:]
		}
	}
	if infected {
		c.Write([]byte("stream: Eicar-Signature FOUND\x00"))
		return
	}
	c.Write([]byte("stream: OK\x00"))
}

func scanEnv(t *testing.T, addr string) *env {
	return newEnv(t, func(c *Config) { c.ClamAV = addr })
}

// leftovers are the sealed files still waiting in the home.
func (e *env) leftovers() []string {
	names, _ := filepath.Glob(filepath.Join(e.home, ScanDir, "*"))
	return names
}

func (e *env) docs() int {
	e.node.mu.Lock()
	defer e.node.mu.Unlock()
	n := 0
	for _, f := range e.node.files {
		n += len(f.entries)
	}
	return n
}

func TestUploadScannedClean(t *testing.T) {
	cd := newFakeClamd(t)
	e := scanEnv(t, cd.addr)
	c := e.admin()
	e.open(c)
	doc := pdf + strings.Repeat("x", 200000)
	e.want(e.upload(c, nil, [2]string{"a.pdf", doc}, [2]string{"b.jpg", jpeg}), 200, "2 documents ajoutés.")
	cd.mu.Lock()
	if cd.streams != 2 {
		t.Errorf("clamd scanned %d streams, want 2", cd.streams)
	}
	if cd.maxChunk > clamChunk {
		t.Errorf("a chunk of %d bytes, more than %d", cd.maxChunk, clamChunk)
	}
	cd.mu.Unlock()
	for _, f := range e.node.files {
		for id, b := range f.data {
			if len(b) == len(doc) && string(b) != doc {
				t.Errorf("document %s changed on its way", id)
			}
		}
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
	// the admin reads that uploads are scanned
	e.want(e.get(c, "/health"), 200, "Les fichiers déposés sont analysés par l'antivirus ClamAV")
}

func TestUploadInfectedIsNotStored(t *testing.T) {
	cd := newFakeClamd(t)
	e := scanEnv(t, cd.addr)
	c := e.admin()
	e.open(c)
	r := e.upload(c, nil, [2]string{"facture.pdf", pdf + eicar})
	e.want(r, 422, "Ce fichier contient un virus (Eicar-Signature) : « facture.pdf » n'a pas été enregistré.")
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
	// with a clean one in the same upload: only the clean one is stored
	r = e.upload(c, nil, [2]string{"ok.pdf", pdf}, [2]string{"v.pdf", pdf + eicar})
	e.want(r, 422, "1 document ajouté.", "« v.pdf » n'a pas été enregistré")
	if n := e.docs(); n != 1 {
		t.Errorf("%d documents stored, want 1", n)
	}
	// mail received for a person goes through the antivirus too
	e.node.mu.Lock()
	_, ff := e.node.newCard()
	e.node.mu.Unlock()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("number", ff.id.String())
	w, _ := mw.CreateFormFile("file", "v.pdf")
	io.WriteString(w, pdf+eicar)
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/deposit", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	e.want(e.do(c, req), 422, "Ce fichier contient un virus (Eicar-Signature) : « v.pdf » n'a pas été enregistré.")
	if len(ff.pending) != 0 {
		t.Errorf("%d deposits kept, want none", len(ff.pending))
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
}

func TestClamdDownMidStream(t *testing.T) {
	cd := newFakeClamd(t)
	cd.dropAfter = 100000
	e := scanEnv(t, cd.addr)
	c := e.admin()
	e.open(c)
	r := e.upload(c, nil, [2]string{"gros.pdf", pdf + strings.Repeat("x", 300000)})
	e.want(r, 503, "L'antivirus n'a pas pu analyser « gros.pdf » : il n'a pas été enregistré.")
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
}

func TestClamdRequiredButDown(t *testing.T) {
	e := scanEnv(t, filepath.Join(t.TempDir(), "none.ctl"))
	c := e.admin()
	e.open(c)
	e.want(e.upload(c, nil, [2]string{"a.pdf", pdf}), 503, "L'antivirus n'a pas pu analyser « a.pdf »")
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	e.want(e.get(c, "/health"), 200, "L'antivirus choisi dans la configuration (ClamAV) ne répond pas : les fichiers déposés sont refusés")
}

func TestNoClamdUploadsAsBefore(t *testing.T) {
	e := newEnv(t)
	// no clamd at the default addresses
	e.srv.av.addrs = []string{filepath.Join(t.TempDir(), "clamd.ctl"), "127.0.0.1:1"}
	c := e.admin()
	e.open(c)
	e.want(e.upload(c, nil, [2]string{"a.pdf", pdf + eicar}), 200, "1 document ajouté.")
	e.want(e.get(c, "/health"), 200, "Les fichiers déposés ne sont pas analysés par un antivirus (ClamAV n'est pas installé sur cet ordinateur)")
	// installed (its socket is there) but not answering
	sock := filepath.Join(t.TempDir(), "clamd.ctl")
	os.WriteFile(sock, nil, 0o600)
	e.srv.av.addrs = []string{sock}
	e.want(e.get(c, "/health"), 200, "ClamAV est installé mais ne répond pas : les fichiers déposés ne sont pas analysés.")
	e.want(e.upload(c, nil, [2]string{"b.pdf", pdf}), 200, "1 document ajouté.")
}

func TestSealedFilesSweptAtStart(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ScanDir), 0o700)
	old := filepath.Join(home, ScanDir, "upload-1.age")
	os.WriteFile(old, []byte("age"), 0o600)
	e := newEnv(t, func(c *Config) { c.Home = home })
	e.home = home
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left from before: %v", l)
	}
}

// A big file streams through the antivirus: clamd has read most of it
// before the browser has sent its end (no whole-file buffer).
func TestBigUploadStreams(t *testing.T) {
	cd := newFakeClamd(t)
	e := scanEnv(t, cd.addr)
	e.node.max = 64 << 20
	c := e.admin()
	e.open(c)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	const half = 8 << 20
	done := make(chan error, 1)
	go func() {
		w, _ := mw.CreateFormFile("files", "gros.pdf")
		io.WriteString(w, pdf)
		w.Write(bytes.Repeat([]byte("x"), half))
		// clamd sees most of the first half before the second is sent
		deadline := time.Now().Add(20 * time.Second)
		for cd.bytes() < half/2 {
			if time.Now().After(deadline) {
				pw.CloseWithError(io.ErrUnexpectedEOF)
				done <- io.ErrUnexpectedEOF
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.Write(bytes.Repeat([]byte("y"), half))
		mw.Close()
		pw.Close()
		done <- nil
	}()
	req, _ := http.NewRequest("POST", e.ts.URL+"/file/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	r := e.do(c, req)
	if err := <-done; err != nil {
		t.Fatal("clamd did not read the file while it was sent")
	}
	e.want(r, 200, "1 document ajouté.")
	if got := cd.bytes(); got != int64(len(pdf)+2*half) {
		t.Errorf("clamd read %d bytes, want %d", got, len(pdf)+2*half)
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
}

func TestUploadOverClamdLimit(t *testing.T) {
	cd := newFakeClamd(t)
	cd.limit = 50000
	e := scanEnv(t, cd.addr)
	c := e.admin()
	e.open(c)
	r := e.upload(c, nil, [2]string{"gros.pdf", pdf + strings.Repeat("x", 300000)})
	e.want(r, 413, "« gros.pdf » est trop gros pour être analysé par l'antivirus : il n'a pas été enregistré.")
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
}
