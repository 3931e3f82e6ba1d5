package proto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// errTruncated and errTrailing report a body that does not have the shape
// its protocol fixes.
var (
	errTruncated = errors.New("message ends early")
	errTrailing  = errors.New("message has trailing bytes")
)

// growStep is the smallest step by which a message buffer grows.
const growStep = 16 << 10

// readMsg reads one length-prefixed message of at most limit bytes. A
// message over the limit is refused before any of its body is read. The
// buffer grows as bytes arrive (at least growStep, at most doubling), so a
// peer that declares a large message and sends little makes this node hold
// little. When reserve is not nil it is asked for each growth first, and
// the read fails when it refuses.
func readMsg(r *bufio.Reader, limit int, reserve func(n int) error) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read message: %w", io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("read message length: %w", err)
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("message of %d bytes is over the limit of %d", n, limit)
	}
	size := int(n)
	var buf []byte
	for len(buf) < size {
		if len(buf) == cap(buf) {
			grow := min(size-len(buf), max(cap(buf), growStep))
			if reserve != nil {
				if err := reserve(grow); err != nil {
					return nil, fmt.Errorf("reserve memory for a message of %d bytes: %w", size, err)
				}
			}
			next := make([]byte, len(buf), len(buf)+grow)
			copy(next, buf)
			buf = next
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < size {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read message: %w", err)
		}
	}
	if buf == nil {
		buf = []byte{}
	}
	return buf, nil
}

// writeMsg writes body with its length prefix.
func writeMsg(w io.Writer, body []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen64), uint64(len(body)))
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

// decoder walks a message body. The first error sticks; later reads return
// zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(errTruncated)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(errTruncated)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errTruncated)
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		d.fail(errors.New("number is not in its shortest form"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a length-prefixed byte string of at most max bytes.
func (d *decoder) bytes(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(fmt.Errorf("field of %d bytes is over the limit of %d", n, max))
		return nil
	}
	return d.fixed(int(n))
}

// count reads a list length of at most max items.
func (d *decoder) count(max int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.fail(fmt.Errorf("list of %d items is over the limit of %d", n, max))
		return 0
	}
	return int(n)
}

// end reports the first error, or trailing bytes.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(errTrailing)
	}
	return d.err
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendUvarint(dst []byte, n int) []byte {
	return binary.AppendUvarint(dst, uint64(n))
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || n != len(binary.AppendVarint(nil, v)) {
		d.fail(errTruncated)
		return 0
	}
	d.b = d.b[n:]
	return v
}
