package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ipfs/go-cid"

	"baluchon/internal/wire"
)

// maxCIDSize bounds one CID in a head or pointer. A CIDv1 with a SHA-256
// multihash takes 36 bytes.
const maxCIDSize = 128

// errBadSignature is the error of a well-formed record whose signature
// does not verify.
var errBadSignature = errors.New("signature does not verify")

// reader walks a binary record (head or pointer) with the module's one
// codec (internal/wire). The first problem stops it; its error names the
// record and the field, never the bytes.
type reader struct {
	d    wire.Decoder
	what string // "head" or "pointer"
	err  error
}

func newReader(b []byte, what string) *reader {
	return &reader{d: wire.NewDecoder(b), what: what}
}

func (r *reader) fail(field string) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed %s: %s", r.what, field)
		r.d.Fail(r.err)
	}
}

// named gives the decoder's first problem, if it is new, the field's name.
func (r *reader) named(field string) {
	if r.err == nil && r.d.Err() != nil {
		r.fail(field)
	}
}

// fixed reads n bytes.
func (r *reader) fixed(n int, field string) []byte {
	b := r.d.Fixed(n)
	r.named(field)
	return b
}

// uvarint reads an unsigned varint in its shortest form.
func (r *reader) uvarint(field string) uint64 {
	v := r.d.Uvarint()
	r.named(field)
	return v
}

// varint reads a signed (zig-zag) varint in its shortest form.
func (r *reader) varint(field string) int64 {
	v := r.d.Varint()
	r.named(field)
	return v
}

// time reads a time as a varint of Unix nanoseconds.
func (r *reader) time(field string) time.Time {
	return time.Unix(0, r.varint(field)).UTC()
}

// cid reads a length-prefixed CIDv1 in its binary form.
func (r *reader) cid(field string) cid.Cid {
	n := r.uvarint(field)
	if r.err == nil && (n == 0 || n > maxCIDSize) {
		r.fail(field)
	}
	b := r.fixed(int(n), field)
	if r.err != nil {
		return cid.Undef
	}
	c, err := cid.Cast(b)
	if err != nil || c.Version() != 1 || !bytes.Equal(c.Bytes(), b) {
		r.fail(field)
		return cid.Undef
	}
	return c
}

// done returns the first error, or an error if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && len(r.d.Rest()) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// checkCID checks that c can be written in a head or pointer.
func checkCID(c cid.Cid) bool {
	return c.Defined() && c.Version() == 1 && len(c.Bytes()) <= maxCIDSize
}

func appendCID(dst []byte, c cid.Cid) []byte {
	b := c.Bytes()
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendTime(dst []byte, t time.Time) []byte {
	return binary.AppendVarint(dst, t.UnixNano())
}

// fitsNanos reports whether t can be written as Unix nanoseconds in an
// int64: the years 1678 to 2262.
func fitsNanos(t time.Time) bool {
	return !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}
