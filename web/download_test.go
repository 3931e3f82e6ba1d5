package web

import (
	"archive/zip"
	"io"
	"strings"
	"testing"
)

// TestDownloadAll: the file's page offers every document as one zip,
// whose members are the documents, byte for byte, named by their file
// names; a closed file gives none.
func TestDownloadAll(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	r := e.upload(c, map[string]string{"category": "identity"}, [2]string{"passeport.pdf", pdf}, [2]string{"../photo.jpg", jpeg})
	e.want(r, 200, "2 documents ajoutés.", "Télécharger tous les documents (zip)")
	r = e.get(c, "/file/documents.zip")
	if r.status != 200 || r.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download all: %d %s", r.status, r.header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(strings.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(b)
	}
	if len(got) != 2 || got["01-passeport.pdf"] != pdf || got["02-photo.jpg"] != jpeg {
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		t.Fatalf("zip holds %v", names)
	}
	e.post(c, "/file/close", nil)
	e.want(e.get(c, "/file/documents.zip"), 401, "Le dossier est fermé")
}
