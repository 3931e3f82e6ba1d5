package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
)

// errMalformed is the one error of a record that does not decode: a
// position or a field name, never the bytes.
func errMalformed(what string) error { return fmt.Errorf("malformed %s", what) }

// reader walks an encoded record.
type reader struct {
	b    []byte
	what string
	err  error
}

func (r *reader) fail(field string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errMalformed(r.what), field)
	}
}

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

// cid reads a length-prefixed CIDv1.
func (r *reader) cid(field string) cid.Cid {
	n := r.uvarint(field)
	if r.err != nil {
		return cid.Undef
	}
	if n > 128 {
		r.fail(field)
		return cid.Undef
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

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

func appendCID(dst []byte, c cid.Cid) []byte {
	b := c.Bytes()
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errBadSignature = errors.New("signature does not verify")

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }
func appendVarint(dst []byte, v int64) []byte   { return binary.AppendVarint(dst, v) }
