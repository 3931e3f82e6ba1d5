package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// A full key rotation is for when the vault keys themselves may have
// leaked. The vault's id is its signing key, so a new signing key makes a
// new vault: every document is re-encrypted to a new content identity in
// the new vault, the card that was shown gets a new envelope (the card
// itself does not change), and the old vault gets a last state, signed by
// its old key, that holds nothing but a forward to the new vault (its
// manifest is an empty one, encrypted to the new keys). Nodes that take
// that state follow the forward and, once the new vault was opened and the
// retire grace has passed, drop every block and record of the old vault
// but its access log: afterwards the old content identity opens nothing
// they keep but the log written before the rotation, which the new
// manifest's history (vault.Previous) lets the new card read.

// MovedError says that a vault was replaced by another one after a key
// rotation.
type MovedError struct{ To vault.VaultID }

func (e *MovedError) Error() string {
	return fmt.Sprintf("this vault's keys were changed: it is now vault %s", e.To)
}

// Rotate changes every key of the vault of card. It returns the new vault
// id; the card stays the same.
func (n *Node) Rotate(ctx context.Context, card *vault.Card) (vault.VaultID, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return vault.VaultID{}, err
	}
	id, _, err := n.rotateKeys(ctx, s, card, nil, vault.ActionRotate, false)
	return id, err
}

// RotateFull is Rotate, but every document is decrypted and encrypted again
// under a new file key instead of getting a new header: the old way, which
// costs a pass over every byte. It is for when the documents' file keys
// themselves may have leaked, and for comparison in benchmarks.
func (n *Node) RotateFull(ctx context.Context, card *vault.Card) (vault.VaultID, *RekeyStats, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	return n.rotateKeys(ctx, s, card, nil, vault.ActionRotate, true)
}

// rotateKeys moves the vault of session s to new keys: a new vault with
// every document re-keyed (a new header over the same payload blocks; see
// rekey.go), the delegations still valid, recovery shares re-split among
// the same guardians, the trash carried with its deletion dates, the old
// vault listed in the new manifest's history (its log stays in it); card gets an envelope of the new
// keys; the cards in revoke are revoked in both vaults; and the old vault
// gets a last state, signed by its old key, that forwards to the new one.
// The caller holds opHold, not the vault lock.
func (n *Node) rotateKeys(ctx context.Context, s *session, card *vault.Card, revoke []vault.LookupID, action string, full bool) (vault.VaultID, *RekeyStats, error) {
	keys, err := vault.NewKeys()
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	now := time.Now().UTC()
	ns := &session{keys: keys, id: keys.VaultID(), public: keys.NewPublicState(), card: card.LookupID()}
	maps.Copy(ns.public.RevokedCards, s.public.RevokedCards)
	maps.Copy(ns.public.RevokedGrants, s.public.RevokedGrants)
	for _, l := range revoke {
		if _, done := ns.public.RevokedCards[l]; !done {
			ns.public.RevokedCards[l] = now
		}
	}
	st := &RekeyStats{}
	m := vault.NewManifest()
	for _, e := range s.manifest.Entries() {
		rekey := n.rekeyDocument
		if full {
			rekey = n.reencryptDocument
		}
		c, err := rekey(ctx, s.keys, keys, e.CID, st)
		if err != nil {
			return vault.VaultID{}, nil, fmt.Errorf("re-key document %s: %w", e.ID, err)
		}
		e.CID = c
		if err := m.Add(e); err != nil {
			return vault.VaultID{}, nil, err
		}
	}
	if err := n.carryTrash(ctx, s, keys, m, full, st); err != nil {
		return vault.VaultID{}, nil, err
	}
	for _, d := range s.manifest.Delegations() {
		if _, revoked := s.public.RevokedGrants[d.ID]; !revoked && now.Before(d.Expires) {
			if err := m.AddDelegation(d); err != nil {
				return vault.VaultID{}, nil, err
			}
		}
	}
	if rec, err := n.resplit(ctx, s, keys); err != nil {
		return vault.VaultID{}, nil, err
	} else if rec != nil {
		if err := m.SetRecovery(*rec); err != nil {
			return vault.VaultID{}, nil, err
		}
	}
	// The log stays where it was written, each record under its own
	// author: the new manifest lists the old vault (and those it
	// replaced), so that the new card reads their logs (AccessLog).
	if err := m.AddPrevious(s.keys.Previous(now)); err != nil {
		return vault.VaultID{}, nil, err
	}
	for _, p := range s.manifest.History() {
		if err := m.AddPrevious(p); err != nil {
			n.log.Warn("previous vault not carried over: its log is no longer shown", "vault", p.Vault, "err", err)
		}
	}
	rec, err := n.newCardRecord(ctx, card, keys)
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	unlockNew := n.lockVault(ns.id)
	err = n.commit(ctx, ns, m)
	unlockNew()
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	if err := n.storeCard(ctx, ns.id, rec); err != nil {
		return vault.VaultID{}, nil, err
	}
	n.markOpened(ctx, ns.id)
	// The old vault's last state: a forward, the revocations, and nothing
	// the old keys open.
	unlock := n.lockVault(s.id)
	err = n.load(ctx, s)
	var moved *MovedError
	if errors.As(err, &moved) {
		err = nil // moved already (a conflicting forward): add ours
	}
	if err != nil {
		unlock()
		return vault.VaultID{}, nil, err
	}
	to := ns.id
	s.public.MovedTo = &to
	for _, l := range revoke {
		if _, done := s.public.RevokedCards[l]; !done {
			s.public.RevokedCards[l] = now
		}
	}
	err = n.commitForward(ctx, s, keys)
	unlock()
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	n.announce(s)
	a := &proto.Announcement{Vault: ns.id, Cards: []*proto.CardRecord{rec}}
	for _, h := range ns.front {
		a.Heads = append(a.Heads, h.Head)
	}
	n.announceAll(a)
	n.logAction(ctx, ns, action, "", "")
	n.log.Info("vault keys changed", "old", s.id, "new", ns.id, "rekeyed", st.Rekeyed, "reencrypted", st.Reencrypted)
	return ns.id, st, nil
}

