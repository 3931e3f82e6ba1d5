package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"filippo.io/age"
)

// sealJSON encrypts the JSON of v to recipients as an age file.
func sealJSON(v any, recipients ...age.Recipient) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := encryptTo(&buf, plain, recipients...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encryptTo writes plain to dst as an age file encrypted to recipients.
func encryptTo(dst io.Writer, plain []byte, recipients ...age.Recipient) error {
	w, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return err
	}
	if _, err := w.Write(plain); err != nil {
		return err
	}
	return w.Close()
}

// openJSON decrypts an age file of at most max plaintext bytes and decodes
// its JSON into v with decodeJSON's strictness.
func openJSON(what string, data []byte, max int, v any, ids ...age.Identity) error {
	r, err := age.Decrypt(bytes.NewReader(data), ids...)
	if err != nil {
		return ageError("open "+what, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	if len(plain) > max {
		return fmt.Errorf("open %s: over the size limit", what)
	}
	if err := decodeJSON(plain, v); err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	return nil
}
