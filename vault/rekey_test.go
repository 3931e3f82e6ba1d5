package vault

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestRekeyHeader: a document re-keyed by a new header over its unchanged
// payload opens with the new identity only.
func TestRekeyHeader(t *testing.T) {
	old, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("attestation "), 20000)
	var file bytes.Buffer
	w, err := old.EncryptDocument(&file)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	br := bufio.NewReader(bytes.NewReader(file.Bytes()))
	hdr, err := ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	if !IsHeader(hdr) || IsHeader(file.Bytes()[:len(hdr)+1]) {
		t.Fatal("IsHeader does not tell a header from more")
	}
	payload := file.Bytes()[len(hdr):]
	nh, err := old.RekeyHeader(hdr, fresh.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	r, err := fresh.DecryptDocument(io.MultiReader(bytes.NewReader(nh), bytes.NewReader(payload)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("re-keyed document reads %d bytes (%v)", len(got), err)
	}
	if _, err := old.DecryptDocument(io.MultiReader(bytes.NewReader(nh), bytes.NewReader(payload))); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("old keys on the re-keyed document: %v", err)
	}
	if _, err := fresh.RekeyHeader(hdr, old.Recipient()); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("re-key with keys that do not open the header: %v", err)
	}
}

// FuzzRekeyHeader: any first leaf of a document, as a peer may send it:
// IsHeader and RekeyHeader never panic, and a header they accept is one
// that age reads back.
func FuzzRekeyHeader(f *testing.F) {
	keys, err := NewKeys()
	if err != nil {
		f.Fatal(err)
	}
	var file bytes.Buffer
	w, _ := keys.EncryptDocument(&file)
	w.Write([]byte("x"))
	w.Close()
	hdr, _ := ReadHeader(bufio.NewReader(bytes.NewReader(file.Bytes())))
	f.Add(hdr)
	f.Add(file.Bytes())
	f.Add([]byte("age-encryption.org/v1\n--- \n"))
	to, _ := NewKeys()
	f.Fuzz(func(t *testing.T, b []byte) {
		if !IsHeader(b) {
			return
		}
		nh, err := keys.RekeyHeader(b, to.Recipient())
		if err != nil {
			return
		}
		if !IsHeader(nh) {
			t.Fatal("a re-keyed header is not a header")
		}
	})
}
