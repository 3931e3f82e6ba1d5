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

// MaxEnvelopeSize bounds an envelope (an age file of a few hundred bytes).
const MaxEnvelopeSize = 64 << 10

// envelopeWorkFactor is the scrypt work factor of envelopes. The card
// secret has 128 bits, so scrypt is here only as age's standard symmetric
// (and post-quantum) wrapping, not to slow down guessing; the low factor
// also bounds the work a hostile envelope can ask of a node.
const envelopeWorkFactor = 10

// envelopeContents is the plaintext of an envelope.
type envelopeContents struct {
	V       int    `json:"v"`
	Vault   string `json:"vault"`
	Sign    string `json:"sign"`
	Content string `json:"content"`
}

// SealEnvelope returns the envelope of keys for card: an age file,
// encrypted with a passphrase derived from the card secret.
func SealEnvelope(c *Card, k *Keys) ([]byte, error) {
	r, err := age.NewScryptRecipient(c.envelopePassphrase())
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(envelopeWorkFactor)
	plain, err := json.Marshal(envelopeContents{
		V:       1,
		Vault:   k.VaultID().String(),
		Sign:    base64.StdEncoding.EncodeToString(k.signing.Seed()),
		Content: k.content.String(),
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal envelope: %w", err)
	}
	return buf.Bytes(), nil
}

// OpenEnvelope opens card's envelope and returns the vault keys it holds.
// A card that is not this envelope's gives an error wrapping ErrWrongKeys.
func OpenEnvelope(c *Card, data []byte) (*Keys, error) {
	if len(data) > MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope of %d bytes is over the limit of %d", len(data), MaxEnvelopeSize)
	}
	id, err := age.NewScryptIdentity(c.envelopePassphrase())
	if err != nil {
		return nil, err
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
	return decodeEnvelope(plain)
}

// decodeEnvelope checks and decodes an envelope's plaintext.
func decodeEnvelope(plain []byte) (*Keys, error) {
	if len(plain) > MaxEnvelopeSize {
		return nil, errors.New("envelope contents are too large")
	}
	var ec envelopeContents
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ec); err != nil {
		return nil, errors.New("envelope contents do not decode")
	}
	if dec.More() {
		return nil, errors.New("envelope contents have trailing data")
	}
	if ec.V != 1 {
		return nil, fmt.Errorf("envelope version %d is not supported: update baluchon", ec.V)
	}
	seed, err := base64.StdEncoding.DecodeString(ec.Sign)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("envelope signing key is malformed")
	}
	k := &Keys{signing: ed25519.NewKeyFromSeed(seed)}
	if k.VaultID().String() != ec.Vault {
		return nil, errors.New("envelope signing key does not match its vault id")
	}
	if k.content, err = age.ParseHybridIdentity(ec.Content); err != nil {
		return nil, errors.New("envelope content identity is malformed")
	}
	return k, nil
}
