package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"
)

// MaxGrantSize bounds a sealed delegation.
const MaxGrantSize = 4 << 20

// Grant is a delegation: read access to some documents of a vault, given
// with the person's consent to one structure until a date. It holds, for
// each document it covers, the document's entry and the age file key of
// its ciphertext, sealed to the structure's recipient: the structure can
// read those documents, and nothing else of the vault. A card session
// renews the grants it knows, so that new documents of a granted category
// join them.
type Grant struct {
	ID         string
	Vault      VaultID
	Structure  string   // peer id of the delegate structure's node
	Categories []string // empty: every document
	Granted    time.Time
	Expires    time.Time
	Docs       []GrantDoc
}

// GrantDoc is one document of a grant.
type GrantDoc struct {
	Entry   Entry  `json:"entry"`
	FileKey []byte `json:"file_key"`
}

type grantJSON struct {
	V          int        `json:"v"`
	ID         string     `json:"id"`
	Vault      string     `json:"vault"`
	Structure  string     `json:"structure"`
	Categories []string   `json:"categories"`
	Granted    time.Time  `json:"granted"`
	Expires    time.Time  `json:"expires"`
	Docs       []GrantDoc `json:"docs"`
}

// Covers reports whether the grant covers a category.
func (g *Grant) Covers(category string) bool {
	return len(g.Categories) == 0 || slices.Contains(g.Categories, category)
}

// CoversEntry reports whether the grant covers a document: its category,
// and never a document the person marked private.
func (g *Grant) CoversEntry(e Entry) bool {
	return !e.Private && g.Covers(e.Category)
}

// Doc returns the document id of the grant.
func (g *Grant) Doc(id string) (GrantDoc, bool) {
	for _, d := range g.Docs {
		if d.Entry.ID == id {
			return d, true
		}
	}
	return GrantDoc{}, false
}

// Seal encrypts the grant to the delegate structure's recipient.
func (g *Grant) Seal(r age.Recipient) ([]byte, error) {
	j := grantJSON{V: 1, ID: g.ID, Vault: g.Vault.String(), Structure: g.Structure, Categories: g.Categories, Granted: g.Granted.UTC(), Expires: g.Expires.UTC(), Docs: g.Docs}
	if j.Categories == nil {
		j.Categories = []string{}
	}
	if j.Docs == nil {
		j.Docs = []GrantDoc{}
	}
	b, err := sealJSON(j, r)
	if err != nil {
		return nil, fmt.Errorf("seal delegation: %w", err)
	}
	return b, nil
}

// OpenGrant decrypts a grant with the delegate structure's identity.
func OpenGrant(data []byte, id age.Identity) (*Grant, error) {
	var j grantJSON
	if err := openJSON("delegation", data, MaxGrantSize, &j, id); err != nil {
		return nil, err
	}
	if j.V != 1 {
		return nil, fmt.Errorf("delegation version %d is not supported: update baluchon", j.V)
	}
	v, err := ParseVaultID(j.Vault)
	if err != nil || checkDocID(j.ID) != nil || !fitsJSON(j.Granted) || !fitsJSON(j.Expires) {
		return nil, errors.New("open delegation: malformed")
	}
	for _, c := range j.Categories {
		if checkText(c, maxCategory) != nil {
			return nil, errors.New("open delegation: malformed category")
		}
	}
	for _, d := range j.Docs {
		if d.Entry.check() != nil || len(d.FileKey) != fileKeySize {
			return nil, errors.New("open delegation: malformed document")
		}
	}
	return &Grant{ID: j.ID, Vault: v, Structure: j.Structure, Categories: j.Categories, Granted: j.Granted, Expires: j.Expires, Docs: j.Docs}, nil
}

// fileKeySize is the size of an age file key.
const fileKeySize = 16

// FileKey returns the age file key of a document whose ciphertext starts
// with header, so that a grant can open this document and no other.
func (k *Keys) FileKey(ciphertext io.Reader) ([]byte, error) {
	hdr, err := age.ExtractHeader(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("read document header: %w", err)
	}
	key, err := age.DecryptHeader(hdr, k.content)
	if err != nil {
		return nil, ageError("open document header", err)
	}
	return key, nil
}

// DecryptWithFileKey returns the plaintext of an age file from its file
// key (as a grant holds it).
func DecryptWithFileKey(src io.Reader, fileKey []byte) (io.Reader, error) {
	if len(fileKey) != fileKeySize {
		return nil, errors.New("file key is malformed")
	}
	r, err := age.Decrypt(src, age.NewInjectedFileKeyIdentity(bytes.Clone(fileKey)))
	if err != nil {
		return nil, ageError("decrypt document", err)
	}
	return r, nil
}
