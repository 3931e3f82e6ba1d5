package vault

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// MaxPointerSize bounds an encoded pointer.
const MaxPointerSize = 1024

const (
	pointerMagic      = "BLCNPT1\n"
	pointerSigContext = "baluchon pointer v1\x00"
)

// Pointer leads from a card lookup id to the card's envelope. It is
// signed by the card's lookup key, so any node can check it without the
// card, and no node can point a card elsewhere. Card.SignPointer makes
// one.
type Pointer struct {
	Lookup   LookupID
	Envelope cid.Cid   // CIDv1 of the envelope block
	Time     time.Time // UTC, to the nanosecond
	Sig      []byte    // Ed25519 signature by the card's lookup key
}

// unsigned encodes everything but the signature.
func (p *Pointer) unsigned() []byte {
	b := make([]byte, 0, 128)
	b = append(b, pointerMagic...)
	b = append(b, p.Lookup[:]...)
	b = appendTime(b, p.Time)
	return appendCID(b, p.Envelope)
}

// signed returns the message the signature is over.
func (p *Pointer) signed() []byte { return append([]byte(pointerSigContext), p.unsigned()...) }

// Marshal encodes the pointer; see the package documentation.
func (p *Pointer) Marshal() []byte { return append(p.unsigned(), p.Sig...) }

// ParsePointer decodes a pointer and verifies its signature. It accepts
// only the bytes Marshal writes.
func ParsePointer(b []byte) (*Pointer, error) {
	if len(b) > MaxPointerSize {
		return nil, fmt.Errorf("pointer of %d bytes is over the limit of %d", len(b), MaxPointerSize)
	}
	r := newReader(b, "pointer")
	if string(r.fixed(len(pointerMagic), "magic")) != pointerMagic {
		r.fail("magic")
	}
	p := &Pointer{}
	copy(p.Lookup[:], r.fixed(len(p.Lookup), "lookup id"))
	p.Time = r.time("time")
	p.Envelope = r.cid("envelope")
	p.Sig = append([]byte(nil), r.fixed(ed25519.SignatureSize, "signature")...)
	if err := r.done(); err != nil {
		return nil, err
	}
	if !ed25519.Verify(ed25519.PublicKey(p.Lookup[:]), p.signed(), p.Sig) {
		return nil, fmt.Errorf("pointer: %w", errBadSignature)
	}
	return p, nil
}
