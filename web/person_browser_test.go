package web

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"baluchon/proto"
	"baluchon/testnet"
	"baluchon/web/internal/spoken"
)

// newBrowser starts Chromium (skipping the test without it) and returns a
// tab of w × h.
func newBrowser(t *testing.T, w, h int64) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH (Debian: apt-get install chromium): the person's view is not checked in a browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(int(w), int(h)),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	bctx, cancel3 := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// layout is what the browser computed of a person's page.
type layout struct {
	Dir, Direction string
	PictoRight     bool     // the first tile's pictogram is right of its text
	TitleStart     float64  // the h1's text: gap to its box's start side
	TitleEnd       float64  // gap to its box's end side
	Loaded         []string // the families of the fonts loaded
}

// scriptFonts are the embedded fonts (assets/fonts) that must draw a
// language's page: the usual machine fonts lack these scripts.
var scriptFonts = map[string]string{
	"ti": "Noto Sans Ethiopic", "ta": "Noto Sans Tamil", "bn": "Noto Sans Bengali", "ka": "Noto Sans Georgian",
}

const measure = `(async () => {
	await document.fonts.ready;
	const main = document.querySelector("main");
	const tile = document.querySelector(".tile");
	const p = tile.querySelector(".picto").getBoundingClientRect();
	const x = tile.querySelector(".tile-text").getBoundingClientRect();
	const h1 = document.querySelector("h1");
	const r = document.createRange(); r.selectNodeContents(h1);
	const t = r.getBoundingClientRect(), b = h1.getBoundingClientRect();
	const rtl = getComputedStyle(main).direction === "rtl";
	return {
		dir: document.documentElement.dir,
		direction: getComputedStyle(main).direction,
		pictoRight: p.left > x.left,
		titleStart: rtl ? b.right - t.right : t.left - b.left,
		titleEnd: rtl ? t.left - b.left : b.right - t.right,
		loaded: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family.replace(/"/g, "")),
	};
})()`

