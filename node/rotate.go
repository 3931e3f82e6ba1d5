package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
// that state follow the forward and drop every block and record of the old
// vault: afterwards the old content identity opens nothing they keep.

// MovedError says that a vault was replaced by another one after a key
// rotation.
type MovedError struct{ To vault.VaultID }

func (e *MovedError) Error() string {
	return fmt.Sprintf("this vault's keys were changed: it is now vault %s", e.To)
}

// Rotate changes every key of the vault of card and re-encrypts every
// document. It returns the new vault id; the card stays the same.
func (n *Node) Rotate(ctx context.Context, card *vault.Card) (vault.VaultID, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return vault.VaultID{}, err
	}
	keys, err := vault.NewKeys()
	if err != nil {
		return vault.VaultID{}, err
	}
	ns := &session{keys: keys, id: keys.VaultID(), public: keys.NewPublicState(), card: card.LookupID()}
	for l, t := range s.public.RevokedCards {
		ns.public.RevokedCards[l] = t
	}
	m := vault.NewManifest()
	for _, e := range s.manifest.Entries() {
		c, err := n.reencrypt(ctx, s.keys, keys, e.CID)
		if err != nil {
			return vault.VaultID{}, fmt.Errorf("re-encrypt document %s: %w", e.ID, err)
		}
		e.CID = c
		if err := m.Add(e); err != nil {
			return vault.VaultID{}, err
		}
	}
	now := time.Now()
	for _, d := range s.manifest.Delegations() {
		if _, revoked := s.public.RevokedGrants[d.ID]; !revoked && now.Before(d.Expires) {
			if err := m.AddDelegation(d); err != nil {
				return vault.VaultID{}, err
			}
		}
	}
	if r := s.manifest.Recovery(); r != nil {
		var guardians []peer.ID
		for g := range r.Shares {
			if p, err := peer.Decode(g); err == nil {
				guardians = append(guardians, p)
			}
		}
		rec, err := n.makeShares(ctx, keys, guardians, r.Threshold)
		if err != nil {
			return vault.VaultID{}, fmt.Errorf("new recovery shares: %w", err)
		}
		if err := m.SetRecovery(*rec); err != nil {
			return vault.VaultID{}, err
		}
	}
	// The log goes along, sealed to the new keys.
	var logs []*vault.LogEntry
	for _, r := range n.collectRecords(ctx, s.id) {
		if r.Kind == proto.RecordLog {
			if e, err := vault.OpenLogEntry(r.Payload, s.keys.Identity()); err == nil {
				logs = append(logs, e)
			}
		}
	}
	rec, err := n.newCardRecord(ctx, card, keys)
	if err != nil {
		return vault.VaultID{}, err
	}
	unlockNew := n.lockVault(ns.id)
	err = n.commit(ctx, ns, m)
	unlockNew()
	if err != nil {
		return vault.VaultID{}, err
	}
	for _, e := range logs {
		e.Note = "before the key change"
		if sealed, err := e.Seal(keys.Recipient()); err == nil {
			if _, err := n.addRecord(ctx, proto.RecordLog, ns.id, sealed); err != nil {
				n.log.Warn("log entry not carried over", "err", err)
			}
		}
	}
	if err := n.storeCard(ctx, ns.id, rec); err != nil {
		return vault.VaultID{}, err
	}
	// The old vault's last state: a forward, and nothing the old keys open.
	unlock := n.lockVault(s.id)
	if err := n.load(ctx, s); err != nil {
		unlock()
		return vault.VaultID{}, err
	}
	to := ns.id
	s.public.MovedTo = &to
	err = n.commitForward(ctx, s, keys)
	unlock()
	if err != nil {
		return vault.VaultID{}, err
	}
	n.announce(s)
	a := &proto.Announcement{Vault: ns.id, Cards: []*proto.CardRecord{rec}}
	for _, h := range ns.front {
		a.Heads = append(a.Heads, h.Head)
	}
	n.announceAll(a)
	n.logAction(ctx, ns, vault.ActionRotate, "", "")
	n.retire(ctx, s.id)
	n.gcSoon()
	n.log.Info("vault keys changed", "old", s.id, "new", ns.id)
	return ns.id, nil
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
	nd, _, err := n.storeEncrypted(plain, 0, keys.EncryptDocument)
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

// retire drops what this node keeps of a vault that moved: its records and
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
			_ = n.store.ldb.Delete(ctx, recordKey(v, recordCID(r)))
		}
	}
	// Its cards now lead to the new vault (or nowhere): forget that they
	// led here.
	if res, err := n.store.ldb.Query(ctx, dsqKeysOnly(vaultCardsPrefix(v.String()))); err == nil {
		if entries, err := res.Rest(); err == nil {
			for _, e := range entries {
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
			if pn, ok := nd.(*merkledag.ProtoNode); ok && string(pn.Data()) == manifestTag {
				for _, l := range pn.Links() {
					out = append(out, l.Cid)
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
