package cardprint

import "github.com/tdewolff/canvas"

// The pictograms of the back of the card, drawn with paths in a s × s
// square whose top left corner is (x, y), y going down.

// iconOpen: a card in front of a paper — the card opens your papers.
func iconOpen(ctx *canvas.Context, x, y, s float64) {
	// The paper: a page with a folded corner and three lines of text.
	page := &canvas.Path{}
	page.MoveTo(0.34*s, 0.04*s)
	page.LineTo(0.76*s, 0.04*s)
	page.LineTo(0.96*s, 0.24*s)
	page.LineTo(0.96*s, 0.92*s)
	page.LineTo(0.34*s, 0.92*s)
	page.Close()
	fold := &canvas.Path{}
	fold.MoveTo(0.76*s, 0.04*s)
	fold.LineTo(0.76*s, 0.24*s)
	fold.LineTo(0.96*s, 0.24*s)
	ctx.SetFillColor(canvas.White)
	ctx.SetStrokeColor(accent)
	ctx.SetStrokeWidth(0.06 * s)
	ctx.SetStrokeJoiner(canvas.RoundJoin)
	ctx.DrawPath(x, y, page)
	ctx.SetFillColor(canvas.Transparent)
	ctx.DrawPath(x, y, fold)
	lines := &canvas.Path{}
	for _, ly := range []float64{0.36, 0.48} {
		lines.MoveTo(0.48*s, ly*s)
		lines.LineTo(0.84*s, ly*s)
	}
	ctx.SetStrokeWidth(0.05 * s)
	ctx.DrawPath(x, y, lines)
	drawMiniCard(ctx, x+0.02*s, y+0.56*s, 0.56*s)
}

// iconKeep: a padlock — whoever holds the card opens the papers: keep it.
func iconKeep(ctx *canvas.Context, x, y, s float64) {
	shackle := &canvas.Path{}
	shackle.MoveTo(0.3*s, 0.5*s)
	shackle.LineTo(0.3*s, 0.32*s)
	shackle.ArcTo(0.2*s, 0.2*s, 0, false, true, 0.7*s, 0.32*s)
	shackle.LineTo(0.7*s, 0.5*s)
	ctx.SetFillColor(canvas.Transparent)
	ctx.SetStrokeColor(accent)
	ctx.SetStrokeWidth(0.09 * s)
	ctx.DrawPath(x, y, shackle)
	ctx.SetStrokeColor(canvas.Transparent)
	ctx.SetFillColor(accent)
	ctx.DrawPath(x+0.16*s, y+0.46*s, canvas.RoundedRectangle(0.68*s, 0.48*s, 0.06*s))
	ctx.SetFillColor(canvas.White)
	ctx.DrawPath(x+0.5*s, y+0.64*s, canvas.Circle(0.07*s))
	ctx.DrawPath(x+0.47*s, y+0.66*s, canvas.Rectangle(0.06*s, 0.16*s))
}

// iconLost: a house with a new card — if you lose it, go to a structure.
func iconLost(ctx *canvas.Context, x, y, s float64) {
	house := &canvas.Path{}
	house.MoveTo(0.04*s, 0.46*s)
	house.LineTo(0.5*s, 0.06*s)
	house.LineTo(0.96*s, 0.46*s)
	house.MoveTo(0.16*s, 0.38*s)
	house.LineTo(0.16*s, 0.94*s)
	house.LineTo(0.84*s, 0.94*s)
	house.LineTo(0.84*s, 0.38*s)
	ctx.SetFillColor(canvas.Transparent)
	ctx.SetStrokeColor(accent)
	ctx.SetStrokeWidth(0.07 * s)
	ctx.SetStrokeJoiner(canvas.RoundJoin)
	ctx.SetStrokeCapper(canvas.RoundCap)
	ctx.DrawPath(x, y, house)
	ctx.SetStrokeCapper(canvas.ButtCap)
	drawMiniCard(ctx, x+0.27*s, y+0.5*s, 0.46*s)
}

// drawMiniCard draws a small filled card of width w (ID-1 proportions)
// with a white square standing for its code.
func drawMiniCard(ctx *canvas.Context, x, y, w float64) {
	h := w * CardHeight / CardWidth
	ctx.SetStrokeColor(canvas.White)
	ctx.SetStrokeWidth(0.06 * w)
	ctx.SetFillColor(accent)
	ctx.DrawPath(x, y, canvas.RoundedRectangle(w, h, 0.1*w))
	ctx.SetStrokeColor(canvas.Transparent)
	ctx.SetFillColor(canvas.White)
	q := 0.45 * h
	ctx.DrawPath(x+0.14*w, y+(h-q)/2, canvas.Rectangle(q, q))
	lines := &canvas.Path{}
	for _, ly := range []float64{0.38, 0.62} {
		lines.MoveTo(0.2*w+q, ly*h)
		lines.LineTo(0.86*w, ly*h)
	}
	ctx.SetFillColor(canvas.Transparent)
	ctx.SetStrokeColor(canvas.White)
	ctx.SetStrokeWidth(0.07 * w)
	ctx.DrawPath(x, y, lines)
}
