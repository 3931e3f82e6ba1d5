package web

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"baluchon/cardprint"
	"baluchon/testnet"
)

// TestTwoNodes walks the page over two real nodes: register a person at
// structure A, add a PDF and a photo, open the file at structure B by
// typing the card, download both byte-identical; replace the card at A;
// B's page then refuses the old card.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	net := testnet.New(t, 2, testnet.Options{Names: []string{"Accueil de jour", "CCAS de Lyon"}})
	net.Connect(0, 1)
	envs := make([]*env, 2)
	for i, n := range net.Nodes {
		s, err := New(Config{Node: n, Home: net.Home(i), Cards: cardprint.Printer{}})
		if err != nil {
			t.Fatal(err)
		}
		s.strict = true
		ts := httptest.NewServer(s)
		t.Cleanup(func() { ts.Close(); s.Close() })
		envs[i] = &env{t: t, srv: s, ts: ts, home: net.Home(i)}
	}
	a, b := envs[0], envs[1]
	ca, cb := a.adminOf("Accueil de jour"), b.adminOf("CCAS de Lyon")

	r := a.post(ca, "/register", url.Values{"second": {"ar"}})
	a.want(r, 200, "Dossier créé", "Numéro de dossier", "Accueil de jour")
	m := regexp.MustCompile(`<p class="cardtext big" dir="ltr">([^<]+)</p>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no card text on the new file's page:\n%s", excerpt(r.body))
	}
	card := html.UnescapeString(m[1])
	nm := regexp.MustCompile(`Numéro de dossier : ([1-9A-HJ-NP-Za-km-z]+)`).FindStringSubmatch(html.UnescapeString(r.body))
	if nm == nil {
		t.Fatal("no file number on the new file's page")
	}
	number := nm[1]

	// The card to print: its QR code holds the card text.
	pc := a.get(ca, "/file/card.pdf")
	if pc.status != 200 || !strings.HasPrefix(pc.body, "%PDF") {
		t.Fatalf("card PDF: %d, %.20q", pc.status, pc.body)
	}
	if text, ok := qrOfPDF(t, []byte(pc.body)); ok && text != card {
		t.Fatalf("the printed card's QR code reads %q, not the card", text)
	}

	photo := jpeg + strings.Repeat("\x00", 70000)
	bigPDF := pdf + strings.Repeat("%", 300000)
	r = a.upload(ca, map[string]string{"category": "identity"}, [2]string{"passeport.pdf", bigPDF}, [2]string{"photo.jpg", photo})
	a.want(r, 200, "2 documents ajoutés.", "passeport", "photo")

	r = b.post(cb, "/open", url.Values{"card": {card}})
	b.want(r, 200, "Documents de la personne", "2 documents", "passeport", "photo")
	ids := regexp.MustCompile(`href="/file/doc/([^/"]+)" download`).FindAllStringSubmatch(r.body, -1)
	if len(ids) != 2 {
		t.Fatalf("B lists %d downloads, want 2", len(ids))
	}
	got := map[string]bool{}
	for _, id := range ids {
		d := b.get(cb, "/file/doc/"+id[1])
		if d.status != 200 {
			t.Fatalf("download %s: %d", id[1], d.status)
		}
		got[d.body] = true
	}
	if !got[bigPDF] || !got[photo] {
		t.Error("B's downloads are not byte-identical to what A's page took")
	}
	b.want(b.get(cb, "/file/log"), 200, "une structure inconnue a ajouté « passeport »", "CCAS de Lyon a ouvert « photo »")

	// At B's desk, the person keeps the photo private and lets B follow
	// them; without the card, B's worker finds them by name and downloads
	// the passport, never the photo.
	var photoID, pdfID string
	for _, id := range ids {
		if d := b.get(cb, "/file/doc/"+id[1]); d.body == photo {
			photoID = id[1]
		} else {
			pdfID = id[1]
		}
	}
	b.want(b.post(cb, "/file/doc/"+photoID+"/private", url.Values{"private": {"yes"}}), 200, "Ce document est privé")
	b.want(b.post(cb, "/file/follow", url.Values{"name": {"Amina Diallo"}, "birth": {"1990-05-02"}, "consent": {"yes"}}), 200, "Notre structure suit maintenant Amina Diallo")
	b.post(cb, "/file/close", nil)
	r = b.get(cb, "/followed?q=AMINA")
	b.want(r, 200, "1 personne trouvée", "Amina Diallo")
	pm := regexp.MustCompile(`href="/followed/([^/"]+)"`).FindStringSubmatch(r.body)
	if pm == nil {
		t.Fatalf("no followed person in B's search:\n%s", excerpt(r.body))
	}
	r = b.get(cb, "/followed/"+pm[1])
	b.want(r, 200, "Amina Diallo", "passeport")
	if strings.Contains(r.body, "/doc/"+photoID) {
		t.Fatal("B lists the private photo without the card")
	}
	if d := b.get(cb, "/followed/"+pm[1]+"/doc/"+pdfID); d.status != 200 || d.body != bigPDF {
		t.Fatalf("B's download without the card: %d, %d bytes", d.status, len(d.body))
	}
	b.want(b.get(cb, "/followed/"+pm[1]+"/doc/"+photoID), 403, "ne nous laisse pas")
	a.want(a.get(ca, "/followed?q=amina"), 200, "Personne de ce nom")

	// B receives mail for the person: deposited by the file number, A's
	// page shows it when the card is next shown.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("number", number)
	mw.WriteField("title", "Courrier CAF")
	fw, _ := mw.CreateFormFile("file", "courrier.pdf")
	io.WriteString(fw, pdf)
	mw.Close()
	req, _ := http.NewRequest("POST", b.ts.URL+"/deposit", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	b.want(b.do(cb, req), 200, "« Courrier CAF » est déposé")
	a.post(ca, "/file/close", nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = a.post(ca, "/open", url.Values{"card": {card}})
		if strings.Contains(r.body, "Courrier CAF") {
			a.want(r, 200, "1 document déposé sans la carte vient d'être ajouté au dossier", "3 documents")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's page does not show the deposit:\n%s", excerpt(r.body))
		}
		a.post(ca, "/file/close", nil)
		time.Sleep(500 * time.Millisecond)
	}

	r = a.post(ca, "/file/replace", nil)
	a.want(r, 200, "Nouvelle carte")
	deadline = time.Now().Add(30 * time.Second)
	for {
		r = b.post(cb, "/open", url.Values{"card": {card}})
		if r.status == 410 {
			b.want(r, 410, "Cette carte a été remplacée le")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's page still takes the old card: %d\n%s", r.status, excerpt(r.body))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestStructureNameInWords(t *testing.T) {
	cats, _ := loadCatalogs(localeFS, "locales")
	l := cats.localizer("fr", true)
	for in, want := range map[string]string{
		"CCAS de Lyon": "CCAS de Lyon",
		"an unknown structure (12D3KooW…tzN6eu)": "une structure inconnue",
		"Secours (removed from the federation)":  "Secours (qui a quitté le réseau)",
	} {
		if got := structureName(l, in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// qrOfPDF renders the first page of a PDF (pdftoppm, poppler-utils) and
// reads its QR code; ok is false, with a note, when pdftoppm is missing.
func qrOfPDF(t *testing.T, pdf []byte) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Log("no pdftoppm (Debian: apt-get install poppler-utils): the printed card's QR code is not read")
		return "", false
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "card.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", "-singlefile", in, filepath.Join(dir, "card")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "card.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, err := cardprint.DecodeImage(f)
	if err != nil {
		t.Fatalf("read the printed card's QR code: %v", err)
	}
	return text, true
}
