package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogsComplete: every catalog has every message of the default
// one, and every plural form its language needs.
func TestCatalogsComplete(t *testing.T) {
	cats, err := loadCatalogs(localeFS, "locales")
	if err != nil {
		t.Fatal(err)
	}
	if len(cats.langs) < 3 {
		t.Errorf("languages %v, want at least fr, en, ar", cats.langs)
	}
	checkCatalogs(t, cats, catalogJSON(t, localeFS, "locales"), "locales", func(lang, dir string) bool {
		return dir == "ltr" || dir == "rtl"
	})
}

// catalogJSON returns a function that reads the catalog of a language in
// dir of fsys as JSON.
func catalogJSON(t testing.TB, fsys fs.FS, dir string) func(lang string) map[string]any {
	return func(lang string) map[string]any {
		b, err := fs.ReadFile(fsys, dir+"/"+lang+".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s/%s.json: %v", dir, lang, err)
		}
		return m
	}
}

// pluralCounts are the counts every plural message is shown with: each
// language's forms are all reached below 120 (Arabic's "few" and "many"
// among them), and large numbers.
var pluralCounts = func() []int {
	var c []int
	for n := range 120 {
		c = append(c, n)
	}
	return append(c, 1000, 1000000)
}()

// checkCatalogs checks that every catalog of cats (read from dir) has
// every message of the default one and nothing more, a direction that
// dirOK takes, and every plural form its language needs.
func checkCatalogs(t testing.TB, cats *catalogs, read func(lang string) map[string]any, dir string, dirOK func(lang, dir string) bool) {
	t.Helper()
	def := read(defaultLang)
	for _, lang := range cats.langs {
		m := read(lang)
		for id := range def {
			if _, ok := m[id]; !ok {
				t.Errorf("%s/%s.json lacks %q", dir, lang, id)
			}
		}
		for id := range m {
			if _, ok := def[id]; !ok {
				t.Errorf("%s/%s.json has %q, which %s.json lacks", dir, lang, id, defaultLang)
			}
		}
		if d := cats.dirs[lang]; !dirOK(lang, d) {
			t.Errorf("%s/%s.json: dir %q is not its language's", dir, lang, d)
		}
		l := cats.localizer(lang, true)
		for id, v := range def {
			if _, plural := v.(map[string]any); !plural {
				if _, err := l.T(id); err != nil {
					t.Error(err)
				}
				continue
			}
			for _, n := range pluralCounts {
				if _, err := l.T(id, "Count", n); err != nil {
					t.Errorf("%s, count %d: %v", lang, n, err)
					break
				}
			}
		}
	}
}

// technical words never shown to a social worker
var technical = regexp.MustCompile(`(?i)\b(vault|cid|peer|head|manifest|coffre)\b`)

