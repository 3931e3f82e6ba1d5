package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ipfs/go-cid"
)

// maxCIDSize bounds one CID in a head or pointer. A CIDv1 with a SHA-256
// multihash takes 36 bytes.
const maxCIDSize = 128

// errBadSignature is the error of a well-formed record whose signature
// does not verify.
var errBadSignature = errors.New("signature does not verify")

// reader walks a binary record (head or pointer). The first problem
// stops it; its error names the record and the field, never the bytes.
type reader struct {
	b    []byte
	what string // "head" or "pointer"
	err  error
}

func (r *reader) fail(field string) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed %s: %s", r.what, field)
	}
}

// fixed reads n bytes.
func (r *reader) fixed(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail(field)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// uvarint reads an unsigned varint in its shortest form.
func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		r.fail(field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a signed (zig-zag) varint in its shortest form.
func (r *reader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, v)) {
		r.fail(field)
		return 0
	}
	r.b = r.b[n:]
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
	if r.err == nil && len(r.b) != 0 {
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
