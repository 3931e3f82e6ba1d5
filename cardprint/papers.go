package cardprint

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tdewolff/canvas"
	"github.com/tdewolff/canvas/renderers/pdf"
)

// Papers is the A4 sheet "your papers" that the person keeps: the list of
// their documents with their end dates, and the structures that can help
// them if they lose their card (the guardians of their recovery shares),
// in French and in the person's language. It holds no card text: it does
// not open anything.
type Papers struct {
	// Lang is the second language, as for Card ("" or "fr": French only).
	Lang string
	// Structure is the structure that prints the sheet.
	Structure string
	// Docs are the person's documents, in the order to print them.
	Docs []PaperDoc
	// Guardians are the names of the guardian structures.
	Guardians []string
	// Printed is the day the sheet is printed.
	Printed time.Time
}

// PaperDoc is one line of the sheet.
type PaperDoc struct {
	Title    string
	Category string // one of the web page's categories ("identity", …)
	Expires  time.Time
}

// MaxPaperDocs bounds the documents of one sheet (about 30 a page).
const MaxPaperDocs = 300

// paperCategories are the categories the catalogs name.
var paperCategories = []string{"identity", "health", "benefits", "housing", "work", "taxes", "justice", "other"}

// WritePapers writes the "your papers" sheet as a PDF of one or more A4
// pages. A title or a name that no font of the sheet can draw is printed
// with its undrawable characters replaced by "?".
func WritePapers(w io.Writer, p Papers) error {
	if len(p.Docs) > MaxPaperDocs {
		return fmt.Errorf("print papers: %d documents, at most %d", len(p.Docs), MaxPaperDocs)
	}
	k, err := prepareText(p.Structure, p.Lang)
	if err != nil {
		return fmt.Errorf("print papers: %w", err)
	}
	if p.Printed.IsZero() {
		return errors.New("print papers: no date")
	}
	out := pdf.New(w, a4Width, a4Height, nil)
	out.SetInfo("Mes papiers", "", "", "", "baluchon")
	out.SetLang("fr")
	pages := k.paperPages(p)
	for i, draw := range pages {
		if i > 0 {
			out.NewPage(a4Width, a4Height)
		}
		cv := canvas.New(a4Width, a4Height)
		draw(newContext(cv))
		cv.RenderTo(out)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("print papers: write pdf: %w", err)
	}
	return nil
}

// Layout of the sheet, in millimetres.
const (
	paperMargin = 18.0
	paperRowH   = 11.0
)