// resplit splits the new keys among the guardians of the vault of s: every
// structure ever seen holding a share of it here, and those its manifest
// names. Whoever holds the old keys can change the manifest, not what
// this node saw: a replacement keeps the vault's guardians.
func (n *Node) resplit(ctx context.Context, s *session, keys *vault.Keys) (*vault.Recovery, error) {
	seen := n.guardiansEver(ctx, s.id)
	k := 2
	if r := s.manifest.Recovery(); r != nil {
		k = max(k, r.Threshold)
		for g := range r.Shares {
			if p, err := peer.Decode(g); err == nil && !slices.Contains(seen, p) {
				seen = append(seen, p)
			}
		}
	}
	var guardians []peer.ID
	for _, g := range seen {
		if n.structure(g) != nil {
			guardians = append(guardians, g)
		} else {
			n.log.Warn("guardian's structure key unknown: no new share for it", "vault", s.id, "guardian", g)
		}
	}
	if len(guardians) < 2 {
		return nil, nil
	}
	slices.Sort(guardians)
	k = min(k, len(guardians))
	rec, err := n.makeShares(ctx, keys, guardians, k)
	if err != nil {
		return nil, fmt.Errorf("new recovery shares: %w", err)
	}
	return rec, nil
}

// reencrypt decrypts the document at c with the old keys and encrypts it
// to the new ones, streaming.
func (n *Node) reencrypt(ctx context.Context, old, keys *vault.Keys, c cid.Cid) (cid.Cid, error) {
	r, err := n.readStream(ctx, c)
	if err != nil {
		return cid.Undef, err
	}
	defer r.Close()
	plain, err := old.DecryptDocument(r)
	if err != nil {
		return cid.Undef, err
	}
	// Not synced here: the rotation's commit syncs every block once,
	// before the state that names them (commitRoot).
	nd, _, err := n.storeEncryptedUnsynced(plain, 0, keys.EncryptDocument)
	if err != nil {
		return cid.Undef, err
	}
	return nd.Cid(), nil
}

// commitForward writes the old vault's last state: its public state (with
// the forward) and an empty manifest encrypted to the new keys. The caller
// holds the vault lock.
func (n *Node) commitForward(ctx context.Context, s *session, to *vault.Keys) error {
	var buf bytes.Buffer
	if err := vault.NewManifest().Encrypt(&buf, to.Recipient()); err != nil {
		return err
	}
	root := &stateRoot{grants: map[peer.ID]ipld.Node{}, shares: map[peer.ID]ipld.Node{}}
	var err error
	if root.body, err = n.addStream(&buf); err != nil {
		return err
	}
	if root.public, err = n.putRawNode(ctx, s.public.Marshal()); err != nil {
		return err
	}
	return n.commitRoot(ctx, s, root)
}

