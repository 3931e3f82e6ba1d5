package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"baluchon/node"
	"baluchon/vault"
)

// Categories are the kinds of documents, in the order the page lists
// them; a document of another category is listed under "other".
var Categories = []string{"identity", "health", "benefits", "housing", "work", "taxes", "justice", "other"}

// expirySoon is how far ahead an expiry date is announced.
const expirySoon = 60 * 24 * time.Hour

type docView struct {
	vault.Entry
	Preview bool   // an image or a PDF the page can show
	Expiry  string // "expire dans 12 jours", "" if none soon
	Expired bool
}

type categoryView struct {
	Key  string
	Docs []docView
}

type fileData struct {
	Categories []categoryView
	Count      int
	Used       int64
	Quota      int64
	Percent    int
	Deposited  int
	Cards      bool
	Max        int64
	Fresh      bool
}

func category(c string) string {
	if slices.Contains(Categories, c) {
		return c
	}
	return "other"
}

func previewable(mimeType string) bool {
	return mimeType == "application/pdf" || strings.HasPrefix(mimeType, "image/") && mimeType != "image/heic" && mimeType != "image/svg+xml"
}

// expiry says when a document expires, if soon.
func expiry(l *loc, exp, now time.Time) (string, bool) {
	if exp.IsZero() {
		return "", false
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day := time.Date(exp.Year(), exp.Month(), exp.Day(), 0, 0, 0, 0, time.UTC)
	days := int(day.Sub(today).Hours() / 24)
	switch {
	case days < 0:
		return l.t("expired_since", "Date", l.Date(exp)), true
	case days == 0:
		return l.t("expires_today"), false
	case time.Duration(days)*24*time.Hour <= expirySoon:
		return l.t("expires_in", "Count", days), false
	}
	return "", false
}

func (s *Server) filePage(w http.ResponseWriter, r *http.Request, f *openFile) {
	s.showFile(w, r, f, http.StatusOK, nil)
}

// entries returns the documents of f: listed by the node when the file
// was opened, or now if they were not.
func (s *Server) entries(ctx context.Context, f *openFile) ([]vault.Entry, error) {
	if es, ok := f.list(); ok {
		return es, nil
	}
	o, err := s.node.Open(ctx, f.card)
	if err != nil {
		return nil, err
	}
	f.setList(o.Entries, len(o.Deposited))
	return o.Entries, nil
}

// showFile renders the documents of f, with errs (already translated).
func (s *Server) showFile(w http.ResponseWriter, r *http.Request, f *openFile, status int, errs []string) {
	v := s.newView(r)
	v.Errors = errs
	entries, err := s.entries(r.Context(), f)
	if err != nil {
		st, msg := s.cardError(v.L, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	now := s.now()
	d := fileData{Quota: s.cfg.PersonQuota, Deposited: f.popDeposited(), Cards: s.cfg.Cards != nil, Max: s.node.MaxDocumentBytes()}
	by := map[string][]docView{}
	for _, e := range entries {
		dv := docView{Entry: e, Preview: previewable(e.MIME)}
		dv.Expiry, dv.Expired = expiry(v.L, e.Expires, now)
		c := category(e.Category)
		by[c] = append(by[c], dv)
		d.Used += e.Size
		d.Count++
	}
	for _, c := range Categories {
		if docs := by[c]; len(docs) > 0 {
			slices.SortStableFunc(docs, func(a, b docView) int { return b.Added.Compare(a.Added) })
			d.Categories = append(d.Categories, categoryView{Key: c, Docs: docs})
		}
	}
	if d.Quota > 0 {
		d.Percent = int(min(100, d.Used*100/d.Quota))
	}
	v.Data = d
	s.render(w, r, status, "file", v)
}

// sniff returns the type of a document from its first bytes and its name,
// or "" for a type the page does not keep.
func sniff(head []byte, name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch t := http.DetectContentType(head); {
	case t == "application/pdf", t == "image/jpeg", t == "image/png", t == "image/webp", t == "image/gif":
		return t
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && (bytes.HasPrefix(head[8:12], []byte("hei")) || bytes.HasPrefix(head[8:12], []byte("mif1"))):
		return "image/heic"
	case t == "application/zip":
		switch ext {
		case ".docx":
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		case ".xlsx":
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case ".odt":
			return "application/vnd.oasis.opendocument.text"
		case ".ods":
			return "application/vnd.oasis.opendocument.spreadsheet"
		}
	case strings.HasPrefix(t, "text/plain") && ext == ".txt":
		return "text/plain; charset=utf-8"
	}
	return ""
}

// errTooBig: a document went past what it may hold.
var errTooBig = errors.New("document too large")

// capReader reads at most n bytes of r, failing past them.
type capReader struct {
	r    io.Reader
	n    int64
	read int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.n {
		c.over = true
		return 0, errTooBig
	}
	return n, err
}

// errBadDate stops an upload whose expiry date is not a date: nothing is
// stored.
var errBadDate = errors.New("upload: the expiry date is not a date")

// uploadLimit bounds a whole upload request.
func (s *Server) uploadLimit() int64 { return s.cfg.PersonQuota + 1<<20 }

func (s *Server) upload(w http.ResponseWriter, r *http.Request, f *openFile) {
	ctx := r.Context()
	l := s.cats.localizer(s.lang(r), s.strict)
	if r.ContentLength > s.uploadLimit() {
		s.showFile(w, r, f, http.StatusRequestEntityTooLarge, []string{l.t("upload_quota", "Size", l.Size(s.cfg.PersonQuota))})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadLimit())
	mr, err := r.MultipartReader()
	if err != nil {
		s.showFile(w, r, f, http.StatusBadRequest, []string{l.t("upload_none")})
		return
	}
	used, err := s.usedBytes(ctx, f)
	if err != nil {
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	maxDoc := s.node.MaxDocumentBytes()
	var meta node.DocMeta
	var errs []string
	status := http.StatusOK
	added, files := 0, 0
	refuse := func(st int, msg string) {
		errs = append(errs, msg)
		if status == http.StatusOK {
			status = st
		}
	}
	// Every file of the upload goes into one new state of the vault: one
	// commit, made durable once, for the files that were not refused.
	var stored []vault.Entry
	done, err := s.node.AddBatch(ctx, f.card, func(add node.AddFunc) error {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				refuse(http.StatusRequestEntityTooLarge, l.t("upload_broken"))
				break
			}
			if p.FileName() == "" {
				b, _ := io.ReadAll(io.LimitReader(p, 1000))
				val := strings.TrimSpace(string(b))
				switch p.FormName() {
				case "title":
					meta.Title = val
				case "category":
					meta.Category = category(val)
				case "expires":
					if val != "" {
						t, err := time.Parse("2006-01-02", val)
						if err != nil {
							// nothing is stored: the date was meant for the files
							return errBadDate
						}
						meta.Expires = t
					}
				}
				continue
			}
			files++
			name := path.Base(strings.ReplaceAll(p.FileName(), "\\", "/"))
			br := bufio.NewReaderSize(p, 512)
			head, _ := br.Peek(512)
			if len(head) == 0 {
				refuse(http.StatusBadRequest, l.t("upload_empty", "Name", l.bidi(name)))
				continue
			}
			m := sniff(head, name)
			if m == "" {
				refuse(http.StatusUnsupportedMediaType, l.t("upload_type", "Name", l.bidi(name)))
				io.Copy(io.Discard, p)
				continue
			}
			limit, quota := maxDoc, false
			if left := s.cfg.PersonQuota - used; left < limit {
				limit, quota = max(left, 0), true
			}
			cr := &capReader{r: br, n: limit}
			dm := meta
			dm.FileName, dm.MIME = name, m
			if dm.Title == "" {
				dm.Title = strings.TrimSuffix(name, path.Ext(name))
			} else if files > 1 {
				dm.Title = fmt.Sprintf("%s (%d)", meta.Title, files)
			}
			var e vault.Entry
			err = s.scanned(ctx, cr, func(body io.Reader) (err error) {
				e, err = add(body, dm)
				return err
			})
			var tl *node.TooLargeError
			st, msg, refused := s.scanRefusal(l, name, err)
			switch {
			case refused && !cr.over:
				refuse(st, msg)
			case cr.over && quota:
				refuse(http.StatusRequestEntityTooLarge, l.t("upload_quota", "Size", l.Size(s.cfg.PersonQuota)))
			case cr.over || errors.As(err, &tl):
				refuse(http.StatusRequestEntityTooLarge, l.t("upload_too_large", "Name", l.bidi(name), "Size", l.Size(maxDoc)))
			case err != nil:
				s.log.Error("web upload", "err", err)
				refuse(http.StatusInternalServerError, l.t("upload_failed", "Name", l.bidi(name)))
			default:
				used += e.Size
				stored = append(stored, e)
			}
			if cr.over {
				break // the rest of the body is not read
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errBadDate):
		s.showFile(w, r, f, http.StatusBadRequest, []string{l.t("upload_bad_date")})
		return
	case err != nil && len(stored) == 0:
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	case err != nil:
		s.log.Error("web upload", "err", err)
		for _, e := range stored {
			refuse(http.StatusInternalServerError, l.t("upload_failed", "Name", l.bidi(e.FileName)))
		}
	}
	// The entries AddBatch returns are complete (with each document's CID).
	for _, e := range done {
		added++
		f.added(e)
	}
	if files == 0 && len(errs) == 0 {
		refuse(http.StatusBadRequest, l.t("upload_none"))
	}
	if len(errs) > 0 {
		if added > 0 {
			errs = append([]string{l.t("upload_done", "Count", added)}, errs...)
		}
		s.showFile(w, r, f, status, errs)
		return
	}
	s.sessions.Put(ctx, "flash", l.t("upload_done", "Count", added))
	http.Redirect(w, r, "/file", http.StatusSeeOther)
}

// serveDoc writes a document, as an attachment or inline.
func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, f *openFile, inline bool) {
	d, err := s.node.Get(r.Context(), f.card, r.PathValue("id"))
	if err != nil {
		var nd *node.NoDocumentError
		if errors.As(err, &nd) {
			s.fail(w, r, http.StatusNotFound, "error_no_document")
			return
		}
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	s.writeDoc(w, d, inline)
}

// writeDoc writes a document, as an attachment or inline, and closes it.
func (s *Server) writeDoc(w http.ResponseWriter, d *node.Document, inline bool) {
	defer d.Close()
	h := w.Header()
	ct := d.MIME
	if ct == "" || (inline && !previewable(ct)) {
		ct = "application/octet-stream"
		inline = false
	}
	h.Set("Content-Type", ct)
	name := d.FileName
	if name == "" {
		name = d.Title
	}
	disp := "attachment"
	if inline {
		disp = "inline"
		h.Set("Content-Security-Policy", previewPolicy)
		h.Del("X-Frame-Options")
		h.Set("X-Frame-Options", "SAMEORIGIN")
	}
	cd := mime.FormatMediaType(disp, map[string]string{"filename": name})
	if cd == "" {
		cd = disp
	}
	h.Set("Content-Disposition", cd)
	if d.Size > 0 {
		h.Set("Content-Length", fmt.Sprint(d.Size))
	}
	io.Copy(w, d)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, f *openFile) {
	s.serveDoc(w, r, f, false)
}

func (s *Server) inline(w http.ResponseWriter, r *http.Request, f *openFile) {
	s.serveDoc(w, r, f, true)
}

type viewData struct {
	Doc   vault.Entry
	Image bool
}

func (s *Server) viewPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	entries, err := s.entries(r.Context(), f)
	if err != nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	i := slices.IndexFunc(entries, func(e vault.Entry) bool { return e.ID == r.PathValue("id") })
	if i < 0 {
		s.fail(w, r, http.StatusNotFound, "error_no_document")
		return
	}
	v := s.newView(r)
	e := entries[i]
	v.Data = viewData{Doc: e, Image: strings.HasPrefix(e.MIME, "image/")}
	s.render(w, r, http.StatusOK, "view", v)
}

func (s *Server) deleteDoc(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	id := r.PathValue("id")
	if err := s.node.Remove(r.Context(), f.card, id); err != nil {
		var nd *node.NoDocumentError
		if errors.As(err, &nd) {
			f.removed(id)
			s.fail(w, r, http.StatusNotFound, "error_no_document")
			return
		}
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	f.removed(id)
	s.sessions.Put(r.Context(), "flash", l.t("flash_deleted"))
	http.Redirect(w, r, "/file", http.StatusSeeOther)
}

func (s *Server) trashPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	items, err := s.node.Trash(r.Context(), f.card)
	if err != nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	v := s.newView(r)
	v.Data = items
	s.render(w, r, http.StatusOK, "trash", v)
}

func (s *Server) restoreDoc(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	e, err := s.node.Restore(r.Context(), f.card, r.PathValue("id"))
	if err != nil {
		var nd *node.NoDocumentError
		if errors.As(err, &nd) {
			s.fail(w, r, http.StatusNotFound, "error_not_in_trash")
			return
		}
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	f.added(e)
	s.sessions.Put(r.Context(), "flash", l.t("flash_restored"))
	http.Redirect(w, r, "/file", http.StatusSeeOther)
}

// logSentence is one line of the access log in words.
func logSentence(l *loc, line node.LogLine) string {
	id := "log_" + strings.ReplaceAll(line.Action, "-", "_")
	if _, err := l.T(id, "Who", "", "Title", ""); err != nil {
		id = "log_other"
	}
	title := line.DocTitle
	if title == "" && line.DocID != "" {
		title = l.t("a_document")
	}
	return l.t(id, "When", l.DateTime(line.Time), "Who", l.bidi(structureName(l, line.Who)), "Title", l.bidi(title))
}

// The node names structures in English when it knows no name: those words
// are said in the page's language (and no node id reaches a worker).
const (
	nodeUnknownStructure = "an unknown structure ("
	nodeRemovedStructure = " (removed from the federation)"
)

// structureName says a structure's name as the node gives it in words
// for the worker.
func structureName(l *loc, name string) string {
	switch {
	case strings.HasPrefix(name, nodeUnknownStructure):
		return l.t("structure_unknown")
	case strings.HasSuffix(name, nodeRemovedStructure):
		return l.t("structure_removed", "Name", strings.TrimSuffix(name, nodeRemovedStructure))
	}
	return name
}

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	lines, err := s.node.AccessLog(r.Context(), f.card)
	v := s.newView(r)
	if err != nil {
		st, msg := s.cardError(v.L, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	var out []string
	for i := len(lines) - 1; i >= 0; i-- { // newest first
		out = append(out, logSentence(v.L, lines[i]))
	}
	v.Data = out
	s.render(w, r, http.StatusOK, "log", v)
}

// ---- cards ----

type cardData struct {
	Number    string
	Guardians []string
	Threshold int
	Text      string // the card text, only on the page right after it is made
	Cards     bool
	Replaced  bool
	// ForPerson explains the card to the person in their language
	// (person.go), with its audio.
	ForPerson *personView
}

func (s *Server) registerPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Data = s.cardLangs(v.L.lang)
	s.render(w, r, http.StatusOK, "register", v)
}

type cardLang struct{ Code, Name string }

// cardLangs are the languages a card's second side may be in: those of
// the person's view (person.go).
func (s *Server) cardLangs(page string) []cardLang {
	var out []cardLang
	for _, c := range s.person.cats.langs {
		if c != defaultLang {
			out = append(out, cardLang{Code: c, Name: s.person.cats.names[c]})
		}
	}
	return out
}

func (s *Server) registerPost(w http.ResponseWriter, r *http.Request) {
	second := r.PostFormValue("second")
	if !slices.Contains(s.person.cats.langs, second) {
		second = ""
	}
	c, err := s.node.Register(r.Context(), node.CreateOptions{})
	if err != nil {
		s.log.Error("web register", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_register")
		return
	}
	f := &openFile{card: c.Card, vault: c.Vault.String(), secondLang: second, fresh: true, listed: true}
	s.keepFile(r, f)
	ctx := r.Context()
	var names []string
	l := s.cats.localizer(s.lang(r), false)
	for _, g := range c.Guardians {
		names = append(names, structureName(l, s.node.StructureName(g)))
	}
	s.sessions.Put(ctx, "guardians", strings.Join(names, "\n"))
	s.sessions.Put(ctx, "threshold", c.Threshold)
	http.Redirect(w, r, "/file/card", http.StatusSeeOther)
}

func (s *Server) cardPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	ctx := r.Context()
	v := s.newView(r)
	d := cardData{Number: f.vault, Cards: s.cfg.Cards != nil, Threshold: s.sessions.GetInt(ctx, "threshold"), Replaced: s.sessions.GetBool(ctx, "replaced")}
	if g := s.sessions.GetString(ctx, "guardians"); g != "" {
		d.Guardians = strings.Split(g, "\n")
	}
	if f.fresh {
		d.Text = f.card.String()
	}
	d.ForPerson = s.newPersonView(r, s.personLang(r, f.secondLang))
	v.Data = d
	s.render(w, r, http.StatusOK, "card", v)
}

func (s *Server) cardPDF(w http.ResponseWriter, r *http.Request, f *openFile) {
	if s.cfg.Cards == nil {
		http.NotFound(w, r)
		return
	}
	var b bytes.Buffer
	if err := s.cfg.Cards.CardPDF(&b, f.card, s.accounts.structure(), f.secondLang); err != nil {
		s.log.Error("web card pdf", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	// Inline: the browser's viewer prints it, and no copy of the card is
	// left in the worker's downloads (every answer is no-store).
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="carte.pdf"`)
	w.Write(b.Bytes())
}

func (s *Server) replacePage(w http.ResponseWriter, r *http.Request, f *openFile) {
	v := s.newView(r)
	s.render(w, r, http.StatusOK, "replace", v)
}

func (s *Server) replacePost(w http.ResponseWriter, r *http.Request, f *openFile) {
	card, id, err := s.node.Replace(r.Context(), f.card)
	if err != nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	// listed again at the next look: the documents moved with the card
	nf := &openFile{card: card, vault: id.String(), secondLang: f.secondLang, fresh: true}
	s.keepFile(r, nf)
	ctx := r.Context()
	s.sessions.Remove(ctx, "guardians")
	s.sessions.Remove(ctx, "threshold")
	s.sessions.Put(ctx, "replaced", true)
	http.Redirect(w, r, "/file/card", http.StatusSeeOther)
}

// ---- the node's health (admin) ----

type healthData struct {
	*node.Status
	Free      int64  // bytes free on the home's disk, 0 if unknown
	Antivirus string // what is said of the antivirus (a message id)

	healthExtra // warnings and the diagnostic report (diagnostic.go)
}

func (s *Server) healthPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.node.Status(r.Context())
	if err != nil {
		s.log.Error("web status", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	v := s.newView(r)
	v.Data = healthData{Status: st, Free: diskFree(s.cfg.Home), Antivirus: s.antivirusMessage(r.Context()), healthExtra: s.healthExtra(r.Context(), st)}
	s.render(w, r, http.StatusOK, "health", v)
}

// usedBytes is the size of the open file's documents, for its quota.
func (s *Server) usedBytes(ctx context.Context, f *openFile) (int64, error) {
	entries, err := s.entries(ctx, f)
	if err != nil {
		return 0, err
	}
	var used int64
	for _, e := range entries {
		used += e.Size
	}
	return used, nil
}
