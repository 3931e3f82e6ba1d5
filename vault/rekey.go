package vault

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
)

// Re-keying a document without re-encrypting it. An age file is a header
// (the file key wrapped to each recipient, then a MAC keyed by the file
// key) followed by the payload: a 16-byte nonce and the STREAM chunks,
// encrypted under HKDF(file key, nonce). The payload depends on the file
// key only, so a new header that wraps the same file key to a new
// recipient makes the same payload readable by the new identity and by no
// other: a key rotation writes one small header per document and reuses
// every payload block. Node stores a document's header as the first leaf
// of its DAG for that reason.

// MaxHeaderSize bounds the header of a document age file (a hybrid
// post-quantum stanza takes about 1.6 kB).
const MaxHeaderSize = 64 << 10

const ageIntro = "age-encryption.org/v1\n"

// ReadHeader reads the header of an age file from r: exactly the bytes up
// to and including the line of its MAC, so that r is left at the payload.
func ReadHeader(r *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, errors.New("read document header: a line is too long")
		}
		if err != nil {
			return nil, fmt.Errorf("read document header: %w", err)
		}
		if len(hdr) == 0 && string(line) != ageIntro {
			return nil, errors.New("read document header: not an age file")
		}
		hdr = append(hdr, line...)
		if len(hdr) > MaxHeaderSize {
			return nil, errors.New("read document header: over its size limit")
		}
		// Stanza bodies are base64 (no '-'), stanza lines start "->":
		// the first line that starts "---" is the MAC line.
		if bytes.HasPrefix(line, []byte("--- ")) {
			return hdr, nil
		}
	}
}

// IsHeader reports whether b is exactly one age header and nothing more.
func IsHeader(b []byte) bool {
	if len(b) > MaxHeaderSize || !bytes.HasPrefix(b, []byte(ageIntro)) {
		return false
	}
	h, err := ReadHeader(bufio.NewReaderSize(bytes.NewReader(b), 4096))
	return err == nil && len(h) == len(b)
}

// RekeyHeader opens the header of a document encrypted to these keys and
// returns a header that wraps the same file key to another recipient: with
// the document's unchanged payload, a standard age file that only the
// identity of to decrypts. A header these keys do not open gives an error
// wrapping ErrWrongKeys.
func (k *Keys) RekeyHeader(header []byte, to age.Recipient) ([]byte, error) {
	fileKey, err := age.DecryptHeader(header, k.content)
	if err != nil {
		return nil, ageError("open document header", err)
	}
	stanzas, err := to.Wrap(fileKey)
	if err != nil {
		return nil, fmt.Errorf("wrap file key: %w", err)
	}
	// The header as the age specification (age-encryption.org/v1) writes
	// it: intro, stanzas (arguments on the first line, body in base64
	// lines of 64 columns, the last one shorter, possibly empty), then
	// "---" and the MAC, HMAC-SHA-256 keyed by HKDF(file key, "header")
	// over everything before the space that precedes it.
	var buf bytes.Buffer
	buf.WriteString(ageIntro)
	for _, s := range stanzas {
		line := "-> " + s.Type
		for _, a := range s.Args {
			line += " " + a
		}
		if strings.ContainsAny(line, "\n\r") {
			return nil, errors.New("wrap file key: malformed stanza")
		}
		buf.WriteString(line + "\n")
		body := base64.RawStdEncoding.EncodeToString(s.Body)
		for len(body) >= 64 {
			buf.WriteString(body[:64] + "\n")
			body = body[64:]
		}
		buf.WriteString(body + "\n")
	}
	buf.WriteString("---")
	macKey, err := hkdf.Key(sha256.New, fileKey, nil, "header", 32)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, macKey)
	mac.Write(buf.Bytes())
	buf.WriteString(" " + base64.RawStdEncoding.EncodeToString(mac.Sum(nil)) + "\n")
	// Check it as a reader will.
	if _, err := age.DecryptHeader(buf.Bytes(), age.NewInjectedFileKeyIdentity(bytes.Clone(fileKey))); err != nil {
		return nil, fmt.Errorf("new document header: %w", err)
	}
	return buf.Bytes(), nil
}
