package vault

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// A paged manifest (version 2) is the manifest cut into pages, so that a
// change rewrites only the pages it touches: the documents and tombstones
// are spread over 2^bits pages by their id (Bucket), each page sealed
// apart with the vault's page key; the rest (delegations, recovery,
// history) and the page key are in a small index encrypted with age to
// the vault's content recipient. See doc.go, "Paged manifest".

// Limits of a paged manifest.
const (
	// MaxPageBits bounds the bits of a paged manifest: at most 4096 pages.
	MaxPageBits = 12
	// MaxPageSize bounds a sealed page: one block.
	MaxPageSize = 1 << 20
	// MaxIndexSize bounds the plaintext of an index.
	MaxIndexSize = 1 << 20
	// pageItems is the number of documents and tombstones a page holds
	// on average, at most, before the pages double. A page of 128 is
	// about 40 kB sealed: a change of one document rewrites that much,
	// and a batch that touches every page writes 2 blocks per 128
	// documents, not per 32 (each block is a file to create).
	pageItems = 128
)

// pagedVersion is the "v" of a page and of an index.
const pagedVersion = 2

// PageKey is the symmetric key that seals the pages of a vault's
// manifest. It is random, made once per vault (a new vault after a key
// rotation gets a new one), and kept only in the encrypted index.
type PageKey [chacha20poly1305.KeySize]byte

// NewPageKey returns a random page key.
func NewPageKey() PageKey {
	var k PageKey
	rand.Read(k[:])
	return k
}

// PageBits returns the bits of a paged manifest of items documents and
// tombstones that had prev bits before: the pages double when they hold
// over 128 items on average, and never halve, so that a purge does not
// rewrite every page.
func PageBits(items, prev int) int {
	bits := max(prev, 0)
	for bits < MaxPageBits && items > pageItems<<bits {
		bits++
	}
	return min(bits, MaxPageBits)
}

// Bucket returns the page of document id in a manifest of 2^bits pages:
// the first bits bits of SHA-256("baluchon page v2\x00" ‖ id), big-endian.
func Bucket(id string, bits int) int {
	if bits <= 0 {
		return 0
	}
	h := sha256.Sum256([]byte("baluchon page v2\x00" + id))
	return int(binary.BigEndian.Uint32(h[:4]) >> (32 - bits))
}

// Index is what a paged manifest's index says besides the manifest's
// delegations, recovery and history: the page key and the number of
// pages.
type Index struct {
	Key  PageKey
	Bits int
}

type indexJSON struct {
	V           int            `json:"v"`
	Key         []byte         `json:"key"`
	Bits        int            `json:"bits"`
	Delegations []Delegation   `json:"delegations,omitempty"`
	Recovery    *Recovery      `json:"recovery,omitempty"`
	History     []previousJSON `json:"history,omitempty"`
}

// marshalIndex encodes the index of m canonically.
func (m *Manifest) marshalIndex(ix Index) []byte {
	j := indexJSON{V: pagedVersion, Key: ix.Key[:], Bits: ix.Bits, Recovery: m.recovery, History: m.historyJSON()}
	for _, id := range slices.Sorted(maps.Keys(m.delegations)) {
		j.Delegations = append(j.Delegations, m.delegations[id])
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic("vault: encode manifest index: " + err.Error())
	}
	return b
}

// decodeIndex checks and decodes the plaintext of an index into a
// manifest without documents.
func decodeIndex(b []byte) (*Manifest, Index, error) {
	if len(b) > MaxIndexSize {
		return nil, Index{}, errors.New("manifest index is over its size limit")
	}
	var j indexJSON
	if err := decodeJSON(b, &j); err != nil {
		return nil, Index{}, fmt.Errorf("manifest index: %w", err)
	}
	if j.V != pagedVersion {
		return nil, Index{}, fmt.Errorf("manifest index version %d is not supported: update baluchon", j.V)
	}
	var ix Index
	if len(j.Key) != len(ix.Key) {
		return nil, Index{}, errors.New("manifest index: the page key is not 32 bytes")
	}
	if j.Bits < 0 || j.Bits > MaxPageBits {
		return nil, Index{}, fmt.Errorf("manifest index: %d bits of pages, want 0 to %d", j.Bits, MaxPageBits)
	}
	copy(ix.Key[:], j.Key)
	ix.Bits = j.Bits
	m := NewManifest()
	if len(j.Delegations) > maxItems {
		return nil, Index{}, errors.New("manifest index has too many delegations")
	}
	for i, d := range j.Delegations {
		if err := m.AddDelegation(d); err != nil {
			return nil, Index{}, fmt.Errorf("manifest index delegation %d: %w", i+1, err)
		}
	}
	if j.Recovery != nil {
		if err := m.SetRecovery(*j.Recovery); err != nil {
			return nil, Index{}, fmt.Errorf("manifest index: %w", err)
		}
	}
	if err := m.decodeHistory(j.History); err != nil {
		return nil, Index{}, err
	}
	return m, ix, nil
}

