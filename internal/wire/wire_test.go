package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// TestRoundTrip reads back what the Append functions write.
func TestRoundTrip(t *testing.T) {
	b := AppendBytes(nil, []byte("carte"))
	b = AppendUvarint(b, 300)
	b = append(b, 7)
	d := NewDecoder(b)
	if got := d.Bytes(5); string(got) != "carte" {
		t.Errorf("Bytes: %q", got)
	}
	if n := d.Count(300); n != 300 {
		t.Errorf("Count: %d", n)
	}
	if c := d.Byte(); c != 7 {
		t.Errorf("Byte: %d", c)
	}
	if err := d.End(); err != nil {
		t.Fatal(err)
	}
}

// TestVarintRoundTrip reads back signed varints as binary.AppendVarint
// writes them, the extremes included.
func TestVarintRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 300, -300, math.MaxInt64, math.MinInt64} {
		d := NewDecoder(binary.AppendVarint(nil, v))
		if got := d.Varint(); got != v || d.End() != nil {
			t.Errorf("Varint of %d: %d, %v", v, got, d.End())
		}
	}
}

// TestRefusals: each malformed body gives its error, the first one
// sticks, and later reads give zero values.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		read func(d *Decoder)
		want error
	}{
		{"truncated fixed", []byte{1, 2}, func(d *Decoder) { d.Fixed(3) }, ErrTruncated},
		{"truncated varint", []byte{0x80}, func(d *Decoder) { d.Uvarint() }, ErrTruncated},
		{"uvarint not shortest", []byte{0x81, 0x00}, func(d *Decoder) { d.Uvarint() }, ErrNotShortest},
		{"varint not shortest", []byte{0x80, 0x00}, func(d *Decoder) { d.Varint() }, ErrNotShortest},
		{"trailing", []byte{1, 2}, func(d *Decoder) { d.Byte() }, ErrTrailing},
		{"empty", nil, func(d *Decoder) { d.Byte() }, ErrTruncated},
	} {
		d := NewDecoder(tc.body)
		tc.read(&d)
		if err := d.End(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if d.Byte() != 0 || d.Fixed(1) != nil || d.Bytes(10) != nil {
			t.Errorf("%s: a read after the error gave a value", tc.name)
		}
	}
	// A length over the caller's bound is refused before anything is read.
	d := NewDecoder(append(AppendUvarint(nil, 1<<30), 1))
	if b := d.Bytes(16); b != nil || d.Err() == nil {
		t.Fatalf("a 1 GiB field was not refused: %v", d.Err())
	}
	d = NewDecoder(AppendUvarint(nil, 17))
	if n := d.Count(16); n != 0 || d.Err() == nil {
		t.Fatalf("a list over its bound was not refused: %v", d.Err())
	}
	// A field is a slice of the body, bounded so that appending to it
	// cannot write over what follows.
	body := AppendBytes(nil, []byte("ab"))
	body = append(body, 'c')
	d = NewDecoder(body)
	f := d.Bytes(2)
	_ = append(f, 'X')
	if !bytes.Equal(d.Rest(), []byte("c")) {
		t.Fatalf("appending to a field changed the body: %q", d.Rest())
	}
}
