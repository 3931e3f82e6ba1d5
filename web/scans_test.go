package web

import (
	"bytes"
	"image"
	"image/color"
	jpg "image/jpeg"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scan writes a file to the watched folder, finished a while ago.
func (e *env) scan(dir, name, content string) string {
	e.t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	os.Chtimes(p, old, old)
	return p
}

func realJPEG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.Black)
	}
	var b bytes.Buffer
	if err := jpg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestScans(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.home, ScansDir)
	w := e.worker(e.admin())
	e.want(e.get(w, "/scans"), 200, "Documents scannés", "Aucun document scanné en attente.")

	a := e.scan(dir, "a.pdf", pdf)
	e.scan(dir, "b.pdf.part", pdf)
	os.WriteFile(filepath.Join(dir, "frais.pdf"), []byte(pdf), 0o600) // still being written
	e.scan(dir, "x.exe", "MZ\x90\x00")
	e.scan(dir, ".DS_Store", "\x00\x00\x00\x01Bud1")
	outside := filepath.Join(t.TempDir(), "secret.pdf")
	os.WriteFile(outside, []byte(pdf+"secret"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "lien.pdf"))
	os.Mkdir(filepath.Join(dir, "sous-dossier"), 0o700)
	p1 := e.scan(dir, "Scan_20260303_002.jpg", realJPEG(t, 60, 80))
	p2 := e.scan(dir, "Scan_20260303_001.jpg", realJPEG(t, 80, 60))

	r := e.get(w, "/scans")
	e.want(r, 200, "a.pdf", "Scan_20260303.pdf", "2 pages", "2 fichiers sont en cours d'écriture",
		"1 fichier du dossier n'est pas d'un type accepté", "ouvrez d'abord le dossier de la personne")
	for _, no := range []string{"lien.pdf", "x.exe", "frais.pdf", "b.pdf.part", "sous-dossier", "Ajouter au dossier"} {
		if strings.Contains(r.body, no) {
			t.Errorf("the page offers %q", no)
		}
	}
	// the file must be open
	e.want(e.post(w, "/file/scans/add", url.Values{"scan": {"a.pdf"}}), 401)
	if !exists(a) {
		t.Fatal("a scan was removed while no file was open")
	}

	e.open(w)
	e.want(e.get(w, "/scans"), 200, "Ajouter au dossier")
	r = e.post(w, "/file/scans/add", url.Values{"scan": {"a.pdf"}, "category": {"identity"}, "title": {"Passeport"}})
	e.want(r, 200, "« Passeport » est ajouté au dossier de la personne.")
	if exists(a) {
		t.Error("the scan is still in the folder once stored")
	}
	e.want(e.get(w, "/file"), 200, "Passeport", "Identité")

	// the pages of one scan are one PDF
	r = e.post(w, "/file/scans/add", url.Values{"scan": {"Scan_20260303_001.jpg"}, "category": {"housing"}})
	e.want(r, 200, "« Scan_20260303 » est ajouté")
	if exists(p1) || exists(p2) {
		t.Error("the pages are still in the folder once stored")
	}
	var got []byte
	for _, f := range e.node.files {
		for _, en := range f.entries {
			if en.Title == "Scan_20260303" {
				got = f.data[en.ID]
				if en.MIME != "application/pdf" {
					t.Errorf("the pages are stored as %s", en.MIME)
				}
			}
		}
	}
	if !bytes.HasPrefix(got, []byte("%PDF")) || bytes.Count(got, []byte("/Type /Page\n")) != 2 {
		t.Errorf("the pages are not one PDF of 2 pages: %.200q", got)
	}

	// only what the folder lists: nothing outside, no link, nothing twice
	for _, name := range []string{"a.pdf", "lien.pdf", "../" + filepath.Base(filepath.Dir(outside)) + "/secret.pdf", outside, "x.exe", "frais.pdf", "sous-dossier"} {
		e.want(e.post(w, "/file/scans/add", url.Values{"scan": {name}}), 404, "Ce document scanné n'est plus dans le dossier de numérisation")
	}
	if n := e.docs(); n != 2 {
		t.Errorf("%d documents stored, want 2", n)
	}
	if !exists(outside) {
		t.Error("a file outside the folder was removed")
	}
}

// A scan the node does not store stays in the folder.
func TestScanKeptWhenNotStored(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.home, ScansDir)
	os.MkdirAll(dir, 0o700)
	w := e.admin()
	e.open(w)
	big := e.scan(dir, "gros.pdf", pdf+strings.Repeat("x", int(e.node.max)))
	e.want(e.post(w, "/file/scans/add", url.Values{"scan": {"gros.pdf"}}), 413, "« gros.pdf » est trop gros")
	if !exists(big) {
		t.Error("a scan too big to store was removed")
	}
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
}

