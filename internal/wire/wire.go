// Package wire is the one binary codec of baluchon's signed records
// (vault heads and pointers) and protocol messages (package proto): byte
// strings and lists prefixed by their length as an unsigned varint,
// numbers as varints in their shortest form, fixed-size fields as they
// are. A Decoder reads a body field by field; its first problem stops it
// and is kept, so that a caller checks once, at the end. Every length is
// bounded by the caller before anything is allocated for it, and a field
// is a slice of the body, never a copy.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of a body that does not have the shape its format fixes.
var (
	ErrTruncated   = errors.New("message ends early")
	ErrTrailing    = errors.New("message has trailing bytes")
	ErrNotShortest = errors.New("number is not in its shortest form")
)

// Decoder reads a body. The zero value reads nothing.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a Decoder of b.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

// Err returns the first problem met, if any.
func (d *Decoder) Err() error { return d.err }

// Fail records err as the decoder's problem, unless it has one already.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Rest returns the bytes not read yet.
func (d *Decoder) Rest() []byte { return d.b }

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.Fail(ErrTruncated)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Fixed reads n bytes.
func (d *Decoder) Fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.Fail(ErrTruncated)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

// Uvarint reads an unsigned varint in its shortest form.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail(ErrTruncated)
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		d.Fail(ErrNotShortest)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed (zig-zag) varint in its shortest form: the
// unsigned varint of its zig-zag encoding, as binary.AppendVarint writes.
func (d *Decoder) Varint() int64 {
	ux := d.Uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// Bytes reads a length-prefixed byte string of at most max bytes.
func (d *Decoder) Bytes(max int) []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.Fail(fmt.Errorf("field of %d bytes is over the limit of %d", n, max))
		return nil
	}
	return d.Fixed(int(n))
}

// Count reads a list length of at most max items.
func (d *Decoder) Count(max int) int {
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.Fail(fmt.Errorf("list of %d items is over the limit of %d", n, max))
		return 0
	}
	return int(n)
}

// End returns the first problem, or ErrTrailing if bytes are left.
func (d *Decoder) End() error {
	if d.err == nil && len(d.b) != 0 {
		d.Fail(ErrTrailing)
	}
	return d.err
}

// AppendBytes appends b prefixed by its length.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendUvarint appends n as an unsigned varint.
func AppendUvarint(dst []byte, n int) []byte {
	return binary.AppendUvarint(dst, uint64(n))
}
