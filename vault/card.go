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

// NewCard makes a card with a fresh secret from rand (crypto/rand if nil).
func NewCard(rand_ io.Reader) (*Card, error) {
	if rand_ == nil {
		rand_ = rand.Reader
	}
	c := &Card{}
	if _, err := io.ReadFull(rand_, c.secret[:]); err != nil {
		return nil, fmt.Errorf("make card secret: %w", err)
	}
	return c, nil
}

// Card text layout.
const (
	cardVersion    = 1
	cardPayload    = 1 + SecretSize + 1 // version ‖ secret ‖ check byte
	cardDataChars  = 25                 // base58 digits of the payload
	cardGroups     = 5
	cardGroupData  = 5
	cardGroupChars = cardGroupData + 1 // data characters + check character
	// CardChars is the number of characters of a card text, dashes aside.
	CardChars = cardGroups * cardGroupChars
)

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var groupWeights = [cardGroupData]int{1, 3, 5, 7, 9}

func alphabetIndex(c byte) int { return strings.IndexByte(alphabet, c) }

// groupCheck is the check character of group g (0-based) of data chars.
func groupCheck(g int, data string) byte {
	sum := 7 * g
	for i := range cardGroupData {
		sum += groupWeights[i] * alphabetIndex(data[i])
	}
	return alphabet[sum%len(alphabet)]
}

func checkByte(secret []byte) byte {
	h := sha256.New()
	h.Write([]byte("baluchon card v1"))
	h.Write([]byte{cardVersion})
	h.Write(secret)
	return h.Sum(nil)[0]
}

// String returns the card text: 5 groups of 6 characters, joined by dashes.
// Each group is 5 base58 digits and a check character, so that a typo is
// found in its group.
func (c *Card) String() string {
	payload := make([]byte, 0, cardPayload)
	payload = append(payload, cardVersion)
	payload = append(payload, c.secret[:]...)
	payload = append(payload, checkByte(c.secret[:]))
	digits := base58.Encode(payload)
	digits = strings.Repeat("1", cardDataChars-len(digits)) + digits
	var b strings.Builder
	for g := range cardGroups {
		if g > 0 {
			b.WriteByte('-')
		}
		data := digits[g*cardGroupData : (g+1)*cardGroupData]
		b.WriteString(data)
		b.WriteByte(groupCheck(g, data))
	}
	return b.String()
}

// CardErrorKind says what is wrong with a card text.
type CardErrorKind int

// Kinds of card text errors.
const (
	CardLength    CardErrorKind = iota // not 30 characters
	CardBadChar                        // a character that cards never use
	CardGroupTypo                      // a group whose check character does not match
	CardVersion                        // a card of a newer version
	CardChecksum                       // every group checks, the whole does not
)

// CardTextError is a mistake in a card text. It says where, never what the
// text is.
type CardTextError struct {
	Group int // 1-based; 0 if not about one group
	Char  int // 1-based position among the card characters; 0 if none
	Len   int // characters found, for CardLength
	Kind  CardErrorKind
}

func (e *CardTextError) Error() string {
	switch e.Kind {
	case CardLength:
		return fmt.Sprintf("a card has %d characters in %d groups of %d; this text has %d", CardChars, cardGroups, cardGroupChars, e.Len)
	case CardBadChar:
		return fmt.Sprintf("character %d (group %d) is not used on cards (cards never contain 0, O, I or l)", e.Char, e.Group)
	case CardGroupTypo:
		first := (e.Group-1)*cardGroupChars + 1
		return fmt.Sprintf("typo in group %d (characters %d to %d): check those %d characters", e.Group, first, first+cardGroupChars-1, cardGroupChars)
	case CardVersion:
		return "this card was made by a newer version of baluchon: update it"
	}
	return "card text does not check out: compare every group with the card again"
}

