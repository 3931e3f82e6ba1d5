package vault

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

func mustCard(t testing.TB) *Card {
	t.Helper()
	c, err := NewCard(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seededCards returns n cards from a fixed seed, so failures reproduce.
func seededCards(t testing.TB, n int, seed uint64) []*Card {
	t.Helper()
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'c', 'a', 'r', 'd'})
	out := make([]*Card, n)
	for i := range out {
		c, err := NewCard(src)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func cardOf(t testing.TB, secretHex string) *Card {
	t.Helper()
	b, err := hex.DecodeString(secretHex)
	if err != nil || len(b) != SecretSize {
		t.Fatalf("bad test secret %q", secretHex)
	}
	c := &Card{}
	copy(c.secret[:], b)
	return c
}

// TestCardGolden pins the card text and the derivations. The expected
// values come from an independent Python implementation of the package
// documentation (base58 by hand, HKDF with hmac, Ed25519 from pyca).
func TestCardGolden(t *testing.T) {
	tests := []struct {
		secret, text, lookup, passphrase string
	}{
		{"000102030405060708090a0b0c0d0e0f", "13QXnh-mdfKdn-pHdST3-Y5pumG-j7tuFN",
			"TJHAKZqzDZe6xmSzSAwsu7U7mzTSDzsoPwAtP1Ew31H", "tolD0kf0uizphLvPI-R7gk3zXJc8f5kCBqLaAHWXoWA"},
		{"00000000000000000000000000000000", "13QXfc-Yy4b7r-UPwLJS-99wrws-KjD25k",
			"9fwczsksDMpkhRwPw2ZXWid5EWr47ViuPkV7s2UES5ap", "885WqfdSku68mN-SxHqREVOMdsQibZJyDXuUzBkZLsY"},
		{"ffffffffffffffffffffffffffffffff", "15p4La-6w8BDg-wnsfbg-HJtisd-eTQsMb",
			"3Rixnbh43ZeB1vp9MrScX1Nhat3c52uJTCcHNk3WzNoG", "Uk-DdaM9EN5e48NQ0QPkSnxTI-qMH0iRRtACEj61hWs"},
	}
	for _, tc := range tests {
		t.Run(tc.secret, func(t *testing.T) {
			c := cardOf(t, tc.secret)
			if got := c.String(); got != tc.text {
				t.Errorf("text %s, want %s", got, tc.text)
			}
			if got := c.LookupID().String(); got != tc.lookup {
				t.Errorf("lookup id %s, want %s", got, tc.lookup)
			}
			if got := c.envelopePassphrase(); got != tc.passphrase {
				t.Errorf("envelope passphrase %s, want %s", got, tc.passphrase)
			}
			p, err := ParseCard(tc.text)
			if err != nil || p.secret != c.secret {
				t.Fatalf("parse %s: %v", tc.text, err)
			}
		})
	}
}

func TestCardTextRoundTrip(t *testing.T) {
	for _, c := range seededCards(t, 2000, 1) {
		text := c.String()
		if len(text) != cardChars+cardGroups-1 || strings.Count(text, "-") != cardGroups-1 {
			t.Fatalf("card text of %d characters", len(text))
		}
		for _, variant := range []string{
			text,
			strings.ReplaceAll(text, "-", ""),
			strings.ReplaceAll(text, "-", " "),
			"  " + text + "\n",
			strings.ReplaceAll(text, "-", "\t- "),
			strings.ReplaceAll(text, "-", "\r\n"),
			strings.ReplaceAll(text, "-", "\u00a0"), // no-break space
			strings.ReplaceAll(text, "-", "\u2013"), // en dash
			text[:3] + " " + text[3:],
		} {
			got, err := ParseCard(variant)
			if err != nil {
				t.Fatalf("parse a valid card: %v", err)
			}
			if got.secret != c.secret {
				t.Fatal("parsed card differs")
			}
		}
	}
}

// TestCardSingleTypos checks that every single-character substitution is
// caught, in the right group, and that no error quotes the card.
func TestCardSingleTypos(t *testing.T) {
	for _, c := range seededCards(t, 20, 2) {
		text := c.String()
		chars := []rune(strings.ReplaceAll(text, "-", ""))
		for i := range chars {
			orig := chars[i]
			for _, r := range alphabet + "0OIl#é\u00ff\U0001F600" {
				if r == orig {
					continue
				}
				chars[i] = r
				_, err := ParseCard(string(chars))
				cte, ok := errors.AsType[*CardTextError](err)
				if !ok {
					t.Fatalf("typo %q at %d: got %v", r, i+1, err)
				}
				wantGroup := i/cardGroupChars + 1
				switch {
				case alphabetIndex(r) < 0:
					if cte.Kind != CardBadChar || cte.Char != i+1 || cte.Group != wantGroup {
						t.Fatalf("bad character at %d reported as %+v", i+1, cte)
					}
				default:
					if cte.Kind != CardGroupTypo || cte.Group != wantGroup || cte.Char != 0 {
						t.Fatalf("typo at %d reported as %+v, want group %d", i+1, cte, wantGroup)
					}
				}
				assertNoCardText(t, err.Error(), text)
			}
			chars[i] = orig
		}
	}
}

func TestCardTranspositionsAndSwaps(t *testing.T) {
	inGroup, inGroupCaught, accepted := 0, 0, 0
	for _, c := range seededCards(t, 500, 3) {
		text := strings.ReplaceAll(c.String(), "-", "")
		for i := 0; i+1 < len(text); i++ {
			if text[i] == text[i+1] {
				continue
			}
			b := []byte(text)
			b[i], b[i+1] = b[i+1], b[i]
			_, err := ParseCard(string(b))
			if err == nil {
				accepted++
			}
			if i/cardGroupChars == (i+1)/cardGroupChars {
				inGroup++
				if cte, ok := errors.AsType[*CardTextError](err); ok && cte.Kind == CardGroupTypo && cte.Group == i/cardGroupChars+1 {
					inGroupCaught++
				}
			}
		}
		// Swapped groups are always caught: a group's check character
		// depends on its place.
		groups := strings.Split(c.String(), "-")
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				g := append([]string(nil), groups...)
				g[i], g[j] = g[j], g[i]
				if _, err := ParseCard(strings.Join(g, "-")); !isKind(err, CardGroupTypo) {
					t.Fatalf("groups %d and %d swapped: got %v", i+1, j+1, err)
				}
			}
		}
	}
	// Within a group, only two characters 29 apart in the alphabet
	// escape (about 1 in 57), or a data and a check character that
	// happen to match.
	if inGroupCaught*100 < inGroup*95 {
		t.Fatalf("only %d of %d adjacent transpositions within a group caught", inGroupCaught, inGroup)
	}
	// The whole-card checksum catches nearly all of the rest.
	if accepted > 1 {
		t.Fatalf("%d adjacent transpositions accepted", accepted)
	}
}

