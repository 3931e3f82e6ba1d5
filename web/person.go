package web

import (
	"bufio"
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"baluchon/node"
	"baluchon/vault"
	"baluchon/web/internal/spoken"
)

// The person's view: the person's own papers, in their language, as
// large tiles (a pictogram per category, the title, "ends in 12 days"),
// each with a button that reads its line aloud, and nothing of the
// worker's page. A worker shows it with the file open (/file/person); a
// screen in the hall shows it in kiosk mode (/kiosk), where the person
// shows their card and the page forgets it after KioskTimeout.
//
// Its texts are in personlocales/<lang>.json, one file per language (a
// language is a file), apart from the worker's catalogs (locales/, French,
// English and Arabic); REVIEWS.tsv says who reviewed each one. French is
// written in FALC (facile à lire et à comprendre) and is the reference:
// every catalog has its keys.

//go:embed personlocales/*.json personlocales/REVIEWS.tsv
var personLocaleFS embed.FS

//go:embed templates/person/*.html
var personTemplates embed.FS

// The audio files of the person's view made by espeak-ng
// (web/audio/generate.go): audio/<lang>/<key>.ogg, Ogg Opus.
//
//go:embed audio/*/*.ogg
var audioFS embed.FS

// KioskTimeout is how long a kiosk shows a person's papers before it
// forgets the card.
const KioskTimeout = time.Minute

// reviewMachine is the status of a catalog no native speaker has read.
const reviewMachine = "machine"

// loadReviews reads REVIEWS.tsv: language → reviewer, "" for a
// machine-drafted catalog.
func loadReviews(fsys fs.FS) (map[string]string, error) {
	b, err := fs.ReadFile(fsys, "personlocales/REVIEWS.tsv")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		if f[1] == reviewMachine || len(f) < 3 {
			out[f[0]] = ""
		} else {
			out[f[0]] = f[2]
		}
	}
	return out, sc.Err()
}

// personSite is what the person's view needs beside the Server.
type personSite struct {
	cats    *catalogs
	reviews map[string]string
	pages   map[string]*template.Template
	kiosk   *kioskFiles
}

