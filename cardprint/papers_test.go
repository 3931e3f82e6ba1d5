package cardprint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWritePapers prints the "your papers" sheet in each language and, for
// a few, renders it with pdftoppm and finds its texts with pdftotext.
func TestWritePapers(t *testing.T) {
	dir := keepDir(t)
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	docs := []PaperDoc{
		{Title: "Passeport", Category: "identity", Expires: day.AddDate(0, 0, 12)},
		{Title: "Titre de séjour", Category: "justice", Expires: day.AddDate(1, 0, 0)},
		{Title: "Attestation CAF", Category: "benefits"},
		{Title: "وثيقة السكن", Category: "housing"},
		{Title: "文件", Category: "made-up"},
	}
	for _, lang := range append([]string{""}, Languages()...) {
		name := lang
		if name == "" {
			name = "fr-only"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			p := Papers{Lang: lang, Structure: "La Halte Solidaire", Docs: docs, Guardians: []string{"CCAS de Lyon", "Accueil de jour"}, Printed: day}
			if err := WritePapers(&buf, p); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "papers-"+name+".pdf")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if !renderLangs[lang] {
				return
			}
			if _, err := exec.LookPath("pdftotext"); err != nil {
				t.Skip("no pdftotext (poppler-utils)")
			}
			out, err := exec.Command("pdftotext", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"Mes papiers", "Passeport", "09/12/2026", "CCAS de Lyon", "La Halte Solidaire", "??"} {
				if !strings.Contains(string(out), w) {
					t.Errorf("the sheet does not say %q:\n%s", w, out)
				}
			}
		})
	}
	// many documents: several pages
	many := make([]PaperDoc, 70)
	for i := range many {
		many[i] = PaperDoc{Title: "Document", Category: "other"}
	}
	var buf bytes.Buffer
	if err := WritePapers(&buf, Papers{Lang: "ti", Structure: "S", Docs: many, Guardians: []string{"G"}, Printed: day}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("/Type /Page\n")) + bytes.Count(buf.Bytes(), []byte("/Type/Page/")); n == 0 {
		t.Log("page count not found in the PDF's text")
	}
	if err := WritePapers(&buf, Papers{Structure: "S", Docs: make([]PaperDoc, MaxPaperDocs+1), Printed: day}); err == nil {
		t.Error("too many documents printed")
	}
}
