package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"baluchon/node"
	"baluchon/vault"
)

// Scanning a pile of papers: the copier scans to a folder (HOME/scans by
// default, or one the admin chooses in the page); the page lists what is
// in it, and a worker adds each scan to the open person's file in two
// clicks. The scan file is removed from the folder only once the node has
// stored it. Pages the copier wrote as one image each (scan_001.jpg,
// scan_002.jpg, …) are offered as one document, put together as one PDF.

// ScansDir is the folder of the home watched by default.
const ScansDir = "scans"

// ScansFile keeps the folder the admin chose, in the home.
const ScansFile = "web-scans.json"

const (
	maxScans  = 200             // the newest scans listed
	scanQuiet = 3 * time.Second // a file changed more recently is still being written
	maxPages  = 100             // images put together in one document
)

// partialSuffixes mark files still being written.
var partialSuffixes = []string{".part", ".tmp", ".partial", ".crdownload", ".download", "~"}

// scanFolder is the watched folder.
type scanFolder struct {
	home string
	def  string // from Config, or HOME/scans
	now  func() time.Time

	mu     sync.Mutex
	chosen string          // set by the admin in the page
	taking map[string]bool // scans being added: not twice at once
}

// take marks the scan id as being added; false if it already is.
func (f *scanFolder) take(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.taking[id] {
		return false
	}
	if f.taking == nil {
		f.taking = map[string]bool{}
	}
	f.taking[id] = true
	return true
}

func (f *scanFolder) done(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.taking, id)
}

func newScanFolder(home, cfg string) *scanFolder {
	f := &scanFolder{home: home, def: cfg, now: time.Now}
	if f.def == "" {
		f.def = filepath.Join(home, ScansDir)
	}
	if b, err := os.ReadFile(filepath.Join(home, ScansFile)); err == nil {
		var saved struct{ Folder string }
		if json.Unmarshal(b, &saved) == nil {
			f.chosen = saved.Folder
		}
	}
	return f
}

func (f *scanFolder) dir() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.chosen != "" {
		return f.chosen
	}
	return f.def
}

// choose sets the watched folder: an existing folder, by its full path.
func (f *scanFolder) choose(dir string) error {
	dir = filepath.Clean(strings.TrimSpace(dir))
	if !filepath.IsAbs(dir) {
		return errors.New("scans folder: not a full path")
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("scans folder: %w", err)
	}
	if !st.IsDir() {
		return errors.New("scans folder: not a folder")
	}
	b, _ := json.Marshal(struct{ Folder string }{dir})
	tmp := filepath.Join(f.home, ScansFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save scans folder: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(f.home, ScansFile)); err != nil {
		return fmt.Errorf("save scans folder: %w", err)
	}
	f.mu.Lock()
	f.chosen = dir
	f.mu.Unlock()
	return nil
}

// open opens the watched folder; the default one is made if missing.
func (f *scanFolder) open() (*os.Root, error) {
	dir := f.dir()
	if dir == filepath.Join(f.home, ScansDir) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("scans folder: %w", err)
		}
	}
	return os.OpenRoot(dir)
}

// scanItem is one document in the folder: one file, or the pages of one
// scan written as one image each.
type scanItem struct {
	ID    string   // its first file's name: what the form sends back
	Name  string   // shown
	Files []string // in page order
	Size  int64
	Time  time.Time
	MIME  string
}

func (i scanItem) Pages() int { return len(i.Files) }

type scanList struct {
	Items    []scanItem
	Writing  int  // files still being written
	Refused  int  // files of a type not kept
	More     bool // more than maxScans files
	Folder   string
	Missing  bool // the folder cannot be read
	Open     bool // a person's file is open: scans can be added
	Admin    bool
	Max      int64
	Selected string
}

// pageName splits a page's file name into the scan's name and its page
// number: "scan_0002.jpg" is page 2 of "scan_".
var pageName = regexp.MustCompile(`^(.*?)(\d+)(\.[A-Za-z]+)$`)

func partial(name string) bool {
	lower := strings.ToLower(name)
	return slices.ContainsFunc(partialSuffixes, func(s string) bool { return strings.HasSuffix(lower, s) })
}