func newPersonSite(timeout time.Duration) (*personSite, error) {
	p := &personSite{kiosk: &kioskFiles{files: map[string]*kioskFile{}, timeout: timeout}}
	var err error
	if p.cats, err = loadCatalogs(personLocaleFS, "personlocales"); err != nil {
		return nil, err
	}
	if p.reviews, err = loadReviews(personLocaleFS); err != nil {
		return nil, err
	}
	layout, err := template.New("layout.html").Funcs(template.FuncMap{
		"join": func(s []string) string { return strings.Join(s, " ") },
		"hearOf": func(audio string, l *loc) map[string]string {
			return map[string]string{"Audio": audio, "Label": l.t("person_hear")}
		},
	}).ParseFS(personTemplates, "templates/person/layout.html")
	if err != nil {
		return nil, err
	}
	p.pages = map[string]*template.Template{}
	for _, name := range []string{"papers", "kiosk"} {
		t, err := template.Must(layout.Clone()).ParseFS(personTemplates, "templates/person/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

func (s *Server) personRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /file/person", s.withFile(s.personPage))
	mux.HandleFunc("GET /file/papers.pdf", s.withFile(s.papersPDF))
	mux.HandleFunc("POST /kiosk/start", s.auth(s.kioskStart))
	mux.HandleFunc("GET /kiosk", s.kioskPage)
	mux.HandleFunc("POST /kiosk/open", s.kioskOpen)
	mux.HandleFunc("POST /kiosk/close", s.kioskClose)
	mux.HandleFunc("GET /audio/{lang}/{key}", s.audio)
	mux.HandleFunc("GET /recordings", s.auth(s.recordingsPage))
	mux.HandleFunc("POST /recordings", s.auth(s.recordPost))
}

// personView is what the person's templates get.
type personView struct {
	L        *loc
	Langs    []personLang
	Path     string
	Kiosk    bool
	Timeout  int // kiosk: milliseconds before the page forgets the card
	Open     bool
	Error    string
	Tiles    []tileView
	Reminder int // documents that end within expirySoon, or ended
	Explain  []spokenLine
	Help     spokenLine
	Intro    spokenLine
}

type personLang struct {
	Code, Name, Dir string
	Selected        bool
}

// spokenLine is a text and the audio that reads it ("" if none).
type spokenLine struct {
	Text, Audio string
}

// tileView is one document as the person sees it.
type tileView struct {
	Category string
	Label    string // the category, in the person's language
	Title    string
	Expiry   string
	Expired  bool
	Soon     bool
	Audio    []string // read in order by the line's button
}

// personLang picks the person's language: the one in the URL, else the
// file's second language, else the page's.
func (s *Server) personLang(r *http.Request, second string) string {
	p := s.person.cats
	if q := r.URL.Query().Get("lang"); q != "" && slices.Contains(p.langs, q) {
		return q
	}
	if second != "" && slices.Contains(p.langs, second) {
		return second
	}
	if l := s.lang(r); slices.Contains(p.langs, l) {
		return l
	}
	return p.pick(r.Header.Get("Accept-Language"))
}

func (s *Server) newPersonView(r *http.Request, lang string) *personView {
	p := s.person.cats
	v := &personView{L: p.localizer(lang, s.strict), Path: r.URL.Path}
	for _, c := range p.langs {
		v.Langs = append(v.Langs, personLang{Code: c, Name: p.names[c], Dir: p.dirs[c], Selected: c == lang})
	}
	v.Help = s.line(v.L, "kiosk_help")
	v.Intro = s.line(v.L, "person_intro")
	for _, k := range []string{"card_open", "card_keep", "card_lost"} {
		v.Explain = append(v.Explain, s.line(v.L, k))
	}
	return v
}

// line is a message with its audio, if there is one.
func (s *Server) line(l *loc, key string) spokenLine {
	return spokenLine{Text: l.t(key), Audio: s.audioURL(l.lang, key)}
}

// audioURL is the address of the audio of key in lang, or "".
func (s *Server) audioURL(lang, key string) string {
	if !spoken.IsKey(key) || !slices.Contains(s.person.cats.langs, lang) {
		return ""
	}
	if _, err := fs.Stat(audioFS, path.Join("audio", lang, key+".ogg")); err != nil {
		if s.cfg.Recordings == nil {
			return ""
		}
		if _, ok := s.cfg.Recordings.Recording(lang, key); !ok {
			return ""
		}
	}
	return "/audio/" + lang + "/" + key
}

// fill makes the tiles of entries.
func (s *Server) fill(v *personView, entries []vault.Entry) {
	now := s.now()
	for _, c := range Categories {
		for _, e := range entries {
			if category(e.Category) != c {
				continue
			}
			t := tileView{Category: c, Label: v.L.t("category_" + c), Title: e.Title}
			t.Expiry, t.Expired, t.Soon = personExpiry(v.L, e.Expires, now)
			if a := s.audioURL(v.L.lang, "category_"+c); a != "" {
				t.Audio = append(t.Audio, a)
			}
			switch {
			case t.Expired:
				t.Audio = append(t.Audio, s.audioURL(v.L.lang, "expired"))
			case t.Soon:
				t.Audio = append(t.Audio, s.audioURL(v.L.lang, "expires_soon"))
			}
			t.Audio = slices.DeleteFunc(t.Audio, func(a string) bool { return a == "" })
			if t.Expired || t.Soon {
				v.Reminder++
			}
			v.Tiles = append(v.Tiles, t)
		}
	}
}

// personExpiry says when a document ends, in the person's words.
func personExpiry(l *loc, exp, now time.Time) (text string, expired, soon bool) {
	if exp.IsZero() {
		return "", false, false
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := time.Date(exp.Year(), exp.Month(), exp.Day(), 0, 0, 0, 0, time.UTC)
	days := int(day.Sub(today).Hours() / 24)
	switch {
	case days < 0:
		return l.t("expired"), true, false
	case days == 0:
		return l.t("expires_today"), false, true
	case time.Duration(days)*24*time.Hour <= expirySoon:
		return l.t("expires_in", "Count", days), false, true
	}
	return "", false, false
}

func (s *Server) renderPerson(w http.ResponseWriter, status int, name string, v *personView) {
	var b bytes.Buffer
	if err := s.person.pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		s.log.Error("web person page", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// personPage shows the open file to the person, on the worker's screen.
func (s *Server) personPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	v := s.newPersonView(r, s.personLang(r, f.secondLang))
	entries, err := s.entries(r.Context(), f)
	if err != nil {
		st, msg := s.cardError(s.cats.localizer(s.lang(r), false), err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	v.Open = true
	s.fill(v, entries)
	s.renderPerson(w, http.StatusOK, "papers", v)
}

// ---- kiosk ----

// kioskFile is a card shown at a kiosk, forgotten after the timeout.
type kioskFile struct {
	card    *vault.Card
	entries []vault.Entry
	timer   *time.Timer
}

// kioskFiles are the cards the kiosks of this page show, by handle.
type kioskFiles struct {
	mu      sync.Mutex
	files   map[string]*kioskFile
	timeout time.Duration
}

// put keeps f for the timeout and returns its handle.
func (k *kioskFiles) put(f *kioskFile) string {
	h := newHandle()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.files[h] = f
	f.timer = time.AfterFunc(k.timeout, func() { k.forget(h) })
	return h
}

func (k *kioskFiles) get(h string) (*kioskFile, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f, ok := k.files[h]
	return f, ok
}

func (k *kioskFiles) forget(h string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f, ok := k.files[h]; ok {
		f.timer.Stop()
		f.card = nil
		delete(k.files, h)
	}
}

func (k *kioskFiles) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.files)
}

func (k *kioskFiles) clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, f := range k.files {
		f.timer.Stop()
		delete(k.files, h)
	}
}

// kioskStart turns a worker's browser into a kiosk: the worker is logged
// out (the screen in the hall offers nothing of the worker's page) and
// the session only shows cards.
func (s *Server) kioskStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.files.forget(s.sessions.GetString(ctx, "file"))
	lang := s.sessions.GetString(ctx, "lang")
	s.sessions.Destroy(ctx)
	s.sessions.Put(ctx, "kiosk", true)
	if lang != "" {
		s.sessions.Put(ctx, "lang", lang)
	}
	http.Redirect(w, r, "/kiosk", http.StatusSeeOther)
}

// isKiosk reports whether r comes from a kiosk.
func (s *Server) isKiosk(r *http.Request) bool { return s.sessions.GetBool(r.Context(), "kiosk") }

func (s *Server) kioskPage(w http.ResponseWriter, r *http.Request) {
	if !s.isKiosk(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.showKiosk(w, r, http.StatusOK, "")
}

func (s *Server) showKiosk(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	v := s.newPersonView(r, s.personLang(r, ""))
	v.Kiosk = true
	v.Timeout = int(s.person.kiosk.timeout / time.Millisecond)
	v.Error = errMsg
	if f, ok := s.person.kiosk.get(s.sessions.GetString(r.Context(), "kfile")); ok {
		v.Open = true
		s.fill(v, f.entries)
		s.renderPerson(w, status, "papers", v)
		return
	}
	s.sessions.Remove(r.Context(), "kfile")
	s.renderPerson(w, status, "kiosk", v)
}

func (s *Server) kioskOpen(w http.ResponseWriter, r *http.Request) {
	if !s.isKiosk(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.kioskText(w, r, r.PostFormValue("card"))
}

func (s *Server) kioskText(w http.ResponseWriter, r *http.Request, text string) {
	ctx := r.Context()
	s.person.kiosk.forget(s.sessions.GetString(ctx, "kfile"))
	card, err := vault.ParseCard(text)
	if err == nil {
		var o *node.Opened
		if o, err = s.node.Open(ctx, card); err == nil {
			s.sessions.Put(ctx, "kfile", s.person.kiosk.put(&kioskFile{card: card, entries: o.Entries}))
			back := "/kiosk"
			if l := r.PostFormValue("lang"); slices.Contains(s.person.cats.langs, l) {
				back += "?lang=" + l
			}
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	}
	// the reasons a card does not open are told in the worker's languages
	status, msg := s.cardError(s.cats.localizer(s.lang(r), false), err)
	s.showKiosk(w, r, status, msg)
}

func (s *Server) kioskClose(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.person.kiosk.forget(s.sessions.GetString(ctx, "kfile"))
	s.sessions.Remove(ctx, "kfile")
	http.Redirect(w, r, "/kiosk", http.StatusSeeOther)
}

// ---- audio ----

// audioFor returns the audio of key in lang: a structure's recording if
// there is one, else the embedded espeak-ng file.
func (s *Server) audioFor(lang, key string) ([]byte, string, bool) {
	if !spoken.IsKey(key) || !slices.Contains(s.person.cats.langs, lang) {
		return nil, "", false
	}
	if s.cfg.Recordings != nil {
		if rec, ok := s.cfg.Recordings.Recording(lang, key); ok {
			return rec.Audio, rec.MIME, true
		}
	}
	b, err := audioFS.ReadFile(path.Join("audio", lang, key+".ogg"))
	if err != nil {
		return nil, "", false
	}
	return b, "audio/ogg", true
}

func (s *Server) audio(w http.ResponseWriter, r *http.Request) {
	b, mime, ok := s.audioFor(r.PathValue("lang"), r.PathValue("key"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}
