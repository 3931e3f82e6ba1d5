package cardprint

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"
	"github.com/tdewolff/canvas"
	"github.com/tdewolff/canvas/renderers/pdf"

	"baluchon/vault"
)

// Card size, ISO/IEC 7810 ID-1, in millimetres.
const (
	CardWidth  = 85.6
	CardHeight = 54.0
)

// A4 size in millimetres.
const (
	a4Width  = 210.0
	a4Height = 297.0
)

// MaxStructureLen is the longest structure name printed on a card, in
// characters.
const MaxStructureLen = 60

// Layout is how the card is laid out on paper.
type Layout int

const (
	// SheetA4 (the default) prints the front and the back side by side on
	// one A4 page, on a fold line, with cut marks and instructions: for a
	// structure with an ordinary printer.
	SheetA4 Layout = iota
	// CardSize prints two pages of 85.6 × 54 mm, the front then the back:
	// for a card printer.
	CardSize
)

// Card is what Write prints.
type Card struct {
	// Text is the card text, as vault.Card.String writes it (any form
	// vault.ParseCard reads is accepted and printed in its canonical form).
	Text string
	// Structure is the name of the structure that gives the card.
	Structure string
	// Lang is the second language of the card, besides French: one of
	// Languages(). "" or "fr" prints French only.
	Lang string
	// Layout is SheetA4 (the zero value) or CardSize.
	Layout Layout
}

