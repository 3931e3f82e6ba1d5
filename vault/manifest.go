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
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	"github.com/mr-tron/base58"
)

// Limits of a manifest. Text fields are counted in characters (Unicode
// code points) of valid UTF-8 without control characters.
const (
	MaxManifestSize = 16 << 20 // bytes of a manifest's plaintext

	maxItems    = 100_000 // entries and tombstones of one manifest
	maxDocID    = 32      // base58 characters of a document id
	maxTitle    = 200     // characters of a title
	maxCategory = 100     // characters of a category
	maxFileName = 255     // characters of a file name
	maxMIME     = 255     // characters of a MIME type (RFC 6838: 127 + / + 127)
	maxAddedBy  = 100     // characters of AddedBy (a libp2p peer id is 52)
	maxCIDText  = 256     // characters of a CID in text form
)

// manifestVersion is the "v" of the manifest plaintext.
const manifestVersion = 1

// Entry is one document of a vault, as the manifest describes it. Only the
// manifest holds these fields, and the manifest is encrypted. In JSON, the
// CID is its string form ("bafy…").
type Entry struct {
	ID       string    `json:"id"`
	CID      cid.Cid   `json:"cid"`  // root CID of the encrypted document DAG
	Size     int64     `json:"size"` // plaintext size in bytes
	Title    string    `json:"title,omitempty"`
	Category string    `json:"category,omitempty"`
	FileName string    `json:"file_name,omitempty"`
	MIME     string    `json:"mime,omitempty"`
	Added    time.Time `json:"added"`
	AddedBy  string    `json:"added_by,omitempty"` // structure's peer id or name
	Expires  time.Time `json:"expires,omitzero"`
	// Private: the person keeps this document to themselves; no
	// delegation ever covers it.
	Private bool `json:"private,omitempty"`
}

