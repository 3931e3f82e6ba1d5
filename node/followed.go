package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"filippo.io/age"
	ds "github.com/ipfs/go-datastore"
	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"baluchon/vault"
)

// The people a structure follows. When a person lets the structure follow
// them (Follow, with the card present), the node gives this structure a
// delegation and records the name and birth date the workers know the
// person by, so that they find the person by name and open the delegated
// documents without the card (DelegatedList, DelegatedGet).
//
// The list lives only at this node: each entry is sealed to the structure
// key (HOME/structure.key, never sent) and stored under a random id
// (/baluchon/followed/<id>); no protocol answers it, and neither an export
// nor a sync carries it. A name is never in a key, a log or an error.

// Followed is one person this structure follows.
type Followed struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Birth      string        `json:"birth,omitempty"` // YYYY-MM-DD, as the workers know it
	Vault      vault.VaultID `json:"-"`
	Delegation string        `json:"delegation"`
	Until      time.Time     `json:"until"`
	Added      time.Time     `json:"added"`
}

type followedJSON struct {
	V          int       `json:"v"`
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Birth      string    `json:"birth,omitempty"`
	Vault      string    `json:"vault"`
	Delegation string    `json:"delegation"`
	Until      time.Time `json:"until"`
	Added      time.Time `json:"added"`
}

// FollowOptions describe a person the structure starts to follow.
type FollowOptions struct {
	Name       string    // as the workers know the person
	Birth      string    // YYYY-MM-DD, or ""
	Categories []string  // none: every document the person did not mark private
	Until      time.Time // end of the delegation
}

// Limits of a followed entry.
const (
	maxFollowedName = 200
	maxFollowed     = 100_000
)

// ErrNotFollowed says that this structure does not follow that person.
var ErrNotFollowed = errors.New("this structure does not follow that person (or no longer)")

// FollowError says what is wrong with a name or a birth date.
type FollowError struct{ Field, Reason string }

func (e *FollowError) Error() string { return "follow: the " + e.Field + " " + e.Reason }