// Colours of the card.
var (
	ink    = color.RGBA{0x11, 0x11, 0x11, 0xff}
	accent = color.RGBA{0x1d, 0x4e, 0x89, 0xff} // titles, pictograms
	muted  = color.RGBA{0x55, 0x55, 0x55, 0xff} // labels, group numbers
	guide  = color.RGBA{0x99, 0x99, 0x99, 0xff} // cut and fold lines
	white  = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// ptToMM converts a size in points to millimetres.
const ptToMM = 25.4 / 72

// card is everything drawn on one card, checked and loaded.
type card struct {
	text                   string // canonical card text
	structure              string
	fr, second             *catalog // second is nil for French only
	latin, latinBold, mono *canvas.Font
	font, fontBold         map[*catalog]*canvas.Font
	structureFont          *canvas.Font
}

// Write writes the card as a PDF to w. It refuses a text that is not a
// card, an empty or over-long structure name or one with characters the
// card's fonts cannot draw, and an unknown language (an
// *UnknownLanguageError). The card text is never part of an error.
func Write(w io.Writer, c Card) error {
	k, err := prepare(c)
	if err != nil {
		return fmt.Errorf("print card: %w", err)
	}
	var width, height float64
	switch c.Layout {
	case SheetA4:
		width, height = a4Width, a4Height
	case CardSize:
		width, height = CardWidth, CardHeight
	default:
		return fmt.Errorf("print card: unknown layout %d", c.Layout)
	}
	p := pdf.New(w, width, height, nil)
	p.SetInfo("Carte", "", "", "", "baluchon")
	p.SetLang("fr")
	switch c.Layout {
	case SheetA4:
		cv := canvas.New(width, height)
		k.drawSheet(newContext(cv))
		cv.RenderTo(p)
	case CardSize:
		front := canvas.New(width, height)
		k.drawFront(newContext(front))
		front.RenderTo(p)
		p.NewPage(width, height)
		back := canvas.New(width, height)
		k.drawBack(newContext(back))
		back.RenderTo(p)
	}
	if err := p.Close(); err != nil {
		return fmt.Errorf("print card: write pdf: %w", err)
	}
	return nil
}

// newContext returns a drawing context with the origin at the top left
// and y going down, in millimetres.
func newContext(cv *canvas.Canvas) *canvas.Context {
	ctx := canvas.NewContext(cv)
	ctx.SetCoordSystem(canvas.CartesianIV)
	return ctx
}

// prepare checks c and loads the catalogs and fonts.
func prepare(c Card) (*card, error) {
	vc, err := vault.ParseCard(c.Text)
	if err != nil {
		return nil, fmt.Errorf("card text: %w", err)
	}
	k, err := prepareText(c.Structure, c.Lang)
	if err != nil {
		return nil, err
	}
	k.text = vc.String()
	return k, nil
}

// prepareText checks the structure's name and loads the catalogs and
// fonts of French and lang (what a card and a papers sheet share).
func prepareText(structure, lang string) (*card, error) {
	var err error
	k := &card{
		structure: strings.Join(strings.Fields(structure), " "),
		font:      map[*catalog]*canvas.Font{},
		fontBold:  map[*catalog]*canvas.Font{},
	}
	if k.structure == "" {
		return nil, errors.New("the structure's name is empty")
	}
	if n := utf8.RuneCountInString(k.structure); n > MaxStructureLen {
		return nil, fmt.Errorf("the structure's name is too long to print (%d characters, at most %d)", n, MaxStructureLen)
	}
	if k.fr, err = loadCatalog("fr"); err != nil {
		return nil, err
	}
	if lang != "" && lang != "fr" {
		if k.second, err = loadCatalog(lang); err != nil {
			return nil, err
		}
	}
	var f fonts
	if k.latin, err = f.load("NotoSans-Regular.ttf"); err != nil {
		return nil, err
	}
	if k.latinBold, err = f.load("NotoSans-Bold.ttf"); err != nil {
		return nil, err
	}
	if k.mono, err = f.load("NotoSansMono-Bold.ttf"); err != nil {
		return nil, err
	}
	for _, cat := range k.catalogs() {
		if k.font[cat], err = f.load(cat.Font); err != nil {
			return nil, err
		}
		if k.fontBold[cat], err = f.load(cat.FontBold); err != nil {
			return nil, err
		}
	}
	// The structure's name is printed in the first font that draws all
	// of it: Latin, then the second language's.
	candidates := []*canvas.Font{k.latinBold}
	if k.second != nil {
		candidates = append(candidates, k.fontBold[k.second])
	}
	var bad rune
	for _, ft := range candidates {
		r, ok := covers(ft, k.structure)
		if ok {
			k.structureFont = ft
			break
		}
		if bad == 0 {
			bad = r
		}
	}
	if k.structureFont == nil {
		return nil, fmt.Errorf("the structure's name has a character the card cannot print (%U): write it in Latin letters", bad)
	}
	return k, nil
}

// catalogs returns French, then the second language if any.
func (k *card) catalogs() []*catalog {
	if k.second == nil {
		return []*catalog{k.fr}
	}
	return []*catalog{k.fr, k.second}
}

// face returns a face of font at size points in colour col.
func face(font *canvas.Font, size float64, col color.Color) *canvas.FontFace {
	return font.Face(size, col)
}

// drawFront draws the front of the card with its top left corner at the
// context's origin.
func (k *card) drawFront(ctx *canvas.Context) {
	ctx.SetFillColor(white)
	ctx.SetStrokeColor(canvas.Transparent)
	ctx.DrawPath(0, 0, canvas.Rectangle(CardWidth, CardHeight))

	// QR code on the left, with a quiet zone of more than 4 modules.
	const qrX, qrY, qrSize = 4.0, 4.5, 33.5
	drawQR(ctx, qrX, qrY, qrSize, k.text)

	// Title(s) on the right, above the card text. Text lines are placed
	// by their baseline.
	const colX = qrX + qrSize + 4
	const colW = CardWidth - colX - 3.5
	y := 7.0
	for i, cat := range k.catalogs() {
		size := 7.0
		if i > 0 {
			size = 6.5
		}
		t := fitLine(k.fontBold[cat], cat.Messages["front_title"], size, colW, accent, cat.rtl())
		drawLine(ctx, t, colX, y, colW, cat.rtl())
		y += size * ptToMM * 1.5
	}

	// The card text, one numbered group per line.
	const groupSize = 14.0 // points
	const lineH = 5.3
	base := qrY + qrSize - 4*lineH
	for i, g := range strings.Split(k.text, "-") {
		gy := base + float64(i)*lineH
		num := canvas.NewTextLine(face(k.latin, 6.5, muted), fmt.Sprintf("%d", i+1), canvas.Left)
		ctx.DrawText(colX, gy-0.2, num)
		ctx.DrawText(colX+3.4, gy, canvas.NewTextLine(face(k.mono, groupSize, ink), g, canvas.Left))
	}

	// The structure, across the bottom.
	label := k.fr.Messages["front_structure"]
	// The second language's label follows the French one when the Latin
	// font draws it; otherwise (Arabic, Ge'ez) it is drawn apart, on the
	// right, in its own font.
	apart := k.second != nil && (k.second.rtl() || k.font[k.second] != k.latin)
	if k.second != nil && !apart {
		label += " / " + k.second.Messages["front_structure"]
	}
	ly := qrY + qrSize + 4.2
	fitLine(k.latin, label+"\u00a0:", 6, 50, muted, false).draw(ctx, qrX, ly)
	if apart {
		l2text := k.second.Messages["front_structure"]
		if _, ok := covers(k.font[k.second], ":"); ok {
			l2text += ":"
		}
		l2 := fitLine(k.font[k.second], l2text, 6, 30, muted, k.second.rtl())
		drawLine(ctx, l2, CardWidth-3.5-30, ly, 30, k.second.rtl())
	}
	rtlName := k.second != nil && k.structureFont == k.fontBold[k.second] && k.second.rtl()
	name := fitLine(k.structureFont, k.structure, 9, CardWidth-qrX-3.5, ink, rtlName)
	drawLine(ctx, name, qrX, ly+4.2, CardWidth-qrX-3.5, rtlName)
}

// drawBack draws the back of the card: three rows, each a pictogram and
// its sentence in French and in the second language.
func (k *card) drawBack(ctx *canvas.Context) {
	ctx.SetFillColor(white)
	ctx.SetStrokeColor(canvas.Transparent)
	ctx.DrawPath(0, 0, canvas.Rectangle(CardWidth, CardHeight))

	rows := []struct {
		key  string
		icon func(*canvas.Context, float64, float64, float64)
	}{
		{"back_open", iconOpen},
		{"back_keep", iconKeep},
		{"back_lost", iconLost},
	}
	const margin = 2.5
	const iconSize = 10.0
	rowH := (CardHeight - 2*margin) / float64(len(rows))
	textX := margin + iconSize + 2.5
	textW := CardWidth - textX - margin
	size := 6.0
	if k.second == nil {
		size = 7.5
	}
	for i, row := range rows {
		y := margin + float64(i)*rowH
		if i > 0 {
			ctx.SetFillColor(canvas.Transparent)
			ctx.SetStrokeColor(color.RGBA{0xcc, 0xcc, 0xcc, 0xff})
			ctx.SetStrokeWidth(0.15)
			ctx.DrawPath(margin, y-0.3, canvas.Line(CardWidth-2*margin, 0))
		}
		row.icon(ctx, margin, y+(rowH-iconSize)/2-0.3, iconSize)
		var paras []*para
		total := 0.0
		gap := 0.8
		// a long sentence (Pashto, Somali) is made smaller until its row
		// holds it
		for sz := size; ; sz *= 0.93 {
			paras, total = nil, 0
			for _, cat := range k.catalogs() {
				pa := wrap(face(k.font[cat], sz, ink), cat.Messages[row.key], textW, cat.rtl())
				paras = append(paras, pa)
				total += pa.height()
			}
			if total+gap*float64(len(paras)-1) <= rowH-1 || sz < size*0.7 {
				break
			}
		}
		ty := y + (rowH-0.6-total-gap*float64(len(paras)-1))/2
		for _, pa := range paras {
			pa.draw(ctx, textX, ty, textW)
			ty += pa.height() + gap
		}
	}
}

// drawSheet draws an A4 page: the front and the back side by side on a
// fold line, with cut marks, and below them the instructions.
func (k *card) drawSheet(ctx *canvas.Context) {
	const x0 = (a4Width - 2*CardWidth) / 2
	const y0 = 25.0
	const textW = 2 * CardWidth

	// Above the card, how to print it: at actual size.
	pr := wrap(face(k.latin, 8, muted), k.fr.Messages["sheet_print"], textW, false)
	pr.draw(ctx, x0, 6, textW)

	ctx.Push()
	ctx.SetView(canvas.Identity.Translate(x0, y0))
	k.drawFront(ctx)
	ctx.Pop()
	ctx.Push()
	ctx.SetView(canvas.Identity.Translate(x0+CardWidth, y0))
	k.drawBack(ctx)
	ctx.Pop()

	// Grey cutting outline, dotted fold line, cut marks outside.
	ctx.SetFillColor(canvas.Transparent)
	ctx.SetStrokeColor(guide)
	ctx.SetStrokeWidth(0.2)
	ctx.DrawPath(x0, y0, canvas.Rectangle(2*CardWidth, CardHeight))
	ctx.SetDashes(0, 1.2, 1.2)
	ctx.DrawPath(x0+CardWidth, y0-8, canvas.Line(0, CardHeight+16))
	ctx.SetDashes(0)
	ctx.SetStrokeColor(ink)
	ctx.SetStrokeWidth(0.25)
	const gap, mark = 2.0, 6.0
	for _, cx := range []float64{x0, x0 + 2*CardWidth} {
		for _, cy := range []float64{y0, y0 + CardHeight} {
			dx, dy := -1.0, -1.0
			if cx > x0 {
				dx = 1
			}
			if cy > y0 {
				dy = 1
			}
			ctx.DrawPath(cx+dx*gap, cy, canvas.Line(dx*mark, 0))
			ctx.DrawPath(cx, cy+dy*gap, canvas.Line(0, dy*mark))
		}
	}

	// The instructions, numbered, in French then the second language.
	y := y0 + CardHeight + 14
	const numW = 6.0
	for _, cat := range k.catalogs() {
		for i, key := range []string{"sheet_cut", "sheet_fold", "sheet_glue"} {
			pa := wrap(face(k.font[cat], 10, ink), cat.Messages[key], textW-numW, cat.rtl())
			num := newLine(face(k.latinBold, 10, accent), fmt.Sprintf("%d", i+1), false)
			if cat.rtl() {
				drawLine(ctx, num, x0, y+pa.ascent, textW, true)
				pa.draw(ctx, x0, y, textW-numW)
			} else {
				num.draw(ctx, x0, y+pa.ascent)
				pa.draw(ctx, x0+numW, y, textW-numW)
			}
			y += pa.height() + 1.5
		}
		pa := wrap(face(k.font[cat], 9, muted), cat.Messages["sheet_warn"], textW, cat.rtl())
		pa.draw(ctx, x0, y+1, textW)
		y += pa.height() + 8
	}
}

// fitLine returns s on one line in font at size points, made smaller (to
// 60 %) until it fits width.
func fitLine(font *canvas.Font, s string, size, width float64, col color.Color, rtl bool) *textLine {
	min := size * 0.6
	for {
		l := newLine(face(font, size, col), s, rtl)
		if l.width <= width || size <= min {
			return l
		}
		size *= 0.93
	}
}

// drawLine draws a line at the left of the box [x, x+width], or at its
// right for a right-to-left language, with its baseline at y.
func drawLine(ctx *canvas.Context, l *textLine, x, y, width float64, rtl bool) {
	if rtl {
		x += width - l.width
	}
	l.draw(ctx, x, y)
}

// drawQR draws the QR code of text (level H) as vector squares in a
// size × size square whose top left corner is (x, y).
func drawQR(ctx *canvas.Context, x, y, size float64, text string) {
	q, err := qrcode.New(text, qrcode.Highest)
	if err != nil {
		// A card text is 34 characters; level H holds up to 1,273 bytes.
		panic("cardprint: qr code of a card text: " + err.Error())
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	m := size / float64(len(bits))
	p := &canvas.Path{}
	for r, row := range bits {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			x0, x1 := float64(start)*m, float64(c)*m
			y0, y1 := float64(r)*m, float64(r+1)*m
			p.MoveTo(x0, y0)
			p.LineTo(x1, y0)
			p.LineTo(x1, y1)
			p.LineTo(x0, y1)
			p.Close()
		}
	}
	ctx.SetStrokeColor(canvas.Transparent)
	ctx.SetFillColor(canvas.Black)
	ctx.DrawPath(x, y, p)
}

// para is a paragraph broken into lines (canvas.NewTextBox, in the
// version used, scrambles the words of a right-to-left paragraph).
type para struct {
	lines         []*textLine
	ascent, lineH float64
	rtl           bool
}

// wrap breaks s into lines no wider than width (a word longer than width
// gets a line of its own).
func wrap(f *canvas.FontFace, s string, width float64, rtl bool) *para {
	m := f.Metrics()
	pa := &para{ascent: m.Ascent, lineH: (m.Ascent + m.Descent) * 1.12, rtl: rtl}
	var line string
	var last *textLine
	// Words are cut at plain spaces only: a no-break space (French
	// "structure\u00a0:") keeps its neighbours together.
	for _, word := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' }) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		l := newLine(f, try, rtl)
		if l.width <= width || line == "" {
			line, last = try, l
			continue
		}
		pa.lines = append(pa.lines, last)
		line, last = word, newLine(f, word, rtl)
	}
	if last != nil {
		pa.lines = append(pa.lines, last)
	}
	return pa
}

// height is the height of the paragraph's lines.
func (pa *para) height() float64 { return float64(len(pa.lines)) * pa.lineH }

// draw draws the paragraph with its top at y, in the box [x, x+width],
// aligned left or, right to left, right.
func (pa *para) draw(ctx *canvas.Context, x, y, width float64) {
	for i, l := range pa.lines {
		drawLine(ctx, l, x, y+pa.ascent+float64(i)*pa.lineH, width, pa.rtl)
	}
}
