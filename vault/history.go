package vault

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"filippo.io/age"
)

// MaxHistory bounds the previous vaults a manifest lists.
const MaxHistory = 64

// Previous is a vault that this one replaced at a key rotation (a card
// replacement, a recovery, a rotation): its id and its content identity.
// The manifest keeps them so that a card of the new vault still reads the
// records written to the old ones (the access log), each under its own
// verified author. The identity is a secret: only the encrypted manifest
// holds it, and it opens only what the old vault's cards already opened.
type Previous struct {
	Vault    VaultID
	Moved    time.Time // when the vault was replaced
	identity *age.HybridIdentity
}

// Identity returns the old vault's content identity.
func (p Previous) Identity() age.Identity { return p.identity }

// previousJSON is Previous in a manifest: the vault id in base58, the
// identity in age's text form.
type previousJSON struct {
	Vault    string    `json:"vault"`
	Identity string    `json:"identity"`
	Moved    time.Time `json:"moved"`
}

func (p Previous) toJSON() previousJSON {
	return previousJSON{Vault: p.Vault.String(), Identity: p.identity.String(), Moved: p.Moved}
}

func (j previousJSON) parse() (Previous, error) {
	v, err := ParseVaultID(j.Vault)
	if err != nil {
		return Previous{}, errors.New("previous vault: malformed vault id")
	}
	if len(j.Identity) > 256 {
		return Previous{}, errors.New("previous vault: identity is too long")
	}
	id, err := age.ParseHybridIdentity(j.Identity)
	if err != nil {
		return Previous{}, errors.New("previous vault: malformed identity")
	}
	if !fitsJSON(j.Moved) {
		return Previous{}, errors.New("previous vault: time is out of range")
	}
	return Previous{Vault: v, Moved: j.Moved.UTC(), identity: id}, nil
}

// Previous returns these keys as a previous vault, replaced at t.
func (k *Keys) Previous(t time.Time) Previous {
	return Previous{Vault: k.VaultID(), Moved: t.UTC(), identity: k.content}
}

// AddPrevious records a vault that this one replaced. A vault already
// listed is left as it is; a manifest lists at most MaxHistory.
func (m *Manifest) AddPrevious(p Previous) error {
	if p.identity == nil {
		return errors.New("add previous vault: no identity")
	}
	if !fitsJSON(p.Moved) {
		return errors.New("add previous vault: time is out of range")
	}
	if _, ok := m.history[p.Vault]; ok {
		return nil
	}
	if len(m.history) >= MaxHistory {
		return fmt.Errorf("add previous vault: a vault lists at most %d previous vaults", MaxHistory)
	}
	if m.history == nil {
		m.history = map[VaultID]Previous{}
	}
	p.Moved = p.Moved.UTC()
	m.history[p.Vault] = p
	return nil
}

// History returns the vaults this one replaced, latest first.
func (m *Manifest) History() []Previous {
	out := slices.Collect(maps.Values(m.history))
	slices.SortFunc(out, func(a, b Previous) int {
		if c := b.Moved.Compare(a.Moved); c != 0 {
			return c
		}
		return cmp.Compare(a.Vault.String(), b.Vault.String())
	})
	return out
}

// mergeHistory adds to out the previous vaults of m: the union, where
// both list a vault with different values (which only a forged state
// writes) the one whose JSON sorts first. Over MaxHistory, the vaults of
// the greatest ids are dropped: an order of keys only, so that Merge stays
// associative.
func mergeHistory(out, m *Manifest) {
	for v, p := range m.history {
		if old, ok := out.history[v]; ok && !jsonLess(p.toJSON(), old.toJSON()) {
			continue
		}
		if out.history == nil {
			out.history = map[VaultID]Previous{}
		}
		out.history[v] = p
	}
	if len(out.history) > MaxHistory {
		ids := slices.SortedFunc(maps.Keys(out.history), func(a, b VaultID) int { return cmp.Compare(a.String(), b.String()) })
		for _, v := range ids[MaxHistory:] {
			delete(out.history, v)
		}
	}
}

// historyJSON lists the previous vaults of m by vault id, or nil.
func (m *Manifest) historyJSON() []previousJSON {
	if len(m.history) == 0 {
		return nil
	}
	var out []previousJSON
	for _, p := range m.history {
		out = append(out, p.toJSON())
	}
	slices.SortFunc(out, func(a, b previousJSON) int { return cmp.Compare(a.Vault, b.Vault) })
	return out
}

// decodeHistory checks and adds the previous vaults of a manifest.
func (m *Manifest) decodeHistory(h []previousJSON) error {
	if len(h) > MaxHistory {
		return fmt.Errorf("manifest lists over %d previous vaults", MaxHistory)
	}
	for i, j := range h {
		p, err := j.parse()
		if err != nil {
			return fmt.Errorf("manifest previous vault %d: %w", i+1, err)
		}
		if _, dup := m.history[p.Vault]; dup {
			return fmt.Errorf("manifest previous vault %d: its id is there twice", i+1)
		}
		if err := m.AddPrevious(p); err != nil {
			return fmt.Errorf("manifest previous vault %d: %w", i+1, err)
		}
	}
	return nil
}