// TestEveryPageEveryLanguage loads every page in each language: a missing
// message fails it (the server is strict in tests), and so does an inline
// script or a technical word on a worker's page.
func TestEveryPageEveryLanguage(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := e.worker(a)
	// a file with a document in each state
	e.post(w, "/register", url.Values{"second": {"en"}})
	e.upload(w, map[string]string{"category": "identity", "expires": "2026-03-15"}, [2]string{"p.pdf", pdf}, [2]string{"j.jpg", jpeg})
	e.upload(w, map[string]string{"category": "justice", "expires": "2026-01-15"}, [2]string{"titre.pdf", pdf})
	e.upload(w, map[string]string{"category": "health", "expires": "2026-03-03"}, [2]string{"ame.pdf", pdf})
	e.post(w, "/file/doc/d3/delete", nil)
	for _, ff := range e.node.files {
		e.post(w, "/recovery", url.Values{"number": {ff.id.String()}})
	}
	e.get(w, "/file/doc/d1")
	// scans waiting: one file, the two pages of another, one being written, one refused
	scans := filepath.Join(e.home, ScansDir)
	os.MkdirAll(scans, 0o700)
	e.scan(scans, "courrier.pdf", pdf)
	e.scan(scans, "page_1.jpg", jpeg)
	e.scan(scans, "page_2.jpg", jpeg)
	e.scan(scans, "x.exe", "MZ\x90")
	os.WriteFile(filepath.Join(scans, "frais.pdf"), []byte(pdf), 0o600)
	e.post(w, "/file/follow", url.Values{"name": {"Amina Diallo"}, "birth": {"1990-05-02"}, "consent": {"yes"}})
	e.post(w, "/file/doc/d2/private", url.Values{"private": {"yes"}})
	e.node.mu.Lock()
	e.node.fed = "12D3KooWfederation"
	followed := "/followed/" + e.node.followed[0].ID
	e.node.mu.Unlock()

	anon := e.client()
	pages := []struct {
		c      *http.Client
		path   string
		status int
		admin  bool
	}{
		{anon, "/login", 200, false},
		{a, "/accounts", 200, true},
		{a, "/health", 200, true},
		{a, "/network", 200, true},
		{w, "/", 200, false},
		{w, "/register", 200, false},
		{w, "/file", 200, false},
		{w, "/file/card", 200, false},
		{w, "/file/doc/d1/view", 200, false},
		{w, "/file/doc/d2/view", 200, false},
		{w, "/file/trash", 200, false},
		{w, "/file/log", 200, false},
		{w, "/file/replace", 200, false},
		{w, "/import", 200, false},
		{w, "/deposit", 200, false},
		{w, "/followed", 200, false},
		{w, "/followed?q=amina", 200, false},
		{w, "/followed?q=nobody", 200, false},
		{w, followed, 200, false},
		{w, "/followed/nobody", 404, false},
		{w, "/file/delegations", 200, false},
		{w, "/recovery", 200, false},
		{w, "/scans", 200, false},
		{a, "/scans", 200, true},
		{w, "/file/doc/zz", 404, false},
		{w, "/accounts", 403, false},
	}
	for _, lang := range e.srv.cats.langs {
		for _, c := range []*http.Client{anon, a, w} {
			e.post(c, "/lang", url.Values{"lang": {lang}})
		}
		for _, p := range pages {
			r := e.get(p.c, p.path)
			if r.status != p.status {
				t.Errorf("%s %s: status %d, want %d\n%s", lang, p.path, r.status, p.status, excerpt(r.body))
				continue
			}
			if !strings.Contains(r.body, `lang="`+lang+`"`) {
				t.Errorf("%s %s: not in %s", lang, p.path, lang)
			}
			if inlineScript.MatchString(r.body) {
				t.Errorf("%s %s: inline script: %s", lang, p.path, inlineScript.FindString(r.body))
			}
			if !p.admin {
				if m := technical.FindString(textOf(r.body)); m != "" {
					t.Errorf("%s %s: technical word %q on a worker's page", lang, p.path, m)
				}
			}
		}
		// forms with errors
		for _, f := range []struct {
			path string
			form url.Values
		}{
			{"/open", url.Values{"card": {"abc"}}},
			{"/login", url.Values{"name": {"x"}, "password": {"y"}}},
		} {
			if r := e.post(e.client(), f.path, f.form); r.status >= 500 {
				t.Errorf("%s %s: status %d", lang, f.path, r.status)
			}
		}
		e.want(e.upload(w, nil, [2]string{"v.pdf", ""}, [2]string{"x.exe", "MZ\x00"}), 400)
	}
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// textOf is what a page says: its text without tags.
func textOf(body string) string { return tags.ReplaceAllString(body, " ") }

func TestLanguagesAreFiles(t *testing.T) {
	files, _ := fs.Glob(localeFS, "locales/*.json")
	cats, _ := loadCatalogs(localeFS, "locales")
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(path.Base(f), ".json"))
	}
	got := slices.Clone(cats.langs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || cats.langs[0] != defaultLang {
		t.Errorf("languages %v from files %v", cats.langs, want)
	}
}

func TestSetupPageEveryLanguage(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SetupCode = "123-456-789" })
	for _, lang := range e.srv.cats.langs {
		c := e.client()
		e.post(c, "/lang", url.Values{"lang": {lang}})
		r := e.get(c, "/setup")
		if r.status != 200 || !strings.Contains(r.body, `lang="`+lang+`"`) {
			t.Errorf("%s /setup: %d\n%s", lang, r.status, excerpt(r.body))
		}
		if r := e.post(c, "/setup", url.Values{"code": {"0"}}); r.status != 400 {
			t.Errorf("%s /setup with a wrong code: %d", lang, r.status)
		}
	}
}
