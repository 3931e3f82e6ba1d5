package vault

import (
	"encoding/json"
	"strings"
	"testing"
)

// A private document: the flag is in the entry's JSON only when set, it
// survives a round trip, Merge keeps it where two states disagree, and no
// grant covers it.
func TestPrivateDocument(t *testing.T) {
	m := NewManifest()
	if err := m.Add(entry("a", 1)); err != nil {
		t.Fatal(err)
	}
	before := Merge(m, nil)
	b, _ := json.Marshal(m.entries["a"])
	if strings.Contains(string(b), "private") {
		t.Fatalf("a shared entry's JSON names private: %s", b)
	}
	if err := m.SetPrivate("a", true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrivate("nope", true); err == nil {
		t.Fatal("marked a missing document private")
	}
	e, _ := m.Get("a")
	b, _ = json.Marshal(e)
	if !strings.Contains(string(b), `"private":true`) {
		t.Fatalf("a private entry's JSON: %s", b)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil || !back.Private {
		t.Fatalf("round trip: %+v (%v)", back, err)
	}
	for _, mm := range []*Manifest{Merge(before, m), Merge(m, before)} {
		if e, _ := mm.Get("a"); !e.Private {
			t.Fatal("a merge with an older state shares the private document again")
		}
	}
	g := &Grant{}
	if g.CoversEntry(e) {
		t.Fatal("a grant of every document covers a private one")
	}
	e.Private = false
	if !g.CoversEntry(e) {
		t.Fatal("a grant of every document does not cover a shared one")
	}
}
