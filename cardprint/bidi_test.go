package cardprint

import (
	"slices"
	"strings"
	"testing"
)

// TestNewLineOrder checks the visual order of the runs of mixed lines:
// left to right on paper.
func TestNewLineOrder(t *testing.T) {
	var f fonts
	ar, err := f.load("NotoSansArabic-Regular.ttf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    string
		rtl  bool
		want []string // runs left to right, without their direction marks
	}{
		{"arabic only", "هذه البطاقة", true, []string{"هذه البطاقة"}},
		{"number inside arabic", "جمعية 115 للتضامن", true, []string{"للتضامن", "115", "جمعية"}},
		{"arabic-indic numbering", "١. قُصّ", true, []string{". قُصّ", "١"}},
		{"latin", "Carte 12 : ok", false, []string{"Carte 12 : ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLine(face(ar, 10, ink), tc.s, tc.rtl)
			var got []string
			for i, r := range l.runs {
				got = append(got, strings.Trim(r.Text, "\u200e\u200f "))
				if i > 0 && l.xs[i] <= l.xs[i-1] {
					t.Errorf("run %d starts left of run %d", i, i-1)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("runs %q, want %q", got, tc.want)
			}
		})
	}
}