// EncryptIndex writes the index of a paged manifest (m's delegations,
// recovery and history, the page key and bits) as an age file encrypted
// to r, the vault's content recipient.
func (m *Manifest) EncryptIndex(dst io.Writer, r age.Recipient, ix Index) error {
	if ix.Bits < 0 || ix.Bits > MaxPageBits {
		return fmt.Errorf("encrypt manifest index: %d bits of pages", ix.Bits)
	}
	b := m.marshalIndex(ix)
	if len(b) > MaxIndexSize {
		return fmt.Errorf("encrypt manifest index: %d bytes is over the limit of %d", len(b), MaxIndexSize)
	}
	if err := encryptTo(dst, b, r); err != nil {
		return fmt.Errorf("encrypt manifest index: %w", err)
	}
	return nil
}

// DecryptIndex reads the index of a paged manifest: a manifest that holds
// its delegations, recovery and history (its pages are added with
// OpenPage), and the page key and bits. An identity that does not open it
// gives an error wrapping ErrWrongKeys.
func DecryptIndex(src io.Reader, id age.Identity) (*Manifest, Index, error) {
	r, err := age.Decrypt(src, id)
	if err != nil {
		return nil, Index{}, ageError("decrypt manifest index", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxIndexSize+1))
	if err != nil {
		return nil, Index{}, fmt.Errorf("decrypt manifest index: %w", err)
	}
	return decodeIndex(b)
}

type pageJSON struct {
	V          int             `json:"v"`
	Page       int             `json:"page"`
	Entries    []Entry         `json:"entries"`
	Tombstones []tombstoneJSON `json:"tombstones"`
}

// Pages returns the plaintext of each of the 2^bits pages of m: the
// entries and tombstones (with their trashed entries) whose id falls in
// the page, sorted by id. Equal pages give equal bytes.
func (m *Manifest) Pages(bits int) [][]byte {
	n := 1 << max(bits, 0)
	pages := make([]pageJSON, n)
	for i := range pages {
		pages[i] = pageJSON{V: pagedVersion, Page: i, Entries: []Entry{}, Tombstones: []tombstoneJSON{}}
	}
	for _, id := range slices.Sorted(maps.Keys(m.entries)) {
		p := &pages[Bucket(id, bits)]
		p.Entries = append(p.Entries, m.entries[id])
	}
	for _, id := range slices.Sorted(maps.Keys(m.tombstones)) {
		t := tombstoneJSON{ID: id, Deleted: m.tombstones[id]}
		if e, ok := m.trash[id]; ok {
			t.Entry = &e
		}
		p := &pages[Bucket(id, bits)]
		p.Tombstones = append(p.Tombstones, t)
	}
	out := make([][]byte, n)
	for i, p := range pages {
		b, err := json.Marshal(p)
		if err != nil {
			panic("vault: encode manifest page: " + err.Error())
		}
		out[i] = b
	}
	return out
}

// Items returns the number of documents and tombstones of m.
func (m *Manifest) Items() int { return len(m.entries) + len(m.tombstones) }

// pageAD is the additional data of a sealed page: its place.
func pageAD(bits, page int) []byte {
	return binary.BigEndian.AppendUint16(append([]byte("baluchon page v2\x00"), byte(bits)), uint16(page))
}

// SealPage encrypts the plaintext of page (of 2^bits) with key:
// XChaCha20-Poly1305, a random 24-byte nonce first, the page's place as
// additional data.
func SealPage(key PageKey, bits, page int, plain []byte) ([]byte, error) {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	return sealPage(key, bits, page, plain, nonce)
}

func sealPage(key PageKey, bits, page int, plain, nonce []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	out := aead.Seal(nonce, nonce, plain, pageAD(bits, page))
	if len(out) > MaxPageSize {
		return nil, fmt.Errorf("seal manifest page: %d bytes is over the limit of %d", len(out), MaxPageSize)
	}
	return out, nil
}

