package web

import (
	"archive/zip"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"baluchon/node"
)

// downloadAll writes every document of the open file as one zip archive,
// read in one card session (node.GetMany): a download of the whole file
// costs its bytes, not a session per document. The documents are stored
// in the zip as they are (most are compressed already), each named
// NN-NAME so that two of the same name stay apart.
func (s *Server) downloadAll(w http.ResponseWriter, r *http.Request, f *openFile) {
	var zw *zip.Writer
	k := 0
	buf := make([]byte, 256<<10)
	err := s.node.GetMany(r.Context(), f.card, nil, func(d *node.Document) error {
		if zw == nil {
			short := []rune(f.vault)
			if len(short) > 8 {
				short = short[:8]
			}
			h := w.Header()
			h.Set("Content-Type", "application/zip")
			h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="documents-%s.zip"`, string(short)))
			zw = zip.NewWriter(w)
		}
		k++
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: zipName(k, d), Method: zip.Store, Modified: d.Added.In(time.Local)})
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(fw, d, buf)
		return err
	})
	if err != nil && zw == nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	if err != nil {
		// The download is cut short: the browser says it failed.
		s.log.Error("web download of every document", "err", err)
		panic(http.ErrAbortHandler)
	}
	if zw == nil { // no document: an empty archive
		w.Header().Set("Content-Type", "application/zip")
		zw = zip.NewWriter(w)
	}
	if err := zw.Close(); err != nil {
		s.log.Error("web download of every document", "err", err)
	}
}

// zipName is the name of the k-th document in the archive: its number,
// then its file name (or title) without any folder or control character.
func zipName(k int, d *node.Document) string {
	name := d.FileName
	if name == "" {
		name = d.Title
	}
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == ".." || name == "/" {
		name = ""
	}
	return fmt.Sprintf("%02d-%s", k, name)
}
