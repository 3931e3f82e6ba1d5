package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func entry(id string, added int64) Entry {
	return Entry{ID: id, CID: cidOf(id), Size: added, Title: "titre " + id, Added: time.Unix(added, 0).UTC()}
}

// randomManifest draws a manifest over a few ids, so that random
// manifests overlap: the same id live in one, deleted in another, or
// (which random ids make impossible in practice) two different entries.
func randomManifest(r *rand.Rand) *Manifest {
	m := NewManifest()
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		e := entry(id, int64(r.IntN(3)))
		if r.IntN(4) == 0 {
			e.Title = "autre"
		}
		switch r.IntN(3) {
		case 1:
			if err := m.Add(e); err != nil {
				panic(err)
			}
		case 2:
			_ = m.Add(e)
			if err := m.Remove(id, time.Unix(int64(r.IntN(100)), 0)); err != nil {
				panic(err)
			}
			if r.IntN(3) == 0 {
				// Purged, or a forged state's tombstone without its entry.
				delete(m.trash, id)
			}
		}
	}
	// Previous vaults over a pool larger than MaxHistory, so that merges
	// go over the bound, with now and then another value for the same
	// vault (which only a forged state writes).
	for range r.IntN(3) * 20 {
		p := historyPool[r.IntN(len(historyPool))]
		if r.IntN(8) == 0 {
			p.Moved = p.Moved.Add(time.Second)
		}
		_ = m.AddPrevious(p)
	}
	return m
}

// historyPool holds previous vaults for randomManifest.
var historyPool = func() []Previous {
	k, err := NewKeys()
	if err != nil {
		panic(err)
	}
	out := make([]Previous, MaxHistory+16)
	for i := range out {
		out[i] = k.Previous(time.Unix(int64(i), 0))
		out[i].Vault[0], out[i].Vault[1] = byte(i), byte(i>>8)
	}
	return out
}()

func TestManifestMergeLaws(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a, b, c := randomManifest(r), randomManifest(r), randomManifest(r)
		ab := Merge(a, b)
		if !ab.Equal(Merge(b, a)) {
			t.Fatal("merge is not commutative")
		}
		if !Merge(ab, c).Equal(Merge(a, Merge(b, c))) {
			t.Fatal("merge is not associative")
		}
		if !Merge(a, a).Equal(a) || !Merge(ab, a).Equal(ab) {
			t.Fatal("merge is not idempotent")
		}
		if !Merge(a, nil).Equal(a) || !Merge(nil, a).Equal(a) || !Merge(a, NewManifest()).Equal(a) {
			t.Fatal("an empty manifest is not neutral")
		}
		// Nothing lost: every id of a or b is in the merge, live unless
		// one of them deleted it.
		for _, m := range []*Manifest{a, b} {
			for id := range m.entries {
				_, dead := ab.tombstones[id]
				if _, live := ab.entries[id]; live == dead {
					t.Fatalf("id %s: live %v, deleted %v", id, live, dead)
				}
			}
			// Nothing destroyed: an entry either side holds, live or in
			// its trash, is live or in the trash of the merge.
			for _, src := range []map[string]Entry{m.entries, m.trash} {
				for id := range src {
					_, live := ab.entries[id]
					_, trashed := ab.trash[id]
					if !live && !trashed {
						t.Fatalf("entry %s lost", id)
					}
				}
			}
			// Previous vaults: a union, up to the bound.
			for v := range m.history {
				if _, ok := ab.history[v]; !ok && len(ab.history) < MaxHistory {
					t.Fatalf("previous vault %s lost", v)
				}
			}
			if len(ab.history) > MaxHistory {
				t.Fatalf("merge lists %d previous vaults", len(ab.history))
			}
			for id := range m.tombstones {
				if _, ok := ab.tombstones[id]; !ok {
					t.Fatalf("tombstone %s lost", id)
				}
				if _, ok := ab.entries[id]; ok {
					t.Fatalf("deleted %s is live", id)
				}
			}
		}
	}
}

func TestManifestMergeLeavesInputs(t *testing.T) {
	a := NewManifest()
	_ = a.Add(entry("a", 1))
	before := a.marshal()
	m := Merge(a, nil)
	_ = m.Add(entry("b", 2))
	_ = m.Remove("a", time.Unix(3, 0))
	if !bytes.Equal(a.marshal(), before) {
		t.Fatal("editing a merge changed its input")
	}
}