// retire drops what this node keeps of a vault that moved: its records
// (but for its access log, which the new vault's card still reads) and
// every pin but those of its current (forward) state, and follows the
// forward.
func (n *Node) retire(ctx context.Context, v vault.VaultID) {
	front, err := n.frontier(ctx, v)
	if err != nil || len(front) == 0 {
		return
	}
	keep := cid.NewSet()
	for _, h := range front {
		keep.Add(h.cid)
		keep.Add(h.Manifest)
	}
	name := pinName(v)
	for _, ch := range []<-chan pinStream{n.pinsNamed(ctx, true), n.pinsNamed(ctx, false)} {
		for p := range ch {
			if p.name != name || keep.Has(p.c) {
				continue
			}
			if err := n.pinner.Unpin(ctx, p.c, p.recursive); err != nil {
				n.log.Debug("unpin retired vault block", "vault", v, "err", err)
			}
		}
	}
	if rs, err := n.localRecords(ctx, v); err == nil {
		for _, r := range rs {
			if r.Kind == proto.RecordLog {
				// The access log stays: the new vault's card reads it
				// with the old identity its manifest keeps.
				continue
			}
			_ = n.store.ldb.Delete(ctx, recordKey(v, recordCID(r)))
		}
	}
	// Its cards now lead to the new vault (or nowhere): forget that they
	// led here, but for the revoked ones, which stay refused.
	if res, err := n.store.ldb.Query(ctx, dsqKeysOnly(vaultCardsPrefix(v.String()))); err == nil {
		if entries, err := res.Rest(); err == nil {
			for _, e := range entries {
				if l, err := vault.ParseLookupID(lastElem(e.Key)); err == nil {
					if ok, _ := n.store.ldb.Has(ctx, revokedKey(l, v)); ok {
						continue
					}
				}
				_ = n.store.ldb.Delete(ctx, ds.NewKey(e.Key))
			}
		}
	}
	n.log.Info("vault retired after a key change", "vault", v)
}

type pinStream struct {
	c         cid.Cid
	name      string
	recursive bool
}

// pinsNamed lists the recursive (or direct) pins with their names.
func (n *Node) pinsNamed(ctx context.Context, recursive bool) <-chan pinStream {
	out := make(chan pinStream)
	go func() {
		defer close(out)
		src := n.pinner.DirectKeys(ctx, true)
		if recursive {
			src = n.pinner.RecursiveKeys(ctx, true)
		}
		var all []pinStream
		for p := range src {
			if p.Err == nil {
				all = append(all, pinStream{c: p.Pin.Key, name: p.Pin.Name, recursive: recursive})
			}
		}
		for _, p := range all {
			out <- p
		}
	}()
	return out
}

// PinnedFiles returns every file this node pins (for audits and tests):
// each direct pin, each recursive pin, and each file a pinned manifest root
// links (encrypted manifest, public state, documents, grants, shares).
func (n *Node) PinnedFiles(ctx context.Context) []cid.Cid {
	var out []cid.Cid
	for _, ch := range []<-chan pinStream{n.pinsNamed(ctx, true), n.pinsNamed(ctx, false)} {
		for p := range ch {
			out = append(out, p.c)
			if !p.recursive {
				continue
			}
			nd, err := n.dag.Get(ctx, p.c)
			if err != nil {
				continue
			}
			if pn, ok := nd.(*merkledag.ProtoNode); ok && isManifestRoot(pn.Data()) {
				for _, l := range pn.Links() {
					out = append(out, l.Cid)
					if l.Name != linkPage {
						continue
					}
					// A page node of a paged state: its page and documents.
					if pg, err := n.dag.Get(ctx, l.Cid); err == nil {
						for _, pl := range pg.Links() {
							out = append(out, pl.Cid)
						}
					}
				}
			}
		}
	}
	return out
}

// ReadDAG returns a reader of the bytes of the DAG at c (a document, a
// manifest, or a raw block), from this node's store.
func (n *Node) ReadDAG(ctx context.Context, c cid.Cid) (io.ReadCloser, error) {
	return n.readStream(ctx, c)
}
