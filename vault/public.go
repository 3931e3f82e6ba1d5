package vault

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"filippo.io/age"
)

// MaxPublicSize bounds the encoded public state of a vault.
const MaxPublicSize = 1 << 20

// PublicState is the part of a vault's state that nodes without its keys
// must read: the content recipient (so that a structure can deposit a
// document or append to the log without the card), the cards that were
// replaced, and the delegations that were revoked. It is not encrypted; a
// signed head authenticates it (it is linked from the manifest root). Like
// the manifest, it is a CRDT: merging is a union, keeping the earliest
// time.
type PublicState struct {
	// Recipient is the vault's content recipient ("age1pq1…").
	Recipient string
	// RevokedCards: card lookup id → when the card was replaced.
	RevokedCards map[LookupID]time.Time
	// RevokedGrants: delegation id → when it was revoked.
	RevokedGrants map[string]time.Time
	// Deposits: deposit record CID → when a card session took the
	// deposited document into the manifest (no longer pending).
	Deposits map[string]time.Time
	// MovedTo, once set, names the vault that replaced this one after a
	// full key rotation: nodes follow it and drop this vault's blocks.
	MovedTo *VaultID
}

// NewPublicState returns the public state of a vault with these keys.
func (k *Keys) NewPublicState() *PublicState {
	return &PublicState{Recipient: k.content.Recipient().String(), RevokedCards: map[LookupID]time.Time{}, RevokedGrants: map[string]time.Time{}, Deposits: map[string]time.Time{}}
}

// ContentRecipient parses the recipient of a public state.
func (p *PublicState) ContentRecipient() (age.Recipient, error) {
	r, err := age.ParseHybridRecipient(p.Recipient)
	if err != nil {
		return nil, errors.New("the vault's content recipient is malformed")
	}
	return r, nil
}

// MergePublic returns the union of two public states.
func MergePublic(a, b *PublicState) *PublicState {
	out := &PublicState{Recipient: min(a.Recipient, b.Recipient), RevokedCards: map[LookupID]time.Time{}, RevokedGrants: map[string]time.Time{}, Deposits: map[string]time.Time{}}
	if a.Recipient == "" || b.Recipient == "" {
		out.Recipient = max(a.Recipient, b.Recipient)
	}
	for _, p := range []*PublicState{a, b} {
		for k, t := range p.RevokedCards {
			if old, ok := out.RevokedCards[k]; !ok || t.Before(old) {
				out.RevokedCards[k] = t
			}
		}
		for k, t := range p.RevokedGrants {
			if old, ok := out.RevokedGrants[k]; !ok || t.Before(old) {
				out.RevokedGrants[k] = t
			}
		}
		for k, t := range p.Deposits {
			if old, ok := out.Deposits[k]; !ok || t.Before(old) {
				out.Deposits[k] = t
			}
		}
		if p.MovedTo != nil && (out.MovedTo == nil || p.MovedTo.String() < out.MovedTo.String()) {
			v := *p.MovedTo
			out.MovedTo = &v
		}
	}
	return out
}

type publicJSON struct {
	V             int           `json:"v"`
	Recipient     string        `json:"recipient"`
	RevokedCards  []revokedJSON `json:"revoked_cards"`
	RevokedGrants []revokedJSON `json:"revoked_grants"`
	Deposits      []revokedJSON `json:"deposits"`
	MovedTo       string        `json:"moved_to,omitempty"`
}

type revokedJSON struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
}

// Marshal encodes the public state canonically (sorted).
func (p *PublicState) Marshal() []byte {
	j := publicJSON{V: 1, Recipient: p.Recipient, RevokedCards: []revokedJSON{}, RevokedGrants: []revokedJSON{}, Deposits: []revokedJSON{}}
	for k, t := range p.RevokedCards {
		j.RevokedCards = append(j.RevokedCards, revokedJSON{k.String(), t.UTC()})
	}
	for k, t := range p.RevokedGrants {
		j.RevokedGrants = append(j.RevokedGrants, revokedJSON{k, t.UTC()})
	}
	for k, t := range p.Deposits {
		j.Deposits = append(j.Deposits, revokedJSON{k, t.UTC()})
	}
	byID := func(a, b revokedJSON) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(j.Deposits, byID)
	slices.SortFunc(j.RevokedCards, byID)
	slices.SortFunc(j.RevokedGrants, byID)
	if p.MovedTo != nil {
		j.MovedTo = p.MovedTo.String()
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic("vault: encode public state: " + err.Error())
	}
	return b
}

// ParsePublicState decodes and checks a public state.
func ParsePublicState(b []byte) (*PublicState, error) {
	if len(b) > MaxPublicSize {
		return nil, errors.New("public state is over its size limit")
	}
	var j publicJSON
	if err := decodeJSON(b, &j); err != nil {
		return nil, fmt.Errorf("public state: %w", err)
	}
	if j.V != 1 {
		return nil, fmt.Errorf("public state version %d is not supported: update baluchon", j.V)
	}
	p := &PublicState{Recipient: j.Recipient, RevokedCards: map[LookupID]time.Time{}, RevokedGrants: map[string]time.Time{}, Deposits: map[string]time.Time{}}
	if _, err := p.ContentRecipient(); err != nil {
		return nil, err
	}
	for _, r := range j.RevokedCards {
		id, err := ParseLookupID(r.ID)
		if err != nil || !fitsJSON(r.Time) {
			return nil, errors.New("public state: malformed revoked card")
		}
		if _, dup := p.RevokedCards[id]; dup {
			return nil, errors.New("public state: a card is revoked twice")
		}
		p.RevokedCards[id] = r.Time.UTC()
	}
	for _, r := range j.RevokedGrants {
		if checkDocID(r.ID) != nil || !fitsJSON(r.Time) {
			return nil, errors.New("public state: malformed revoked delegation")
		}
		if _, dup := p.RevokedGrants[r.ID]; dup {
			return nil, errors.New("public state: a delegation is revoked twice")
		}
		p.RevokedGrants[r.ID] = r.Time.UTC()
	}
	for _, r := range j.Deposits {
		if len(r.ID) > maxCIDText || !fitsJSON(r.Time) {
			return nil, errors.New("public state: malformed deposit")
		}
		if _, dup := p.Deposits[r.ID]; dup {
			return nil, errors.New("public state: a deposit is there twice")
		}
		p.Deposits[r.ID] = r.Time.UTC()
	}
	if j.MovedTo != "" {
		v, err := ParseVaultID(j.MovedTo)
		if err != nil {
			return nil, errors.New("public state: malformed forward vault id")
		}
		p.MovedTo = &v
	}
	return p, nil
}

// Equal reports whether two public states are the same.
func (p *PublicState) Equal(o *PublicState) bool {
	return string(p.Marshal()) == string(o.Marshal())
}
