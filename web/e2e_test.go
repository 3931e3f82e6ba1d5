package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"baluchon/cardprint"
	"baluchon/testnet"
)

// TestBrowserTwoNodes walks two structures' pages in Chromium, on a
// desktop and on a phone screen: create the admin, register a person at
// A, upload a PDF and a JPEG, open the file at B by typing the card, fetch
// both documents byte-identical, the person lets B follow them, B finds
// them by name without the card and fetches both again, replace the card
// at A; B's page then refuses the old card.
func TestBrowserTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes and a browser")
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium): the browser walk is not run")
	}
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run(vp.name, func(t *testing.T) { browserWalk(t, chrome, vp.w, vp.h) })
	}
}

func browserWalk(t *testing.T, chrome string, w, h int64) {
	net := testnet.New(t, 2, testnet.Options{Names: []string{"Accueil de jour", "CCAS de Lyon"}})
	net.Connect(0, 1)
	var urls []string
	for i, n := range net.Nodes {
		s, err := New(Config{Node: n, Home: net.Home(i), Cards: cardprint.Printer{}})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s)
		t.Cleanup(func() { ts.Close(); s.Close() })
		urls = append(urls, ts.URL)
	}
	dir := t.TempDir()
	docs := map[string][]byte{
		"passeport.pdf": []byte(pdf + strings.Repeat("%", 200000)),
		"photo.jpg":     []byte(jpeg + strings.Repeat("\x00", 50000)),
	}
	var files []string
	sums := map[string]string{}
	for name, b := range docs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		sum := sha256.Sum256(b)
		sums[strings.TrimSuffix(name, filepath.Ext(name))] = hex.EncodeToString(sum[:])
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(int(w), int(h)))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// one browser per structure: two workers at two desks
	tabs := make([]context.Context, 2)
	for i := range tabs {
		bctx, cancel := chromedp.NewContext(actx)
		defer cancel()
		bctx, cancel2 := context.WithTimeout(bctx, 3*time.Minute)
		defer cancel2()
		tabs[i] = bctx
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(w, h),
			chromedp.Navigate(urls[i]+"/"),
			chromedp.WaitVisible(chromedp.CSS("#structure")),
			chromedp.SetValue(chromedp.CSS("#lang-select"), "fr"),
			chromedp.Click(chromedp.CSS(".lang button")),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="fr"] #structure`)),
			chromedp.SendKeys(chromedp.CSS("#structure"), []string{"Accueil de jour", "CCAS de Lyon"}[i]),
			chromedp.SendKeys(chromedp.CSS("#name"), adminName),
			chromedp.SendKeys(chromedp.CSS("#password"), adminPass),
			chromedp.SendKeys(chromedp.CSS("#password2"), adminPass),
			chromedp.Submit(chromedp.CSS("#password2")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
			chromedp.Navigate(urls[i]+"/"),
			chromedp.WaitVisible(chromedp.CSS("#card-text")),
		); err != nil {
			t.Fatalf("structure %d: first visit: %v", i, err)
		}
	}
	a, b := tabs[0], tabs[1]

	// A registers a person and adds two documents.
	if err := chromedp.Do(a,
		chromedp.Navigate(urls[0]+"/register"),
		chromedp.Submit(chromedp.CSS("#second")),
		chromedp.WaitVisible(chromedp.CSS("p.cardtext")),
	); err != nil {
		t.Fatalf("register: %v", err)
	}
	card, err := chromedp.Run(a, chromedp.Text(chromedp.CSS("p.cardtext")))
	if err != nil {
		t.Fatal(err)
	}
	card = strings.TrimSpace(card)
	// The card to print, as A's browser gets it: its QR code holds the card.
	b64, err := chromedp.Run(a, chromedp.Evaluate[string](`fetch("/file/card.pdf").then(r => r.arrayBuffer()).then(b => {
		let s = "";
		for (const c of new Uint8Array(b)) s += String.fromCharCode(c);
		return btoa(s);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("card PDF: %v", err)
	}
	cardPDF, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(cardPDF, []byte("%PDF")) {
		t.Fatalf("the card PDF A's browser got is not a PDF (%v)", err)
	}
	if text, ok := qrOfPDF(t, cardPDF); ok && text != card {
		t.Fatalf("the printed card's QR code reads %q, not the card", text)
	}
	if err := chromedp.Do(a,
		chromedp.Navigate(urls[0]+"/file"),
		chromedp.SetValue(chromedp.CSS("#category"), "identity"),
		chromedp.SetUploadFiles(chromedp.CSS("#files"), files),
		chromedp.Click(chromedp.CSS("form[data-upload] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got, _ := chromedp.Run(a, chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(got, "2 documents ajoutés.") {
		t.Fatalf("after the upload A's page says %q", got)
	}

	// B opens the file by typing the card, fetches both documents.
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#card-text"), card),
		chromedp.Submit(chromedp.CSS("#card-text")),
		chromedp.WaitVisible(chromedp.CSS("#files")),
	); err != nil {
		t.Fatalf("open at B: %v", err)
	}
	got, err := chromedp.Run(b, docSums)
	if err != nil {
		t.Fatalf("download at B: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(sums) {
		t.Errorf("B's downloads %v, want %v", got, sums)
	}
	// The person lets B follow them.
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#follow-name"), "Amina Diallo"),
		chromedp.SetValue(chromedp.CSS("#follow-birth"), "1990-05-02"),
		chromedp.Click(chromedp.CSS(`form[action="/file/follow"] input[name=consent]`)),
		chromedp.Click(chromedp.CSS(`form[action="/file/follow"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	); err != nil {
		t.Fatalf("follow at B: %v", err)
	}
	if msg, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(msg, "Notre structure suit maintenant Amina Diallo") {
		t.Errorf("B's page after following says %q", msg)
	}
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(".filebar button")), chromedp.WaitVisible(chromedp.CSS("#card-text"))); err != nil {
		t.Fatalf("close at B: %v", err)
	}

	// Without the card, B's worker finds the person by name and fetches
	// both documents.
	// (each step waits for an element of the next page only: clicking a
	// link on a page that is being replaced races with the browser)
	if err := chromedp.Do(b,
		// the search form is a GET of /followed?q=: its answer, loaded
		// whole before anything is read from it
		chromedp.Navigate(urls[1]+"/followed?q=amina"),
		chromedp.WaitVisible(chromedp.CSS("a.doc-title")),
	); err != nil {
		t.Fatalf("find the person at B: %v", err)
	}
	person, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("a.doc-title").getAttribute("href")`))
	if err != nil || !strings.HasPrefix(person, "/followed/") {
		t.Fatalf("the search at B leads to %q (%v)", person, err)
	}
	if err := chromedp.Do(b,
		chromedp.Navigate(urls[1]+person),
		chromedp.WaitVisible(chromedp.CSS("li.doc a[download]")),
	); err != nil {
		t.Fatalf("the person's documents at B: %v", err)
	}
	got, err = chromedp.Run(b, docSums)
	if err != nil {
		t.Fatalf("download without the card at B: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(sums) {
		t.Errorf("B's downloads without the card %v, want %v", got, sums)
	}

	// A replaces the card; B's page refuses the old one.
	if err := chromedp.Do(a,
		chromedp.Navigate(urls[0]+"/file/replace"),
		chromedp.Submit(chromedp.CSS("form.card-form")),
		chromedp.WaitVisible(chromedp.CSS("p.cardtext")),
	); err != nil {
		t.Fatalf("replace: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := chromedp.Do(b,
			chromedp.Navigate(urls[1]+"/"),
			chromedp.SendKeys(chromedp.CSS("#card-text"), card),
			chromedp.Submit(chromedp.CSS("#card-text")),
			chromedp.WaitVisible(chromedp.CSS(".error, #files")),
		); err != nil {
			t.Fatalf("old card at B: %v", err)
		}
		msg, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
		if strings.Contains(msg, "Cette carte a été remplacée le") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's page still takes the old card: %q", msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// docSums fetches every document the page lists, in the browser, and
// returns the SHA-256 of each by title.
var docSums = chromedp.Evaluate[map[string]string](`Promise.all(
	Array.from(document.querySelectorAll("li.doc")).map(li => {
		const title = li.querySelector(".doc-title").textContent;
		const href = li.querySelector("a[download]").getAttribute("href");
		return fetch(href).then(r => r.arrayBuffer()).then(buf => crypto.subtle.digest("SHA-256", buf))
			.then(d => [title, Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, "0")).join("")]);
	})).then(Object.fromEntries)`, chromedp.EvalAwaitPromise)
