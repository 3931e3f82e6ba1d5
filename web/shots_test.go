package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"baluchon/node"
)

// axeViolation is what axe-core reports of a rule a page breaks.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs axe-core's WCAG 2.1 A and AA rules on the page and keeps
// the serious and critical violations.
const axeRun = `;axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)})))`

// TestPagesInBrowser walks the main pages in Chromium, on a desktop and a
// phone screen, in French and in Arabic: it writes their screenshots to
// $BALUCHON_SCREENSHOTS and, given axe-core ($BALUCHON_AXE: the path of
// axe.min.js, from npm's axe-core), fails on a serious accessibility
// violation.
func TestPagesInBrowser(t *testing.T) {
	dir := os.Getenv("BALUCHON_SCREENSHOTS")
	axePath := os.Getenv("BALUCHON_AXE")
	if dir == "" && axePath == "" {
		t.Skip("set BALUCHON_SCREENSHOTS=DIR to write screenshots of the pages, BALUCHON_AXE=axe.min.js to check them with axe-core")
	}
	var axeSrc string
	if axePath != "" {
		b, err := os.ReadFile(axePath)
		if err != nil {
			t.Fatalf("read axe-core: %v", err)
		}
		axeSrc = string(b)
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium)")
	}
	e := newEnv(t)
	e.admin()
	e.node.mu.Lock()
	card, ff := e.node.newCard()
	e.node.mu.Unlock()
	number := ff.id.String()
	ctx := context.Background()
	add := func(title, cat, file, body string, exp time.Time) {
		m := "application/pdf"
		if strings.HasSuffix(file, ".jpg") {
			m = "image/jpeg"
		}
		if _, err := e.node.Add(ctx, card, strings.NewReader(body), node.DocMeta{Title: title, Category: cat, FileName: file, MIME: m, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	now := e.clock.Now()
	add("Passeport", "identity", "passeport.pdf", onePagePDF, now.AddDate(0, 0, 12))
	add("Titre de séjour", "justice", "sejour.pdf", pdf, now.AddDate(0, 0, -3))
	add("Attestation CAF", "benefits", "caf.pdf", pdf+strings.Repeat(" ", 180000), time.Time{})
	add("Carte vitale", "health", "vitale.jpg", jpeg, time.Time{})
	add("Quittance de loyer", "housing", "quittance.pdf", pdf, time.Time{})
	e.node.Remove(ctx, card, "d5")
	tmp := t.TempDir()
	upPDF, upJPEG := filepath.Join(tmp, "avis-impot.pdf"), filepath.Join(tmp, "photo-bail.jpg")
	os.WriteFile(upPDF, []byte(pdf), 0o644)
	os.WriteFile(upJPEG, []byte(jpeg), 0o644)
	scans := filepath.Join(e.home, ScansDir)
	os.MkdirAll(scans, 0o700)
	e.scan(scans, "courrier-caf.pdf", onePagePDF)
	e.scan(scans, "Scan_20260303_001.jpg", realJPEG(t, 60, 80))
	e.scan(scans, "Scan_20260303_002.jpg", realJPEG(t, 60, 80))

	for _, vp := range []struct {
		name string
		w, h int64
		lang string
	}{{"desktop", 1280, 900, "fr"}, {"phone", 390, 844, "fr"}, {"phone-ar", 390, 844, "ar"}} {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(int(vp.w), int(vp.h)))
		actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
		bctx, cancel2 := chromedp.NewContext(actx)
		bctx, cancel3 := context.WithTimeout(bctx, 3*time.Minute)
		shot := func(name string) chromedp.Action[chromedp.Void] {
			return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				if dir != "" {
					b, err := chromedp.FullScreenshot(100)(ctx, tg)
					if err != nil {
						return chromedp.Void{}, err
					}
					if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", vp.name, name)), b, 0o644); err != nil {
						return chromedp.Void{}, err
					}
				}
				if axeSrc != "" {
					vs, err := chromedp.Evaluate[[]axeViolation](axeSrc+axeRun, chromedp.EvalAwaitPromise)(ctx, tg)
					if err != nil {
						return chromedp.Void{}, fmt.Errorf("axe on %s: %w", name, err)
					}
					for _, v := range vs {
						t.Errorf("%s %s: %s (%s): %s %v", vp.name, name, v.ID, v.Impact, v.Help, v.Nodes)
					}
				}
				return chromedp.Void{}, nil
			}
		}
		checkText := func(sel string, any ...string) chromedp.Action[chromedp.Void] {
			return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				got, err := chromedp.Text(chromedp.CSS(sel))(ctx, tg)
				if err != nil {
					return chromedp.Void{}, err
				}
				for _, w := range any {
					if strings.Contains(got, w) {
						return chromedp.Void{}, nil
					}
				}
				return chromedp.Void{}, fmt.Errorf("%s says %q, want one of %q", sel, got, any)
			}
		}
		u := e.ts.URL
		err := chromedp.Do(bctx,
			chromedp.EmulateViewport(vp.w, vp.h),
			chromedp.Navigate(u+"/login"),
			chromedp.SetValue(chromedp.CSS("#lang-select"), vp.lang),
			chromedp.Click(chromedp.CSS(".lang button")),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="`+vp.lang+`"] #name`)),
			shot("login"),
			chromedp.SendKeys(chromedp.CSS("#name"), adminName),
			chromedp.SendKeys(chromedp.CSS("#password"), adminPass),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS("#card-text")),
			shot("home"),
			chromedp.SendKeys(chromedp.CSS("#card-text"), card.String()[:20]+"xx"),
			chromedp.Submit(chromedp.CSS("#card-text")),
			chromedp.WaitVisible(chromedp.CSS(".error")),
			shot("home-typo"),
			chromedp.SetValue(chromedp.CSS("#card-text"), card.String()),
			chromedp.Submit(chromedp.CSS("#card-text")),
			chromedp.WaitVisible(chromedp.CSS("#files")),
			shot("file"),
			// upload two files through page.js (progress, then the answer)
			chromedp.SetValue(chromedp.CSS("#category"), "taxes"),
			chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{upPDF, upJPEG}),
			chromedp.Click(chromedp.CSS("form[data-upload] button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
			checkText(".flash", "2 documents ajoutés.", "2 documents added.", "أُضيفت وثيقتان."),
			checkText("main", "avis-impot"),
			// the person keeps a document private and lets the structure
			// follow them (the forms posted by fetch: no navigation race)
			chromedp.Evaluate[chromedp.Void](`(async () => {
				const post = f => fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))});
				await fetch("/file/doc/d2/private", {method: "POST", body: new URLSearchParams({private: "yes"})});
				document.querySelector("#follow-name").value = "Amina Diallo";
				document.querySelector("#follow-birth").value = "1990-05-02";
				document.querySelector('form[action="/file/follow"] input[name=consent]').checked = true;
				await post(document.querySelector('form[action="/file/follow"]'));
			})()`, chromedp.EvalAwaitPromise),
			chromedp.Navigate(u+"/file"),
			chromedp.WaitVisible(chromedp.CSS(".private-badge")),
			shot("file-followed"),
			chromedp.Navigate(u+"/file/delegations"),
			shot("delegations"),
			chromedp.Navigate(u+"/followed?q=amina"),
			shot("followed"),
			chromedp.Click(chromedp.CSS("a.doc-title")),
			chromedp.WaitVisible(chromedp.CSS("li.doc a[download]")),
			shot("followed-person"),
			chromedp.Navigate(u+"/scans"),
			shot("scans"),
			chromedp.Navigate(u+"/file/doc/d1/view"),
			chromedp.Sleep(2*time.Second), // the PDF viewer
			shot("view"),
			chromedp.Navigate(u+"/file/trash"),
			shot("trash"),
			chromedp.Navigate(u+"/file/log"),
			shot("log"),
			chromedp.Navigate(u+"/accounts"),
			shot("accounts"),
			chromedp.Navigate(u+"/health"),
			shot("health"),
			chromedp.Navigate(u+"/network"),
			chromedp.Submit(chromedp.CSS(`form[action="/network/invite"] button`)),
			chromedp.WaitVisible(chromedp.CSS(".code img + p, .code p")),
			shot("network"),
			chromedp.Navigate(u+"/recovery"),
			chromedp.SendKeys(chromedp.CSS("#number"), number),
			chromedp.Submit(chromedp.CSS("#number")),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
			shot("recovery"),
			chromedp.Navigate(u+"/deposit"),
			shot("deposit"),
			chromedp.Navigate(u+"/register"),
			shot("register"),
			chromedp.Submit(chromedp.CSS("#second")),
			chromedp.WaitVisible(chromedp.CSS(".cardtext")),
			shot("card"),
		)
		cancel3()
		cancel2()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", vp.name, err)
		}
	}
}

// onePagePDF is a valid one-page PDF that says "Passeport de test".
const onePagePDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n4 0 obj\n<< /Length 48 >>\nstream\nBT /F1 24 Tf 40 100 Td (Passeport de test) Tj ET\nendstream\nendobj\n5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\nxref\n0 6\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n0000000241 00000 n \n0000000339 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n409\n%%EOF\n"
