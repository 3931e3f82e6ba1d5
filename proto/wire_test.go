package proto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// TestReadMsgGrowsAsBytesArrive: a declared length is not memory. A peer
// that declares 16 MiB and sends 100 bytes makes the reader reserve (and
// allocate) one growth step; a whole message is read exactly, and reserved
// in full; a refused reservation ends the read.
func TestReadMsgGrowsAsBytesArrive(t *testing.T) {
	msg := func(declared int, body []byte) *bufio.Reader {
		b := binary.AppendUvarint(nil, uint64(declared))
		return bufio.NewReader(bytes.NewReader(append(b, body...)))
	}
	cases := []struct {
		name     string
		declared int
		sent     int
		refuseAt int // reservation total over which reserve fails (0: never)
		wantErr  bool
		maxHeld  int
	}{
		{"declares 16 MiB, sends 100 bytes", 16 << 20, 100, 0, true, growStep},
		{"declares 16 MiB, sends 100 KiB", 16 << 20, 100 << 10, 0, true, 256 << 10},
		{"whole message of 1 MiB", 1 << 20, 1 << 20, 0, false, 1 << 20},
		{"empty message", 0, 0, 0, false, 0},
		{"reservation refused", 1 << 20, 1 << 20, 64 << 10, true, 64 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte{7}, tc.sent)
			held := 0
			reserve := func(n int) error {
				if tc.refuseAt > 0 && held+n > tc.refuseAt {
					return errors.New("over the limit")
				}
				held += n
				return nil
			}
			got, err := readMsg(msg(tc.declared, body), 32<<20, reserve)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if held > tc.maxHeld {
				t.Errorf("reserved %d bytes, want at most %d", held, tc.maxHeld)
			}
			if err == nil {
				if !bytes.Equal(got, body) || got == nil {
					t.Errorf("read %d bytes, want the %d sent", len(got), len(body))
				}
				if held != len(body) {
					t.Errorf("reserved %d bytes for a message of %d", held, len(body))
				}
			} else if tc.refuseAt == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want unexpected EOF", err)
			}
		})
	}
	if _, err := readMsg(msg(2<<20, nil), 1<<20, func(int) error {
		t.Fatal("memory reserved for a message over the limit")
		return nil
	}); err == nil {
		t.Fatal("message over the limit read")
	}
}

// FuzzReadMsg: whatever a peer sends, the reader returns a message of at
// most the limit, exactly as framed, and reserves at most twice what it
// was sent plus one growth step.
func FuzzReadMsg(f *testing.F) {
	f.Add(binary.AppendUvarint(nil, 3), 16)
	f.Add(append(binary.AppendUvarint(nil, 3), 1, 2, 3), 16)
	f.Add(binary.AppendUvarint(nil, 16<<20), 32<<20)
	f.Add(append(binary.AppendUvarint(nil, 40000), make([]byte, 40000)...), 1<<20)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		if limit < 0 || limit > 64<<20 {
			return
		}
		held := 0
		got, err := readMsg(bufio.NewReader(bytes.NewReader(in)), limit, func(n int) error {
			held += n
			return nil
		})
		if held > 2*len(in)+growStep {
			t.Fatalf("reserved %d bytes for %d bytes sent", held, len(in))
		}
		if err != nil {
			return
		}
		n, k := binary.Uvarint(in)
		if k <= 0 || int(n) != len(got) || len(got) > limit || !bytes.Equal(got, in[k:k+len(got)]) {
			t.Fatalf("read %d bytes that are not the framed message", len(got))
		}
	})
}
