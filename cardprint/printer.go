package cardprint

import (
	"io"

	"baluchon/vault"
)

// Printer prints cards and reads card photos for the structure's web page
// (it implements web.Cards).
type Printer struct {
	// Layout is the layout of the printed card; the zero value is SheetA4.
	Layout Layout
}

// CardPDF writes card as a PDF: front and back, the structure's name, the
// sentences in French and in secondLang ("" or "fr": French only).
func (p Printer) CardPDF(w io.Writer, card *vault.Card, structureName, secondLang string) error {
	return Write(w, Card{Text: card.String(), Structure: structureName, Lang: secondLang, Layout: p.Layout})
}

// ReadCardPhoto returns the card text of the QR code in a photo of a card.
func (Printer) ReadCardPhoto(r io.Reader) (string, error) { return DecodeImage(r) }
