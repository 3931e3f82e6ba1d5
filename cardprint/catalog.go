package cardprint

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/tdewolff/canvas"
)

//go:embed locales/*.json
var localeFS embed.FS

//go:embed fonts/*.ttf
var fontFS embed.FS

// messageKeys are the keys every catalog must have (fr.json has exactly
// these).
var messageKeys = []string{
	"front_title", "front_structure",
	"back_open", "back_keep", "back_lost",
	"sheet_print", "sheet_cut", "sheet_fold", "sheet_glue", "sheet_warn",
	// the "your papers" sheet (papers.go)
	"papers_title", "papers_intro", "papers_document", "papers_expires",
	"papers_guardians", "papers_no_guardian", "papers_printed",
	"category_identity", "category_health", "category_benefits", "category_housing",
	"category_work", "category_taxes", "category_justice", "category_other",
}

// catalog is one language's file under locales/.
type catalog struct {
	Lang     string            `json:"lang"`      // BCP 47 tag, the file's name
	Name     string            `json:"name"`      // the language's name in itself
	Dir      string            `json:"dir"`       // "ltr" or "rtl"
	Font     string            `json:"font"`      // file under fonts/ for the text
	FontBold string            `json:"font_bold"` // file under fonts/ for titles
	Messages map[string]string `json:"messages"`
}

func (c *catalog) rtl() bool { return c.Dir == "rtl" }

// Languages returns the languages a card can be printed in, as BCP 47
// tags sorted alphabetically ("ar", "en", "fr", …): one per file under
// locales/.
func Languages() []string {
	entries, err := fs.ReadDir(localeFS, "locales")
	if err != nil {
		return nil
	}
	var langs []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			langs = append(langs, name)
		}
	}
	slices.Sort(langs)
	return langs
}

// LanguageName returns a language's name written in that language
// ("Français", "English", "العربية"), for a list to choose from, or "" if
// the language is not known.
func LanguageName(lang string) string {
	c, err := loadCatalog(lang)
	if err != nil {
		return ""
	}
	return c.Name
}

// UnknownLanguageError is returned for a language that has no catalog.
type UnknownLanguageError struct {
	Lang  string   // the language asked for
	Known []string // the languages there are
}

func (e *UnknownLanguageError) Error() string {
	lang := e.Lang
	if len(lang) > 20 {
		lang = lang[:20] + "…"
	}
	return fmt.Sprintf("unknown card language %q: the known languages are %s", lang, strings.Join(e.Known, ", "))
}

// loadCatalog reads and checks the catalog of lang.
func loadCatalog(lang string) (*catalog, error) {
	if !slices.Contains(Languages(), lang) {
		return nil, &UnknownLanguageError{Lang: lang, Known: Languages()}
	}
	b, err := localeFS.ReadFile(path.Join("locales", lang+".json"))
	if err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", lang, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c catalog
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	switch {
	case c.Lang != lang:
		return nil, fmt.Errorf("catalog %s: its lang field says %q", lang, c.Lang)
	case c.Dir != "ltr" && c.Dir != "rtl":
		return nil, fmt.Errorf("catalog %s: dir must be ltr or rtl", lang)
	case c.Name == "" || c.Font == "" || c.FontBold == "":
		return nil, fmt.Errorf("catalog %s: name, font and font_bold are required", lang)
	}
	for _, k := range messageKeys {
		if c.Messages[k] == "" {
			return nil, fmt.Errorf("catalog %s: message %q is missing", lang, k)
		}
	}
	return &c, nil
}

// fonts are the parsed faces one card needs. They are parsed for each
// card: a parsed font carries shaping state that is not meant to be
// shared between goroutines.
type fonts struct {
	byFile map[string]*canvas.Font
}

func (f *fonts) load(file string) (*canvas.Font, error) {
	if ft, ok := f.byFile[file]; ok {
		return ft, nil
	}
	b, err := fontFS.ReadFile(path.Join("fonts", file))
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", file, err)
	}
	ft, err := canvas.LoadFont(b, 0, canvas.FontRegular)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", file, err)
	}
	if f.byFile == nil {
		f.byFile = map[string]*canvas.Font{}
	}
	f.byFile[file] = ft
	return ft, nil
}

// covers reports the first rune of s that font cannot draw, if any.
func covers(font *canvas.Font, s string) (rune, bool) {
	for _, r := range s {
		if r == ' ' || r == '\u200c' || r == '\u200d' || r == '\u200e' || r == '\u200f' {
			continue
		}
		if font.SFNT.GlyphIndex(r) == 0 {
			return r, false
		}
	}
	return 0, true
}
