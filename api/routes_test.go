package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"baluchon/node"
)

// client returns a client of a test server over f.
func client(t *testing.T, f *fakeNode) *Client {
	s := serve(t, f)
	return &Client{base: s.URL, token: testToken, http: s.Client()}
}

// TestDocumentRoutes: a card's documents go through the API and back,
// byte for byte, with their metadata; deleted ones go to the trash and
// come back.
func TestDocumentRoutes(t *testing.T) {
	f := newFake(t, 10)
	c := client(t, f)
	ctx := t.Context()
	created, err := c.CreateVault(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if created.Card != f.card.String() || created.Vault != f.vault.String() || len(created.Guardians) != 1 || !strings.HasPrefix(created.Guardians[0], "structure ") {
		t.Fatalf("created %+v", created)
	}
	content := []byte("%PDF-1.4 attestation CAF")
	d, err := c.Add(ctx, f.card, bytes.NewReader(content), int64(len(content)), node.DocMeta{Title: "Attestation CAF", Category: "CAF / prestations", FileName: "caf.pdf", MIME: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Attestation CAF" || d.Category != "CAF / prestations" || d.FileName != "caf.pdf" || d.MIME != "application/pdf" || d.Size != int64(len(content)) {
		t.Fatalf("added %+v", d)
	}
	list, err := c.List(ctx, f.card)
	if err != nil {
		t.Fatal(err)
	}
	if list.Vault != f.vault.String() || len(list.Docs) != 1 || list.Docs[0] != *d || list.Deposited == nil {
		t.Fatalf("listed %+v", list)
	}
	r, size, err := c.Get(ctx, f.card, d.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, content) || size != int64(len(content)) {
		t.Fatalf("got %q (%d bytes announced)", got, size)
	}
	if _, _, err := c.Get(ctx, f.card, "nope", false); !isCode(err, CodeNoDocument) {
		t.Fatalf("get a missing document: %v", err)
	}
	if err := c.Open(ctx, f.card, nil); err != nil {
		t.Fatal(err)
	}

	if err := c.Remove(ctx, f.card, d.ID); err != nil {
		t.Fatal(err)
	}
	trash, err := c.Trash(ctx, f.card)
	if err != nil {
		t.Fatal(err)
	}
	if len(trash) != 1 || trash[0].ID != d.ID || trash[0].Purge.Sub(trash[0].Deleted).Hours() != 30*24 {
		t.Fatalf("trash %+v", trash)
	}
	back, err := c.Restore(ctx, f.card, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID == d.ID || back.Title != d.Title {
		t.Fatalf("restored %+v", back)
	}
	want := []string{"Register", "Add", "Open", "Get", "Get", "Open", "Remove", "Trash", "Restore"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

// TestOpenStreamsError: an error while opening arrives as the last line
// of the stream, with its code.
func TestOpenStreamsError(t *testing.T) {
	f := newFake(t, 11)
	f.fail = node.ErrVaultUnreachable
	c := client(t, f)
	if err := c.Open(t.Context(), f.card, nil); !isCode(err, CodeVaultUnreachable) {
		t.Fatalf("got %v", err)
	}
}

// TestDelegationAndDepositRoutes: without the card, a delegate lists the
// documents and a structure deposits one.
func TestDelegationAndDepositRoutes(t *testing.T) {
	f := newFake(t, 12)
	c := client(t, f)
	ctx := t.Context()
	v := f.vault.String()
	if _, err := c.DelegatedList(ctx, v); !isCode(err, CodeNoDelegation) {
		t.Fatalf("list without a delegation: %v", err)
	}
	id, err := c.Delegate(ctx, f.card, f.members[1].String(), []string{"Santé"}, 30)
	if err != nil {
		t.Fatal(err)
	}
	if id != "del0" || f.delegations[0].Structure != f.members[1].String() || !slices.Equal(f.delegations[0].Categories, []string{"Santé"}) {
		t.Fatalf("delegation %q %+v", id, f.delegations)
	}
	list, err := c.DelegatedList(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if list.Vault != v || list.Docs == nil {
		t.Fatalf("delegated list %+v", list)
	}
	dep, err := c.Deposit(ctx, v, strings.NewReader("courrier"), 8, node.DocMeta{Title: "Courrier de la CAF"})
	if err != nil || dep != "dep1" {
		t.Fatalf("deposit %q, %v", dep, err)
	}
	pending, err := c.PendingDeposits(ctx, v)
	if err != nil || len(pending) != 1 || pending[0].By != "structure" {
		t.Fatalf("pending %+v, %v", pending, err)
	}
}

// TestFederationRoute: members come with their structures' names.
func TestFederationRoute(t *testing.T) {
	f := newFake(t, 13)
	c := client(t, f)
	fi, err := c.FederationInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Federation != f.members[0].String() || len(fi.Members) != 2 || fi.Names[f.members[1].String()] != f.StructureName(f.members[1]) {
		t.Fatalf("got %+v", fi)
	}
	fed, members, err := c.Federation(t.Context())
	if err != nil || fed != fi.Federation || !slices.Equal(members, fi.Members) {
		t.Fatalf("got %s %v %v", fed, members, err)
	}
}

// TestUSBRoutes: an export announces its size and streams the CAR; an
// import of something else is refused as bad_import.
func TestUSBRoutes(t *testing.T) {
	f := newFake(t, 14)
	c := client(t, f)
	ctx := t.Context()
	r, n, err := c.Export(ctx, f.card)
	if err != nil {
		t.Fatal(err)
	}
	car, _ := io.ReadAll(r)
	r.Close()
	if string(car) != "car!!" || n != 5 {
		t.Fatalf("export %q, %d bytes announced", car, n)
	}
	res, err := c.Import(ctx, bytes.NewReader(car), int64(len(car)))
	if err != nil || res.Vaults != 1 {
		t.Fatalf("import %+v, %v", res, err)
	}
	if _, err := c.Import(ctx, strings.NewReader("not a car"), 9); !isCode(err, CodeBadImport) {
		t.Fatalf("import of junk: %v", err)
	}
}

func isCode(err error, code string) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == code
}

// TestUnknownRoute: a route the API does not have is a plain 404 once
// authenticated, and 401 without the token.
func TestUnknownRoute(t *testing.T) {
	s := serve(t, newFake(t, 15))
	for _, tc := range []struct {
		token  string
		status int
	}{{testToken, http.StatusNotFound}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest("GET", s.URL+"/v2/nothing", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("token %q: status %d, want %d", tc.token, resp.StatusCode, tc.status)
		}
	}
}
