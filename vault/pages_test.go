package vault

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// TestPagedManifestRoundTrip cuts manifests into pages and an index,
// seals and reads them back: the same manifest comes back, for several
// numbers of pages.
func TestPagedManifestRoundTrip(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 20 {
		m := randomManifest(r)
		if i%2 == 0 {
			if err := m.AddDelegation(Delegation{ID: "7kD5aR", Structure: "12D3KooW", StructureName: "CCAS", Granted: time.Unix(10, 0), Expires: time.Unix(20, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, bits := range []int{0, 1, 3} {
			ix := Index{Key: NewPageKey(), Bits: bits}
			var buf bytes.Buffer
			if err := m.EncryptIndex(&buf, keys.Recipient(), ix); err != nil {
				t.Fatal(err)
			}
			got, gix, err := DecryptIndex(&buf, keys.Identity())
			if err != nil {
				t.Fatal(err)
			}
			if gix != ix {
				t.Fatalf("index: bits %d, want %d (or another key)", gix.Bits, ix.Bits)
			}
			for p, plain := range m.Pages(bits) {
				sealed, err := SealPage(ix.Key, bits, p, plain)
				if err != nil {
					t.Fatal(err)
				}
				back, err := got.OpenPage(ix.Key, bits, p, sealed)
				if err != nil {
					t.Fatalf("page %d of %d: %v", p, 1<<bits, err)
				}
				if !bytes.Equal(back, plain) {
					t.Fatalf("page %d: plaintext changed", p)
				}
			}
			if !got.Equal(m) {
				t.Fatalf("manifest %d in %d pages came back different:\n%s\nwant\n%s", i, 1<<bits, got.marshal(), m.marshal())
			}
			if len(got.Delegations()) != len(m.Delegations()) || len(got.historyJSON()) != len(m.historyJSON()) {
				t.Fatalf("manifest %d: delegations or history lost", i)
			}
		}
	}
}

// TestPageChangeTouchesOnePage checks that adding a document changes one
// page of many, so that a commit rewrites only that one.
func TestPageChangeTouchesOnePage(t *testing.T) {
	m := NewManifest()
	for i := range 2000 {
		if err := m.Add(entry(NewDocumentID(nil), int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	bits := PageBits(m.Items(), 0)
	if bits != 4 {
		t.Fatalf("2000 documents: %d bits of pages, want 4 (16 pages of about 125)", bits)
	}
	before := m.Pages(bits)
	if err := m.Add(entry(NewDocumentID(nil), 5000)); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i, p := range m.Pages(bits) {
		if !bytes.Equal(p, before[i]) {
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("one document added changed %d pages, want 1", changed)
	}
}

func TestPageBits(t *testing.T) {
	for _, tc := range []struct{ items, prev, want int }{
		{0, 0, 0}, {128, 0, 0}, {129, 0, 1}, {256, 0, 1}, {257, 0, 2}, {2000, 0, 4},
		{10, 4, 4}, // pages never halve
		{100_000, 0, 10}, {1 << 30, 0, MaxPageBits},
	} {
		if got := PageBits(tc.items, tc.prev); got != tc.want {
			t.Errorf("PageBits(%d, %d) = %d, want %d", tc.items, tc.prev, got, tc.want)
		}
	}
}

// TestPageRefusals checks that a page is read only in its place, with its
// key, and holds only ids of its place.
func TestPageRefusals(t *testing.T) {
	m := NewManifest()
	ids := map[int]string{}
	for len(ids) < 2 {
		id := NewDocumentID(nil)
		if _, ok := ids[Bucket(id, 1)]; !ok {
			ids[Bucket(id, 1)] = id
			if err := m.Add(entry(id, 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	key := NewPageKey()
	pages := m.Pages(1)
	sealed, err := SealPage(key, 1, 0, pages[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewManifest().OpenPage(key, 1, 1, sealed); !errors.Is(err, ErrWrongKeys) {
		t.Errorf("page 0 read as page 1: %v, want ErrWrongKeys", err)
	}
	if _, err := NewManifest().OpenPage(key, 2, 0, sealed); !errors.Is(err, ErrWrongKeys) {
		t.Errorf("page read with other bits: %v, want ErrWrongKeys", err)
	}
	if _, err := NewManifest().OpenPage(NewPageKey(), 1, 0, sealed); !errors.Is(err, ErrWrongKeys) {
		t.Errorf("page read with another key: %v, want ErrWrongKeys", err)
	}
	// Page 1's plaintext sealed as page 0: its entry is of page 1.
	wrong := bytes.Replace(pages[1], []byte(`"page":1`), []byte(`"page":0`), 1)
	sealed, err = SealPage(key, 1, 0, wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewManifest().OpenPage(key, 1, 0, sealed); err == nil || !strings.Contains(err.Error(), "another page") {
		t.Errorf("an entry out of its page: %v, want an error", err)
	}
	if _, err := NewManifest().OpenPage(key, 1, 0, sealed[:10]); err == nil {
		t.Error("a page cut short was read")
	}
}

// pagedVector is the known-answer file of the paged manifest encoding
// (testdata/manifest-v2.json): a manifest's pages sealed with a fixed key
// and nonces, and its index encrypted to a fixed identity.
type pagedVector struct {
	Comment  string   `json:"comment"`
	Identity string   `json:"identity"`
	Key      string   `json:"key"`
	Bits     int      `json:"bits"`
	Index    string   `json:"index"`     // plaintext
	IndexAge string   `json:"index_age"` // hex of the age file
	Pages    []string `json:"pages"`     // plaintexts
	Nonces   []string `json:"nonces"`    // hex
	Sealed   []string `json:"sealed"`    // hex
}

func vectorManifest() *Manifest {
	m := NewManifest()
	for i, id := range []string{"2NEpo7TZRRrLZSi2U", "3P14159f73E4gFr7J", "4u5HiLbpYxM3RQD2W", "5Hsq3LhWnLdYwYfma", "6ZGnhzY5RWYk4G2a3"} {
		e := entry(id, int64(1700000000+i))
		e.Category, e.FileName, e.MIME = "Identité", "passeport.pdf", "application/pdf"
		if err := m.Add(e); err != nil {
			panic(err)
		}
	}
	if err := m.Remove("4u5HiLbpYxM3RQD2W", time.Unix(1700001000, 0)); err != nil {
		panic(err)
	}
	if err := m.AddDelegation(Delegation{ID: "7kD5aQ", Structure: "12D3KooWPeer", StructureName: "CCAS d'Angers", Categories: []string{"CAF"}, Granted: time.Unix(1700000500, 0), Expires: time.Unix(1702592500, 0)}); err != nil {
		panic(err)
	}
	return m
}

const vectorFile = "testdata/manifest-v2.json"

// TestPagedKnownAnswers decodes the frozen vectors and encodes them back
// byte for byte. BALUCHON_WRITE_VECTORS=1 writes them (once, when the
// format is made: a change of format is a new version, never a new file).
func TestPagedKnownAnswers(t *testing.T) {
	if os.Getenv("BALUCHON_WRITE_VECTORS") != "" {
		writeVectors(t)
	}
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v pagedVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	id, err := age.ParseHybridIdentity(v.Identity)
	if err != nil {
		t.Fatal(err)
	}
	indexAge, _ := hex.DecodeString(v.IndexAge)
	m, ix, err := DecryptIndex(bytes.NewReader(indexAge), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.marshalIndex(ix)); got != v.Index {
		t.Fatalf("index re-encoded:\n%s\nwant\n%s", got, v.Index)
	}
	if hex.EncodeToString(ix.Key[:]) != v.Key || ix.Bits != v.Bits {
		t.Fatal("index key or bits differ from the vector")
	}
	for p, plain := range v.Pages {
		nonce, _ := hex.DecodeString(v.Nonces[p])
		sealed, err := sealPage(ix.Key, ix.Bits, p, []byte(plain), nonce)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(sealed) != v.Sealed[p] {
			t.Fatalf("page %d sealed differently from the vector", p)
		}
		if _, err := m.OpenPage(ix.Key, ix.Bits, p, sealed); err != nil {
			t.Fatalf("page %d: %v", p, err)
		}
	}
	want := vectorManifest()
	if !m.Equal(want) {
		t.Fatalf("vector manifest:\n%s\nwant\n%s", m.marshal(), want.marshal())
	}
	for p, plain := range want.Pages(ix.Bits) {
		if string(plain) != v.Pages[p] {
			t.Fatalf("page %d re-encoded:\n%s\nwant\n%s", p, plain, v.Pages[p])
		}
	}
}

func writeVectors(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	m := vectorManifest()
	var key PageKey
	for i := range key {
		key[i] = byte(i)
	}
	ix := Index{Key: key, Bits: 1}
	var buf bytes.Buffer
	if err := m.EncryptIndex(&buf, id.Recipient(), ix); err != nil {
		t.Fatal(err)
	}
	v := pagedVector{
		Comment:  "baluchon paged manifest (version 2): see vault/doc.go, Paged manifest. Frozen: never regenerate.",
		Identity: id.String(), Key: hex.EncodeToString(key[:]), Bits: ix.Bits,
		Index: string(m.marshalIndex(ix)), IndexAge: hex.EncodeToString(buf.Bytes()),
	}
	for p, plain := range m.Pages(ix.Bits) {
		nonce := bytes.Repeat([]byte{byte(0xa0 + p)}, 24)
		sealed, err := sealPage(key, ix.Bits, p, plain, nonce)
		if err != nil {
			t.Fatal(err)
		}
		v.Pages = append(v.Pages, string(plain))
		v.Nonces = append(v.Nonces, hex.EncodeToString(nonce))
		v.Sealed = append(v.Sealed, hex.EncodeToString(sealed))
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzPagedDecoders feeds the decoders of a page's and an index's
// plaintext (what a key holder could have sealed) with arbitrary bytes.
func FuzzPagedDecoders(f *testing.F) {
	m := vectorManifest()
	for _, p := range m.Pages(1) {
		f.Add(p)
	}
	f.Add(m.marshalIndex(Index{Bits: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for bits := range 2 {
			for page := range 1 << bits {
				_ = NewManifest().addPage(b, bits, page)
			}
		}
		if m, ix, err := decodeIndex(b); err == nil {
			if ix.Bits < 0 || ix.Bits > MaxPageBits || m == nil {
				t.Fatalf("decoded index with %d bits", ix.Bits)
			}
		}
	})
}