// TestPersonViewInBrowser shows the person's view in Chromium in every
// language: a right-to-left language must have dir="rtl", a computed
// direction of rtl and its pictograms and titles on the right (and a
// left-to-right one the opposite); Tigrinya is drawn with the embedded
// Ge'ez font (and Tamil, Bengali, Georgian with theirs). With
// $BALUCHON_SCREENSHOTS set, it writes the view in French, Arabic,
// Tigrinya, Tamil, Bengali and Georgian there
// (docs/screenshots/person-*.png).
func TestPersonViewInBrowser(t *testing.T) {
	bctx := newBrowser(t, 1024, 900)
	e := newEnv(t, func(c *Config) { c.KioskTimeout = 3 * time.Second })
	c := e.admin()
	card := e.personFile(c)
	u := e.ts.URL
	if err := chromedp.Do(bctx,
		chromedp.Navigate(u+"/login"),
		chromedp.SendKeys(chromedp.CSS("#name"), adminName),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPass),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#card-text")),
		chromedp.SendKeys(chromedp.CSS("#card-text"), card.String()),
		chromedp.Submit(chromedp.CSS("#card-text")),
		chromedp.WaitVisible(chromedp.CSS("#files")),
	); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("BALUCHON_SCREENSHOTS")
	axe := axeCheck(t, bctx)
	if err := chromedp.Do(bctx, chromedp.Navigate(u+"/recordings"), chromedp.WaitVisible(chromedp.CSS("#ti"))); err != nil {
		t.Fatal(err)
	}
	axe("languages and voices")
	if dir != "" {
		b, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.CSS("#ti")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "recordings-ti.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range e.srv.person.cats.langs {
		err := chromedp.Do(bctx, chromedp.Navigate(u+"/file/person?lang="+lang), chromedp.WaitVisible(chromedp.CSS(".tile")))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		got, err := chromedp.Run(bctx, chromedp.Evaluate[layout](measure, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		checkLayout(t, lang, got)
		if lang == "fr" || lang == "ar" || lang == "ti" {
			axe("person view in " + lang)
		}
		if dir != "" && slices.Contains([]string{"fr", "ar", "ti", "ta", "bn", "ka"}, lang) {
			b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "person-"+lang+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The check fails on a right-to-left page laid out left to right.
	if err := chromedp.Do(bctx, chromedp.Navigate(u+"/file/person?lang=ar"), chromedp.WaitVisible(chromedp.CSS(".tile")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("main").style.direction = "ltr"`)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[layout](measure, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordT{}
	checkLayout(rec, "ar", got)
	if len(rec.errs) == 0 {
		t.Error("an Arabic page laid out left to right passes the check")
	}
	// The kiosk, started from the worker's home page, before and after a
	// card is shown.
	if err := chromedp.Do(bctx, chromedp.Navigate(u+"/"),
		chromedp.Click(chromedp.CSS(`form[action="/kiosk/start"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/kiosk/open"] #card-text`))); err != nil {
		t.Fatal(err)
	}
	axe("kiosk")
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#card-text"), card.String()),
		chromedp.Submit(chromedp.CSS("#card-text")), chromedp.WaitVisible(chromedp.CSS(".tile"))); err != nil {
		t.Fatal(err)
	}
	axe("kiosk papers")
	// after the timeout, the kiosk's page goes back to asking for a card
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(`form[action="/kiosk/open"] #card-text`))); err != nil {
		t.Fatalf("the kiosk does not forget the card: %v", err)
	}
	if n := e.srv.person.kiosk.len(); n != 0 {
		t.Fatalf("the kiosk holds %d cards after its timeout", n)
	}
}

func checkLayout(t testing.TB, lang string, got layout) {
	want := "ltr"
	if slices.Contains(rtlLangs, lang) {
		want = "rtl"
	}
	if got.Dir != want || got.Direction != want {
		t.Errorf("%s: dir %q, computed direction %q, want %s", lang, got.Dir, got.Direction, want)
	}
	if got.PictoRight != (want == "rtl") {
		t.Errorf("%s: the pictograms are on the wrong side (right: %v)", lang, got.PictoRight)
	}
	if got.TitleStart > 2 || got.TitleEnd < 20 {
		t.Errorf("%s: the title is not at the %s start of the page (gaps %.0f and %.0f px)", lang, want, got.TitleStart, got.TitleEnd)
	}
	if f, ok := scriptFonts[lang]; ok && !slices.Contains(got.Loaded, f) {
		t.Errorf("%s: the embedded font %s is not used (loaded: %q)", lang, f, got.Loaded)
	}
}

// playable loads each audio address in an <audio> element and returns its
// duration in seconds (-1: it did not load).
const playable = `(urls) => Promise.all(urls.map(u => new Promise(res => {
	const a = new Audio();
	a.preload = "auto";
	a.onloadedmetadata = () => res(a.duration);
	a.onerror = () => res(-1);
	a.src = u;
})))`

func durations(t *testing.T, bctx context.Context, urls []string) []float64 {
	t.Helper()
	js := fmt.Sprintf("(%s)(%s)", playable, jsStrings(urls))
	got, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// TestAudioPlaysInBrowser loads every embedded audio file (each language
// espeak-ng speaks here, each spoken message) in Chromium: each must load
// and have a duration.
func TestAudioPlaysInBrowser(t *testing.T) {
	bctx := newBrowser(t, 800, 600)
	e := newEnv(t)
	var urls []string
	for _, lang := range slices.Sorted(maps.Keys(spoken.Voices)) {
		for _, k := range spoken.Keys {
			urls = append(urls, "/audio/"+lang+"/"+k)
		}
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(e.ts.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	for i, d := range durations(t, bctx, urls) {
		if !(d > 0.3 && d < 60) {
			t.Errorf("%s: duration %v s", urls[i], d)
		}
	}
}

// TestRecordingPlaysAtAnotherNode: an interpreter records a text in
// Tigrinya at structure A's page; structure B's page, another node of the
// federation, plays it.
func TestRecordingPlaysAtAnotherNode(t *testing.T) {
	bctx := newBrowser(t, 800, 600)
	net := testnet.New(t, 2, testnet.Options{Names: []string{"Accueil de jour", "CCAS de Lyon"}})
	net.Connect(0, 1)
	ctx := context.Background()
	code, err := net.Nodes[0].Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := proto.ParseCode(code.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Nodes[1].JoinFederation(ctx, parsed); err != nil {
		t.Fatal(err)
	}
	envs := make([]*env, 2)
	for i, n := range net.Nodes {
		s, err := New(Config{Node: n, Home: net.Home(i), Recordings: n})
		if err != nil {
			t.Fatal(err)
		}
		s.strict = true
		ts := httptest.NewServer(s)
		t.Cleanup(func() { ts.Close(); s.Close() })
		envs[i] = &env{t: t, srv: s, ts: ts, home: net.Home(i)}
	}
	a, b := envs[0], envs[1]
	ca := a.adminOf("Accueil de jour")
	anon := b.client()
	if r := b.get(anon, "/audio/ti/card_lost"); r.status != 404 {
		t.Fatalf("B has Tigrinya audio before any recording: %d", r.status)
	}
	// a real recording: Opus in Ogg, as a browser's recorder or a file
	voice, _ := audioFS.ReadFile("audio/en/card_lost.ogg")
	a.want(a.postRecording(ca, "ti", "card_lost", "audio/ogg", voice), 200, "L'enregistrement est gardé")
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := b.get(anon, "/audio/ti/card_lost")
		if r.status == 200 && r.body == string(voice) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B does not serve the recording: %d", r.status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(b.ts.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	if d := durations(t, bctx, []string{"/audio/ti/card_lost"})[0]; !(d > 0.3) {
		t.Fatalf("the recording does not play at B: duration %v", d)
	}
	cb := b.adminOf("CCAS de Lyon")
	b.want(b.get(cb, "/recordings"), 200, "Enregistré par Accueil de jour")
}

// axeCheck returns a function that runs axe-core ($BALUCHON_AXE) on the
// tab's page and fails on a serious violation; without axe-core it does
// nothing.
func axeCheck(t *testing.T, bctx context.Context) func(what string) {
	path := os.Getenv("BALUCHON_AXE")
	if path == "" {
		return func(string) {}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	return func(what string) {
		t.Helper()
		vs, err := chromedp.Run(bctx, chromedp.Evaluate[[]axeViolation](string(src)+axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe on %s: %v", what, err)
		}
		for _, v := range vs {
			t.Errorf("%s: %s (%s): %s %v", what, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}
