package vault

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestManifestTrash(t *testing.T) {
	m := NewManifest()
	for _, id := range []string{"a", "b", "c"} {
		if err := m.Add(entry(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	if err := m.Remove("a", day(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("b", day(10)); err != nil {
		t.Fatal(err)
	}
	tr := m.Trash()
	if len(tr) != 2 || tr[0].ID != "a" || tr[1].ID != "b" || !tr[0].Deleted.Equal(day(1)) || tr[1].Title != "titre b" {
		t.Fatalf("trash %+v", tr)
	}
	// The trash survives the encoding.
	back, err := decodeManifest(m.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(m) || len(back.Trash()) != 2 {
		t.Fatal("trash lost in JSON")
	}
	// Restore gives a new id to the same CID; the old id stays deleted.
	r, err := m.Restore(tr[0].Entry, "a2")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "a2" || !r.CID.Equals(tr[0].CID) || r.Title != tr[0].Title {
		t.Fatalf("restored %+v", r)
	}
	if _, ok := m.Get("a2"); !ok || len(m.Trash()) != 1 {
		t.Fatal("restored document not live, or still in the trash")
	}
	if _, err := m.Restore(r, "a3"); err == nil {
		t.Fatal("restored a live document")
	}
	if _, err := m.Restore(tr[1].Entry, "a2"); err == nil {
		t.Fatal("restored under an id in use")
	}
	// Purge drops the entries of documents deleted before a date; the
	// tombstones stay.
	if k := m.Purge(day(5)); k != 0 {
		t.Fatalf("purged %d, want 0 (a was restored)", k)
	}
	if k := m.Purge(day(11)); k != 1 || len(m.Trash()) != 0 {
		t.Fatalf("purged %d, trash %d", k, len(m.Trash()))
	}
	if _, ok := m.Deleted("b"); !ok {
		t.Fatal("purge dropped a tombstone")
	}
}

func TestManifestClampDeletions(t *testing.T) {
	m := NewManifest()
	_ = m.Add(entry("a", 1))
	_ = m.Add(entry("b", 1))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = m.Remove("a", now.Add(-time.Hour))
	_ = m.Remove("b", now.AddDate(100, 0, 0)) // forged: purged in a century
	m.ClampDeletions(now)
	if d, _ := m.Deleted("a"); !d.Equal(now.Add(-time.Hour)) {
		t.Fatalf("a past deletion moved to %s", d)
	}
	if d, _ := m.Deleted("b"); !d.Equal(now) {
		t.Fatalf("a future deletion stays at %s", d)
	}
	if k := m.Purge(now.AddDate(0, 0, 1)); k != 2 {
		t.Fatalf("purged %d, want 2", k)
	}
}

// A state that deletes every document and purges its trash (a forged or
// mistaken head) does not take the documents: merged with a state that
// has them, they are in the trash.
func TestManifestTrashAgainstForgedState(t *testing.T) {
	honest := NewManifest()
	for _, id := range []string{"a", "b"} {
		if err := honest.Add(entry(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	forged := Merge(honest, nil)
	for _, id := range []string{"a", "b"} {
		if err := forged.Remove(id, time.Unix(5, 0)); err != nil {
			t.Fatal(err)
		}
	}
	forged.Purge(time.Unix(6, 0))
	if len(forged.Trash()) != 0 || forged.Len() != 0 {
		t.Fatal("forged state still holds documents")
	}
	for _, m := range []*Manifest{Merge(honest, forged), Merge(forged, honest)} {
		if m.Len() != 0 || len(m.Trash()) != 2 {
			t.Fatalf("merge: %d live, %d in the trash; want 0 and 2", m.Len(), len(m.Trash()))
		}
	}
}

func TestDecodeManifestTrashChecks(t *testing.T) {
	good := NewManifest()
	_ = good.Add(entry("a", 1))
	_ = good.Remove("a", time.Unix(2, 0))
	b := good.marshal()
	if !bytes.Contains(b, []byte(`"entry":{"id":"a"`)) {
		t.Fatalf("trash not written in the tombstone: %s", b)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"other id", `"entry":{"id":"a"`, `"entry":{"id":"b"`, "another id"},
		{"no cid", `"cid":"` + cidOf("a").String() + `"`, `"cid":""`, "no CID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(b), tc.from, tc.to, 1)
			if _, err := decodeManifest([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
