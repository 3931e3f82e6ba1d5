package node

import (
	"context"
	"fmt"
	"io"
	"time"

	ipld "github.com/ipfs/go-ipld-format"

	"baluchon/vault"
)

// AddFunc stores one document of a batch (see AddBatch): it reads what r
// yields, and returns the document's entry, whose CID is not known yet: a
// small document is encrypted and written by another goroutine, and
// AddBatch returns the entries complete. An error concerns that document
// only (too large, refused): the batch goes on without it.
type AddFunc func(r io.Reader, meta DocMeta) (vault.Entry, error)

// maxBatch bounds the documents of one batch, so that one commit's
// manifest change stays bounded.
const maxBatch = 10000

// AddBatch opens the vault of card once, calls each with a function that
// stores one document, then commits every document stored into one new
// vault state: one manifest write, one signed head, one sync of the
// blocks. It returns the entries once they are all durable. When each
// returns an error, nothing is committed (the blocks written are
// collected later) and AddBatch returns that error.
func (n *Node) AddBatch(ctx context.Context, card *vault.Card, each func(add AddFunc) error) ([]vault.Entry, error) {
	defer n.opHold()()
	// The manifest is read under the vault's lock, once the documents are
	// stored: this first opening needs none of its pages.
	s, err := n.openPages(ctx, card, func(int, int) bool { return false })
	if err != nil {
		return nil, err
	}
	// The blocks of every document go through one buffered DAG: they are
	// written in batches in the background while the next documents are
	// read and encrypted, and all are written before the sync. A small
	// document is read whole and stored by a worker, on the other core,
	// while the next one is read.
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bd := newLockedDAG(ipld.NewBufferedDAG(bctx, n.freshDAG), n.store.syncBlocks)
	workers := newBatchWorkers(bd, s.keys.EncryptDocument)
	defer workers.stop()
	var added []vault.Entry
	add := func(r io.Reader, meta DocMeta) (vault.Entry, error) {
		if len(added) >= maxBatch {
			return vault.Entry{}, fmt.Errorf("a batch holds at most %d documents: add the others in another one", maxBatch)
		}
		e := vault.Entry{
			ID:       vault.NewDocumentID(nil),
			Title:    meta.Title,
			Category: meta.Category,
			FileName: meta.FileName,
			MIME:     meta.MIME,
			Added:    time.Now().UTC(),
			AddedBy:  n.host.ID().String(),
			Expires:  meta.Expires,
		}
		// The entry's fields are checked before the document is read (with
		// a stand-in for its CID), so that a bad title fails its document
		// and not the whole batch.
		check := e
		check.CID = placeholderCID
		if err := vault.NewManifest().Add(check); err != nil {
			return vault.Entry{}, err
		}
		small, rest, free, err := readWholeIfSmall(r, n.cfg.MaxDocumentBytes)
		if err != nil {
			return vault.Entry{}, err
		}
		if rest == nil {
			workers.give(batchJob{i: len(added), data: small, free: free})
			e.Size = int64(len(small))
		} else {
			root, size, err := storeEncryptedTo(bd, rest, n.cfg.MaxDocumentBytes, s.keys.EncryptDocument)
			if err != nil {
				// Not given back: the encryption may still be reading it.
				return vault.Entry{}, err
			}
			free()
			e.CID, e.Size = root.Cid(), size
		}
		added = append(added, e)
		return e, nil
	}
	if err := each(add); err != nil {
		return nil, err
	}
	if len(added) == 0 {
		return nil, nil
	}
	cids, err := workers.wait()
	if err != nil {
		return nil, err
	}
	for i, c := range cids {
		added[i].CID = c
	}
	if err := bd.Commit(); err != nil {
		return nil, fmt.Errorf("write blocks: %w", err)
	}
	// No sync here: the commit's one sync, before the new head is
	// recorded, makes the documents' blocks durable with the state's.
	unlock := n.lockVault(s.id)
	defer unlock()
	// Another session may have changed the vault meanwhile: start again
	// from the current state, the whole manifest.
	s.pages = nil
	if err := n.load(ctx, s); err != nil {
		return nil, err
	}
	m := vault.Merge(s.manifest, vault.NewManifest())
	for _, e := range added {
		if err := m.Add(e); err != nil {
			return nil, err
		}
	}
	if err := n.commit(ctx, s, m); err != nil {
		return nil, err
	}
	n.announce(s)
	ids := make([]string, len(added))
	for i, e := range added {
		ids[i] = e.ID
	}
	// One entry for many documents (as many as fit): a key encapsulation
	// per entry, not per document.
	n.logDocs(s, vault.ActionAdd, ids, "")
	n.log.Info("documents added", "vault", s.id, "count", len(added))
	return added, nil
}
