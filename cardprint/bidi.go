package cardprint

import (
	"slices"

	"github.com/tdewolff/canvas"
	"github.com/tdewolff/canvas/text"
)

// Marks that set the direction of a run without being drawn.
const (
	lrm = '\u200e' // left-to-right mark
	rlm = '\u200f' // right-to-left mark
)

// textLine is one line of text in visual order: runs of one direction,
// each shaped by canvas.NewTextLine, placed from left to right.
//
// canvas orders the runs of a line itself, but only right when the line
// has one level of embedding: a number inside an Arabic sentence (level
// 2 inside level 1) scrambles or loses words. So the line is cut here
// into runs of one embedding level (from canvas's bidi algorithm, GNU
// FriBidi in Go) and the runs are reordered by rule L2 of the Unicode
// bidirectional algorithm (UAX #9): from the highest level down to the
// lowest odd one, reverse every sequence of runs at that level or above.
type textLine struct {
	runs  []*canvas.Text
	xs    []float64 // left edge of each run
	width float64
}

// newLine lays out s on one line in face f, in a paragraph of direction
// rtl.
func newLine(f *canvas.FontFace, s string, rtl bool) *textLine {
	mark := lrm
	if rtl {
		mark = rlm
	}
	runes := append([]rune{mark}, []rune(s)...)
	levels := text.EmbeddingLevels(runes)[1:]
	runes = runes[1:]

	type run struct {
		s     []rune
		level int
	}
	var runs []run
	for i, r := range runes {
		if i == 0 || levels[i] != levels[i-1] {
			runs = append(runs, run{level: levels[i]})
		}
		runs[len(runs)-1].s = append(runs[len(runs)-1].s, r)
	}
	maxLevel, minOdd := 0, 1<<30
	for _, r := range runs {
		maxLevel = max(maxLevel, r.level)
		if r.level%2 == 1 {
			minOdd = min(minOdd, r.level)
		}
	}
	for lvl := maxLevel; lvl >= minOdd && lvl > 0; lvl-- {
		for i := 0; i < len(runs); {
			if runs[i].level < lvl {
				i++
				continue
			}
			j := i
			for j < len(runs) && runs[j].level >= lvl {
				j++
			}
			slices.Reverse(runs[i:j])
			i = j
		}
	}

	l := &textLine{}
	for _, r := range runs {
		m := lrm
		if r.level%2 == 1 {
			m = rlm
		}
		t := canvas.NewTextLine(f, string(m)+string(r.s), canvas.Left)
		w, _ := t.Size()
		l.runs = append(l.runs, t)
		l.xs = append(l.xs, l.width)
		l.width += w
	}
	return l
}

// draw draws the line with its left end at x and its baseline at y.
func (l *textLine) draw(ctx *canvas.Context, x, y float64) {
	for i, t := range l.runs {
		ctx.DrawText(x+l.xs[i], y, t)
	}
}