// OpenPage decrypts page (of 2^bits) sealed with key and adds its
// documents and tombstones to m, which must hold no other item of that
// page; it returns the page's plaintext (which Pages gives back when
// nothing in the page changed). A page out of its place, or one that a
// bad key does not open, gives an error wrapping ErrWrongKeys.
func (m *Manifest) OpenPage(key PageKey, bits, page int, sealed []byte) ([]byte, error) {
	if len(sealed) > MaxPageSize {
		return nil, fmt.Errorf("manifest page %d is over its size limit", page)
	}
	if len(sealed) < chacha20poly1305.NonceSizeX {
		return nil, fmt.Errorf("manifest page %d is cut short", page)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	nonce, body := sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(nil, nonce, body, pageAD(bits, page))
	if err != nil {
		return nil, fmt.Errorf("open manifest page %d: %w", page, ErrWrongKeys)
	}
	return plain, m.addPage(plain, bits, page)
}

// pageInJSON is pageJSON as decoded: entries decoded by the page's one
// decoder (Entry's own UnmarshalJSON makes a decoder per entry).
type pageInJSON struct {
	V          int               `json:"v"`
	Page       int               `json:"page"`
	Entries    []entryJSON       `json:"entries"`
	Tombstones []tombstoneInJSON `json:"tombstones"`
}

type tombstoneInJSON struct {
	ID      string     `json:"id"`
	Deleted time.Time  `json:"deleted"`
	Entry   *entryJSON `json:"entry,omitempty"`
}

// addPage decodes the plaintext of a page into m.
func (m *Manifest) addPage(b []byte, bits, page int) error {
	var pj pageInJSON
	if err := decodeJSON(b, &pj); err != nil {
		return fmt.Errorf("manifest page %d: %w", page, err)
	}
	if pj.V != pagedVersion || pj.Page != page {
		return fmt.Errorf("manifest page %d: version %d, page %d", page, pj.V, pj.Page)
	}
	if m.Items()+len(pj.Entries)+len(pj.Tombstones) > maxItems {
		return fmt.Errorf("manifest has over %d entries", maxItems)
	}
	m.init()
	for i, t := range pj.Tombstones {
		if err := checkDocID(t.ID); err != nil {
			return fmt.Errorf("manifest page %d tombstone %d: %w", page, i+1, err)
		}
		if Bucket(t.ID, bits) != page {
			return fmt.Errorf("manifest page %d tombstone %d: its id belongs to another page", page, i+1)
		}
		if _, dup := m.tombstones[t.ID]; dup {
			return fmt.Errorf("manifest page %d tombstone %d: its id is there twice", page, i+1)
		}
		if !fitsJSON(t.Deleted) {
			return fmt.Errorf("manifest page %d tombstone %d: time is out of range", page, i+1)
		}
		m.tombstones[t.ID] = t.Deleted.UTC()
		if t.Entry != nil {
			e, err := t.Entry.entry()
			if err == nil {
				err = e.check()
			}
			if err != nil {
				return fmt.Errorf("manifest page %d tombstone %d: %w", page, i+1, err)
			}
			if e.ID != t.ID {
				return fmt.Errorf("manifest page %d tombstone %d: its entry has another id", page, i+1)
			}
			m.trash[t.ID] = normalize(e)
		}
	}
	for i := range pj.Entries {
		e, err := pj.Entries[i].entry()
		if err != nil {
			return fmt.Errorf("manifest page %d entry %d: %w", page, i+1, err)
		}
		if Bucket(e.ID, bits) != page {
			return fmt.Errorf("manifest page %d entry %d: its id belongs to another page", page, i+1)
		}
		if err := m.Add(e); err != nil {
			return fmt.Errorf("manifest page %d entry %d: %w", page, i+1, err)
		}
	}
	return nil
}

// PageOf returns the page of 2^bits where each live and trashed document
// of m is (by id): what a manifest root links from each page's node.
func (m *Manifest) PageOf(bits int) (live, trashed [][]Entry) {
	n := 1 << max(bits, 0)
	live, trashed = make([][]Entry, n), make([][]Entry, n)
	for _, id := range slices.Sorted(maps.Keys(m.entries)) {
		b := Bucket(id, bits)
		live[b] = append(live[b], m.entries[id])
	}
	for _, id := range slices.Sorted(maps.Keys(m.trash)) {
		b := Bucket(id, bits)
		trashed[b] = append(trashed[b], m.trash[id])
	}
	return live, trashed
}