// printable returns s drawn by the first of fonts that draws all of it,
// or with "?" for what none draws, in the Latin font.
func (k *card) printable(s string) (string, *canvas.Font, bool) {
	cands := []*canvas.Font{k.latin}
	var rtl bool
	if k.second != nil {
		cands = append(cands, k.font[k.second])
		rtl = k.second.rtl()
	}
	for i, f := range cands {
		if _, ok := covers(f, s); ok {
			return s, f, i > 0 && rtl
		}
	}
	var b strings.Builder
	for _, r := range s {
		if _, ok := covers(k.latin, string(r)); ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String(), k.latin, false
}

// both writes a message in French and, below, in the second language;
// it returns the height used.
func (k *card) both(ctx *canvas.Context, key string, size float64, bold bool, x, y, width float64) float64 {
	h := 0.0
	for _, cat := range k.catalogs() {
		f := k.font[cat]
		if bold {
			f = k.fontBold[cat]
		}
		pa := wrap(face(f, size, ink), cat.Messages[key], width, cat.rtl())
		pa.draw(ctx, x, y+h, width)
		h += pa.height() + 1
	}
	return h
}

// label is a message in French, then " / " and the second language when
// both draw in the Latin font; otherwise the second is drawn right of it.
func (k *card) label(ctx *canvas.Context, key string, size float64, x, y, width float64) {
	fr := fitLine(k.latin, k.fr.Messages[key], size, width/2, muted, false)
	fr.draw(ctx, x, y)
	if k.second == nil {
		return
	}
	s := fitLine(k.font[k.second], k.second.Messages[key], size, width/2-2, muted, k.second.rtl())
	drawLine(ctx, s, x+width/2+2, y, width/2-2, k.second.rtl())
}

// paperPages returns the drawing of each page.
func (k *card) paperPages(p Papers) []func(*canvas.Context) {
	const width = a4Width - 2*paperMargin
	docs := slices.Clone(p.Docs)
	var pages []func(*canvas.Context)
	first := true
	for first || len(docs) > 0 {
		isFirst := first
		first = false
		rows := (a4Height - 2*paperMargin - 20) / paperRowH
		room := int(rows)
		if isFirst {
			room -= 9 // the title and the introduction
		}
		n := min(room, len(docs))
		page := docs[:n]
		docs = docs[n:]
		last := len(docs) == 0
		if last && n > room-6 && len(p.Guardians) > 0 && n > 0 {
			// keep room for the guardians: move the last lines over
			keep := max(0, room-6)
			docs = append(page[keep:], docs...)
			page = page[:keep]
			last = false
		}
		pages = append(pages, func(ctx *canvas.Context) { k.drawPapersPage(ctx, p, page, isFirst, last, width) })
	}
	return pages
}

func (k *card) drawPapersPage(ctx *canvas.Context, p Papers, docs []PaperDoc, first, last bool, width float64) {
	x, y := paperMargin, paperMargin
	if first {
		y += k.both(ctx, "papers_title", 20, true, x, y, width) + 2
		y += k.both(ctx, "papers_intro", 10, false, x, y, width) + 4
	}
	// the table's head: document, then end date
	dateW := 32.0
	k.label(ctx, "papers_document", 8, x, y+3, width-dateW-2)
	fitLine(k.latin, k.fr.Messages["papers_expires"], 8, dateW, muted, false).draw(ctx, x+width-dateW, y+3)
	if k.second != nil {
		s := fitLine(k.font[k.second], k.second.Messages["papers_expires"], 8, dateW, muted, k.second.rtl())
		drawLine(ctx, s, x+width-dateW, y+6.5, dateW, k.second.rtl())
	}
	y += 8
	for _, d := range docs {
		ctx.SetFillColor(canvas.Transparent)
		ctx.SetStrokeColor(guide)
		ctx.SetStrokeWidth(0.2)
		ctx.DrawPath(x, y, canvas.Line(width, 0))
		cat := d.Category
		if !slices.Contains(paperCategories, cat) {
			cat = "other"
		}
		k.label(ctx, "category_"+cat, 7.5, x, y+3.3, width-dateW-2)
		title, f, rtl := k.printable(truncate(d.Title, 90))
		drawLine(ctx, fitLine(f, title, 11, width-dateW-4, ink, rtl), x, y+8.6, width-dateW-4, rtl)
		if !d.Expires.IsZero() {
			col := ink
			days := d.Expires.Sub(p.Printed).Hours() / 24
			if days < 60 {
				col = accent
			}
			fitLine(k.latinBold, d.Expires.Format("02/01/2006"), 11, dateW, col, false).draw(ctx, x+width-dateW, y+8.6)
		} else {
			fitLine(k.latin, "—", 11, dateW, muted, false).draw(ctx, x+width-dateW, y+8.6)
		}
		y += paperRowH
	}
	ctx.SetStrokeColor(guide)
	ctx.DrawPath(x, y, canvas.Line(width, 0))
	if last {
		y += 8
		y += k.both(ctx, "papers_guardians", 10, true, x, y, width) + 1
		if len(p.Guardians) == 0 {
			y += k.both(ctx, "papers_no_guardian", 10, false, x, y, width)
		}
		for _, g := range p.Guardians {
			name, f, rtl := k.printable(truncate(g, MaxStructureLen))
			drawLine(ctx, fitLine(f, "• "+name, 11, width, ink, rtl), x, y+4.5, width, rtl)
			y += 6
		}
	}
	// at the bottom: who printed it, when
	structure, f, rtl := k.printable(k.structure)
	foot := a4Height - paperMargin + 4
	k.label(ctx, "papers_printed", 8, x, foot, width)
	drawLine(ctx, fitLine(f, structure+" · "+p.Printed.Format("02/01/2006"), 8, width/2, muted, rtl), x, foot+4, width/2, rtl)
}

// truncate cuts s to n characters.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
