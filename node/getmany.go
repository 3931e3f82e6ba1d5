package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/ipfs/go-cid"

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
	ahead, stop := n.readAhead(ctx, s, entries)
	defer stop()
	for d := range ahead {
		log.add(d.e.ID)
		if !d.small {
			if err := n.getEntry(ctx, s, d.e, each); err != nil {
				return err
			}
			continue
		}
		<-d.done
		if d.err != nil {
			return fmt.Errorf("read document %s: %w", d.e.ID, d.err)
		}
		if err := each(&Document{Entry: d.e, Reader: bytes.NewReader(d.data), Closer: io.NopCloser(nil)}); err != nil {
			return err
		}
	}
	return nil
}

// getAhead is how many one-block documents GetMany reads and decrypts
// ahead of the one it gives, on the other cores (the key decapsulation
// of each age header, the decryption, the block's read): each holds at
// most one block of plaintext.
const getAhead = 4

// maxOneBlockDocument bounds the block of a one-block document read
// ahead: bitswap's limit on a block (a node writes at most ChunkSize).
const maxOneBlockDocument = 2 << 20

// aheadDoc is a document of GetMany, in its order. When small (one raw
// block), a goroutine reads and decrypts it: data, or err, once done is
// closed. A larger document is streamed by the reader itself (getEntry).
type aheadDoc struct {
	e     vault.Entry
	small bool
	done  chan struct{}
	data  []byte
	err   error
}

// readAhead gives the entries in order, the small ones being read and
// decrypted at most getAhead ahead of the one taken. stop ends the reads
// under way and waits for them.
func (n *Node) readAhead(ctx context.Context, s *session, entries []vault.Entry) (<-chan *aheadDoc, func()) {
	ctx, cancel := context.WithCancel(ctx)
	queue := make(chan *aheadDoc, getAhead)
	var wg sync.WaitGroup
	go func() {
		defer close(queue)
		for _, e := range entries {
			d := &aheadDoc{e: e, small: e.CID.Prefix().Codec == cid.Raw}
			if d.small {
				d.done = make(chan struct{})
				wg.Go(func() {
					defer close(d.done)
					d.data, d.err = n.readOneBlock(ctx, s, e)
				})
			}
			select {
			case queue <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	stop := func() {
		cancel()
		for range queue { // the feeder ends at once, and closes it
		}
		wg.Wait()
	}
	return queue, stop
}

// readOneBlock reads and decrypts document e, one raw block.
func (n *Node) readOneBlock(ctx context.Context, s *session, e vault.Entry) ([]byte, error) {
	block, err := n.getRaw(ctx, e.CID, maxOneBlockDocument)
	if err != nil {
		return nil, err
	}
	pr, err := s.keys.DecryptDocument(bytes.NewReader(block))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// The plaintext is shorter than the age file.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(e.Size, 0), int64(len(block)))+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(pr, int64(len(block)))); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return buf.Bytes(), nil
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
