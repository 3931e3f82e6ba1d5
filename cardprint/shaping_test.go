package cardprint

import (
	"testing"
)

// TestShapingIndic shapes words of Bengali and Tamil with the fonts their
// catalogs print with, as the card does: the vowel signs written before
// a consonant must come out before it and conjuncts must join (no bare
// virama). It fails when a font's subset loses its layout tables or the
// text is drawn letter by letter.
func TestShapingIndic(t *testing.T) {
	tests := []struct {
		lang, word string
		glyphs     int  // how many glyphs the shaped word has
		prebase    bool // a vowel sign comes before the first consonant
		virama     rune // a virama that must not be drawn (0: none to check)
	}{
		{"bn", "কেন্দ্রে", 4, true, '\u09cd'}, // ে ক ে ন্দ্র
		{"bn", "কার্ড", 4, false, '\u09cd'},   // ক া ড র্ (reph)
		{"bn", "স্বাস্থ্য", 4, false, '\u09cd'},
		{"ta", "கொ", 3, true, 0}, // ெ க ா
		{"ta", "க்ஷ", 1, false, 0},
	}
	var f fonts
	for _, tt := range tests {
		c, err := loadCatalog(tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{c.Font, c.FontBold} {
			font, err := f.load(file)
			if err != nil {
				t.Fatal(err)
			}
			glyphs := font.Face(10, ink).Glyphs(tt.word)
			if len(glyphs) != tt.glyphs {
				t.Errorf("%s %q with %s: %d glyphs, want %d", tt.lang, tt.word, file, len(glyphs), tt.glyphs)
				continue
			}
			first := font.SFNT.GlyphIndex([]rune(tt.word)[0])
			if tt.prebase && (glyphs[0].ID == first || glyphs[1].ID != first) {
				t.Errorf("%s %q with %s: the vowel sign is not drawn before the consonant", tt.lang, tt.word, file)
			}
			if tt.virama != 0 {
				v := font.SFNT.GlyphIndex(tt.virama)
				for _, g := range glyphs {
					if g.ID == v {
						t.Errorf("%s %q with %s: the virama is drawn, the conjunct is not formed", tt.lang, tt.word, file)
					}
				}
			}
		}
	}
}
