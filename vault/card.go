package vault

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/ipfs/go-cid"
	"github.com/mr-tron/base58"
)

// SecretSize is the size of a card secret: 128 bits.
const SecretSize = 16

// Card is what a beneficiary carries: a random secret, printed as text and
// as a QR code. Everything else is derived from it or found through it.
type Card struct {
	secret [SecretSize]byte
}

// NewCard makes a card with a fresh secret read from random (crypto/rand
// if nil).
func NewCard(random io.Reader) (*Card, error) {
	if random == nil {
		random = rand.Reader
	}
	c := &Card{}
	if _, err := io.ReadFull(random, c.secret[:]); err != nil {
		return nil, fmt.Errorf("make card secret: %w", err)
	}
	return c, nil
}

// Card text layout; see the package documentation.
const (
	cardSalt       = "baluchon card v1"          // check byte and HKDF salt
	cardVersion    = 1                           // first payload byte
	cardPayload    = 1 + SecretSize + 1          // version ‖ secret ‖ check byte
	cardDigits     = 25                          // base58 digits of the payload
	cardGroups     = 5                           // groups of the printed text
	cardGroupData  = 5                           // payload digits per group
	cardGroupChars = cardGroupData + 1           // … and one check character
	cardChars      = cardGroups * cardGroupChars // 30
)

// alphabet is the base58 alphabet of github.com/mr-tron/base58 (Bitcoin's):
// no 0, O, I or l.
const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// alphabetIndex returns the value of a base58 digit, or -1.
func alphabetIndex(r rune) int {
	if r >= 0x80 {
		return -1
	}
	return strings.IndexByte(alphabet, byte(r))
}

// groupCheck returns the check character of group g (0-based) whose
// payload digits are data: alphabet[(7g + Σ (2i+1)·vᵢ) mod 58]. The
// weights 1, 3, 5, 7, 9 are odd and below 29, so coprime with 58: a single
// wrong character always changes the sum.
func groupCheck(g int, data []rune) rune {
	sum := 7 * g
	for i, r := range data[:cardGroupData] {
		sum += (2*i + 1) * alphabetIndex(r)
	}
	return rune(alphabet[sum%len(alphabet)])
}

// checkByte is the last byte of the card payload.
func checkByte(secret []byte) byte {
	h := sha256.New()
	h.Write([]byte(cardSalt))
	h.Write([]byte{cardVersion})
	h.Write(secret)
	return h.Sum(nil)[0]
}

// String returns the card text: 5 groups of 6 characters joined by dashes,
// such as "1Ab3Cd-…". Each group is 5 base58 digits of the payload and a
// check character, so that a typo is found in its group. The text is the
// card secret: whoever reads it can open the vault.
func (c *Card) String() string {
	payload := make([]byte, 0, cardPayload)
	payload = append(payload, cardVersion)
	payload = append(payload, c.secret[:]...)
	payload = append(payload, checkByte(c.secret[:]))
	digits := []rune(strings.Repeat("1", cardDigits) + base58.Encode(payload))
	digits = digits[len(digits)-cardDigits:]
	var b strings.Builder
	for g := range cardGroups {
		if g > 0 {
			b.WriteByte('-')
		}
		data := digits[g*cardGroupData : (g+1)*cardGroupData]
		b.WriteString(string(data))
		b.WriteRune(groupCheck(g, data))
	}
	return b.String()
}

// CardErrorKind says what is wrong with a card text.
type CardErrorKind int

// Kinds of card text errors, in the order ParseCard checks them.
const (
	CardLength    CardErrorKind = iota // not 30 characters
	CardBadChar                        // a character that cards never use
	CardGroupTypo                      // a group whose check character does not match
	CardChecksum                       // every group checks, the whole card does not
	CardVersion                        // a card made by a newer version of baluchon
)

// CardTextError is a mistake in a card text, in words for the person
// typing it. It says where the mistake is, never what the text is.
type CardTextError struct {
	Group int // 1-based group of the mistake; 0 if not about one group
	Char  int // 1-based position among the 30 card characters; 0 if none
	Len   int // for CardLength: how many card characters the text has
	Kind  CardErrorKind
}

func (e *CardTextError) Error() string {
	switch e.Kind {
	case CardLength:
		return fmt.Sprintf("a card has %d characters in %d groups of %d; this text has %d",
			cardChars, cardGroups, cardGroupChars, e.Len)
	case CardBadChar:
		return fmt.Sprintf("character %d is not used on cards (cards never contain 0, O, I or l)", e.Char)
	case CardGroupTypo:
		first := (e.Group-1)*cardGroupChars + 1
		return fmt.Sprintf("typo in group %d (characters %d to %d): check those %d characters",
			e.Group, first, first+cardGroupChars-1, cardGroupChars)
	case CardVersion:
		return "this card was made by a newer version of baluchon: update it"
	default:
		return "card text does not check out: compare every group with the card again"
	}
}

