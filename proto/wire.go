package proto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"baluchon/internal/wire"
)

// errTruncated and errTrailing report a body that does not have the shape
// its protocol fixes.
var (
	errTruncated = wire.ErrTruncated
	errTrailing  = wire.ErrTrailing
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

// decoder walks a message body (internal/wire: the first error sticks;
// later reads return zero values, so callers check it once at the end);
// proto's readers of its composite fields are methods of it.
type decoder struct{ wire.Decoder }

// newDecoder returns a decoder of b.
func newDecoder(b []byte) *decoder { return &decoder{wire.NewDecoder(b)} }

func appendBytes(dst, b []byte) []byte       { return wire.AppendBytes(dst, b) }
func appendUvarint(dst []byte, n int) []byte { return wire.AppendUvarint(dst, n) }
