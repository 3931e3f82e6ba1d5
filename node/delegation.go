package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// A delegation lets a structure's workers open some of a person's
// documents without the card, with the person's consent given in a card
// session: all documents or chosen categories, until a date. The manifest
// records it; each commit seals to the structure a grant with the file key
// of every document it covers (so new documents of the category join it),
// linked from the manifest root as "g:<peer id>". Revocation is public
// (vault.PublicState), so every node honours it; expiry is in the grant.

// ErrNoDelegation says that this node's structure may not open a vault
// without its card.
var ErrNoDelegation = errors.New("this structure has no valid delegation for this vault: the person must show their card (or give a new delegation)")

// sealGrants seals, for each active delegation of m, the grant of the
// documents it covers to its structure, into root. The caller holds the
// vault lock.
func (n *Node) sealGrants(ctx context.Context, s *session, m *vault.Manifest, root *stateRoot) error {
	now := time.Now()
	for _, d := range m.Delegations() {
		if _, revoked := s.public.RevokedGrants[d.ID]; revoked || now.After(d.Expires) {
			continue
		}
		p, err := peer.Decode(d.Structure)
		if err != nil || n.wasRemoved(p) { // a removed member gets nothing new
			continue
		}
		rcpt, err := n.structureRecipient(p)
		if err != nil {
			n.log.Warn("delegation not renewed: structure key unknown", "vault", s.id, "structure", p)
			continue
		}
		g := &vault.Grant{ID: d.ID, Vault: s.id, Structure: d.Structure, Categories: d.Categories, Granted: d.Granted, Expires: d.Expires}
		for _, e := range m.Entries() {
			if !g.CoversEntry(e) {
				continue
			}
			key, err := n.fileKey(ctx, s.keys, e)
			if err != nil {
				return err
			}
			g.Docs = append(g.Docs, vault.GrantDoc{Entry: e, FileKey: key})
		}
		sealed, err := g.Seal(rcpt)
		if err != nil {
			return err
		}
		nd, err := n.putRawNode(ctx, sealed)
		if err != nil {
			return err
		}
		root.grants[p] = nd
	}
	return nil
}

// fileKey returns the age file key of a document, from its header.
func (n *Node) fileKey(ctx context.Context, keys *vault.Keys, e vault.Entry) ([]byte, error) {
	r, err := n.readStream(ctx, e.CID)
	if err != nil {
		return nil, fmt.Errorf("read document %s: %w", e.ID, err)
	}
	defer r.Close()
	return keys.FileKey(r)
}

// DelegateOptions describe a delegation.
type DelegateOptions struct {
	To         peer.ID
	Categories []string // none: every document
	Until      time.Time
}

// Delegate gives, with the card, a structure read access to the vault.
func (n *Node) Delegate(ctx context.Context, card *vault.Card, opts DelegateOptions) (string, error) {
	defer n.opHold()()
	if opts.To == n.ID() {
		return "", errors.New("this structure cannot delegate to itself: its workers already open the vault with the card (to follow the person here, use Follow)")
	}
	id, _, err := n.delegate(ctx, card, opts)
	return id, err
}

// delegate records a delegation with the card (to this structure too, for
// Follow) and returns its id and the vault's.
func (n *Node) delegate(ctx context.Context, card *vault.Card, opts DelegateOptions) (string, vault.VaultID, error) {
	var none vault.VaultID
	if !opts.Until.After(time.Now()) {
		return "", none, errors.New("a delegation must end in the future")
	}
	if _, err := n.structureRecipient(opts.To); err != nil {
		return "", none, err
	}
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		return "", none, err
	}
	defer unlock()
	d := vault.Delegation{ID: vault.NewDocumentID(nil), Structure: opts.To.String(), StructureName: n.StructureName(opts.To), Categories: opts.Categories, Granted: time.Now().UTC(), Expires: opts.Until.UTC()}
	if d.Categories == nil {
		d.Categories = []string{}
	}
	m := vault.Merge(s.manifest, nil)
	if err := m.AddDelegation(d); err != nil {
		return "", none, err
	}
	if err := n.commit(ctx, s, m); err != nil {
		return "", none, err
	}
	n.announce(s)
	n.logAction(ctx, s, vault.ActionDelegate, "", d.StructureName)
	return d.ID, s.id, nil
}

