// Package cardprint prints a person's card as a PDF and reads the card's
// code back from a photo.
//
// # The card
//
// A card is credit-card sized (85.6 × 54 mm, ISO/IEC 7810 ID-1), printed
// front and back:
//
//   - front: the QR code of the card text (error correction level H, 30 %
//     of the code can be lost to wear and still read; drawn as vector
//     squares, so it is sharp on any printer), the card text in its five
//     numbered groups in a large monospaced bold font (the base58 alphabet
//     has no 0, O, I or l), the title in French and in the second language,
//     and the name of the structure that gave the card;
//   - back: three short sentences in simple French (FALC) and in the
//     second language, each beside a pictogram drawn with paths: the card
//     opens the person's papers in every structure of the network; whoever
//     holds the card can open them, so keep it; if it is lost, go to a
//     structure, the papers are not lost and a new card is made.
//
// Write draws it in one of two layouts. SheetA4, the default, is for a
// structure with an ordinary printer: one A4 page with a line asking to
// print at actual size, the front and the back side by side on a dotted
// fold line inside a grey cutting outline with cut marks at the corners,
// and below them the instructions (cut, fold with the print outside, glue
// or laminate; the sheet opens the person's papers) in French and the
// second language. Folded, the two halves make one card printed on both
// sides, with no duplex printer. CardSize gives two pages of 85.6 × 54 mm
// (front, then back) for a card printer.
//
// WritePapers prints the A4 sheet "your papers" that the person keeps:
// their documents (category and title) with their end dates, the
// structures that hold a recovery share of their file (the ones that can
// help if the card is lost), who printed it and when, in French and the
// second language; it holds no card text. A title no font of the sheet
// draws is printed with "?" for what it cannot draw.
//
// Write may be called from several goroutines: each call parses its own
// fonts (about 10–25 ms a card on a small machine, 25–35 kB of PDF). The
// PDF carries its creation time (tdewolff/canvas writes it) and nothing
// else about the person.
//
// # Languages
//
// The texts live in one JSON catalog per language under locales/ (fr.json
// is the reference: every catalog has its keys): 16 languages, those of
// the web page's person's view (ar, bn, en, es, fa-AF for Dari, fr, ka,
// ps, ro, ru, so, sq, ta, ti, uk, ur); web/personlocales/REVIEWS.tsv says who reviewed
// each (machine-drafted ones are to be reviewed by a native speaker). A
// font draws one script: a message in Arabic, Ge'ez, Tamil, Bengali or
// Georgian holds no Latin letters (Noto Sans Ethiopic has no Latin at all,
// not even digits; Noto Sans Tamil and Bengali have the digits and
// punctuation; the Georgian font here has those of Noto Sans merged in).
// Tamil and Bengali are shaped like Arabic: vowel signs written before
// their consonant are moved there, conjuncts join (TestShapingIndic).
// Adding a language is
// adding a file, which names the font its script needs from fonts/ and
// its direction ("ltr" or "rtl"). The PDF is drawn with
// github.com/tdewolff/canvas, which shapes text through
// github.com/go-text/typesetting (HarfBuzz in Go) and orders mixed
// directions with a bidi algorithm: Arabic comes out joined and right to
// left. go-pdf/fpdf, the library the issue suggested, does neither (Arabic
// would print as separate letters in reverse order), which is why it is
// not used. Two defects of that canvas version are worked around here
// (bidi.go): canvas.NewTextBox scrambles the words of a right-to-left
// paragraph, so paragraphs are broken into lines here; and a line with a
// number inside Arabic (two levels of embedding) comes out misordered,
// so each line is cut into runs of one direction, ordered by the rules
// of UAX #9 and shaped run by run.
//
// # Fonts
//
// fonts/ holds Noto fonts (SIL Open Font License 1.1, fonts/LICENSE.txt)
// from Debian bookworm's fonts-noto-core and fonts-noto-mono 20201225,
// cut down with fonttools to the characters the card needs, keeping
// their OpenType layout tables (Tamil, Bengali and Georgian keep their
// whole Unicode block, for the titles of the "your papers" sheet, and
// lose their hinting, which a PDF does not need: Bengali has no bold
// here, to keep the binary small):
//
//	LAT="U+0020-007E,U+00A0-00FF,U+0100-017F,U+0152-0153,U+0218-021B,U+0400-045F,U+0490-0491,U+2010-2027,U+2030-203A,U+20AC,U+2122,U+2190-2193,U+00B7"
//	ARA="U+0020-0040,U+005B-0060,U+007B-007E,U+00A0,U+00AB,U+00BB,U+060C-066D,U+0670-06FF,U+200C-200F,U+2010-2027"
//	ETH="U+0020-007E,U+00A0,U+1360-1368,U+2010-2027,"$(the Ge'ez characters of locales/ti.json)
//	pyftsubset NotoSans-Regular.ttf --unicodes="$LAT" --layout-features='*' --output-file=NotoSans-Regular.ttf
//	pyftsubset NotoSans-Bold.ttf --unicodes="$LAT" --layout-features='*' --output-file=NotoSans-Bold.ttf
//	pyftsubset NotoSansArabic-Regular.ttf --unicodes="$ARA" --layout-features='*' --output-file=NotoSansArabic-Regular.ttf
//	pyftsubset NotoSansEthiopic-Regular.ttf --unicodes="$ETH" --layout-features='*' --output-file=NotoSansEthiopic-Regular.ttf
//	pyftsubset NotoSansEthiopic-Bold.ttf --unicodes="$ETH" --layout-features='*' --output-file=NotoSansEthiopic-Bold.ttf
//	pyftsubset NotoSansMono-Bold.ttf --unicodes="U+0020-007E" --layout-features='*' --output-file=NotoSansMono-Bold.ttf
//	PUN="U+0020-0040,U+005B-0060,U+007B-007E,U+00A0,U+2010-2027"
//	TAM="$PUN,U+0B80-0BFF,U+200C-200D,U+25CC"
//	BEN="$PUN,U+0964-0965,U+0980-09FF,U+200C-200D,U+25CC"
//	GEO="U+00A0,U+0589,U+10A0-10FF,U+1C90-1CBF,U+2D00-2D2F"
//	pyftsubset NotoSansTamil-Regular.ttf --unicodes="$TAM" --layout-features='*' --no-hinting --output-file=NotoSansTamil-Regular.ttf
//	pyftsubset NotoSansTamil-Bold.ttf --unicodes="$TAM" --layout-features='*' --no-hinting --output-file=NotoSansTamil-Bold.ttf
//	pyftsubset NotoSansBengali-Regular.ttf --unicodes="$BEN" --layout-features='*' --no-hinting --output-file=NotoSansBengali-Regular.ttf
//	pyftsubset NotoSansGeorgian-Regular.ttf --unicodes="$GEO" --layout-features='*' --no-hinting --output-file=g.ttf
//	pyftsubset NotoSans-Regular.ttf --unicodes="$PUN" --layout-features='*' --no-hinting --output-file=p.ttf
//	pyftmerge g.ttf p.ttf && mv merged.ttf NotoSansGeorgian-Regular.ttf  # the same for Bold
//
// The page's fonts (web/assets/fonts) are the same subsets of the Regular
// faces, with --flavor=woff2 (and Georgian not merged: the browser takes
// the punctuation from another font).
//
// The PDF embeds only the glyphs it uses.
//
// # Reading a card from a photo
//
// DecodeImage reads a JPEG or PNG photo of a card and returns the card
// text. It refuses a file over MaxImageBytes or a picture over
// MaxImagePixels from its header, before decoding it, and reports why it
// found no card with errors the page can show (ErrNotImage,
// ErrImageTooLarge, ErrNoCode, ErrNotCard). It never puts the card text in
// an error.
package cardprint
