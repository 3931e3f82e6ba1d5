package testnet

import (
	"context"
	"errors"
	"testing"
	"time"

	"baluchon/node"
)

// TestFollowed: at structure B's desk, with the card, the person lets B
// follow them; B's workers find them by name (without case or accents)
// and open their documents without the card, except those the person
// marked private, even after the delegation was given. The list is at B
// only, and no home holds the name or the birth date in clear.
func TestFollowed(t *testing.T) {
	ctx := context.Background()
	net := federated(t, 2)
	a, b := net.Nodes[0], net.Nodes[1]
	card, vid, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caf := addDoc(t, a, card, "Attestation CAF", "CAF", "Attestation CAF: 612,45 EUR")
	secret := addDoc(t, a, card, "Lettre personnelle", "Autre", "Ce que je garde pour moi")
	later := addDoc(t, a, card, "Ordonnance", "Santé", "Ordonnance du Dr Martin")
	if err := a.SetPrivate(ctx, card, secret.ID, true); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(365 * 24 * time.Hour)
	if _, err := b.Follow(ctx, card, node.FollowOptions{Name: "  ", Until: until}); err == nil {
		t.Fatal("followed with an empty name")
	}
	if _, err := b.Follow(ctx, card, node.FollowOptions{Name: "Céline Dupré", Birth: "3000-01-01", Until: until}); err == nil {
		t.Fatal("followed with a birth date in the future")
	}
	if _, err := b.Delegate(ctx, card, node.DelegateOptions{To: b.ID(), Until: until}); err == nil {
		t.Fatal("Delegate to itself is refused: Follow is the way")
	}
	f, err := b.Follow(ctx, card, node.FollowOptions{Name: "Céline  Dupré", Birth: "1987-03-14", Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if f.Vault != vid || f.Name != "Céline Dupré" {
		t.Fatalf("followed %+v", f)
	}
	for _, q := range []string{"celine", "DUPRE", "dupré céline", "", "1987"} {
		got, err := b.FollowedPeople(ctx, q)
		if err != nil || len(got) != 1 || got[0].ID != f.ID {
			t.Fatalf("search %q: %+v (%v)", q, got, err)
		}
	}
	if got, _ := b.FollowedPeople(ctx, "martin"); len(got) != 0 {
		t.Fatalf("search martin finds %+v", got)
	}
	if got, _ := a.FollowedPeople(ctx, ""); len(got) != 0 {
		t.Fatalf("A, which does not follow the person, lists %+v", got)
	}
	docs, err := b.DelegatedList(ctx, f.Vault)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("B lists %d documents, want 2 (the private one left out): %+v", len(docs), docs)
	}
	if got := readDelegated(t, b, vid, caf.ID); got != "Attestation CAF: 612,45 EUR" {
		t.Fatalf("B reads %q", got)
	}
	if _, err := b.DelegatedGet(ctx, vid, secret.ID); !errors.Is(err, node.ErrNoDelegation) {
		t.Fatalf("B opens the private document: %v", err)
	}
	// Marked private after the delegation: unreadable from the next commit.
	if got := readDelegated(t, b, vid, later.ID); got != "Ordonnance du Dr Martin" {
		t.Fatalf("B reads %q", got)
	}
	if err := a.SetPrivate(ctx, card, later.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a document marked private still opens through the delegation", func() bool {
		_, err := b.DelegatedGet(ctx, vid, later.ID)
		return errors.Is(err, node.ErrNoDelegation)
	})
	if docs, err := b.DelegatedList(ctx, vid); err != nil || len(docs) != 1 {
		t.Fatalf("B lists %+v (%v)", docs, err)
	}
	// Shared again: back in the delegation.
	if err := a.SetPrivate(ctx, card, later.ID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a document shared again does not join the delegation", func() bool {
		_, err := b.DelegatedGet(ctx, vid, later.ID)
		return err == nil
	})
	// Unfollow with the card revokes the delegation and forgets the name.
	if err := b.Unfollow(ctx, card, f.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.FollowedPeople(ctx, ""); len(got) != 0 {
		t.Fatalf("after unfollow: %+v", got)
	}
	if _, err := b.DelegatedList(ctx, vid); !errors.Is(err, node.ErrNoDelegation) {
		t.Fatalf("after unfollow, B still lists: %v", err)
	}
	if _, err := b.FollowedPerson(ctx, f.ID); !errors.Is(err, node.ErrNotFollowed) {
		t.Fatalf("after unfollow: %v", err)
	}
	// Followed again, without the card it is only forgotten here.
	f2, err := b.Follow(ctx, card, node.FollowOptions{Name: "Céline Dupré", Birth: "1987-03-14", Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Follow(ctx, card, node.FollowOptions{Name: "Céline Dupré-Martin", Birth: "1987-03-14", Until: until}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.FollowedPeople(ctx, "celine"); len(got) != 1 || got[0].ID == f2.ID {
		t.Fatalf("following again does not replace the entry: %+v", got)
	}
	net.Close()
	for i := range 2 {
		found, err := Scan(net.Home(i), map[string][]byte{
			"name":       []byte("Céline Dupré"),
			"birth date": []byte("1987-03-14"),
		})
		if err != nil {
			t.Fatal(err)
		}
		for what, files := range found {
			t.Errorf("node %d stores the followed person's %s in clear in %v", i, what, files)
		}
	}
}
