package node

import (
	"context"
	"fmt"

	"baluchon/vault"
)

// maxGetMany bounds the documents one GetMany names, as a batch's.
const maxGetMany = maxBatch

// GetMany opens the vault of card once and calls each with the plaintext
// of every document of ids in turn (every document of the vault when ids
// is empty), in the order of ids (of the manifest when ids is empty). One
// card session serves them all: the card's envelope is opened, the peers'
// heads asked and the manifest's pages decrypted once, so that getting a
// vault's documents costs their bytes and not a session each. Each
// document read is written to the access log as a get is, in entries
// that name many (docLog). A document of ids not in the vault fails with
// a *NoDocumentError before any is read.
// The Document each receives is closed after each returns; an error of
// each stops the reading and is returned.
func (n *Node) GetMany(ctx context.Context, card *vault.Card, ids []string, each func(*Document) error) error {
	if len(ids) > maxGetMany {
		return fmt.Errorf("at most %d documents at once: ask for the others in another call", maxGetMany)
	}
	defer n.opHold()()
	var s *session
	var err error
	if len(ids) == 0 {
		s, err = n.open(ctx, card)
	} else {
		// Only the pages that hold ids are decrypted.
		buckets := map[int]map[int]bool{}
		s, err = n.openPages(ctx, card, func(bits, page int) bool {
			b, ok := buckets[bits]
			if !ok {
				b = make(map[int]bool, len(ids))
				for _, id := range ids {
					b[vault.Bucket(id, bits)] = true
				}
				buckets[bits] = b
			}
			return b[page]
		})
	}
	if err != nil {
		return err
	}
	var entries []vault.Entry
	if len(ids) == 0 {
		entries = s.manifest.Entries()
	} else {
		entries = make([]vault.Entry, 0, len(ids))
		for _, id := range ids {
			e, ok := s.manifest.Get(id)
			if !ok {
				return &NoDocumentError{ID: id}
			}
			entries = append(entries, e)
		}
	}
	// Each document is in the access log, as a get is, in entries of many.
	log := &docLog{n: n, s: s, action: vault.ActionGet}
	defer log.flush()
	for _, e := range entries {
		log.add(e.ID)
		if err := n.getEntry(ctx, s, e, each); err != nil {
			return err
		}
	}
	return nil
}

// getEntry reads document e of the session's vault and gives it to each.
func (n *Node) getEntry(ctx context.Context, s *session, e vault.Entry, each func(*Document) error) error {
	r, err := n.readStream(ctx, e.CID)
	if err != nil {
		return fmt.Errorf("read document %s: %w", e.ID, err)
	}
	defer r.Close()
	pr, err := s.keys.DecryptDocument(r)
	if err != nil {
		return fmt.Errorf("decrypt document %s: %w", e.ID, err)
	}
	return each(&Document{Entry: e, Reader: pr, Closer: r})
}
