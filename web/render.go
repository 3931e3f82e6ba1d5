package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(template.FuncMap{
		"join": func(s []string) string { return strings.Join(s, ", ") },
	}).ParseFS(content, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(content, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(content, n)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// view is what every page template gets.
type view struct {
	L           *loc
	Langs       []langOption
	User        *Account
	Structure   string
	Fingerprint string
	Flash       string
	Error       string
	Errors      []string
	File        *fileView // the open person's file, if any
	Path        string
	Data        any
}

type langOption struct {
	Code, Name string
	Selected   bool
}

type fileView struct {
	Number string // the whole file number
	Short  string // its first characters, for the bar at the top
}

// newView makes the view of a page for r.
func (s *Server) newView(r *http.Request) *view {
	ctx := r.Context()
	lang := s.lang(r)
	v := &view{L: s.cats.localizer(lang, s.strict), Structure: s.accounts.structure(), Path: r.URL.Path}
	if s.cfg.TLS {
		v.Fingerprint = s.cfg.Fingerprint
	}
	for _, c := range s.cats.langs {
		v.Langs = append(v.Langs, langOption{Code: c, Name: s.cats.names[c], Selected: c == lang})
	}
	if ac, ok := s.user(r); ok {
		v.User = &ac
		if f, ok := s.files.get(s.sessions.GetString(ctx, "file"), s.now()); ok {
			v.File = &fileView{Number: f.vault, Short: f.vault}
			if r := []rune(f.vault); len(r) > 8 {
				v.File.Short = string(r[:8]) + "…"
			}
		}
	}
	v.Flash = s.sessions.PopString(ctx, "flash")
	return v
}

// render writes page name with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.log.Error("web page", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail shows the error page with message id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, id string, args ...any) {
	v := s.newView(r)
	v.Error = v.L.t(id, args...)
	s.render(w, r, status, "error", v)
}

// lang is the page's language: the one chosen in the session, else the
// browser's.
func (s *Server) lang(r *http.Request) string {
	if l := s.sessions.GetString(r.Context(), "lang"); l != "" {
		return s.cats.pick(l)
	}
	return s.cats.pick(r.Header.Get("Accept-Language"))
}

// Categories are the document categories, for the upload form.
func (v *view) Categories() []string { return Categories }
