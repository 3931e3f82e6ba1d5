package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// A lost card never loses a document: when a vault is made, its keys are
// split (Shamir, k of n) among guardian structures, each share sealed to
// that structure's key and linked from the manifest root as "r:<peer>".
// To recover, a structure starts a request (a record naming the vault, a
// request id, its own structure recipient and the guardians); each guardian
// approves it by an explicit action, re-sealing its share to the
// requester; with k approvals the requester rebuilds the keys, issues a new
// card and revokes every old one.

// defaultGuardians picks this node and up to two other members of the
// federation whose structure keys are known, ranked for the vault so that
// guardianship spreads over the federation.
func (n *Node) defaultGuardians(v vault.VaultID) []peer.ID {
	_, members := n.Federation()
	var others []peer.ID
	for _, m := range members {
		if m != n.ID() && n.structure(m) != nil {
			others = append(others, m)
		}
	}
	slices.SortFunc(others, func(a, b peer.ID) int {
		ra, rb := rendezvous(v, a), rendezvous(v, b)
		return bytes.Compare(ra[:], rb[:])
	})
	if len(others) > 2 {
		others = others[:2]
	}
	return append([]peer.ID{n.ID()}, others...)
}

// makeShares splits keys among guardians and stores each sealed share.
func (n *Node) makeShares(ctx context.Context, keys *vault.Keys, guardians []peer.ID, k int) (*vault.Recovery, error) {
	ids := make([]string, len(guardians))
	rcpts := make([]age.Recipient, len(guardians))
	for i, g := range guardians {
		ids[i] = g.String()
		if n.wasRemoved(g) {
			return nil, fmt.Errorf("structure %s was removed from the federation: it cannot be a guardian", g)
		}
		var err error
		if rcpts[i], err = n.structureRecipient(g); err != nil {
			return nil, fmt.Errorf("guardian %s: %w", g, err)
		}
	}
	shares, err := keys.SplitKeys(ids, k)
	if err != nil {
		return nil, err
	}
	rec := &vault.Recovery{Threshold: k, Shares: map[string]string{}, Created: time.Now().UTC()}
	for i, sh := range shares {
		sealed, err := sh.Seal(rcpts[i])
		if err != nil {
			return nil, err
		}
		c, err := n.putRaw(ctx, sealed)
		if err != nil {
			return nil, err
		}
		rec.Shares[ids[i]] = c.String()
	}
	return rec, nil
}

// RecoveryRequest is a pending recovery, as a guardian sees it. Its id is
// the CID of the signed request record, so that no other structure can
// make a request with the same id; the requester's name comes from its
// structure record, signed by its node key (never from the request).
type RecoveryRequest struct {
	ID        string    `json:"id"`
	Vault     string    `json:"vault"`
	Requester string    `json:"requester"`
	Name      string    `json:"requester_name"`
	Time      time.Time `json:"time"`
	Guardians []string  `json:"guardians"`
	Approved  bool      `json:"approved"` // by this node
}

// RecoveryStart starts the recovery of vault v at this structure: the
// person lost their card. It returns the request id and the guardians
// that must approve it.
func (n *Node) RecoveryStart(ctx context.Context, v vault.VaultID) (*RecoveryRequest, error) {
	defer n.opHold()()
	// The id on the person's paper file may be of a vault replaced since
	// (by a finder of the card too): the recovery is of the latest one.
	v, err := n.latestVault(ctx, v)
	if err != nil {
		return nil, err
	}
	public, roots, err := n.publicState(ctx, v)
	if err != nil {
		return nil, err
	}
	roots = n.recoveryRoots(ctx, v, roots)
	guardians := map[string]bool{}
	for _, rl := range roots {
		for p := range rl.shares {
			guardians[p.String()] = true
		}
	}
	if len(guardians) < 2 {
		return nil, errors.New("this vault has no recovery guardians: without its card it cannot be opened")
	}
	gl := slices.Sorted(func(yield func(string) bool) {
		for g := range guardians {
			if !yield(g) {
				return
			}
		}
	})
	// The first field is a fresh nonce: the request's id is its record's CID.
	payload := proto.JoinFields([]byte(vault.NewDocumentID(nil)), []byte(n.structKey.Recipient().String()), []byte(strings.Join(gl, "\n")))
	rec, err := n.addRecord(ctx, proto.RecordRecovery, v, payload)
	if err != nil {
		return nil, err
	}
	req := &RecoveryRequest{ID: recordCID(rec).String(), Vault: v.String(), Requester: n.ID().String(), Name: n.Name(), Time: rec.Time, Guardians: gl}
	if rc, err := public.ContentRecipient(); err == nil {
		n.logTo(ctx, v, rc, vault.ActionRecover, "", "asked")
	}
	n.log.Info("recovery started", "vault", v, "request", req.ID)
	return req, nil
}