// list reads the folder: regular files only (no link, no sub-folder),
// finished, of a type the page keeps, the newest maxScans.
func (f *scanFolder) list() (*scanList, *os.Root, error) {
	root, err := f.open()
	if err != nil {
		return nil, nil, err
	}
	dir, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		root.Close()
		return nil, nil, fmt.Errorf("scans folder: %w", err)
	}
	out := &scanList{Folder: f.dir()}
	now := f.now()
	type file struct {
		name string
		info fs.FileInfo
	}
	var files []file
	for _, d := range dir {
		if strings.HasPrefix(d.Name(), ".") {
			continue // hidden: the system's, not a scan
		}
		if !d.Type().IsRegular() || partial(d.Name()) {
			if d.Type().IsRegular() {
				out.Writing++
			}
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue
		}
		if info.Size() == 0 || now.Sub(info.ModTime()) < scanQuiet {
			out.Writing++
			continue
		}
		files = append(files, file{d.Name(), info})
	}
	slices.SortFunc(files, func(a, b file) int { return b.info.ModTime().Compare(a.info.ModTime()) })
	if len(files) > maxScans {
		files, out.More = files[:maxScans], true
	}
	groups := map[string]*scanItem{}
	for _, fl := range files {
		m := scanType(root, fl.name)
		if m == "" {
			out.Refused++
			continue
		}
		it := scanItem{ID: fl.name, Name: fl.name, Files: []string{fl.name}, Size: fl.info.Size(), Time: fl.info.ModTime(), MIME: m}
		if p := pageName.FindStringSubmatch(fl.name); p != nil && (m == "image/jpeg" || m == "image/png") {
			key := p[1] + "\x00" + strings.ToLower(p[3])
			if g, ok := groups[key]; ok {
				g.Files = append(g.Files, fl.name)
				g.Size += it.Size
				g.Time = later(g.Time, it.Time)
				continue
			}
			groups[key] = &it
		}
		out.Items = append(out.Items, it)
	}
	for i, it := range out.Items {
		if len(it.Files) < 2 {
			if g := groups[groupKey(it.Files[0])]; g != nil && len(g.Files) > 1 {
				it = *g
			} else {
				continue
			}
		}
		slices.SortFunc(it.Files, func(a, b string) int { return pageNumber(a) - pageNumber(b) })
		if len(it.Files) > maxPages {
			it.Files = it.Files[:maxPages]
		}
		it.ID = it.Files[0]
		it.Name = strings.TrimRight(pageName.FindStringSubmatch(it.Files[0])[1], "-_ .") + ".pdf"
		if it.Name == ".pdf" {
			it.Name = "scan.pdf"
		}
		it.MIME = "application/pdf"
		out.Items[i] = it
	}
	return out, root, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func groupKey(name string) string {
	p := pageName.FindStringSubmatch(name)
	if p == nil {
		return ""
	}
	return p[1] + "\x00" + strings.ToLower(p[3])
}

func pageNumber(name string) int {
	p := pageName.FindStringSubmatch(name)
	if p == nil {
		return 0
	}
	n, _ := strconv.Atoi(p[2])
	return n
}

// scanType is the type of a file of the folder, or "" if not kept.
func scanType(root *os.Root, name string) string {
	fl, err := root.Open(name)
	if err != nil {
		return ""
	}
	defer fl.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(fl, head)
	return sniff(head[:n], name)
}

