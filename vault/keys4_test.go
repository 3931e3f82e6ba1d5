package vault

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestPublicStateMergeAndRoundTrip(t *testing.T) {
	k := mustKeys(t)
	a, b := k.NewPublicState(), k.NewPublicState()
	c1, c2 := mustCard(t).LookupID(), mustCard(t).LookupID()
	a.RevokedCards[c1] = time.Unix(100, 0).UTC()
	b.RevokedCards[c1] = time.Unix(50, 0).UTC()
	b.RevokedCards[c2] = time.Unix(70, 0).UTC()
	a.RevokedGrants["grant1"] = time.Unix(10, 0).UTC()
	b.Deposits["bafkdeposit"] = time.Unix(20, 0).UTC()
	to := mustKeys(t).VaultID()
	b.MovedTo = &to
	m := MergePublic(a, b)
	if !m.Equal(MergePublic(b, a)) || !MergePublic(m, m).Equal(m) {
		t.Fatal("public state merge is not commutative and idempotent")
	}
	if !m.RevokedCards[c1].Equal(time.Unix(50, 0)) || len(m.RevokedCards) != 2 || m.MovedTo == nil || *m.MovedTo != to || len(m.Deposits) != 1 {
		t.Fatalf("merged: %+v", m)
	}
	got, err := ParsePublicState(m.Marshal())
	if err != nil || !got.Equal(m) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := got.ContentRecipient(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"v":2,"recipient":"x","revoked_cards":[],"revoked_grants":[],"deposits":[]}`,
		`{"v":1,"recipient":"age1notarecipient","revoked_cards":[],"revoked_grants":[],"deposits":[]}`,
		strings.Replace(string(m.Marshal()), `"revoked_grants":[`, `"revoked_grants":[{"id":"grant1","time":"2000-01-01T00:00:00Z"},`, 1),
	} {
		if _, err := ParsePublicState([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestGrant(t *testing.T) {
	k := mustKeys(t)
	structure, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateHybridIdentity()
	var ct bytes.Buffer
	w, _ := k.EncryptDocument(&ct)
	w.Write([]byte("attestation CAF"))
	w.Close()
	key, err := k.FileKey(bytes.NewReader(ct.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	e := entry("doc1", 1)
	e.Category = "CAF"
	g := &Grant{ID: "grant1", Vault: k.VaultID(), Structure: "12D3KooWexample", Categories: []string{"CAF"}, Granted: time.Unix(1, 0), Expires: time.Unix(1e9, 0), Docs: []GrantDoc{{Entry: e, FileKey: key}}}
	sealed, err := g.Seal(structure.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenGrant(sealed, structure)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Covers("CAF") || got.Covers("Santé") || len(got.Docs) != 1 {
		t.Fatalf("grant: %+v", got)
	}
	d, _ := got.Doc("doc1")
	r, err := DecryptWithFileKey(bytes.NewReader(ct.Bytes()), d.FileKey)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(r)
	if out.String() != "attestation CAF" {
		t.Fatalf("decrypted %q", out.String())
	}
	if _, err := OpenGrant(sealed, other); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("another structure opens the grant: %v", err)
	}
	// The file key opens that document only.
	var ct2 bytes.Buffer
	w, _ = k.EncryptDocument(&ct2)
	w.Write([]byte("ordonnance"))
	w.Close()
	if _, err := DecryptWithFileKey(bytes.NewReader(ct2.Bytes()), d.FileKey); err == nil {
		t.Fatal("a document's file key opens another document")
	}
}

func TestRecoveryShares(t *testing.T) {
	k := mustKeys(t)
	ids := make([]*age.HybridIdentity, 3)
	names := []string{"g1", "g2", "g3"}
	for i := range ids {
		ids[i], _ = age.GenerateHybridIdentity()
	}
	shares, err := k.SplitKeys(names, 2)
	if err != nil {
		t.Fatal(err)
	}
	var opened []*Share
	for i, s := range shares {
		sealed, err := s.Seal(ids[i].Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenShare(sealed, ids[(i+1)%3]); err == nil {
			t.Fatal("a guardian opens another's share")
		}
		o, err := OpenShare(sealed, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, o)
		// A share alone holds nothing of the keys in the clear.
		if bytes.Contains(o.Data, []byte(k.IdentityString())) || bytes.Contains(o.Data, k.signing.Seed()) {
			t.Fatal("a share holds the keys")
		}
	}
	if _, err := CombineShares(opened[:1]); !errors.Is(err, ErrNotEnoughShares) {
		t.Fatalf("one share: %v", err)
	}
	if _, err := CombineShares([]*Share{opened[0], opened[0]}); !errors.Is(err, ErrNotEnoughShares) {
		t.Fatalf("the same share twice: %v", err)
	}
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {0, 2}} {
		got, err := CombineShares([]*Share{opened[pair[0]], opened[pair[1]]})
		if err != nil || got.VaultID() != k.VaultID() || got.IdentityString() != k.IdentityString() {
			t.Fatalf("shares %v: %v", pair, err)
		}
	}
	// Shares of two splits do not mix.
	again, _ := k.SplitKeys(names, 2)
	if _, err := CombineShares([]*Share{opened[0], again[1]}); err == nil {
		t.Fatal("shares of two splits rebuilt keys")
	}
	if _, err := k.SplitKeys(names[:1], 1); err == nil {
		t.Fatal("split into one share")
	}
}

func TestLogEntryAndDeposit(t *testing.T) {
	k, other := mustKeys(t), mustKeys(t)
	e := &LogEntry{Time: time.Unix(1700000000, 0).UTC(), Actor: "12D3KooW", ActorName: "CCAS d'Angers", Action: ActionGet, DocID: "doc1"}
	sealed, err := e.Seal(k.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Angers")) {
		t.Fatal("sealed log entry holds plaintext")
	}
	got, err := OpenLogEntry(sealed, k.Identity())
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("log entry round trip: %+v (%v)", got, err)
	}
	if _, err := OpenLogEntry(sealed, other.Identity()); !errors.Is(err, ErrWrongKeys) {
		t.Fatalf("other keys: %v", err)
	}
	d := &DepositMeta{Title: "Courrier", Size: 10, By: "Maraude", ByPeer: "12D3", Deposited: time.Unix(1700000000, 0).UTC()}
	sd, err := d.Seal(k.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	gd, err := OpenDepositMeta(sd, k.Identity())
	if err != nil || *gd != *d {
		t.Fatalf("deposit round trip: %+v (%v)", gd, err)
	}
}

func TestManifestDelegationsAndRecovery(t *testing.T) {
	m := NewManifest()
	d := Delegation{ID: "dXeg1", Structure: "12D3KooW", StructureName: "Accueil", Categories: []string{"CAF"}, Granted: time.Unix(1, 0), Expires: time.Unix(2, 0)}
	if err := m.AddDelegation(d); err != nil {
		t.Fatal(err)
	}
	if err := m.AddDelegation(d); err == nil {
		t.Fatal("a delegation added twice")
	}
	c := cidOf("share").String()
	if err := m.SetRecovery(Recovery{Threshold: 2, Shares: map[string]string{"g1": c, "g2": c}, Created: time.Unix(3, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetRecovery(Recovery{Threshold: 3, Shares: map[string]string{"g1": c, "g2": c}}); err == nil {
		t.Fatal("threshold above the guardians accepted")
	}
	other := NewManifest()
	later := Recovery{Threshold: 2, Shares: map[string]string{"g1": c, "g3": c}, Created: time.Unix(9, 0)}
	other.SetRecovery(later)
	merged := Merge(m, other)
	if !merged.Equal(Merge(other, m)) || len(merged.Delegations()) != 1 || merged.Recovery().Shares["g3"] == "" {
		t.Fatal("merge of delegations and recovery")
	}
	b := merged.marshal()
	got, err := decodeManifest(b)
	if err != nil || !got.Equal(merged) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestLogEntriesFit checks that LogEntries groups documents into entries
// that each seal under MaxLogEntrySize, with every other field at its
// longest (characters that JSON escapes), that their ids come back in
// order, and that an entry naming documents it may not is refused.
func TestLogEntriesFit(t *testing.T) {
	k := mustKeys(t)
	long := func(n int) string { return strings.Repeat("<", n) } // \u003c in JSON: 6 bytes each
	base := LogEntry{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Actor: long(100), ActorName: long(maxTitle), Action: long(40), Note: long(maxTitle)}
	var ids []string
	for range 1000 {
		id := NewDocumentID(nil)
		ids = append(ids, strings.Repeat("z", maxDocID-len(id))+id)
	}
	ids[0] = "1" // ids of every length
	es := LogEntries(base, ids)
	if len(es) < 2 {
		t.Fatalf("1000 ids of 32 characters in %d entries", len(es))
	}
	var got []string
	for _, e := range es {
		sealed, err := e.Seal(k.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) > MaxLogEntrySize {
			t.Fatalf("an entry of %d documents seals to %d bytes, over %d", len(e.DocIDs()), len(sealed), MaxLogEntrySize)
		}
		back, err := OpenLogEntry(sealed, k.Identity())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, back.DocIDs()...)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("ids back: %d, want the %d given in order", len(got), len(ids))
	}
	if es := LogEntries(base, nil); len(es) != 0 {
		t.Fatalf("no ids: %d entries", len(es))
	}
	var short []string
	for i := range 1000 {
		short = append(short, string(alphabet[i%len(alphabet)]))
	}
	for _, e := range LogEntries(base, short) {
		if k := len(e.DocIDs()); k > maxLogEntryDocs {
			t.Fatalf("an entry of %d one-character ids, over %d", k, maxLogEntryDocs)
		}
	}
	one := LogEntries(base, []string{"abc"})
	if len(one) != 1 || one[0].DocID != "abc" || one[0].Docs != nil {
		t.Fatalf("one id: %+v", one)
	}
	for _, bad := range []LogEntry{
		{Time: time.Unix(1, 0).UTC(), Actor: "a", Action: ActionAdd, Docs: []string{"abc"}},                // docs without doc
		{Time: time.Unix(1, 0).UTC(), Actor: "a", Action: ActionAdd, DocID: "abc", Docs: []string{"0OIl"}}, // not base58
		{Time: time.Unix(1, 0).UTC(), Actor: "a", Action: ActionAdd, DocID: "abc", Docs: []string{""}},
		{Time: time.Unix(1, 0).UTC(), Actor: "a", Action: ActionAdd, DocID: "a", Docs: short[:maxLogEntryDocs]}, // a line each: too many
	} {
		sealed, err := bad.Seal(k.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenLogEntry(sealed, k.Identity()); err == nil {
			t.Errorf("entry %+v opened", bad)
		}
	}
}