func TestManifestConcurrentAddsAndDelete(t *testing.T) {
	base := NewManifest()
	if err := base.Add(entry("shared", 1)); err != nil {
		t.Fatal(err)
	}
	left, right := Merge(base, nil), Merge(base, nil)
	if err := left.Add(entry("west", 2)); err != nil {
		t.Fatal(err)
	}
	if err := right.Add(entry("east", 3)); err != nil {
		t.Fatal(err)
	}
	if err := right.Remove("shared", time.Unix(4, 0)); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Manifest{Merge(left, right), Merge(right, left)} {
		var ids []string
		for _, e := range m.Entries() {
			ids = append(ids, e.ID)
		}
		if strings.Join(ids, ",") != "west,east" || m.Len() != 2 {
			t.Fatalf("merged entries %v, want west,east", ids)
		}
		if _, ok := m.Get("shared"); ok {
			t.Fatal("deleted entry is back")
		}
		if err := m.Add(entry("shared", 5)); err == nil {
			t.Fatal("re-added a deleted id")
		}
		if err := m.Add(entry("west", 5)); err == nil {
			t.Fatal("added an id twice")
		}
		if err := m.Remove("shared", time.Now()); err == nil {
			t.Fatal("removed a deleted id")
		}
	}
	// The tombstone wins over the entry, whatever the order of merges.
	m := Merge(Merge(left, base), right)
	if _, ok := m.Get("shared"); ok {
		t.Fatal("entry survived its tombstone")
	}
}

