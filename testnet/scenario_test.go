package testnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baluchon/node"
	"baluchon/vault"
)

type testDoc struct {
	title, category, name string
	data                  []byte
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readDoc(t *testing.T, n *node.Node, card *vault.Card, id string) []byte {
	t.Helper()
	d, err := n.Get(context.Background(), card, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	defer d.Close()
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return b
}

// checkVault asserts that n lists exactly docs (by id) and returns each
// byte-identical.
func checkVault(t *testing.T, n *node.Node, card *vault.Card, ids []string, docs []testDoc) {
	t.Helper()
	_, entries, err := n.List(context.Background(), card)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(entries) != len(docs) {
		t.Fatalf("listed %d documents, want %d", len(entries), len(docs))
	}
	byID := map[string]vault.Entry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	for i, id := range ids {
		e, ok := byID[id]
		if !ok {
			t.Fatalf("document %s (%s) is not listed", id, docs[i].title)
		}
		if e.Title != docs[i].title || e.Category != docs[i].category || e.FileName != docs[i].name || e.Size != int64(len(docs[i].data)) {
			t.Errorf("document %s listed as %+v, want %s/%s/%s/%d", id, e, docs[i].title, docs[i].category, docs[i].name, len(docs[i].data))
		}
		if got := readDoc(t, n, card, id); !bytes.Equal(got, docs[i].data) {
			t.Errorf("document %s: got %d bytes, not the %d stored", docs[i].title, len(got), len(docs[i].data))
		}
	}
}

// TestScenario is the foundation scenario: structure A registers a person
// and stores three documents; structure B, which never saw the person,
// finds the vault through the network from the card alone and gets the
// documents back byte-identical; A switches off; C gets everything from B.
// Then no node's home holds any plaintext, title, file name or the card.
func TestScenario(t *testing.T) {
	ctx := context.Background()
	net := New(t, 3, Options{})
	a, b, c := net.Nodes[0], net.Nodes[1], net.Nodes[2]
	net.Connect(0, 1)
	net.Connect(1, 2)

	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := []testDoc{
		{"Passeport de Amina Diallo", "Identité", "passeport-amina-diallo.pdf", append([]byte("%PDF-1.4 passeport Amina Diallo "), randomBytes(t, 5<<20+12345)...)},
		{"Attestation vide Zorglub", "Divers", "attestation-vide-zorglub.txt", []byte{}},
		{"Attestation CAF de Amina", "CAF", "attestation-caf-amina.txt", []byte("Attestation de paiement CAF: Amina Diallo, allocataire 7781234, montant 612,45 EUR")},
	}
	var ids []string
	for _, d := range docs {
		e, err := a.Add(ctx, card, bytes.NewReader(d.data), node.DocMeta{Title: d.title, Category: d.category, FileName: d.name})
		if err != nil {
			t.Fatalf("add %s: %v", d.title, err)
		}
		ids = append(ids, e.ID)
	}
	checkVault(t, a, card, ids, docs)

	// B has never seen the card: it finds the vault through A.
	if vs, _ := b.Vaults(ctx); len(vs) != 0 {
		t.Fatalf("B keeps %d vaults before the card is shown", len(vs))
	}
	checkVault(t, b, card, ids, docs)
	if vs, _ := b.Vaults(ctx); len(vs) != 1 || vs[0] != vid {
		t.Fatalf("B keeps vaults %v after the card was shown, want [%s]", vs, vid)
	}

	// A switches off; C, connected to B only, gets everything from B.
	net.Stop(0)
	checkVault(t, c, card, ids, docs)

	// No home holds plaintext, titles, file names, the card or the vault's
	// content identity (only each node's own structure key).
	identity, err := c.ContentIdentity(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	needles := map[string][]byte{
		"card text":            []byte(card.String()),
		"card text, no dashes": []byte(strings.ReplaceAll(card.String(), "-", "")),
		"content identity":     []byte(identity),
	}
	for _, d := range docs {
		needles["title "+d.title] = []byte(d.title)
		needles["file name "+d.name] = []byte(d.name)
		if len(d.data) == 0 {
			continue
		}
		for _, off := range []int{0, len(d.data) / 3, len(d.data) / 2, len(d.data) - 32} {
			needles[fmt.Sprintf("content of %s at %d", d.name, off)] = d.data[off : off+min(32, len(d.data)-off)]
		}
	}
	needles["content of "+docs[2].name] = docs[2].data
	net.Close()
	for i := range 3 {
		found, err := Scan(net.Home(i), needles)
		if err != nil {
			t.Fatal(err)
		}
		for what, files := range found {
			t.Errorf("node %d stores %s in %v", i, what, files)
		}
	}
}

// TestScanFindsNeedles checks the scanner itself, so that the scan in
// TestScenario can fail.
func TestScanFindsNeedles(t *testing.T) {
	dir := t.TempDir()
	secret := randomBytes(t, 1<<20)
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "f"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	found, err := Scan(dir, map[string][]byte{"middle": secret[500000:500032], "absent": randomBytes(t, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if len(found["middle"]) != 1 || len(found["absent"]) != 0 {
		t.Fatalf("scan found %v", found)
	}
	if _, err := Scan(dir, map[string][]byte{"short": []byte("abc")}); err == nil {
		t.Fatal("scan accepted a needle too short to mean anything")
	}
}
