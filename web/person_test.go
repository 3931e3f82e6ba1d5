package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"baluchon/cardprint"
	"baluchon/node"
	"baluchon/vault"
	"baluchon/web/internal/spoken"
)

// rtlLangs are the person-facing languages written right to left.
var rtlLangs = []string{"ar", "fa-AF", "ps", "ur"}

// TestPersonCatalogs: every person-facing catalog has every message of
// fr.json (the FALC reference) and nothing more, every plural form its
// language needs, the right direction; REVIEWS.tsv names every catalog;
// the languages espeak-ng speaks have every audio file; the card prints
// in every language of the person's view.
func TestPersonCatalogs(t *testing.T) {
	cats, err := loadCatalogs(personLocaleFS, "personlocales")
	if err != nil {
		t.Fatal(err)
	}
	checkPersonCatalogs(t, cats, catalogJSON(t, personLocaleFS, "personlocales"))
	reviews, err := loadReviews(personLocaleFS)
	if err != nil {
		t.Fatal(err)
	}
	cardLangs := cardprint.Languages()
	for _, lang := range cats.langs {
		if _, ok := reviews[lang]; !ok {
			t.Errorf("REVIEWS.tsv does not say who reviewed %s", lang)
		}
		if !slices.Contains(cardLangs, lang) {
			t.Errorf("the card cannot be printed in %s (no cardprint/locales/%s.json)", lang, lang)
		}
		if _, ok := spoken.Voices[lang]; !ok {
			continue
		}
		for _, k := range spoken.Keys {
			b, err := audioFS.ReadFile(path.Join("audio", lang, k+".ogg"))
			if err != nil || !bytes.HasPrefix(b, []byte("OggS")) {
				t.Errorf("no audio %s/%s.ogg (go run ./web/audio/generate.go %s)", lang, k, lang)
			}
		}
	}
	if reviews[defaultLang] == "" {
		t.Error("the French reference is not marked reviewed")
	}
}

// checkPersonCatalogs is the check of TestPersonCatalogs, apart so that
// its own test can show it fails on a catalog that lacks a message.
func checkPersonCatalogs(t testing.TB, cats *catalogs, read func(string) map[string]any) {
	if len(cats.langs) < 12 {
		t.Errorf("%d person-facing languages %v, want at least 12", len(cats.langs), cats.langs)
	}
	checkCatalogs(t, cats, read, "personlocales", func(lang, dir string) bool {
		if slices.Contains(rtlLangs, lang) {
			return dir == "rtl"
		}
		return dir == "ltr"
	})
}

// TestPersonCatalogCheckFails: the catalog check reports a language that
// lacks a message (the check above cannot pass by accident).
func TestPersonCatalogCheckFails(t *testing.T) {
	cats, err := loadCatalogs(personLocaleFS, "personlocales")
	if err != nil {
		t.Fatal(err)
	}
	read := func(lang string) map[string]any {
		b, _ := fs.ReadFile(personLocaleFS, "personlocales/"+lang+".json")
		m := map[string]any{}
		json.Unmarshal(b, &m)
		if lang == "ti" {
			delete(m, "card_lost")
		}
		return m
	}
	rec := &recordT{}
	checkPersonCatalogs(rec, cats, read)
	if !slices.ContainsFunc(rec.errs, func(s string) bool { return strings.Contains(s, `ti.json lacks "card_lost"`) }) {
		t.Fatalf("a missing message is not reported: %q", rec.errs)
	}
}

// recordT records the errors of a check.
type recordT struct {
	testing.TB
	errs []string
}

