package cardprint

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baluchon/vault"
)

// testCardText returns the card text of a card whose secret is seed
// repeated: deterministic, so that failures reproduce.
func testCardText(t testing.TB, seed byte) string {
	t.Helper()
	c, err := vault.NewCard(bytes.NewReader(bytes.Repeat([]byte{seed}, vault.SecretSize)))
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// keepDir is where the tests leave their PDFs and PNGs to look at, when
// CARDPRINT_KEEP names a directory; else a temporary directory.
func keepDir(t *testing.T) string {
	if d := os.Getenv("CARDPRINT_KEEP"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// render renders the first pages of a PDF to PNG at dpi with pdftoppm,
// or skips the test when pdftoppm is not installed.
func render(t *testing.T, pdfPath string, dpi int) []image.Image {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm is not installed (Debian: apt-get install poppler-utils): cannot render the card to check it")
	}
	prefix := strings.TrimSuffix(pdfPath, ".pdf")
	out, err := exec.Command(bin, "-r", itoa(dpi), "-png", pdfPath, prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	files, err := filepath.Glob(prefix + "-*.png")
	if err != nil || len(files) == 0 {
		t.Fatalf("pdftoppm wrote no page for %s", pdfPath)
	}
	var imgs []image.Image
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		imgs = append(imgs, img)
	}
	return imgs
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// renderLangs are the languages whose cards TestWriteEachLanguage renders
// (one per script and direction: rendering takes about a second).
var renderLangs = map[string]bool{"": true, "fr": true, "en": true, "ar": true, "ru": true, "ti": true}

// TestWriteEachLanguage prints a card in each language and layout,
// renders it with pdftoppm (those of renderLangs) and checks that its QR
// code reads back as the card text.
func TestWriteEachLanguage(t *testing.T) {
	dir := keepDir(t)
	text := testCardText(t, 7)
	langs := append([]string{""}, Languages()...)
	for _, lang := range langs {
		for _, layout := range []Layout{SheetA4, CardSize} {
			name := "fr-only"
			if lang != "" {
				name = lang
			}
			name += map[Layout]string{SheetA4: "-a4", CardSize: "-card"}[layout]
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				start := time.Now()
				err := Write(&buf, Card{Text: text, Structure: "La Halte Solidaire — Montreuil", Lang: lang, Layout: layout})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d bytes in %v", name, buf.Len(), time.Since(start).Round(time.Millisecond))
				if buf.Len() > 200<<10 {
					t.Errorf("the PDF takes %d bytes, more than 200 KiB", buf.Len())
				}
				p := filepath.Join(dir, "card-"+name+".pdf")
				if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				if !renderLangs[lang] {
					return // the QR code is drawn alike in every language
				}
				start = time.Now()
				imgs := render(t, p, 300)
				t.Logf("%s: rendered at 300 dpi in %v", name, time.Since(start).Round(time.Millisecond))
				wantPages := map[Layout]int{SheetA4: 1, CardSize: 2}[layout]
				if len(imgs) != wantPages {
					t.Fatalf("%d pages, want %d", len(imgs), wantPages)
				}
				got, err := decodeImage(imgs[0])
				if err != nil {
					t.Fatalf("the printed QR code does not read: %v", err)
				}
				if got != text {
					t.Fatal("the printed QR code reads as another text than the card's")
				}
			})
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	text := testCardText(t, 9)
	tests := []struct {
		name string
		card Card
		want string
	}{
		{"unknown language", Card{Text: text, Structure: "S", Lang: "xx"}, `unknown card language "xx": the known languages are ar, bn, en, es, fa-AF, fr, ka, ps, ro, ru, so, sq, ta, ti, uk, ur`},
		{"not a card", Card{Text: "hello", Structure: "S"}, "card text"},
		{"empty structure", Card{Text: text, Structure: "  "}, "the structure's name is empty"},
		{"long structure", Card{Text: text, Structure: strings.Repeat("a", MaxStructureLen+1)}, "too long to print"},
		{"unprintable structure", Card{Text: text, Structure: "收容所"}, "the structure's name has a character the card cannot print (U+6536)"},
		{"unknown layout", Card{Text: text, Structure: "S", Layout: 7}, "unknown layout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.card)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), text) || strings.Contains(err.Error(), strings.Split(text, "-")[1]) {
				t.Fatal("the error contains the card text")
			}
			if buf.Len() != 0 {
				t.Fatalf("%d bytes written despite the error", buf.Len())
			}
		})
	}
	var ule *UnknownLanguageError
	if err := Write(new(bytes.Buffer), tests[0].card); !errors.As(err, &ule) || ule.Lang != "xx" {
		t.Fatalf("unknown language: got %v, want an *UnknownLanguageError", err)
	}
}

// TestStructureInArabic prints a structure name written in Arabic on an
// Arabic card (it takes the Arabic font).
func TestStructureInArabic(t *testing.T) {
	var buf bytes.Buffer
	text := testCardText(t, 3)
	if err := Write(&buf, Card{Text: text, Structure: "جمعية الأمل للتضامن", Lang: "ar", Layout: CardSize}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(keepDir(t), "card-ar-structure.pdf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := decodeImage(render(t, p, 200)[0]); err != nil || got != text {
		t.Fatalf("the printed QR code does not read back (%v)", err)
	}
}

// TestCatalogs checks every catalog: its fields, every key of fr.json,
// nothing more, and that its fonts draw every character of its texts.
func TestCatalogs(t *testing.T) {
	fr, err := loadCatalog("fr")
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Messages) != len(messageKeys) {
		t.Fatalf("fr.json has %d messages, the code uses %d", len(fr.Messages), len(messageKeys))
	}
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			c, err := loadCatalog(lang)
			if err != nil {
				t.Fatal(err)
			}
			for k := range c.Messages {
				if _, ok := fr.Messages[k]; !ok {
					t.Errorf("message %q is not in fr.json", k)
				}
			}
			if LanguageName(lang) == "" {
				t.Error("no language name")
			}
			var f fonts
			for _, file := range []string{c.Font, c.FontBold} {
				font, err := f.load(file)
				if err != nil {
					t.Fatal(err)
				}
				for k, m := range c.Messages {
					if r, ok := covers(font, m); !ok {
						t.Errorf("font %s cannot draw %U in message %q", file, r, k)
					}
				}
			}
		})
	}
}

// TestWriteConcurrent prints cards from several goroutines at once, as
// the web page does for several workers (run with -race).
func TestWriteConcurrent(t *testing.T) {
	text := testCardText(t, 11)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			var buf bytes.Buffer
			errs <- Write(&buf, Card{Text: text, Structure: "S", Lang: []string{"ar", "en", "fr", ""}[i]})
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