// SetPrivate marks document id of the vault of card private, with the
// card: no delegation covers it from this commit on (the grants sealed at
// this commit leave it out); private false shares it again with the
// delegations whose categories cover it.
func (n *Node) SetPrivate(ctx context.Context, card *vault.Card, id string, private bool) error {
	defer n.opHold()()
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		return err
	}
	defer unlock()
	m := vault.Merge(s.manifest, nil)
	if e, ok := m.Get(id); !ok {
		return &NoDocumentError{ID: id}
	} else if e.Private == private {
		return nil
	}
	if err := m.SetPrivate(id, private); err != nil {
		return err
	}
	if err := n.commit(ctx, s, m); err != nil {
		return err
	}
	n.announce(s)
	return nil
}

// RevokeDelegation ends a delegation, with the card, at every node.
func (n *Node) RevokeDelegation(ctx context.Context, card *vault.Card, id string) error {
	defer n.opHold()()
	s, unlock, err := n.openLocked(ctx, card)
	if err != nil {
		return err
	}
	defer unlock()
	var d *vault.Delegation
	for _, x := range s.manifest.Delegations() {
		if x.ID == id {
			d = &x
		}
	}
	if d == nil {
		return fmt.Errorf("this vault has no delegation %s", id)
	}
	s.public.RevokedGrants[id] = time.Now().UTC()
	if err := n.commit(ctx, s, s.manifest); err != nil {
		return err
	}
	n.announce(s)
	n.logAction(ctx, s, vault.ActionUndelegate, "", d.StructureName)
	return nil
}

// DelegationInfo is a delegation as a social worker sees it.
type DelegationInfo struct {
	vault.Delegation
	Revoked time.Time `json:"revoked,omitzero"`
}

// Delegations lists the vault's delegations, with the card.
func (n *Node) Delegations(ctx context.Context, card *vault.Card) ([]DelegationInfo, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	var out []DelegationInfo
	for _, d := range s.manifest.Delegations() {
		out = append(out, DelegationInfo{Delegation: d, Revoked: s.public.RevokedGrants[d.ID]})
	}
	return out, nil
}

// grant returns this structure's valid grant for vault v (following a
// rotation's forward), with the vault's public state.
func (n *Node) grant(ctx context.Context, v vault.VaultID) (*vault.Grant, *vault.PublicState, vault.VaultID, error) {
	public, roots, err := n.publicState(ctx, v)
	if err != nil {
		return nil, nil, v, err
	}
	if public.MovedTo != nil {
		v = *public.MovedTo
		if public, roots, err = n.publicState(ctx, v); err != nil {
			return nil, nil, v, err
		}
	}
	var best *vault.Grant
	for _, rl := range roots {
		c, ok := rl.grants[n.ID()]
		if !ok {
			continue
		}
		b, err := n.getRaw(ctx, c, vault.MaxGrantSize)
		if err != nil {
			continue
		}
		g, err := vault.OpenGrant(b, n.structKey)
		if err != nil || g.Vault != v {
			continue
		}
		if _, revoked := public.RevokedGrants[g.ID]; revoked || time.Now().After(g.Expires) {
			continue
		}
		if best == nil || len(g.Docs) > len(best.Docs) {
			best = g
		}
	}
	if best == nil {
		return nil, public, v, ErrNoDelegation
	}
	return best, public, v, nil
}

// DelegatedList lists, without the card, the documents of vault v that a
// delegation lets this structure open.
func (n *Node) DelegatedList(ctx context.Context, v vault.VaultID) ([]vault.Entry, error) {
	defer n.opHold()()
	g, public, v, err := n.grant(ctx, v)
	if err != nil {
		return nil, err
	}
	out := make([]vault.Entry, 0, len(g.Docs))
	for _, d := range g.Docs {
		out = append(out, d.Entry)
	}
	slices.SortFunc(out, func(a, b vault.Entry) int { return a.Added.Compare(b.Added) })
	if r, err := public.ContentRecipient(); err == nil {
		n.logTo(ctx, v, r, vault.ActionList, "", "delegation")
	}
	return out, nil
}

// DelegatedGet opens, without the card, a document that a delegation
// lets this structure open.
func (n *Node) DelegatedGet(ctx context.Context, v vault.VaultID, id string) (*Document, error) {
	defer n.opHold()()
	g, public, v, err := n.grant(ctx, v)
	if err != nil {
		return nil, err
	}
	d, ok := g.Doc(id)
	if !ok {
		return nil, fmt.Errorf("%w (document %s is not covered)", ErrNoDelegation, id)
	}
	r, err := n.readStream(ctx, d.Entry.CID)
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	pr, err := vault.DecryptWithFileKey(r, d.FileKey)
	if err != nil {
		r.Close()
		return nil, err
	}
	if rc, err := public.ContentRecipient(); err == nil {
		n.logTo(ctx, v, rc, vault.ActionGet, id, "delegation")
	}
	return &Document{Entry: d.Entry, Reader: pr, Closer: r}, nil
}