type recoveryRecord struct {
	rec       *proto.Record
	id        string // the record's CID
	nonce     string
	recipient string
	guardians []string
}

func parseRecovery(r *proto.Record) (*recoveryRecord, bool) {
	if r.Kind != proto.RecordRecovery {
		return nil, false
	}
	f, err := proto.Fields(r.Payload, 3)
	if err != nil {
		return nil, false
	}
	return &recoveryRecord{rec: r, id: recordCID(r).String(), nonce: string(f[0]), recipient: string(f[1]), guardians: strings.Split(string(f[2]), "\n")}, true
}

// allRecords returns every record this node keeps.
func (n *Node) allRecords(ctx context.Context) ([]*proto.Record, error) {
	vs, err := n.recordVaults(ctx)
	if err != nil {
		return nil, err
	}
	var out []*proto.Record
	for _, v := range vs {
		rs, err := n.localRecords(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// recordVaults returns the vaults this node has records of.
func (n *Node) recordVaults(ctx context.Context) ([]vault.VaultID, error) {
	return n.vaultsWith(ctx, "record")
}

// RecoveryRequests lists the recovery requests that name this structure
// as a guardian.
func (n *Node) RecoveryRequests(ctx context.Context) ([]RecoveryRequest, error) {
	rs, err := n.allRecords(ctx)
	if err != nil {
		return nil, err
	}
	approved := map[string]bool{}
	for _, r := range rs {
		if r.Kind == proto.RecordApproval && r.Author == n.ID() {
			if f, err := proto.Fields(r.Payload, 3); err == nil {
				approved[string(f[0])] = true
			}
		}
	}
	var out []RecoveryRequest
	for _, r := range rs {
		rr, ok := parseRecovery(r)
		if !ok || !slices.Contains(rr.guardians, n.ID().String()) || !n.acceptsAuthor(r.Author) {
			continue
		}
		out = append(out, RecoveryRequest{ID: rr.id, Vault: r.Vault.String(), Requester: r.Author.String(), Name: n.StructureName(r.Author), Time: r.Time, Guardians: rr.guardians, Approved: approved[rr.id]})
	}
	slices.SortFunc(out, func(a, b RecoveryRequest) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// findRecovery returns the request with this id (its record's CID) among
// the records here.
func (n *Node) findRecovery(ctx context.Context, id string) (*recoveryRecord, error) {
	c, err := cid.Decode(id)
	if err != nil {
		return nil, fmt.Errorf("%q is not a recovery request id (see 'baluchon recover list')", id)
	}
	rs, err := n.allRecords(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if rr, ok := parseRecovery(r); ok && recordCID(r).Equals(c) {
			return rr, nil
		}
	}
	return nil, fmt.Errorf("no recovery request %s is known here", id)
}

// ErrRequesterMismatch says that a recovery request was not made by the
// structure the approving worker confirmed.
var ErrRequesterMismatch = errors.New("this recovery request was made by another structure than the one confirmed: not approved")

// RecoveryApprove approves, as a guardian, a recovery request: this
// structure's share is re-sealed to the requesting structure. It is an
// explicit action of a worker who has checked the person's identity and
// confirmed which structure asked: from must be the requester's peer id,
// else nothing is approved. The share is sealed to the structure key in
// the requester's own structure record (signed by its node key), never
// to a key the request names.
func (n *Node) RecoveryApprove(ctx context.Context, id string, from peer.ID) error {
	defer n.opHold()()
	rr, err := n.findRecovery(ctx, id)
	if err != nil {
		return err
	}
	if from == "" || rr.rec.Author != from {
		return fmt.Errorf("%w: request %s is from %s (%s)", ErrRequesterMismatch, id, n.StructureName(rr.rec.Author), rr.rec.Author)
	}
	if !n.acceptsAuthor(rr.rec.Author) {
		return fmt.Errorf("%w: the requesting structure is not a member of the federation", ErrNotMember)
	}
	if !slices.Contains(rr.guardians, n.ID().String()) {
		return errors.New("this structure is not a guardian of this vault")
	}
	to, err := n.structureRecipient(rr.rec.Author)
	if err != nil {
		n.pushMembers(ctx) // the members may know the requester's record already
		if to, err = n.structureRecipient(rr.rec.Author); err != nil {
			return err
		}
	}
	public, roots, err := n.publicState(ctx, rr.rec.Vault)
	if err != nil {
		return err
	}
	roots = n.recoveryRoots(ctx, rr.rec.Vault, roots)
	var share *vault.Share
	for _, rl := range roots {
		c, ok := rl.shares[n.ID()]
		if !ok {
			continue
		}
		b, err := n.getRaw(ctx, c, vault.MaxShareSize)
		if err != nil {
			continue
		}
		if share, err = vault.OpenShare(b, n.structKey); err == nil && share.Vault == rr.rec.Vault {
			break
		}
		share = nil
	}
	if share == nil {
		return errors.New("this structure's recovery share of the vault cannot be found or opened")
	}
	sealed, err := share.Seal(to)
	if err != nil {
		return err
	}
	if _, err := n.addRecord(ctx, proto.RecordApproval, rr.rec.Vault, proto.JoinFields([]byte(rr.id), []byte(rr.rec.Author), sealed)); err != nil {
		return err
	}
	if rc, err := public.ContentRecipient(); err == nil {
		n.logTo(ctx, rr.rec.Vault, rc, vault.ActionRecover, "", "approved")
	}
	n.log.Info("recovery approved", "vault", rr.rec.Vault, "request", rr.id, "requester", rr.rec.Author)
	return nil
}

// copiedRequest reports whether r repeats the nonce of a recovery request
// of another structure kept here: a copy, which is refused (the first one
// seen stays; its id, the CID of its record, names its author anyway).
func (n *Node) copiedRequest(ctx context.Context, r *proto.Record) bool {
	rr, ok := parseRecovery(r)
	if !ok {
		return false
	}
	rs, err := n.localRecords(ctx, r.Vault)
	if err != nil {
		return false
	}
	for _, o := range rs {
		if or, ok := parseRecovery(o); ok && or.nonce == rr.nonce && o.Author != r.Author {
			n.log.Warn("copied recovery request refused", "vault", r.Vault, "author", r.Author, "first", o.Author)
			return true
		}
	}
	return false
}

// RecoveryFinish completes a recovery started here, once enough guardians
// approved it: it rebuilds the vault keys, issues a new card and revokes
// every card the vault had.
func (n *Node) RecoveryFinish(ctx context.Context, id string) (*vault.Card, vault.VaultID, error) {
	defer n.opHold()()
	rr, err := n.findRecovery(ctx, id)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	if rr.rec.Author != n.ID() {
		return nil, vault.VaultID{}, errors.New("this recovery was started by another structure: finish it there")
	}
	v := rr.rec.Vault
	var shares []*vault.Share
	for _, r := range n.collectRecords(ctx, v) {
		if r.Kind != proto.RecordApproval {
			continue
		}
		f, err := proto.Fields(r.Payload, 3)
		if err != nil || string(f[0]) != id || peer.ID(f[1]) != n.ID() || !slices.Contains(rr.guardians, r.Author.String()) {
			continue
		}
		sh, err := vault.OpenShare(f[2], n.structKey)
		if err != nil || sh.Vault != v || sh.Guardian != r.Author.String() {
			continue
		}
		shares = append(shares, sh)
	}
	keys, err := vault.CombineShares(shares)
	if err != nil {
		return nil, v, err
	}
	// The rebuilt keys are the vault's, and whoever held a card of it
	// holds them too: the vault moves to new keys that only the new card
	// opens, and every card it had is revoked (a finder's replacement
	// included: the request follows the forwards, see RecoveryStart).
	return n.reissue(ctx, keys, vault.ActionRecover)
}

// reissue gives the vault of keys a new card through a key rotation (see
// rotateKeys): a new vault, with new keys, that only the new card opens;
// every card the old vault had (known here or at connected members) is
// revoked in both vaults. It returns the new card and the new vault id.
func (n *Node) reissue(ctx context.Context, keys *vault.Keys, action string) (*vault.Card, vault.VaultID, error) {
	v := keys.VaultID()
	if err := n.refresh(ctx, v); err != nil {
		return nil, v, err
	}
	old, err := n.vaultCards(ctx, v)
	if err != nil {
		return nil, v, err
	}
	for _, p := range n.host.Network().Peers() {
		if n.IsMember(p) {
			cctx, cancel := context.WithTimeout(ctx, headsTimeoutKnown)
			if cards, err := proto.Cards(cctx, n.host, p, v); err == nil {
				old = append(old, cards...)
			}
			cancel()
		}
	}
	card, err := vault.NewCard(nil)
	if err != nil {
		return nil, v, err
	}
	s := &session{keys: keys, id: v, card: card.LookupID()}
	unlock := n.lockVault(v)
	err = n.load(ctx, s)
	if moved := (*MovedError)(nil); errors.As(err, &moved) && action == vault.ActionRecover {
		// Moved by someone holding the keys to a vault the recovery
		// does not follow (other guardians): the guardians' keys win;
		// the documents are those of before that forward.
		err = n.loadBeforeForward(ctx, s)
	}
	unlock()
	if err != nil {
		return nil, v, err
	}
	revoke := make([]vault.LookupID, 0, len(old))
	for _, c := range old {
		revoke = append(revoke, c.Pointer.Lookup)
	}
	nv, _, err := n.rotateKeys(ctx, s, card, revoke, action, false)
	if err != nil {
		return nil, v, err
	}
	n.log.Info("new card issued", "old vault", v, "vault", nv, "revoked", len(old))
	return card, nv, nil
}

// ReplaceCard gives the person a new card, with the old one present (lost
// then found, or a suspicion of copy); the old card stops working at every
// node. The vault gets new keys, so a new id: see Replace.
func (n *Node) ReplaceCard(ctx context.Context, card *vault.Card) (*vault.Card, error) {
	c, _, err := n.Replace(ctx, card)
	return c, err
}

// Replace is ReplaceCard; it also returns the new vault id (the old one
// forwards to it).
func (n *Node) Replace(ctx context.Context, card *vault.Card) (*vault.Card, vault.VaultID, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	return n.reissue(ctx, s.keys, vault.ActionReplace)
}

// GuardianShare opens this structure's recovery share of vault v (for
// audits and tests: a share alone rebuilds nothing).
func (n *Node) GuardianShare(ctx context.Context, v vault.VaultID) (*vault.Share, error) {
	defer n.opHold()()
	_, roots, err := n.publicState(ctx, v)
	if err != nil {
		return nil, err
	}
	for _, rl := range roots {
		if c, ok := rl.shares[n.ID()]; ok {
			b, err := n.getRaw(ctx, c, vault.MaxShareSize)
			if err != nil {
				return nil, err
			}
			return vault.OpenShare(b, n.structKey)
		}
	}
	return nil, errors.New("this structure is not a guardian of this vault")
}