// entryJSON is Entry with the CID as a string.
type entryJSON struct {
	ID       string    `json:"id"`
	CID      string    `json:"cid"`
	Size     int64     `json:"size"`
	Title    string    `json:"title,omitempty"`
	Category string    `json:"category,omitempty"`
	FileName string    `json:"file_name,omitempty"`
	MIME     string    `json:"mime,omitempty"`
	Added    time.Time `json:"added"`
	AddedBy  string    `json:"added_by,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	Private  bool      `json:"private,omitempty"`
}

// MarshalJSON encodes the entry with its CID as a string.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{
		ID: e.ID, Size: e.Size, Title: e.Title, Category: e.Category, FileName: e.FileName,
		MIME: e.MIME, Added: e.Added, AddedBy: e.AddedBy, Expires: e.Expires, Private: e.Private,
	}
	if e.CID.Defined() {
		j.CID = e.CID.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes an entry that MarshalJSON wrote. Unknown fields
// are an error.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := decodeJSON(b, &j); err != nil {
		return &valueError{"document entry: " + err.Error()}
	}
	out, err := j.entry()
	if err != nil {
		return err
	}
	*e = out
	return nil
}

// entry converts a decoded entry, its CID parsed.
func (j *entryJSON) entry() (Entry, error) {
	c := cid.Undef
	if j.CID != "" {
		var err error
		if len(j.CID) > maxCIDText {
			return Entry{}, &valueError{"document entry: cid is too long"}
		}
		if c, err = cid.Decode(j.CID); err != nil {
			return Entry{}, &valueError{"document entry: cid is malformed"}
		}
	}
	return Entry{
		ID: j.ID, CID: c, Size: j.Size, Title: j.Title, Category: j.Category, FileName: j.FileName,
		MIME: j.MIME, Added: j.Added, AddedBy: j.AddedBy, Expires: j.Expires, Private: j.Private,
	}, nil
}

// check validates an entry. Its errors name the field, never its value.
func (e *Entry) check() error {
	if err := checkDocID(e.ID); err != nil {
		return err
	}
	if !e.CID.Defined() {
		return errors.New("document has no CID")
	}
	if e.Size < 0 {
		return errors.New("document size is negative")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"title", e.Title, maxTitle},
		{"category", e.Category, maxCategory},
		{"file name", e.FileName, maxFileName},
		{"MIME type", e.MIME, maxMIME},
		{"added by", e.AddedBy, maxAddedBy},
	} {
		if err := checkText(f.v, f.max); err != nil {
			return fmt.Errorf("document %s %w", f.name, err)
		}
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"date added", e.Added}, {"expiry date", e.Expires}} {
		if !fitsJSON(f.t) {
			return fmt.Errorf("document %s is out of range", f.name)
		}
	}
	return nil
}

// fitsJSON reports whether t can be written in JSON (RFC 3339): the
// years 0 to 9999.
func fitsJSON(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// checkText checks a text field of an entry.
func checkText(s string, max int) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("has %d characters, over the limit of %d", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("holds a control character")
		}
	}
	return nil
}

// checkDocID checks a document id: 1 to 32 base58 characters.
func checkDocID(id string) error {
	if id == "" || len(id) > maxDocID {
		return fmt.Errorf("document id must have 1 to %d characters", maxDocID)
	}
	for _, r := range id {
		if alphabetIndex(r) < 0 {
			return errors.New("document id must be base58")
		}
	}
	return nil
}

// NewDocumentID returns a fresh document id: 8 bytes read from random
// (crypto/rand if nil), in base58, short enough to type. It panics if
// random fails, as crypto/rand never does.
func NewDocumentID(random io.Reader) string {
	if random == nil {
		random = rand.Reader
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(random, b); err != nil {
		panic("vault: random document id: " + err.Error())
	}
	return base58.Encode(b)
}

// Manifest is the list of a vault's documents: a state-based CRDT, an
// add-wins set of entries keyed by document id, with tombstones for
// deletions. Document ids are random and never reused, so two structures
// that add documents while cut off from each other merge with nothing
// lost, and a deletion removes only the entry it names. A deleted
// document's entry stays in the trash, next to its tombstone, until Purge
// drops it (see Trash). The zero value is an empty manifest. A Manifest is
// not safe for concurrent use.
type Manifest struct {
	entries     map[string]Entry
	tombstones  map[string]time.Time
	trash       map[string]Entry // id → entry of a deleted document, until purged
	delegations map[string]Delegation
	recovery    *Recovery
	history     map[VaultID]Previous // vaults this one replaced (history.go)
}

// Delegation records, in the encrypted manifest, a read access the person
// gave a structure (see Grant). It is revoked by the vault's public state,
// which every node can read.
type Delegation struct {
	ID            string    `json:"id"`
	Structure     string    `json:"structure"`      // peer id of the delegate node
	StructureName string    `json:"structure_name"` // its name, for the person
	Categories    []string  `json:"categories"`     // empty: every document
	Granted       time.Time `json:"granted"`
	Expires       time.Time `json:"expires"`
}

func (d *Delegation) check() error {
	if checkDocID(d.ID) != nil || checkText(d.Structure, 100) != nil || checkText(d.StructureName, maxTitle) != nil ||
		!fitsJSON(d.Granted) || !fitsJSON(d.Expires) || len(d.Categories) > 100 {
		return errors.New("malformed delegation")
	}
	for _, c := range d.Categories {
		if checkText(c, maxCategory) != nil {
			return errors.New("malformed delegation category")
		}
	}
	return nil
}

// Recovery records the vault's recovery guardians: the CID of each one's
// sealed share, and how many of them must approve a recovery.
type Recovery struct {
	Threshold int               `json:"threshold"`
	Shares    map[string]string `json:"shares"` // guardian peer id → CID of its sealed share
	Created   time.Time         `json:"created"`
}

func (r *Recovery) check() error {
	if r.Threshold < 2 || r.Threshold > len(r.Shares) || len(r.Shares) > 255 || !fitsJSON(r.Created) {
		return errors.New("malformed recovery guardians")
	}
	for g, c := range r.Shares {
		if checkText(g, 100) != nil || len(c) > maxCIDText {
			return errors.New("malformed recovery guardian")
		}
		if _, err := cid.Decode(c); err != nil {
			return errors.New("malformed recovery share CID")
		}
	}
	return nil
}

// AddDelegation records a delegation.
func (m *Manifest) AddDelegation(d Delegation) error {
	if err := d.check(); err != nil {
		return err
	}
	m.init()
	if _, ok := m.delegations[d.ID]; ok {
		return errors.New("delegation id is already in the vault")
	}
	d.Granted, d.Expires = d.Granted.UTC(), d.Expires.UTC()
	m.delegations[d.ID] = d
	return nil
}

// Delegations returns every delegation ever given, by date.
func (m *Manifest) Delegations() []Delegation {
	out := slices.Collect(maps.Values(m.delegations))
	slices.SortFunc(out, func(a, b Delegation) int {
		if c := a.Granted.Compare(b.Granted); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// SetRecovery records the vault's recovery guardians.
func (m *Manifest) SetRecovery(r Recovery) error {
	if err := r.check(); err != nil {
		return err
	}
	r.Created = r.Created.UTC()
	m.recovery = &r
	return nil
}

// Recovery returns the vault's recovery guardians, or nil.
func (m *Manifest) Recovery() *Recovery { return m.recovery }

// NewManifest returns an empty manifest.
func NewManifest() *Manifest {
	return &Manifest{entries: map[string]Entry{}, tombstones: map[string]time.Time{}, trash: map[string]Entry{}, delegations: map[string]Delegation{}}
}

func (m *Manifest) init() {
	if m.entries == nil {
		m.entries = map[string]Entry{}
	}
	if m.tombstones == nil {
		m.tombstones = map[string]time.Time{}
	}
	if m.delegations == nil {
		m.delegations = map[string]Delegation{}
	}
	if m.trash == nil {
		m.trash = map[string]Entry{}
	}
}

// Add adds a document. Its id must be new to the manifest, deleted ones
// included. Its times are kept in UTC.
func (m *Manifest) Add(e Entry) error {
	if err := e.check(); err != nil {
		return fmt.Errorf("add document: %w", err)
	}
	if _, ok := m.entries[e.ID]; ok {
		return errors.New("add document: its id is already in the vault")
	}
	if _, ok := m.tombstones[e.ID]; ok {
		return errors.New("add document: its id was deleted from the vault")
	}
	if len(m.entries)+len(m.tombstones) >= maxItems {
		return fmt.Errorf("add document: a vault holds at most %d documents, deleted ones included", maxItems)
	}
	m.init()
	m.entries[e.ID] = normalize(e)
	return nil
}

// normalize returns e with its times in UTC, without monotonic clock
// readings, as JSON gives them back.
func normalize(e Entry) Entry {
	e.Added = e.Added.UTC()
	e.Expires = e.Expires.UTC()
	return e
}

// Remove deletes a live document, leaving a tombstone dated t; its entry
// goes to the trash.
func (m *Manifest) Remove(id string, t time.Time) error {
	e, ok := m.entries[id]
	if !ok {
		return errors.New("remove document: no such document in the vault")
	}
	if !fitsJSON(t) {
		return errors.New("remove document: time is out of range")
	}
	delete(m.entries, id)
	m.init()
	m.tombstones[id] = t.UTC()
	m.trash[id] = e
	return nil
}

// SetPrivate marks a live document private (no delegation covers it) or
// shares it again. Where two states disagree, Merge keeps it private: the
// private entry's JSON sorts first.
func (m *Manifest) SetPrivate(id string, private bool) error {
	e, ok := m.entries[id]
	if !ok {
		return errors.New("mark document private: no such document in the vault")
	}
	e.Private = private
	m.entries[id] = e
	return nil
}

// Get returns the entry of a live document.
func (m *Manifest) Get(id string) (Entry, bool) {
	e, ok := m.entries[id]
	return e, ok
}

// Entries returns the live documents, sorted by date added, then id.
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

// Merge returns the union of two manifests: every tombstone of either,
// and every entry of either that no tombstone removes. It is commutative,
// associative and idempotent, and leaves a and b unchanged; a nil
// manifest is empty. Where both have a tombstone for an id, the earlier
// date is kept; where both have an entry for an id and they differ (which
// random ids make impossible in practice), the one whose JSON sorts first.
func Merge(a, b *Manifest) *Manifest {
	out := NewManifest()
	for _, m := range []*Manifest{a, b} {
		if m == nil {
			continue
		}
		for id, t := range m.tombstones {
			if old, ok := out.tombstones[id]; !ok || t.Before(old) {
				out.tombstones[id] = t
			}
		}
	}
	for _, m := range []*Manifest{a, b} {
		if m == nil {
			continue
		}
		// A deleted document's entry, from either side's trash or from
		// the side that has it live, goes to the trash: a tombstone
		// without its entry (a purged one, or one a forged state wrote)
		// does not take a document that the other side still has.
		for _, src := range []map[string]Entry{m.entries, m.trash} {
			for id, e := range src {
				if _, dead := out.tombstones[id]; !dead {
					continue
				}
				if old, ok := out.trash[id]; ok && !entryLess(e, old) {
					continue
				}
				out.trash[id] = e
			}
		}
		for id, e := range m.entries {
			if _, dead := out.tombstones[id]; dead {
				continue
			}
			if old, ok := out.entries[id]; ok && !entryLess(e, old) {
				continue
			}
			out.entries[id] = e
		}
		for id, d := range m.delegations {
			if old, ok := out.delegations[id]; ok && !jsonLess(d, old) {
				continue
			}
			out.delegations[id] = d
		}
		if r := m.recovery; r != nil {
			if out.recovery == nil || r.Created.After(out.recovery.Created) || (r.Created.Equal(out.recovery.Created) && jsonLess(*r, *out.recovery)) {
				c := *r
				out.recovery = &c
			}
		}
		mergeHistory(out, m)
	}
	return out
}

// jsonLess orders two values by their JSON, for deterministic merges.
func jsonLess(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb) < 0
}

// entryLess orders entries of the same id by their JSON.
func entryLess(a, b Entry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb) < 0
}

// Equal reports whether two manifests hold the same entries and
// tombstones.
func (m *Manifest) Equal(o *Manifest) bool {
	return bytes.Equal(m.marshal(), o.marshal())
}

type tombstoneJSON struct {
	ID      string    `json:"id"`
	Deleted time.Time `json:"deleted"`
	Entry   *Entry    `json:"entry,omitempty"` // in the trash, until purged
}

type manifestJSON struct {
	V           int             `json:"v"`
	Entries     []Entry         `json:"entries"`
	Tombstones  []tombstoneJSON `json:"tombstones"`
	Delegations []Delegation    `json:"delegations,omitempty"`
	Recovery    *Recovery       `json:"recovery,omitempty"`
	History     []previousJSON  `json:"history,omitempty"`
}

// marshal encodes the manifest canonically: entries and tombstones sorted
// by id. Every entry passed check, so it cannot fail.
func (m *Manifest) marshal() []byte {
	mj := manifestJSON{V: manifestVersion, Entries: []Entry{}, Tombstones: []tombstoneJSON{}}
	for _, id := range slices.Sorted(maps.Keys(m.entries)) {
		mj.Entries = append(mj.Entries, m.entries[id])
	}
	for _, id := range slices.Sorted(maps.Keys(m.tombstones)) {
		t := tombstoneJSON{ID: id, Deleted: m.tombstones[id]}
		if e, ok := m.trash[id]; ok {
			t.Entry = &e
		}
		mj.Tombstones = append(mj.Tombstones, t)
	}
	for _, id := range slices.Sorted(maps.Keys(m.delegations)) {
		mj.Delegations = append(mj.Delegations, m.delegations[id])
	}
	mj.Recovery = m.recovery
	mj.History = m.historyJSON()
	b, err := json.Marshal(mj)
	if err != nil {
		panic("vault: encode manifest: " + err.Error())
	}
	return b
}

// decodeManifest checks and decodes the plaintext of a manifest. Its
// errors give the position of a bad entry, never its contents.
func decodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, errors.New("manifest is over its size limit")
	}
	var mj manifestJSON
	if err := decodeJSON(b, &mj); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if mj.V != manifestVersion {
		return nil, fmt.Errorf("manifest version %d is not supported: update baluchon", mj.V)
	}
	if len(mj.Entries)+len(mj.Tombstones) > maxItems {
		return nil, fmt.Errorf("manifest has over %d entries", maxItems)
	}
	m := NewManifest()
	for i, t := range mj.Tombstones {
		if err := checkDocID(t.ID); err != nil {
			return nil, fmt.Errorf("manifest tombstone %d: %w", i+1, err)
		}
		if _, dup := m.tombstones[t.ID]; dup {
			return nil, fmt.Errorf("manifest tombstone %d: its id is there twice", i+1)
		}
		if !fitsJSON(t.Deleted) {
			return nil, fmt.Errorf("manifest tombstone %d: time is out of range", i+1)
		}
		m.tombstones[t.ID] = t.Deleted.UTC()
		if t.Entry != nil {
			if err := t.Entry.check(); err != nil {
				return nil, fmt.Errorf("manifest tombstone %d: %w", i+1, err)
			}
			if t.Entry.ID != t.ID {
				return nil, fmt.Errorf("manifest tombstone %d: its entry has another id", i+1)
			}
			m.trash[t.ID] = normalize(*t.Entry)
		}
	}
	for i, e := range mj.Entries {
		if err := m.Add(e); err != nil {
			return nil, fmt.Errorf("manifest entry %d: %w", i+1, err)
		}
	}
	if len(mj.Delegations) > maxItems {
		return nil, errors.New("manifest has too many delegations")
	}
	for i, d := range mj.Delegations {
		if err := m.AddDelegation(d); err != nil {
			return nil, fmt.Errorf("manifest delegation %d: %w", i+1, err)
		}
	}
	if mj.Recovery != nil {
		if err := m.SetRecovery(*mj.Recovery); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	if err := m.decodeHistory(mj.History); err != nil {
		return nil, err
	}
	return m, nil
}

// Encrypt writes the manifest as an age file encrypted to r, the vault's
// content recipient.
func (m *Manifest) Encrypt(dst io.Writer, r age.Recipient) error {
	b := m.marshal()
	if len(b) > MaxManifestSize {
		return fmt.Errorf("encrypt manifest: %d bytes is over the limit of %d", len(b), MaxManifestSize)
	}
	if n := len(m.entries) + len(m.tombstones); n > maxItems {
		return fmt.Errorf("encrypt manifest: %d entries is over the limit of %d", n, maxItems)
	}
	if err := encryptTo(dst, b, r); err != nil {
		return fmt.Errorf("encrypt manifest: %w", err)
	}
	return nil
}

// DecryptManifest reads an encrypted manifest. An identity that does not
// open it gives an error wrapping ErrWrongKeys.
func DecryptManifest(src io.Reader, id age.Identity) (*Manifest, error) {
	r, err := age.Decrypt(src, id)
	if err != nil {
		return nil, ageError("decrypt manifest", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt manifest: %w", err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("decrypt manifest: %w", err)
	}
	return m, nil
}
