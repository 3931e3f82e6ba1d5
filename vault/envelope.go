package vault

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// MaxEnvelopeSize bounds an envelope, an age file of about 500 bytes, and
// its plaintext.
const MaxEnvelopeSize = 64 << 10

// envelopeWorkFactor is the scrypt work factor (log₂ N) of envelopes. The
// card secret has 128 bits, so scrypt is here only as age's standard
// symmetric (and post-quantum) wrapping, not to slow down guessing; the
// low factor also bounds the work a hostile envelope can ask of a node.
const envelopeWorkFactor = 10

// envelopeVersion is the "v" of the envelope plaintext.
const envelopeVersion = 1

// envelopeJSON is the plaintext of an envelope.
type envelopeJSON struct {
	V       int    `json:"v"`
	Vault   string `json:"vault"`   // VaultID in base58
	Sign    string `json:"sign"`    // Ed25519 seed (32 bytes), standard base64
	Content string `json:"content"` // "AGE-SECRET-KEY-PQ-1…"
}

// SealEnvelope returns the envelope of keys for card: a binary age file
// encrypted with a passphrase derived from the card secret. Any node may
// store it; only the card opens it.
func SealEnvelope(c *Card, k *Keys) ([]byte, error) {
	r, err := age.NewScryptRecipient(c.envelopePassphrase())
	if err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	r.SetWorkFactor(envelopeWorkFactor)
	var buf bytes.Buffer
	if err := encryptTo(&buf, encodeEnvelope(k), r); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeEnvelope returns the plaintext of an envelope of k.
func encodeEnvelope(k *Keys) []byte {
	b, err := json.Marshal(envelopeJSON{
		V:       envelopeVersion,
		Vault:   k.VaultID().String(),
		Sign:    base64.StdEncoding.EncodeToString(k.signing.Seed()),
		Content: k.content.String(),
	})
	if err != nil {
		panic("vault: encode envelope: " + err.Error()) // only strings and an int
	}
	return b
}

// OpenEnvelope opens card's envelope and returns the vault keys it holds.
// A card that is not this envelope's gives an error wrapping ErrWrongKeys.
func OpenEnvelope(c *Card, data []byte) (*Keys, error) {
	if len(data) > MaxEnvelopeSize {
		return nil, fmt.Errorf("open envelope: %d bytes is over the limit of %d", len(data), MaxEnvelopeSize)
	}
	id, err := age.NewScryptIdentity(c.envelopePassphrase())
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", err)
	}
	id.SetMaxWorkFactor(envelopeWorkFactor)
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		return nil, ageError("open envelope", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxEnvelopeSize+1))
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", err)
	}
	k, err := decodeEnvelope(plain)
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", err)
	}
	return k, nil
}

// decodeEnvelope checks and decodes the plaintext of an envelope. Its
// errors never quote the plaintext: it holds the vault's secrets.
func decodeEnvelope(plain []byte) (*Keys, error) {
	if len(plain) > MaxEnvelopeSize {
		return nil, errors.New("contents are over the size limit")
	}
	var ej envelopeJSON
	if err := decodeJSON(plain, &ej); err != nil {
		return nil, fmt.Errorf("contents: %w", err)
	}
	if ej.V != envelopeVersion {
		return nil, fmt.Errorf("envelope version %d is not supported: update baluchon", ej.V)
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(ej.Sign)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("signing key is malformed")
	}
	k := &Keys{signing: ed25519.NewKeyFromSeed(seed)}
	if k.VaultID().String() != ej.Vault {
		return nil, errors.New("signing key does not match the vault id")
	}
	if k.content, err = age.ParseHybridIdentity(ej.Content); err != nil {
		return nil, errors.New("content identity is malformed")
	}
	return k, nil
}

// decodeJSON decodes one JSON object into v: no unknown fields, nothing
// after it. Its errors give a byte offset at most, never the input.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return fmt.Errorf("not valid JSON (byte %d)", se.Offset)
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return fmt.Errorf("wrong type of value (byte %d)", te.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("cut short")
		}
		if ve, ok := errors.AsType[*valueError](err); ok {
			return ve
		}
		return errors.New("not of the expected form")
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

// valueError is an error of a custom JSON decoder that is safe to show: it
// names a field, not its value.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }
