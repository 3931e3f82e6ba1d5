package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The page's messages are in locales/<language>.json, one file per
// language in go-i18n's format; plural forms follow the language's rules
// (go-i18n holds them). Each catalog says its direction ("dir": "ltr" or
// "rtl") and its own name ("language_name"). French is the default: adding
// a language is adding its file.
//
//go:embed locales/*.json
var localeFS embed.FS

const defaultLang = "fr"

// catalogs is the bundle of every embedded catalog.
type catalogs struct {
	bundle *i18n.Bundle
	langs  []string // language codes, default first
	names  map[string]string
	dirs   map[string]string
}

func loadCatalogs(fsys fs.FS, dir string) (*catalogs, error) {
	b := i18n.NewBundle(language.French)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	c := &catalogs{bundle: b, names: map[string]string{}, dirs: map[string]string{}}
	for _, f := range files {
		if _, err := b.LoadMessageFileFS(fsys, f); err != nil {
			return nil, fmt.Errorf("load catalog %s: %w", f, err)
		}
		lang := strings.TrimSuffix(path.Base(f), ".json")
		c.langs = append(c.langs, lang)
		l := i18n.NewLocalizer(b, lang)
		c.names[lang], _ = l.Localize(&i18n.LocalizeConfig{MessageID: "language_name"})
		c.dirs[lang], _ = l.Localize(&i18n.LocalizeConfig{MessageID: "dir"})
	}
	slices.SortFunc(c.langs, func(a, b string) int {
		switch {
		case a == defaultLang:
			return -1
		case b == defaultLang:
			return 1
		}
		return strings.Compare(a, b)
	})
	if !slices.Contains(c.langs, defaultLang) {
		return nil, fmt.Errorf("no catalog for the default language %s", defaultLang)
	}
	return c, nil
}

// pick returns the catalog language for a wanted one (a code or an
// Accept-Language header), the default if none fits.
func (c *catalogs) pick(want string) string {
	if slices.Contains(c.langs, want) {
		return want
	}
	tags, _, err := language.ParseAcceptLanguage(want)
	if err == nil {
		for _, t := range tags {
			base, _ := t.Base()
			if slices.Contains(c.langs, base.String()) {
				return base.String()
			}
		}
	}
	return defaultLang
}

// loc translates into one language.
type loc struct {
	lang   string
	dir    string
	l      *i18n.Localizer
	strict bool // a missing message is an error (tests)
}

func (c *catalogs) localizer(lang string, strict bool) *loc {
	return &loc{lang: lang, dir: c.dirs[lang], l: i18n.NewLocalizer(c.bundle, lang), strict: strict}
}

// T translates message id; args are name, value pairs for its template.
// A "Count" argument chooses the plural form.
func (l *loc) T(id string, args ...any) (string, error) {
	data := map[string]any{}
	var count any
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		data[k] = args[i+1]
		if k == "Count" {
			count = args[i+1]
		}
	}
	s, err := l.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		if l.strict || s == "" {
			return "", fmt.Errorf("message %q in %s: %w", id, l.lang, err)
		}
	}
	return s, nil
}

// t is T for Go code: a missing message shows its id.
func (l *loc) t(id string, args ...any) string {
	s, err := l.T(id, args...)
	if err != nil && s == "" {
		return id
	}
	return s
}

// Date writes a date in the language: "3 mars 2026".
func (l *loc) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	month := l.t(fmt.Sprintf("month_%d", int(t.Month())))
	return l.t("date", "Day", t.Day(), "Month", month, "Year", t.Year())
}

// DateTime writes a date and a time of day.
func (l *loc) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	return l.t("date_time", "Date", l.Date(t), "Time", t.Format("15:04"))
}

// Size writes a size in bytes for people: "1,2 Mo".
func (l *loc) Size(n int64) string {
	switch {
	case n < 1000:
		return l.t("size_bytes", "Count", n)
	case n < 1000*1000:
		return l.t("size_kb", "N", decimal(l, float64(n)/1000))
	case n < 1000*1000*1000:
		return l.t("size_mb", "N", decimal(l, float64(n)/1e6))
	default:
		return l.t("size_gb", "N", decimal(l, float64(n)/1e9))
	}
}

func decimal(l *loc, f float64) string {
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", l.t("decimal_sep"), 1)
}

// SizeU is Size for an unsigned count.
func (l *loc) SizeU(n uint64) string { return l.Size(int64(min(n, 1<<62))) }

// Lang is the language's code, for the page's lang attribute.
func (l *loc) Lang() string { return l.lang }

// Dir is the writing direction, "ltr" or "rtl".
func (l *loc) Dir() string { return l.dir }

// bidi isolates a name or title that may be written in the other
// direction than the page (a French title in an Arabic sentence, an
// Arabic name in a French one), so that it is not reordered with its
// sentence.
func (l *loc) bidi(s string) string {
	if l.dir == "rtl" || strings.IndexFunc(s, func(r rune) bool { return unicode.In(r, unicode.Arabic, unicode.Hebrew) }) >= 0 {
		return l.Isolate(s)
	}
	return s
}

// Isolate keeps a left-to-right number or name whole inside a sentence in
// any direction (Unicode first-strong isolate).
func (l *loc) Isolate(s string) string { return "\u2068" + s + "\u2069" }

// Bidi is bidi for templates.
func (l *loc) Bidi(s string) string { return l.bidi(s) }