func TestCardTextErrors(t *testing.T) {
	text := cardOf(t, "000102030405060708090a0b0c0d0e0f").String() // 13QXnh-mdfKdn-pHdST3-Y5pumG-j7tuFN
	tests := []struct {
		name  string
		text  string
		kind  CardErrorKind
		group int
		char  int
		msg   string
	}{
		{"empty", "", CardLength, 0, 0, "a card has 30 characters in 5 groups of 6; this text has 0"},
		{"short", text[:20], CardLength, 0, 0, "this text has 18"},
		{"long", text + "x", CardLength, 0, 0, "this text has 31"},
		{"only dashes", "- - -", CardLength, 0, 0, "this text has 0"},
		{"zero", "0" + text[1:], CardBadChar, 1, 1, "character 1 is not used on cards (cards never contain 0, O, I or l)"},
		{"letter O", text[:10] + "O" + text[11:], CardBadChar, 2, 10, "character 10 is not used on cards"},
		{"accent", text[:7] + "é" + text[8:], CardBadChar, 2, 7, "character 7 is not used on cards"},
		{"invalid UTF-8", text[:7] + "\xff" + text[8:], CardBadChar, 2, 7, "character 7 is not used"},
		{"length before characters", "0" + text, CardLength, 0, 0, "this text has 31"},
		{"group typo", text[:14] + "z" + text[15:], CardGroupTypo, 3, 0, "typo in group 3 (characters 13 to 18): check those 6 characters"},
		{"last group", text[:len(text)-1] + "M", CardGroupTypo, 5, 0, "typo in group 5 (characters 25 to 30)"},
		{"first group wins", "2" + text[1:len(text)-1] + "M", CardGroupTypo, 1, 0, "typo in group 1 (characters 1 to 6)"},
		{"future version", textOf([]byte{2}), CardVersion, 0, 0, "this card was made by a newer version of baluchon: update it"},
		{"version 0", textOf([]byte{0}), CardChecksum, 0, 0, "card text does not check out: compare every group with the card again"},
		{"check byte", textOf(payloadOf(cardOf(t, "000102030405060708090a0b0c0d0e0f"), 1)), CardChecksum, 0, 0, "does not check out"},
		{"over 18 bytes", textOfDigits(strings.Repeat("z", cardDigits)), CardChecksum, 0, 0, "does not check out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCard(tc.text)
			cte, ok := errors.AsType[*CardTextError](err)
			if !ok || cte.Kind != tc.kind || cte.Group != tc.group || cte.Char != tc.char {
				t.Fatalf("got %#v, want kind %d group %d char %d", err, tc.kind, tc.group, tc.char)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q does not say %q", err, tc.msg)
			}
			assertNoCardText(t, err.Error(), text)
			assertNoCardText(t, err.Error(), tc.text)
		})
	}
}

