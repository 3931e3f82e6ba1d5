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

// TestScreenshots writes screenshots of the main pages, on a desktop and a
// phone screen, in French and in Arabic, to $BALUCHON_SCREENSHOTS.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("BALUCHON_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BALUCHON_SCREENSHOTS=DIR to write screenshots of the pages")
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium)")
	}
	e := newEnv(t)
	e.admin()
	e.node.mu.Lock()
	card, _ := e.node.newCard()
	e.node.mu.Unlock()
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
	add("Passeport", "identity", "passeport.pdf", pdf, now.AddDate(0, 0, 12))
	add("Titre de séjour", "justice", "sejour.pdf", pdf, now.AddDate(0, 0, -3))
	add("Attestation CAF", "benefits", "caf.pdf", pdf+strings.Repeat(" ", 180000), time.Time{})
	add("Carte vitale", "health", "vitale.jpg", jpeg, time.Time{})
	add("Quittance de loyer", "housing", "quittance.pdf", pdf, time.Time{})
	e.node.Remove(ctx, card, "d5")

	for _, vp := range []struct {
		name string
		w, h int64
		lang string
	}{{"desktop", 1280, 900, "fr"}, {"phone", 390, 844, "fr"}, {"phone-ar", 390, 844, "ar"}} {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(int(vp.w), int(vp.h)))
		actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
		bctx, cancel2 := chromedp.NewContext(actx)
		bctx, cancel3 := context.WithTimeout(bctx, 60*time.Second)
		shot := func(name string) chromedp.Action[chromedp.Void] {
			return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				b, err := chromedp.FullScreenshot(100)(ctx, tg)
				if err != nil {
					return chromedp.Void{}, err
				}
				return chromedp.Void{}, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", vp.name, name)), b, 0o644)
			}
		}
		u := e.ts.URL
		err := chromedp.Do(bctx,
			chromedp.EmulateViewport(vp.w, vp.h),
			chromedp.Navigate(u+"/login"),
			chromedp.SetValue(chromedp.CSS("#lang-select"), vp.lang),
			chromedp.Click(chromedp.CSS(".lang button")),
			chromedp.WaitVisible(chromedp.CSS("#name")),
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
			chromedp.Navigate(u+"/file/doc/d1/view"),
			chromedp.Sleep(500*time.Millisecond),
			shot("view"),
			chromedp.Navigate(u+"/file/trash"),
			shot("trash"),
			chromedp.Navigate(u+"/file/log"),
			shot("log"),
			chromedp.Navigate(u+"/accounts"),
			shot("accounts"),
			chromedp.Navigate(u+"/health"),
			shot("health"),
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