func TestManifestEntries(t *testing.T) {
	var m Manifest // the zero value is usable
	if m.Len() != 0 || len(m.Entries()) != 0 {
		t.Fatal("zero manifest is not empty")
	}
	paris := time.FixedZone("Paris", 3600)
	for _, e := range []Entry{entry("c", 5), entry("b", 5), entry("a", 9), entry("z", 1)} {
		e.Added = e.Added.In(paris)
		if err := m.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, e := range m.Entries() {
		ids = append(ids, e.ID)
		if e.Added.Location() != time.UTC {
			t.Fatal("entry time not kept in UTC")
		}
	}
	if strings.Join(ids, "") != "zbca" || m.Len() != 4 {
		t.Fatalf("entries in order %v", ids)
	}
	if err := m.Remove("b", time.Unix(10, 0)); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("nope", time.Unix(10, 0)); err == nil {
		t.Fatal("removed an unknown document")
	}
	if _, ok := m.Get("b"); ok || m.Len() != 3 {
		t.Fatal("removed document still there")
	}
	if e, ok := m.Get("a"); !ok || e.Title != "titre a" {
		t.Fatal("Get lost an entry")
	}
	other := NewManifest()
	if m.Equal(other) || !Merge(&m, other).Equal(&m) {
		t.Fatal("Equal is wrong")
	}
}

func TestManifestAddChecks(t *testing.T) {
	good := entry("x", 1)
	good.Category, good.FileName, good.MIME, good.AddedBy = "CAF", "attestation.pdf", "application/pdf", "12D3KooW"
	good.Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := NewManifest().Add(good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Entry)
	}{
		{"empty id", func(e *Entry) { e.ID = "" }},
		{"bad id", func(e *Entry) { e.ID = "bad id!" }},
		{"id with 0", func(e *Entry) { e.ID = "a0" }},
		{"long id", func(e *Entry) { e.ID = strings.Repeat("a", maxDocID+1) }},
		{"no CID", func(e *Entry) { e.CID = Entry{}.CID }},
		{"negative size", func(e *Entry) { e.Size = -1 }},
		{"long title", func(e *Entry) { e.Title = strings.Repeat("é", maxTitle+1) }},
		{"long category", func(e *Entry) { e.Category = strings.Repeat("c", maxCategory+1) }},
		{"long file name", func(e *Entry) { e.FileName = strings.Repeat("f", maxFileName+1) }},
		{"long MIME", func(e *Entry) { e.MIME = strings.Repeat("m", maxMIME+1) }},
		{"long added by", func(e *Entry) { e.AddedBy = strings.Repeat("p", maxAddedBy+1) }},
		{"invalid UTF-8", func(e *Entry) { e.Title = "caf\xe9" }},
		{"newline", func(e *Entry) { e.FileName = "a\nb" }},
		{"escape", func(e *Entry) { e.Title = "\x1b[31m" }},
		{"year 10000", func(e *Entry) { e.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"year -1", func(e *Entry) { e.Added = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			tc.edit(&e)
			m := NewManifest()
			if err := m.Add(e); err == nil {
				t.Fatal("accepted")
			}
			if m.Len() != 0 {
				t.Fatal("a refused entry was added")
			}
		})
	}
	ok := good
	ok.Title = strings.Repeat("é", maxTitle)
	if err := NewManifest().Add(ok); err != nil {
		t.Fatalf("title at the limit: %v", err)
	}
}

// TestManifestJSON pins the plaintext of a manifest.
func TestManifestJSON(t *testing.T) {
	m := NewManifest()
	e := entry("doc1", 10)
	e.Category, e.FileName, e.MIME = "CAF", "attestation.pdf", "application/pdf"
	if err := m.Add(e); err != nil {
		t.Fatal(err)
	}
	_ = m.Add(entry("doc2", 11))
	_ = m.Remove("doc2", time.Unix(12, 5))
	want := `{"v":1,"entries":[{"id":"doc1","cid":"` + cidOf("doc1").String() + `","size":10,"title":"titre doc1",` +
		`"category":"CAF","file_name":"attestation.pdf","mime":"application/pdf","added":"1970-01-01T00:00:10Z"}],` +
		`"tombstones":[{"id":"doc2","deleted":"1970-01-01T00:00:12.000000005Z","entry":{"id":"doc2","cid":"` + cidOf("doc2").String() +
		`","size":11,"title":"titre doc2","added":"1970-01-01T00:00:11Z"}}]}`
	if got := string(m.marshal()); got != want {
		t.Fatalf("manifest JSON\n%s\nwant\n%s", got, want)
	}
	if got := string(NewManifest().marshal()); got != `{"v":1,"entries":[],"tombstones":[]}` {
		t.Fatalf("empty manifest JSON %s", got)
	}
	// An Entry alone has the same JSON, CID as a string.
	b, err := json.Marshal(e)
	if err != nil || !strings.Contains(string(b), `"cid":"bafk`) {
		t.Fatalf("entry JSON %s: %v", b, err)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil || !back.CID.Equals(e.CID) || back.Title != e.Title || !back.Added.Equal(e.Added) {
		t.Fatalf("entry JSON round trip: %+v, %v", back, err)
	}
}

func TestDecodeManifestChecks(t *testing.T) {
	const secret = "Rendez-vous préfecture"
	good := NewManifest()
	e := entry("doc1", 10)
	e.Title = secret
	_ = good.Add(e)
	_ = good.Add(entry("doc2", 11))
	_ = good.Remove("doc2", time.Unix(12, 0))
	text := string(good.marshal())
	m, err := decodeManifest([]byte(text))
	if err != nil || !m.Equal(good) {
		t.Fatalf("decode a good manifest: %v", err)
	}
	// The CID in another multibase decodes to the same manifest.
	b32 := cidOf("doc1").String()
	b58, _ := cidOf("doc1").StringOfBase('z')
	if m, err := decodeManifest([]byte(strings.Replace(text, b32, b58, 1))); err != nil || !m.Equal(good) {
		t.Fatalf("CID in base58: %v", err)
	}
	tests := []struct{ name, text string }{
		{"version 2", strings.Replace(text, `"v":1`, `"v":2`, 1)},
		{"no version", strings.Replace(text, `"v":1,`, ``, 1)},
		{"unknown field", strings.Replace(text, `"v":1`, `"v":1,"x":0`, 1)},
		{"unknown entry field", strings.Replace(text, `"size":10`, `"size":10,"secret":"`+secret+`"`, 1)},
		{"duplicate entry", strings.Replace(text, `"entries":[`, `"entries":[{"id":"doc1","cid":"`+b32+`","size":1,"added":"1970-01-01T00:00:10Z"},`, 1)},
		{"deleted entry", strings.Replace(text, `"id":"doc1"`, `"id":"doc2"`, 1)},
		{"duplicate tombstone", strings.Replace(text, `"tombstones":[`, `"tombstones":[{"id":"doc2","deleted":"1970-01-01T00:00:12Z"},`, 1)},
		{"bad tombstone id", strings.Replace(text, `{"id":"doc2"`, `{"id":"doc 2 `+secret+`"`, 1)},
		{"bad entry id", strings.Replace(text, `"id":"doc1"`, `"id":"`+secret+`"`, 1)},
		{"negative size", strings.Replace(text, `"size":10`, `"size":-10`, 1)},
		{"fractional size", strings.Replace(text, `"size":10`, `"size":10.5`, 1)},
		{"bad CID", strings.Replace(text, b32, "bafk"+secret, 1)},
		{"no CID", strings.Replace(text, `"cid":"`+b32+`",`, ``, 1)},
		{"CID object", strings.Replace(text, `"`+b32+`"`, `{"/":"`+b32+`"}`, 1)},
		{"long title", strings.Replace(text, secret, strings.Repeat(secret, 10), 1)},
		{"control character", strings.Replace(text, secret, secret+`\u0007`, 1)},
		{"bad time", strings.Replace(text, `"1970-01-01T00:00:10Z"`, `"`+secret+`"`, 1)},
		{"title not a string", strings.Replace(text, `"`+secret+`"`, `["`+secret+`"]`, 1)},
		{"trailing", text + `{"v":1}`},
		{"trailing bracket", text + `]`},
		{"cut", text[:len(text)/2]},
		{"not JSON", secret},
		{"null", `null`},
		{"empty", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeManifest([]byte(tc.text))
			if err == nil {
				t.Fatal("accepted")
			}
			// age's TestParseErrorsDoNotIncludeLine: a position, never
			// the plaintext.
			for _, part := range []string{secret, "Rendez", "doc1", "doc2", "titre", b32[:12], "1970"} {
				if strings.Contains(err.Error(), part) {
					t.Fatalf("error %q quotes the manifest", err)
				}
			}
		})
	}
}

func TestManifestEncryption(t *testing.T) {
	keys, other := mustKeys(t), mustKeys(t)
	m := NewManifest()
	e := entry("doc1", 10)
	e.Category, e.FileName, e.MIME = "CAF", "attestation.pdf", "application/pdf"
	e.Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := m.Add(e); err != nil {
		t.Fatal(err)
	}
	_ = m.Add(entry("doc2", 11))
	_ = m.Remove("doc2", time.Unix(12, 0))
	var buf bytes.Buffer
	if err := m.Encrypt(&buf, keys.Recipient()); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"attestation", "CAF", "doc1", "titre"} {
		if bytes.Contains(buf.Bytes(), []byte(plain)) {
			t.Fatalf("encrypted manifest holds %q", plain)
		}
	}
	got, err := DecryptManifest(bytes.NewReader(buf.Bytes()), keys.Identity())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(m) {
		t.Fatal("decrypted manifest differs")
	}
	if ge, _ := got.Get("doc1"); ge != m.entries["doc1"] {
		t.Fatalf("entry round trip: %+v", ge)
	}
	if _, err := DecryptManifest(bytes.NewReader(buf.Bytes()), other.Identity()); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("other keys: got %v, want ErrWrongKeys", err)
	}
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)-3] ^= 1
	if _, err := DecryptManifest(bytes.NewReader(bad), keys.Identity()); err == nil || errors.Is(err, ErrWrongKeys) {
		t.Fatalf("tampered manifest: got %v", err)
	}
	// The decrypted manifest is still a CRDT.
	if err := got.Add(entry("doc3", 13)); err != nil || Merge(got, m).Len() != 2 {
		t.Fatalf("decrypted manifest: %v", err)
	}
}