// isCardSeparator reports whether ParseCard skips r: white space and
// dashes (including the typographic ones word processors put in).
func isCardSeparator(r rune) bool {
	return r == '-' || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r)
}

// ParseCard reads a card text. Dashes and white space anywhere are
// ignored. A mistake is reported as a *CardTextError; checks come in this
// order: length, characters, groups, version, whole-card checksum.
func ParseCard(text string) (*Card, error) {
	chars := make([]rune, 0, cardChars)
	n := 0
	for _, r := range text {
		if isCardSeparator(r) {
			continue
		}
		if n < cardChars {
			chars = append(chars, r)
		}
		n++
	}
	if n != cardChars {
		return nil, &CardTextError{Kind: CardLength, Len: n}
	}
	for i, r := range chars {
		if alphabetIndex(r) < 0 {
			return nil, &CardTextError{Kind: CardBadChar, Group: i/cardGroupChars + 1, Char: i + 1}
		}
	}
	digits := make([]rune, 0, cardDigits)
	for g := range cardGroups {
		grp := chars[g*cardGroupChars : (g+1)*cardGroupChars]
		if groupCheck(g, grp) != grp[cardGroupData] {
			return nil, &CardTextError{Kind: CardGroupTypo, Group: g + 1}
		}
		digits = append(digits, grp[:cardGroupData]...)
	}
	checksum := &CardTextError{Kind: CardChecksum}
	num, err := base58.Decode(string(digits))
	if err != nil {
		return nil, checksum // unreachable: every digit is in the alphabet
	}
	// mr-tron/base58 turns each leading '1' into a zero byte: the payload
	// is the number on exactly cardPayload bytes, and any byte before
	// them must be zero.
	if len(num) < cardPayload {
		num = append(make([]byte, cardPayload-len(num)), num...)
	}
	extra := len(num) - cardPayload
	for _, b := range num[:extra] {
		if b != 0 {
			return nil, checksum
		}
	}
	payload := num[extra:]
	switch {
	case payload[0] > cardVersion:
		return nil, &CardTextError{Kind: CardVersion}
	case payload[0] != cardVersion:
		return nil, checksum
	}
	c := &Card{}
	copy(c.secret[:], payload[1:1+SecretSize])
	if checkByte(c.secret[:]) != payload[cardPayload-1] {
		return nil, checksum
	}
	return c, nil
}

// derive returns the 32-byte HKDF-SHA-256 key of the card secret for one
// purpose (the HKDF info).
func (c *Card) derive(info string) []byte {
	k, err := hkdf.Key(sha256.New, c.secret[:], []byte(cardSalt), info, 32)
	if err != nil {
		panic("vault: hkdf: " + err.Error()) // only for a length over 255*32
	}
	return k
}

// lookupKey is the card's Ed25519 key: it names the card and signs its
// pointer.
func (c *Card) lookupKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(c.derive("lookup"))
}

// envelopePassphrase is the age scrypt passphrase of the card's envelope.
func (c *Card) envelopePassphrase() string {
	return base64.RawURLEncoding.EncodeToString(c.derive("envelope"))
}

// LookupID is the public name of a card: the Ed25519 public key derived
// from its secret. Nodes find a card's envelope by it, and it verifies the
// card's pointer. It does not reveal the secret.
type LookupID [ed25519.PublicKeySize]byte

// LookupID returns the card's lookup id.
func (c *Card) LookupID() LookupID {
	var id LookupID
	copy(id[:], c.lookupKey().Public().(ed25519.PublicKey))
	return id
}

// String returns the lookup id in base58.
func (l LookupID) String() string { return base58.Encode(l[:]) }

// ParseLookupID parses the base58 form of a lookup id.
func ParseLookupID(s string) (LookupID, error) {
	var id LookupID
	return id, parseKey32(s, id[:], "card lookup id")
}

// parseKey32 decodes the base58 form of a 32-byte key into dst. Only the
// form String returns is accepted.
func parseKey32(s string, dst []byte, what string) error {
	b, err := base58.Decode(s)
	if err != nil || len(b) != len(dst) || base58.Encode(b) != s {
		return fmt.Errorf("parse %s: not %d bytes in base58", what, len(dst))
	}
	copy(dst, b)
	return nil
}

// SignPointer returns the pointer from this card to its envelope, signed
// by the card's lookup key. The time is kept to the nanosecond in UTC, as
// the encoding holds it; an undefined CID gives a pointer that
// ParsePointer rejects.
func (c *Card) SignPointer(envelope cid.Cid, t time.Time) *Pointer {
	p := &Pointer{Lookup: c.LookupID(), Envelope: envelope, Time: time.Unix(0, t.UnixNano()).UTC()}
	p.Sig = ed25519.Sign(c.lookupKey(), p.signed())
	return p
}