func TestScanInfected(t *testing.T) {
	cd := newFakeClamd(t)
	e := scanEnv(t, cd.addr)
	dir := filepath.Join(e.home, ScansDir)
	os.MkdirAll(dir, 0o700)
	w := e.admin()
	e.open(w)
	v := e.scan(dir, "courrier.pdf", pdf+eicar)
	e.want(e.post(w, "/file/scans/add", url.Values{"scan": {"courrier.pdf"}}), 422, "Ce fichier contient un virus (Eicar-Signature) : « courrier.pdf » n'a pas été enregistré.")
	if n := e.docs(); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	if !exists(v) {
		t.Error("the infected scan is gone from the folder: the admin should see it")
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("sealed files left: %v", l)
	}
}

func TestScansFolderChosenByTheAdmin(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := e.worker(a)
	e.want(e.post(a, "/scans/folder", url.Values{"folder": {"/nulle/part"}}), 400, "Ce dossier n'existe pas sur cet ordinateur")
	e.want(e.post(a, "/scans/folder", url.Values{"folder": {"relatif"}}), 400, "Ce dossier n'existe pas sur cet ordinateur")
	dir := t.TempDir()
	e.scan(dir, "copieur.pdf", pdf)
	e.want(e.post(a, "/scans/folder", url.Values{"folder": {dir}}), 200, "Le dossier de numérisation est enregistré.", "copieur.pdf")
	e.want(e.get(w, "/scans"), 200, "copieur.pdf")
	e.want(e.post(w, "/scans/folder", url.Values{"folder": {t.TempDir()}}), 403)
	// kept across restarts
	s2, err := New(Config{Node: e.node, Home: e.home, ClamAV: ClamAVOff})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.scans.dir(); got != dir {
		t.Errorf("after a restart the folder is %q, want %q", got, dir)
	}
	// a folder gone: the page says so
	os.RemoveAll(dir)
	e.want(e.get(w, "/scans"), 200, "Le dossier de numérisation ne peut pas être lu")
}

// At most maxScans are offered, the newest.
func TestScansBounded(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.home, ScansDir)
	os.MkdirAll(dir, 0o700)
	for i := range maxScans + 5 {
		p := e.scan(dir, "d"+strings.Repeat("x", i%3)+"-"+string(rune('a'+i%26))+"-"+time.Duration(i).String()+".pdf", pdf)
		old := time.Now().Add(-time.Hour + time.Duration(i)*time.Second)
		os.Chtimes(p, old, old)
	}
	list, root, err := e.srv.scans.list()
	if err != nil {
		t.Fatal(err)
	}
	root.Close()
	if len(list.Items) != maxScans || !list.More {
		t.Errorf("%d listed (more: %v), want %d", len(list.Items), list.More, maxScans)
	}
	if !strings.Contains(list.Items[0].Name, time.Duration(maxScans+4).String()) {
		t.Errorf("the newest is not first: %s", list.Items[0].Name)
	}
}

func TestScanPreview(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.home, ScansDir)
	os.MkdirAll(dir, 0o700)
	w := e.admin()
	e.scan(dir, "a.pdf", pdf)
	e.scan(dir, "p_1.png", pngImage(t))
	e.scan(dir, "p_2.png", pngImage(t))
	os.Symlink("/etc/passwd", filepath.Join(dir, "lien.pdf"))
	e.want(e.get(w, "/scans"), 200, `/scans/preview?scan=a.pdf`)
	r := e.get(w, "/scans/preview?scan=a.pdf")
	if r.status != 200 || r.body != pdf || r.header.Get("Content-Type") != "application/pdf" || r.header.Get("Content-Disposition") != "inline" {
		t.Errorf("preview: %d %q %v", r.status, r.body, r.header)
	}
	r = e.get(w, "/scans/preview?scan=p_1.png")
	if r.status != 200 || !strings.HasPrefix(r.body, "%PDF") {
		t.Errorf("preview of pages: %d %.40q", r.status, r.body)
	}
	for _, bad := range []string{"lien.pdf", "../../../../etc/passwd", "/etc/passwd"} {
		e.want(e.get(w, "/scans/preview?scan="+url.QueryEscape(bad)), 404, "Ce document scanné n'est plus dans le dossier")
	}
	// not logged in: nothing
	if r := e.get(e.client(), "/scans/preview?scan=a.pdf"); r.body == pdf {
		t.Error("a scan is shown to someone not logged in")
	}
}

func pngImage(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 30, 40))); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