// Follow, with the person's card, lets this structure follow them: it
// gives this structure a delegation of the person's documents (those they
// did not mark private, of opts.Categories) until opts.Until, and records
// opts.Name and opts.Birth in the structure's sealed list. Following a
// person already followed replaces their entry.
func (n *Node) Follow(ctx context.Context, card *vault.Card, opts FollowOptions) (*Followed, error) {
	name := strings.Join(strings.Fields(opts.Name), " ")
	if name == "" {
		return nil, &FollowError{"name", "is empty"}
	}
	if utf8.RuneCountInString(name) > maxFollowedName || strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name) {
		return nil, &FollowError{"name", fmt.Sprintf("must be at most %d letters", maxFollowedName)}
	}
	birth := strings.TrimSpace(opts.Birth)
	if birth != "" {
		t, err := time.Parse(time.DateOnly, birth)
		if err != nil || t.After(time.Now()) || t.Year() < 1900 {
			return nil, &FollowError{"birth date", "is not a date in the past (YYYY-MM-DD)"}
		}
	}
	del, v, err := n.delegate(ctx, card, DelegateOptions{To: n.ID(), Categories: opts.Categories, Until: opts.Until})
	if err != nil {
		return nil, err
	}
	n.followMu.Lock()
	defer n.followMu.Unlock()
	all, err := n.followedAll(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		if f.Vault == v {
			if err := n.store.ldb.Delete(ctx, followedKey(f.ID)); err != nil {
				return nil, fmt.Errorf("replace followed person: %w", err)
			}
		}
	}
	if len(all) >= maxFollowed {
		return nil, fmt.Errorf("this structure follows at most %d people", maxFollowed)
	}
	f := &Followed{ID: vault.NewDocumentID(nil), Name: name, Birth: birth, Vault: v, Delegation: del, Until: opts.Until.UTC(), Added: time.Now().UTC()}
	if err := n.putFollowed(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// putFollowed seals f to the structure key and stores it.
func (n *Node) putFollowed(ctx context.Context, f *Followed) error {
	j := followedJSON{V: 1, ID: f.ID, Name: f.Name, Birth: f.Birth, Vault: f.Vault.String(), Delegation: f.Delegation, Until: f.Until, Added: f.Added}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, n.structKey.Recipient())
	if err != nil {
		return fmt.Errorf("seal followed person: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("seal followed person: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("seal followed person: %w", err)
	}
	if err := n.store.ldb.Put(ctx, followedKey(f.ID), buf.Bytes()); err != nil {
		return fmt.Errorf("store followed person: %w", err)
	}
	return nil
}

// openFollowed opens one sealed entry.
func (n *Node) openFollowed(b []byte) (*Followed, error) {
	r, err := age.Decrypt(bytes.NewReader(b), n.structKey)
	if err != nil {
		return nil, errors.New("open followed person: not sealed to this structure's key")
	}
	var j followedJSON
	d := json.NewDecoder(io.LimitReader(r, 64<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil || j.V != 1 {
		return nil, errors.New("open followed person: malformed")
	}
	v, err := vault.ParseVaultID(j.Vault)
	if err != nil {
		return nil, errors.New("open followed person: malformed")
	}
	return &Followed{ID: j.ID, Name: j.Name, Birth: j.Birth, Vault: v, Delegation: j.Delegation, Until: j.Until, Added: j.Added}, nil
}

// followedAll opens every entry; one that does not open is skipped.
func (n *Node) followedAll(ctx context.Context) ([]*Followed, error) {
	res, err := n.store.ldb.Query(ctx, prefixQuery(followedPrefix))
	if err != nil {
		return nil, fmt.Errorf("list followed people: %w", err)
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, fmt.Errorf("list followed people: %w", err)
	}
	out := make([]*Followed, 0, len(entries))
	for _, e := range entries {
		f, err := n.openFollowed(e.Value)
		if err != nil || f.ID != lastElem(e.Key) {
			n.log.Warn("a followed person's entry does not open", "key", lastElem(e.Key))
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// FollowedPeople returns the people this structure follows whose name
// (or birth date) holds every word of query, ignoring case and accents
// ("celine" finds "Céline"), sorted by name; an empty query lists all.
func (n *Node) FollowedPeople(ctx context.Context, query string) ([]Followed, error) {
	defer n.opHold()()
	all, err := n.followedAll(ctx)
	if err != nil {
		return nil, err
	}
	words := strings.Fields(foldName(query))
	var out []Followed
	for _, f := range all {
		hay := foldName(f.Name) + " " + f.Birth
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(hay, w) }) {
			out = append(out, *f)
		}
	}
	slices.SortFunc(out, func(a, b Followed) int {
		if c := strings.Compare(foldName(a.Name), foldName(b.Name)); c != 0 {
			return c
		}
		return a.Added.Compare(b.Added)
	})
	return out, nil
}

// FollowedPerson returns one person this structure follows, by entry id.
func (n *Node) FollowedPerson(ctx context.Context, id string) (*Followed, error) {
	defer n.opHold()()
	if err := checkFollowedID(id); err != nil {
		return nil, err
	}
	b, err := n.store.ldb.Get(ctx, followedKey(id))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, ErrNotFollowed
	}
	if err != nil {
		return nil, fmt.Errorf("read followed person: %w", err)
	}
	f, err := n.openFollowed(b)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Unfollow stops following a person: with their card (card not nil), it
// revokes the delegation at every node; without it, this structure only
// forgets the person (the delegation ends at its date, or when the person
// revokes it with their card).
func (n *Node) Unfollow(ctx context.Context, card *vault.Card, id string) error {
	f, err := n.FollowedPerson(ctx, id)
	if err != nil {
		return err
	}
	if card != nil {
		err := n.RevokeDelegation(ctx, card, f.Delegation)
		if err != nil && !strings.Contains(err.Error(), "has no delegation") {
			return err
		}
	}
	n.followMu.Lock()
	defer n.followMu.Unlock()
	if err := n.store.ldb.Delete(ctx, followedKey(id)); err != nil {
		return fmt.Errorf("forget followed person: %w", err)
	}
	return nil
}

// checkFollowedID checks that an entry id is one Follow makes (base58,
// short), so that no other key can be named.
func checkFollowedID(id string) error {
	if id == "" || len(id) > 32 || strings.ContainsFunc(id, func(r rune) bool {
		return !strings.ContainsRune("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", r)
	}) {
		return ErrNotFollowed
	}
	return nil
}

// foldName folds a name for search: accents removed, case folded, spaces
// collapsed.
func foldName(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.Join(strings.Fields(cases.Fold().String(out)), " ")
}