// ParseCard reads a card text. Dashes and white space are ignored. A
// mistake is reported as a *CardTextError that says where it is.
func ParseCard(text string) (*Card, error) {
	chars := make([]byte, 0, CardChars)
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '-', ' ', '\t', '\n', '\r':
		default:
			chars = append(chars, c)
		}
	}
	if len(chars) != CardChars {
		return nil, &CardTextError{Kind: CardLength, Len: len(chars)}
	}
	for i, c := range chars {
		if alphabetIndex(c) < 0 {
			return nil, &CardTextError{Kind: CardBadChar, Char: i + 1, Group: i/cardGroupChars + 1}
		}
	}
	digits := make([]byte, 0, cardDataChars)
	for g := range cardGroups {
		grp := chars[g*cardGroupChars : (g+1)*cardGroupChars]
		if groupCheck(g, string(grp[:cardGroupData])) != grp[cardGroupData] {
			return nil, &CardTextError{Kind: CardGroupTypo, Group: g + 1}
		}
		digits = append(digits, grp[:cardGroupData]...)
	}
	payload, err := base58.Decode(string(digits))
	if err != nil {
		return nil, &CardTextError{Kind: CardChecksum}
	}
	// mr-tron/base58 turns each leading '1' into a zero byte: the payload
	// is the last cardPayload bytes, and what comes before must be zero.
	if len(payload) < cardPayload {
		payload = append(make([]byte, cardPayload-len(payload)), payload...)
	}
	for _, b := range payload[:len(payload)-cardPayload] {
		if b != 0 {
			return nil, &CardTextError{Kind: CardChecksum}
		}
	}
	payload = payload[len(payload)-cardPayload:]
	if payload[0] != cardVersion {
		if payload[0] > cardVersion {
			return nil, &CardTextError{Kind: CardVersion}
		}
		return nil, &CardTextError{Kind: CardChecksum}
	}
	c := &Card{}
	copy(c.secret[:], payload[1:1+SecretSize])
	if checkByte(c.secret[:]) != payload[cardPayload-1] {
		return nil, &CardTextError{Kind: CardChecksum}
	}
	return c, nil
}

// derive returns an HKDF-SHA-256 key of the card secret for one purpose.
func (c *Card) derive(info string) []byte {
	k, err := hkdf.Key(sha256.New, c.secret[:], []byte("baluchon card v1"), info, 32)
	if err != nil {
		panic("vault: hkdf: " + err.Error()) // only on a length over 255*32
	}
	return k
}

func (c *Card) lookupKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(c.derive("lookup"))
}

func (c *Card) envelopePassphrase() string {
	return base64.RawURLEncoding.EncodeToString(c.derive("envelope"))
}

// LookupID is the public name of a card: the Ed25519 public key derived
// from its secret. Nodes find a card's envelope by it, and it verifies the
// card's pointer.
type LookupID [ed25519.PublicKeySize]byte

// LookupID returns the card's lookup id.
func (c *Card) LookupID() LookupID {
	var id LookupID
	copy(id[:], c.lookupKey().Public().(ed25519.PublicKey))
	return id
}

func (l LookupID) String() string { return base58.Encode(l[:]) }

// ParseLookupID parses the base58 form of a lookup id.
func ParseLookupID(s string) (LookupID, error) {
	var id LookupID
	return id, parseKey32(s, id[:], "card lookup id")
}

func parseKey32(s string, dst []byte, what string) error {
	b, err := base58.Decode(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%s is not %d bytes in base58", what, len(dst))
	}
	copy(dst, b)
	return nil
}

// SignPointer returns the pointer from this card to its envelope, signed
// by the card's lookup key.
func (c *Card) SignPointer(envelope cid.Cid, t time.Time) *Pointer {
	p := &Pointer{Lookup: c.LookupID(), Envelope: envelope, Time: t.UTC()}
	p.Sig = ed25519.Sign(c.lookupKey(), append([]byte(pointerSigContext), p.unsigned()...))
	return p
}
