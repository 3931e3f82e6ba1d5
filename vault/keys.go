package vault

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/mr-tron/base58"
)

// ErrWrongKeys says that the keys at hand do not open the data: a card
// that is not this envelope's, or a vault identity that is not this
// manifest's or document's.
var ErrWrongKeys = errors.New("these keys do not open this data")

// VaultID names a vault: its Ed25519 public signing key. Heads signed by
// the matching private key are the only states of the vault a node trusts.
type VaultID [ed25519.PublicKeySize]byte

// String returns the vault id in base58.
func (v VaultID) String() string { return base58.Encode(v[:]) }

// ParseVaultID parses the base58 form of a vault id.
func ParseVaultID(s string) (VaultID, error) {
	var v VaultID
	return v, parseKey32(s, v[:], "vault id")
}

// Keys are a vault's secrets: the signing key of its heads and the age
// identity its manifest and documents are encrypted to. They are random,
// not derived from a card, so that a lost card can be replaced without
// re-encrypting anything. Only an envelope holds them at rest.
type Keys struct {
	signing ed25519.PrivateKey
	content *age.HybridIdentity
}

// NewKeys makes the keys of a new vault, from crypto/rand. The content
// identity is age's hybrid post-quantum one (ML-KEM-768 + X25519).
func NewKeys() (*Keys, error) {
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make vault signing key: %w", err)
	}
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, fmt.Errorf("make vault content identity: %w", err)
	}
	return &Keys{signing: sk, content: id}, nil
}

// VaultID returns the id of the vault these keys belong to.
func (k *Keys) VaultID() VaultID {
	var v VaultID
	copy(v[:], k.signing.Public().(ed25519.PublicKey))
	return v
}

// Recipient returns the age recipient ("age1pq1…") documents and
// manifests are encrypted to.
func (k *Keys) Recipient() age.Recipient { return k.content.Recipient() }

// Identity returns the age identity that decrypts the vault's manifest and
// documents.
func (k *Keys) Identity() age.Identity { return k.content }

// IdentityString returns the content identity in age's text form
// ("AGE-SECRET-KEY-PQ-1…"), which the upstream age tool reads with -i. It
// is a secret: it opens every document of the vault.
func (k *Keys) IdentityString() string { return k.content.String() }

// EncryptDocument returns a writer that encrypts what is written to it to
// the vault, as a standard age file written to dst. The caller must Close
// it to finish the file. Memory use does not grow with the document.
func (k *Keys) EncryptDocument(dst io.Writer) (io.WriteCloser, error) {
	w, err := age.Encrypt(dst, k.Recipient())
	if err != nil {
		return nil, fmt.Errorf("encrypt document: %w", err)
	}
	return w, nil
}

// DecryptDocument reads the header of the age file src and returns a
// reader of its plaintext. A file not encrypted to this vault gives an
// error wrapping ErrWrongKeys; the reader fails if the file was tampered
// with or cut short.
func (k *Keys) DecryptDocument(src io.Reader) (io.Reader, error) {
	r, err := age.Decrypt(src, k.content)
	if err != nil {
		return nil, ageError("decrypt document", err)
	}
	return r, nil
}

// ageError wraps an error of age.Decrypt, as ErrWrongKeys when no identity
// matched.
func ageError(what string, err error) error {
	if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
		return fmt.Errorf("%s: %w", what, ErrWrongKeys)
	}
	return fmt.Errorf("%s: %w", what, err)
}
