//go:build unix

package cardprinttest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"baluchon/cardprint"
	"baluchon/vault"
)

// scanPage follows the contract of web/assets/scan.js, plus a test-only
// script that clicks the scan button.
const scanPage = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>scan</title></head><body>
<form id="open-card" method="post" action="/open">
<video id="scan-video" hidden muted playsinline width="640"></video>
<label for="card-text">Code</label><input id="card-text" name="card" autocomplete="off">
<button type="button" id="scan-start">Scanner la carte</button>
<p id="scan-status" role="status" data-looking="…" data-denied="refusé" data-unavailable="indisponible"></p>
</form>
<script src="/assets/scan.js"></script><script src="/click.js"></script></body></html>`

// TestScanJSInChromium shows a printed card to scan.js through
// Chromium's fake camera, under a strict Content-Security-Policy, and
// checks that the form is posted with the card text and nothing else
// carries it.
func TestScanJSInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian: apt-get install chromium): cannot test scan.js")
	}
	pdftoppm, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm is not installed (Debian: apt-get install poppler-utils): cannot render the card")
	}
	dir := t.TempDir()
	c, err := vault.NewCard(bytes.NewReader(bytes.Repeat([]byte{0x5a}, vault.SecretSize)))
	if err != nil {
		t.Fatal(err)
	}
	text := c.String()
	var pdf bytes.Buffer
	if err := cardprint.Write(&pdf, cardprint.Card{Text: text, Structure: "Accueil de jour", Lang: "ar", Layout: cardprint.CardSize}); err != nil {
		t.Fatal(err)
	}
	pdfPath := filepath.Join(dir, "card.pdf")
	if err := os.WriteFile(pdfPath, pdf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", pdfPath, filepath.Join(dir, "front")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "front.png"))
	if err != nil {
		t.Fatal(err)
	}
	front, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	y4m, err := os.Create(filepath.Join(dir, "card.y4m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteY4M(y4m, front, 1280, 720, 5); err != nil {
		t.Fatal(err)
	}
	y4m.Close()

	posted := make(chan *http.Request, 1)
	mux := http.NewServeMux()
	mux.Handle("/assets/", http.StripPrefix("/assets/", http.FileServer(http.Dir("../../web/assets"))))
	mux.HandleFunc("/click.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `setTimeout(function(){document.getElementById("scan-start").click()},200)`)
	})
	mux.HandleFunc("/open", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		select {
		case posted <- r:
		default:
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; media-src 'self' blob: mediastream:")
		fmt.Fprint(w, scanPage)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--use-file-for-fake-video-capture="+y4m.Name(),
		"http://"+l.Addr().String()+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Ask chromium to quit (it then reaps its own children); kill
		// what is left of its process group after 5 s.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}()
	start := time.Now()
	select {
	case r := <-posted:
		t.Logf("card read through the camera and posted in %v", time.Since(start).Round(time.Millisecond))
		if r.Method != http.MethodPost {
			t.Fatalf("form sent with %s", r.Method)
		}
		if got := r.PostForm.Get("card"); got != text {
			t.Fatal("the posted card text is not the card's")
		}
		if r.URL.RawQuery != "" {
			t.Fatal("the URL has a query")
		}
	case <-ctx.Done():
		t.Fatal("no form posted within 60 s")
	}
}