func TestManifestSizeLimit(t *testing.T) {
	t.Parallel()
	keys := mustKeys(t)
	// A plaintext over the limit is refused after decryption, and never
	// written.
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, keys.Recipient())
	_, _ = w.Write([]byte(`{"v":1,"entries":[],"tombstones":[]}`))
	_, _ = w.Write(bytes.Repeat([]byte(" "), MaxManifestSize))
	_ = w.Close()
	if _, err := DecryptManifest(&buf, keys.Identity()); err == nil {
		t.Fatal("oversize manifest accepted")
	}
	m := NewManifest()
	e := entry("id", 1)
	e.Title, e.Category, e.FileName = strings.Repeat("é", maxTitle), strings.Repeat("é", maxCategory), strings.Repeat("é", maxFileName)
	one, _ := json.Marshal(e)
	src := rand.NewChaCha8([32]byte{2})
	for range MaxManifestSize/len(one) + 1 {
		e.ID = NewDocumentID(src)
		if err := m.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.marshal()) <= MaxManifestSize {
		t.Fatal("test manifest is not over the limit")
	}
	buf.Reset()
	if err := m.Encrypt(&buf, keys.Recipient()); err == nil {
		t.Fatal("encrypted a manifest over the limit")
	}
	if buf.Len() != 0 {
		t.Fatal("wrote part of a manifest over the limit")
	}
}

func TestNewDocumentID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewDocumentID(nil)
		if err := checkDocID(id); err != nil || len(id) > 11 || seen[id] {
			t.Fatalf("document id %q: %v", id, err)
		}
		seen[id] = true
	}
	src := rand.NewChaCha8([32]byte{1})
	a := NewDocumentID(src)
	src = rand.NewChaCha8([32]byte{1})
	if b := NewDocumentID(src); a != b {
		t.Fatal("seeded ids differ")
	}
	if slices.Contains([]string{"", "1"}, a) {
		t.Fatal("degenerate id")
	}
}
