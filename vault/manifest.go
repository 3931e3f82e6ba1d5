package vault

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	"github.com/mr-tron/base58"
)

// Limits of a manifest.
const (
	MaxManifestSize = 16 << 20
	maxEntries      = 10000
	maxTitle        = 200 // runes, for titles, categories and file names
	maxMIME         = 100
	maxAddedBy      = 100
	maxDocID        = 32
)

// Entry is one document of a vault, as the manifest describes it. Only the
// manifest holds these fields, and the manifest is encrypted.
type Entry struct {
	ID       string    `json:"id"`
	CID      cid.Cid   `json:"cid"`
	Size     int64     `json:"size"`
	Title    string    `json:"title,omitempty"`
	Category string    `json:"category,omitempty"`
	FileName string    `json:"file_name,omitempty"`
	MIME     string    `json:"mime,omitempty"`
	Added    time.Time `json:"added"`
	AddedBy  string    `json:"added_by,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
}

func (e *Entry) check() error {
	if err := checkDocID(e.ID); err != nil {
		return err
	}
	if !e.CID.Defined() {
		return fmt.Errorf("document %s has no CID", e.ID)
	}
	if e.Size < 0 {
		return fmt.Errorf("document %s has a negative size", e.ID)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"title", e.Title, maxTitle}, {"category", e.Category, maxTitle}, {"file name", e.FileName, maxTitle}, {"MIME type", e.MIME, maxMIME}, {"added by", e.AddedBy, maxAddedBy}} {
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max {
			return fmt.Errorf("document %s: %s is not valid text of at most %d characters", e.ID, f.name, f.max)
		}
	}
	return nil
}

func checkDocID(id string) error {
	if id == "" || len(id) > maxDocID {
		return errors.New("document id must be 1 to 32 characters")
	}
	for i := 0; i < len(id); i++ {
		if alphabetIndex(id[i]) < 0 {
			return errors.New("document id must be base58")
		}
	}
	return nil
}

// NewDocumentID returns a fresh document id: 8 random bytes in base58,
// short enough to type.
func NewDocumentID(r io.Reader) string {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		panic("vault: random document id: " + err.Error())
	}
	return base58.Encode(b)
}

// Manifest is the list of a vault's documents: a state-based CRDT, an
// add-wins set of entries keyed by document id with tombstones for
// deletions. Document ids are random and never reused, so two structures
// that add documents while cut off from each other merge with nothing lost,
// and a deletion removes only the entry it names.
type Manifest struct {
	entries    map[string]Entry
	tombstones map[string]time.Time
}

// NewManifest returns an empty manifest.
func NewManifest() *Manifest {
	return &Manifest{entries: map[string]Entry{}, tombstones: map[string]time.Time{}}
}

// Add adds a document. Its id must be new to the manifest, deleted ones
// included.
func (m *Manifest) Add(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	if _, ok := m.entries[e.ID]; ok {
		return fmt.Errorf("document %s is already in the vault", e.ID)
	}
	if _, ok := m.tombstones[e.ID]; ok {
		return fmt.Errorf("document %s was deleted from the vault", e.ID)
	}
	if len(m.entries)+len(m.tombstones) >= maxEntries {
		return fmt.Errorf("a vault holds at most %d documents", maxEntries)
	}
	m.entries[e.ID] = e
	return nil
}

// Remove deletes a document, leaving a tombstone.
func (m *Manifest) Remove(id string, t time.Time) error {
	if _, ok := m.entries[id]; !ok {
		return fmt.Errorf("no document %s in the vault", id)
	}
	delete(m.entries, id)
	m.tombstones[id] = t.UTC()
	return nil
}

// Get returns the entry of a live document.
func (m *Manifest) Get(id string) (Entry, bool) {
	e, ok := m.entries[id]
	return e, ok
}

// Entries returns the live documents, oldest first.
func (m *Manifest) Entries() []Entry {
	out := slices.Collect(maps.Values(m.entries))
	slices.SortFunc(out, func(a, b Entry) int {
		if c := a.Added.Compare(b.Added); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Len returns the number of live documents.
func (m *Manifest) Len() int { return len(m.entries) }

// Merge returns the union of two manifests: every entry of either that
// neither deleted, and every tombstone of either. It is commutative,
// associative and idempotent.
func Merge(a, b *Manifest) *Manifest {
	out := NewManifest()
	for _, m := range []*Manifest{a, b} {
		for id, t := range m.tombstones {
			if old, ok := out.tombstones[id]; !ok || t.Before(old) {
				out.tombstones[id] = t
			}
		}
	}
	for _, m := range []*Manifest{a, b} {
		for id, e := range m.entries {
			if _, dead := out.tombstones[id]; dead {
				continue
			}
			// The same id always names the same document; keep a
			// deterministic one if two copies differ anyway.
			if old, ok := out.entries[id]; ok && entryLess(old, e) {
				continue
			}
			out.entries[id] = e
		}
	}
	return out
}

func entryLess(a, b Entry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb) <= 0
}

// Equal reports whether two manifests hold the same entries and tombstones.
func (m *Manifest) Equal(o *Manifest) bool {
	a, _ := m.marshal()
	b, _ := o.marshal()
	return bytes.Equal(a, b)
}

type tombstone struct {
	ID      string    `json:"id"`
	Deleted time.Time `json:"deleted"`
}

type manifestJSON struct {
	V          int         `json:"v"`
	Entries    []Entry     `json:"entries"`
	Tombstones []tombstone `json:"tombstones"`
}

// marshal encodes the manifest canonically: entries and tombstones sorted
// by id.
func (m *Manifest) marshal() ([]byte, error) {
	mj := manifestJSON{V: 1, Entries: []Entry{}, Tombstones: []tombstone{}}
	for _, id := range slices.Sorted(maps.Keys(m.entries)) {
		mj.Entries = append(mj.Entries, m.entries[id])
	}
	for _, id := range slices.Sorted(maps.Keys(m.tombstones)) {
		mj.Tombstones = append(mj.Tombstones, tombstone{ID: id, Deleted: m.tombstones[id]})
	}
	return json.Marshal(mj)
}

// decodeManifest checks and decodes a manifest's plaintext.
func decodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, errors.New("manifest is over its size limit")
	}
	var mj manifestJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mj); err != nil {
		return nil, errors.New("manifest does not decode")
	}
	if dec.More() {
		return nil, errors.New("manifest has trailing data")
	}
	if mj.V != 1 {
		return nil, fmt.Errorf("manifest version %d is not supported: update baluchon", mj.V)
	}
	if len(mj.Entries)+len(mj.Tombstones) > maxEntries {
		return nil, errors.New("manifest has too many entries")
	}
	m := NewManifest()
	for _, t := range mj.Tombstones {
		if err := checkDocID(t.ID); err != nil {
			return nil, fmt.Errorf("manifest tombstone: %w", err)
		}
		if _, dup := m.tombstones[t.ID]; dup {
			return nil, errors.New("manifest has a tombstone twice")
		}
		m.tombstones[t.ID] = t.Deleted.UTC()
	}
	for _, e := range mj.Entries {
		if _, dead := m.tombstones[e.ID]; dead {
			return nil, errors.New("manifest lists a deleted document")
		}
		if err := m.Add(e); err != nil {
			return nil, fmt.Errorf("manifest entry: %w", err)
		}
	}
	return m, nil
}

// Encrypt writes the manifest, encrypted to r, as an age file.
func (m *Manifest) Encrypt(dst io.Writer, r age.Recipient) error {
	b, err := m.marshal()
	if err != nil {
		return err
	}
	w, err := age.Encrypt(dst, r)
	if err != nil {
		return fmt.Errorf("encrypt manifest: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("encrypt manifest: %w", err)
	}
	return w.Close()
}

// DecryptManifest reads an encrypted manifest.
func DecryptManifest(src io.Reader, id age.Identity) (*Manifest, error) {
	r, err := age.Decrypt(src, id)
	if err != nil {
		return nil, ageError("decrypt manifest", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt manifest: %w", err)
	}
	return decodeManifest(b)
}