func (r *recordT) Errorf(format string, args ...any) {
	r.errs = append(r.errs, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
func (r *recordT) Error(args ...any) { r.errs = append(r.errs, strings.TrimSpace(fmt.Sprint(args...))) }
func (r *recordT) Helper()           {}

// personFile opens a file with documents in c: a passport ending in 12
// days, a residence permit ended 3 days ago, a CAF paper with no end.
func (e *env) personFile(c *http.Client) *vault.Card {
	e.t.Helper()
	card := e.open(c)
	now := e.clock.Now()
	ctx := context.Background()
	for _, d := range []node.DocMeta{
		{Title: "Passeport", Category: "identity", FileName: "p.pdf", MIME: "application/pdf", Expires: now.AddDate(0, 0, 12)},
		{Title: "Titre de séjour", Category: "justice", FileName: "s.pdf", MIME: "application/pdf", Expires: now.AddDate(0, 0, -3)},
		{Title: "Attestation CAF", Category: "benefits", FileName: "c.pdf", MIME: "application/pdf"},
	} {
		if _, err := e.node.Add(ctx, card, strings.NewReader(pdf), d); err != nil {
			e.t.Fatal(err)
		}
	}
	// the page lists the documents again once the file is reopened
	e.want(e.post(c, "/open", url.Values{"card": {card.String()}}), 200, "Passeport")
	return card
}

// linkRe finds the addresses a page links to.
var linkRe = regexp.MustCompile(`(?:href|action|src|data-audio)="([^"]*)"`)

// personLinks reports any address a person's page links to that is not
// the person's own (assets, audio, allowed), and any part of the worker's
// page.
func personLinks(t *testing.T, body string, allowed ...string) {
	t.Helper()
	for _, m := range linkRe.FindAllStringSubmatch(body, -1) {
		for _, u := range strings.Fields(html.UnescapeString(m[1])) {
			ok := strings.HasPrefix(u, "/assets/") || strings.HasPrefix(u, "/audio/") || slices.Contains(allowed, strings.SplitN(u, "?", 2)[0])
			if !ok {
				t.Errorf("the person's view links to %q", u)
			}
		}
	}
	for _, w := range []string{`class="top"`, "nav_", "/logout", "filebar", `name="lang"><option`} {
		if strings.Contains(body, w) {
			t.Errorf("the person's view shows %q of the worker's page", w)
		}
	}
}

func TestPersonView(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.personFile(c)
	r := e.get(c, "/file/person")
	e.want(r, 200, "Mes papiers", "Passeport", "Finit dans 12 jours", "Ce papier n'est plus valable. Il faut le refaire.",
		"2 papiers finissent bientôt", "Attestation CAF", "/assets/pictos/identity.svg", "/audio/fr/category_identity /audio/fr/expires_soon")
	personLinks(t, r.body, "/file/person", "/file")
	if strings.Index(r.body, "Passeport") > strings.Index(r.body, "Titre de séjour") {
		t.Error("the tiles are not in the order of the categories")
	}
	cats, _ := loadCatalogs(personLocaleFS, "personlocales")
	for _, lang := range cats.langs {
		r := e.get(c, "/file/person?lang="+url.QueryEscape(lang))
		want := `<html lang="` + lang + `" dir="ltr">`
		if slices.Contains(rtlLangs, lang) {
			want = `<html lang="` + lang + `" dir="rtl">`
		}
		e.want(r, 200, want, "Passeport")
		personLinks(t, r.body, "/file/person", "/file")
	}
	// Tigrinya has no espeak-ng voice here: no button rather than silence
	r = e.get(c, "/file/person?lang=ti")
	if strings.Contains(r.body, `class="hear"`) {
		t.Error("Tigrinya offers audio there is none of")
	}
}

func TestKioskForgetsTheCard(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.KioskTimeout = 300 * time.Millisecond })
	admin := e.admin()
	card := e.personFile(admin)

	k := e.client()
	e.want(e.post(k, "/login", url.Values{"name": {adminName}, "password": {adminPass}}), 200)
	r := e.post(k, "/kiosk/start", nil)
	e.want(r, 200, "Montrez votre carte", `action="/kiosk/open"`)
	personLinks(t, r.body, "/kiosk", "/kiosk/open")
	if r.url != "/kiosk" {
		t.Fatalf("kiosk at %s", r.url)
	}
	// the worker is logged out of the kiosk's browser
	for _, p := range []string{"/", "/file", "/accounts", "/followed"} {
		if r := e.get(k, p); r.url != "/login" {
			t.Errorf("the kiosk reaches %s (landed on %s)", p, r.url)
		}
	}
	r = e.post(k, "/kiosk/open", url.Values{"card": {card.String()}, "lang": {"ar"}})
	e.want(r, 200, `dir="rtl"`, "أوراقي", "Passeport", `data-forget="300"`, `action="/kiosk/close"`)
	personLinks(t, r.body, "/kiosk", "/kiosk/close")
	if strings.Contains(r.body, card.String()) {
		t.Fatal("the kiosk's page holds the card text")
	}
	if n := e.srv.person.kiosk.len(); n != 1 {
		t.Fatalf("%d cards held", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.person.kiosk.len() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.srv.person.kiosk.len(); n != 0 {
		t.Fatalf("the kiosk still holds %d cards after its timeout", n)
	}
	r = e.get(k, "/kiosk")
	e.want(r, 200, "Montrez votre carte")
	if strings.Contains(r.body, "Passeport") {
		t.Fatal("the kiosk still shows the papers after its timeout")
	}

	// closing forgets at once
	e.want(e.post(k, "/kiosk/open", url.Values{"card": {card.String()}}), 200, "Passeport")
	e.want(e.post(k, "/kiosk/close", nil), 200, "Montrez votre carte")
	if n := e.srv.person.kiosk.len(); n != 0 {
		t.Fatalf("%d cards held after closing", n)
	}
	// a bad card says why, in the kiosk
	e.want(e.post(k, "/kiosk/open", url.Values{"card": {card.String()[:20]}}), 400, "Montrez votre carte")
	// a worker's browser is not a kiosk
	if r := e.get(admin, "/kiosk"); r.url != "/" {
		t.Errorf("a worker's /kiosk lands on %s", r.url)
	}
}

// fakeRecordings keeps recordings in memory.
type fakeRecordings struct {
	mu   sync.Mutex
	recs map[string]*node.Recording
}

func (f *fakeRecordings) Recording(lang, key string) (*node.Recording, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recs[lang+"/"+key]
	return r, ok
}

func (f *fakeRecordings) Record(ctx context.Context, lang, key, mime string, audio []byte) error {
	if mime != "audio/ogg" && mime != "audio/webm" {
		return node.ErrBadRecording
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[lang+"/"+key] = &node.Recording{Lang: lang, Key: key, MIME: mime, Audio: audio, Time: time.Now()}
	return nil
}

// postRecording sends audio as the page's recorder does.
func (e *env) postRecording(c *http.Client, lang, key, mime string, audio []byte) resp {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("lang", lang)
	mw.WriteField("key", key)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="audio"; filename="recording"`}
	h["Content-Type"] = []string{mime}
	w, _ := mw.CreatePart(h)
	w.Write(audio)
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/recordings", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(c, req)
}

func TestAudioAndRecordings(t *testing.T) {
	recs := &fakeRecordings{recs: map[string]*node.Recording{}}
	e := newEnv(t, func(c *Config) { c.Recordings = recs })
	c := e.admin()
	anon := e.client()
	r := e.get(anon, "/audio/fr/card_lost")
	if r.status != 200 || r.header.Get("Content-Type") != "audio/ogg" || !strings.HasPrefix(r.body, "OggS") {
		t.Fatalf("fr audio: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, p := range []string{"/audio/ti/card_lost", "/audio/fr/nope", "/audio/xx/card_lost", "/audio/fr/..%2fstyle.css"} {
		if r := e.get(anon, p); r.status != 404 {
			t.Errorf("%s: %d, want 404", p, r.status)
		}
	}
	r = e.get(c, "/recordings")
	e.want(r, 200, "ትግርኛ", "Pas encore de voix", "Voix de synthèse (espeak-ng)", "Traduction faite par une machine : à faire relire", "Traduction relue par")
	voice, _ := audioFS.ReadFile("audio/fr/card_lost.ogg")
	e.want(e.postRecording(c, "ti", "card_lost", "audio/ogg", voice), 200, "L'enregistrement est gardé")
	if r := e.get(anon, "/audio/ti/card_lost"); r.status != 200 || r.body != string(voice) {
		t.Fatalf("the recording is not served: %d", r.status)
	}
	e.want(e.get(c, "/file/person?lang=ti"), 401) // no file open: the worker is told
	e.want(e.postRecording(c, "ti", "nope", "audio/ogg", voice), 400, "Cette langue ou cette phrase n'existe pas.")
	e.want(e.postRecording(c, "ti", "card_keep", "audio/ogg", make([]byte, node.MaxRecordingBytes+1)), 400, "L'enregistrement est trop long")
	e.want(e.postRecording(c, "ti", "card_keep", "video/mp4", voice), 400, "n'est pas un enregistrement accepté")
	if r := e.postRecording(anon, "ti", "card_keep", "audio/ogg", voice); r.url != "/login" {
		t.Errorf("a visitor records (landed on %s)", r.url)
	}
}

func TestFollowedExpiring(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.personFile(c)
	e.want(e.post(c, "/file/follow", url.Values{"name": {"Amina Diallo"}, "consent": {"yes"}}), 200)
	r := e.get(c, "/followed")
	e.want(r, 200, "1 personne que vous suivez a un papier qui finit ce mois-ci.")
}

func TestPapersSheet(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.personFile(c)
	r := e.get(c, "/file")
	e.want(r, 200, `href="/file/papers.pdf"`, `href="/file/person"`)
	r = e.get(c, "/file/papers.pdf?lang=ti")
	if r.status != 200 || !strings.HasPrefix(r.body, "%PDF-1.4 papers of 3 documents (ti)") || r.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("papers: %d %q", r.status, r.body)
	}
}

// TestCardPageForThePerson: the card's page explains the card to the
// person in the language chosen for the card, with its audio.
func TestCardPageForThePerson(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	r := e.get(c, "/register")
	e.want(r, 200, `<option value="ti" lang="ti">ትግርኛ</option>`, `<option value="fa-AF" lang="fa-AF">دری</option>`)
	r = e.post(c, "/register", url.Values{"second": {"ar"}})
	e.want(r, 200, `lang="ar" dir="rtl"`, "هذه البطاقة تفتح أوراقك في كل مؤسسات الشبكة.", `data-audio="/audio/ar/card_open"`)
}