// assertNoCardText fails if msg holds any 4 consecutive characters of a
// group of text (age's TestParseErrorsDoNotIncludeLine).
func assertNoCardText(t *testing.T, msg, text string) {
	t.Helper()
	for _, g := range strings.FieldsFunc(text, isCardSeparator) {
		r := []rune(g)
		for i := 0; i+4 <= len(r); i++ {
			if strings.Contains(msg, string(r[i:i+4])) {
				t.Fatalf("error %q contains part of the card text", msg)
			}
		}
	}
}

func isKind(err error, k CardErrorKind) bool {
	cte, ok := errors.AsType[*CardTextError](err)
	return ok && cte.Kind == k
}

// payloadOf returns the payload of c with its check byte xor-ed with x.
func payloadOf(c *Card, x byte) []byte {
	p := append([]byte{cardVersion}, c.secret[:]...)
	return append(p, checkByte(c.secret[:])^x)
}

// textOf writes a payload (right-padded with zeros to 18 bytes) as card
// text with valid group checks.
func textOf(payload []byte) string {
	p := make([]byte, cardPayload)
	copy(p, payload)
	digits := strings.Repeat("1", cardDigits) + base58.Encode(p)
	return textOfDigits(digits[len(digits)-cardDigits:])
}

// textOfDigits adds the group check characters to 25 digits.
func textOfDigits(digits string) string {
	d := []rune(digits)
	var b strings.Builder
	for g := range cardGroups {
		if g > 0 {
			b.WriteByte('-')
		}
		data := d[g*cardGroupData : (g+1)*cardGroupData]
		b.WriteString(string(data))
		b.WriteRune(groupCheck(g, data))
	}
	return b.String()
}

func TestCardErrorMessages(t *testing.T) {
	// Every kind has its own message, even with fields left at zero (as
	// callers build them).
	seen := map[string]bool{}
	for _, k := range []CardErrorKind{CardLength, CardBadChar, CardGroupTypo, CardChecksum, CardVersion} {
		msg := (&CardTextError{Kind: k, Group: 2, Char: 8, Len: 27}).Error()
		if seen[msg] || msg == "" || msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
			t.Errorf("kind %d: message %q", k, msg)
		}
		seen[msg] = true
	}
	if got := (&CardTextError{Kind: CardLength, Len: 27}).Error(); got != "a card has 30 characters in 5 groups of 6; this text has 27" {
		t.Errorf("length message %q", got)
	}
	if got := (&CardTextError{Kind: CardBadChar, Group: 2, Char: 8}).Error(); got != "character 8 is not used on cards (cards never contain 0, O, I or l)" {
		t.Errorf("character message %q", got)
	}
}

func TestDerivations(t *testing.T) {
	a, b := mustCard(t), mustCard(t)
	if a.LookupID() != a.LookupID() || a.envelopePassphrase() != a.envelopePassphrase() {
		t.Fatal("derivation is not deterministic")
	}
	if a.LookupID() == b.LookupID() || a.envelopePassphrase() == b.envelopePassphrase() {
		t.Fatal("two cards derive the same keys")
	}
	if bytes.Equal(a.derive("lookup"), a.derive("envelope")) {
		t.Fatal("lookup and envelope keys are the same")
	}
	lookups := map[LookupID]bool{}
	for _, c := range seededCards(t, 1000, 4) {
		lookups[c.LookupID()] = true
	}
	if len(lookups) != 1000 {
		t.Fatalf("1000 cards gave %d lookup ids", len(lookups))
	}
	// A seeded card is reproducible.
	seed := bytes.Repeat([]byte{7}, SecretSize)
	c1, _ := NewCard(bytes.NewReader(seed))
	c2, _ := NewCard(bytes.NewReader(seed))
	if c1.String() != c2.String() {
		t.Fatal("same seed, different cards")
	}
	if _, err := NewCard(bytes.NewReader(make([]byte, SecretSize-1))); err == nil {
		t.Fatal("a card from a short random source")
	}
}

func TestParseKeyText(t *testing.T) {
	a := mustCard(t).LookupID()
	id, err := ParseLookupID(a.String())
	if err != nil || id != a {
		t.Fatalf("lookup id round trip: %v", err)
	}
	var zero LookupID
	if id, err := ParseLookupID(zero.String()); err != nil || id != zero {
		t.Fatalf("all-zero lookup id %q: %v", zero.String(), err)
	}
	for _, s := range []string{"", "abc", "0OIl", "1" + a.String(), a.String()[:len(a.String())-5], " " + a.String(), strings.Repeat("z", 44)} {
		if _, err := ParseLookupID(s); err == nil {
			t.Errorf("accepted lookup id %q", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q quotes its input", err)
		}
		if _, err := ParseVaultID(s); err == nil {
			t.Errorf("accepted vault id %q", s)
		}
	}
}