// reader returns the document of it: its file, or its pages as one PDF.
func (it scanItem) reader(root *os.Root, limit int64) (io.ReadCloser, error) {
	if len(it.Files) == 1 {
		st, err := root.Lstat(it.Files[0])
		if err != nil || !st.Mode().IsRegular() {
			return nil, errScanGone
		}
		return root.Open(it.Files[0])
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	var read int64
	for i, name := range it.Files {
		st, err := root.Lstat(name)
		if err != nil || !st.Mode().IsRegular() {
			return nil, errScanGone
		}
		if read += st.Size(); read > limit {
			return nil, errTooBig
		}
		b, err := readFile(root, name, limit)
		if err != nil {
			return nil, err
		}
		tp := "JPG"
		if strings.HasPrefix(it.MIME, "image/png") || sniff(b, name) == "image/png" {
			tp = "PNG"
		}
		id := fmt.Sprintf("p%d", i)
		info := pdf.RegisterImageOptionsReader(id, fpdf.ImageOptions{ImageType: tp}, bytes.NewReader(b))
		if pdf.Err() {
			return nil, fmt.Errorf("scan page %d: %w", i+1, pdf.Error())
		}
		w, h := info.Extent()
		pw, ph := 210.0, 297.0
		orient := "P"
		if w > h {
			pw, ph, orient = ph, pw, "L"
		}
		pdf.AddPageFormat(orient, fpdf.SizeType{Wd: 210, Ht: 297})
		scale := min(pw/w, ph/h)
		dw, dh := w*scale, h*scale
		pdf.ImageOptions(id, (pw-dw)/2, (ph-dh)/2, dw, dh, false, fpdf.ImageOptions{ImageType: tp}, 0, "")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("scan pages to pdf: %w", err)
	}
	return io.NopCloser(&out), nil
}

func readFile(root *os.Root, name string, limit int64) ([]byte, error) {
	fl, err := root.Open(name)
	if err != nil {
		return nil, errScanGone
	}
	defer fl.Close()
	b, err := io.ReadAll(io.LimitReader(fl, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read scan: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, errTooBig
	}
	return b, nil
}

// errScanGone: the scan is no longer in the folder.
var errScanGone = errors.New("scan no longer in the folder")

// ---- handlers ----

func (s *Server) scansPage(w http.ResponseWriter, r *http.Request) {
	s.showScans(w, r, http.StatusOK, "")
}

func (s *Server) showScans(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	v := s.newView(r)
	v.Error = errMsg
	list, root, err := s.scans.list()
	if err != nil {
		s.log.Warn("web scans folder", "err", err)
		list = &scanList{Folder: s.scans.dir(), Missing: true}
	} else {
		root.Close()
	}
	list.Open = v.File != nil
	list.Admin = v.User != nil && v.User.Admin
	list.Max = s.node.MaxDocumentBytes()
	list.Selected = r.URL.Query().Get("scan")
	v.Data = list
	s.render(w, r, status, "scans", v)
}

func (s *Server) scansFolder(w http.ResponseWriter, r *http.Request) {
	l := s.cats.localizer(s.lang(r), false)
	if err := s.scans.choose(r.PostFormValue("folder")); err != nil {
		s.showScans(w, r, http.StatusBadRequest, l.t("scans_folder_bad"))
		return
	}
	s.sessions.Put(r.Context(), "flash", l.t("scans_folder_saved"))
	http.Redirect(w, r, "/scans", http.StatusSeeOther)
}

// scansAdd stores a scan in the open file, then removes it from the folder.
func (s *Server) scansAdd(w http.ResponseWriter, r *http.Request, f *openFile) {
	ctx := r.Context()
	l := s.cats.localizer(s.lang(r), s.strict)
	list, root, err := s.scans.list()
	if err != nil {
		s.log.Warn("web scans folder", "err", err)
		s.showScans(w, r, http.StatusServiceUnavailable, l.t("scans_missing"))
		return
	}
	defer root.Close()
	id := r.PostFormValue("scan")
	i := slices.IndexFunc(list.Items, func(it scanItem) bool { return it.ID == id })
	if i < 0 {
		s.showScans(w, r, http.StatusNotFound, l.t("scans_gone"))
		return
	}
	it := list.Items[i]
	if !s.scans.take(it.ID) {
		s.showScans(w, r, http.StatusConflict, l.t("scans_gone"))
		return
	}
	defer s.scans.done(it.ID)
	used, err := s.usedBytes(ctx, f)
	if err != nil {
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	maxDoc := s.node.MaxDocumentBytes()
	limit, quota := maxDoc, false
	if left := s.cfg.PersonQuota - used; left < limit {
		limit, quota = max(left, 0), true
	}
	meta := node.DocMeta{Title: strings.TrimSpace(r.PostFormValue("title")), Category: category(r.PostFormValue("category")), FileName: it.Name, MIME: it.MIME}
	if meta.Title == "" {
		meta.Title = strings.TrimSuffix(it.Name, path.Ext(it.Name))
	}
	if len([]rune(meta.Title)) > 200 {
		meta.Title = string([]rune(meta.Title)[:200])
	}
	body, err := it.reader(root, limit)
	var cr *capReader
	var e vault.Entry
	if err == nil {
		defer body.Close()
		cr = &capReader{r: body, n: limit}
		err = s.scanned(ctx, cr, func(b io.Reader) (err error) {
			e, err = s.node.Add(ctx, f.card, b, meta)
			return err
		})
	}
	over := errors.Is(err, errTooBig) || cr != nil && cr.over
	var tl *node.TooLargeError
	st, msg, refused := s.scanRefusal(l, it.Name, err)
	switch {
	case errors.Is(err, errScanGone):
		s.showScans(w, r, http.StatusNotFound, l.t("scans_gone"))
		return
	case refused && !over:
		s.showScans(w, r, st, msg)
		return
	case over && quota:
		s.showScans(w, r, http.StatusRequestEntityTooLarge, l.t("upload_quota", "Size", l.Size(s.cfg.PersonQuota)))
		return
	case over || errors.As(err, &tl):
		s.showScans(w, r, http.StatusRequestEntityTooLarge, l.t("upload_too_large", "Name", l.bidi(it.Name), "Size", l.Size(maxDoc)))
		return
	case err != nil:
		s.log.Error("web scan add", "err", err)
		s.showScans(w, r, http.StatusInternalServerError, l.t("upload_failed", "Name", l.bidi(it.Name)))
		return
	}
	f.added(e)
	// stored: now, and only now, the scan leaves the folder
	flash := l.t("scans_added", "Title", l.bidi(meta.Title))
	for _, name := range it.Files {
		if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("web scan remove", "err", err)
			flash = l.t("scans_not_removed", "Title", l.bidi(meta.Title))
		}
	}
	s.sessions.Put(ctx, "flash", flash)
	http.Redirect(w, r, "/scans", http.StatusSeeOther)
}

// scanPreview shows a scan in the browser, before it is added: the worker
// sees whose paper it is. Only what the folder lists is served.
func (s *Server) scanPreview(w http.ResponseWriter, r *http.Request) {
	list, root, err := s.scans.list()
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "scans_missing")
		return
	}
	defer root.Close()
	id := r.URL.Query().Get("scan")
	i := slices.IndexFunc(list.Items, func(it scanItem) bool { return it.ID == id })
	if i < 0 {
		s.fail(w, r, http.StatusNotFound, "scans_gone")
		return
	}
	it := list.Items[i]
	body, err := it.reader(root, s.node.MaxDocumentBytes())
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "scans_gone")
		return
	}
	defer body.Close()
	h := w.Header()
	ct, disp := it.MIME, "inline"
	if !previewable(ct) {
		ct, disp = "application/octet-stream", "attachment"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", previewPolicy)
	h.Set("Content-Disposition", disp)
	io.Copy(w, body)
}
