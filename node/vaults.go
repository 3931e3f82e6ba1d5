package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// Errors of vault operations that callers tell apart.
var (
	// ErrUnknownCard: neither this node nor any connected peer knows the card.
	ErrUnknownCard = errors.New("no reachable structure knows this card")
	// ErrVaultUnreachable: the card is known but no reachable node has the
	// vault's documents.
	ErrVaultUnreachable = errors.New("the vault of this card is not reachable right now")
)

// NoDocumentError says that a vault has no document with this id.
type NoDocumentError struct{ ID string }

func (e *NoDocumentError) Error() string {
	return fmt.Sprintf("this card does not open document %s (it is not in this person's vault)", e.ID)
}

// TooLargeError says that a document is over the node's limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("document is larger than this node's limit of %d bytes (%s)", e.Limit, humanBytes(e.Limit))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// MaxDocumentBytes returns the largest document this node accepts.
func (n *Node) MaxDocumentBytes() int64 { return n.cfg.MaxDocumentBytes }

// Timeouts of the questions a node asks its peers when a card is shown.
const (
	// resolveTimeout bounds the search for a card this node has never seen.
	resolveTimeout = 10 * time.Second
	// headsTimeoutKnown bounds the wait for peers' heads of a vault this node
	// keeps; headsTimeoutNew the wait for one it does not keep yet.
	headsTimeoutKnown = 2 * time.Second
	headsTimeoutNew   = 10 * time.Second
	// announceTimeout bounds telling one peer about a new head.
	announceTimeout = 10 * time.Second
	// syncTimeout bounds fetching a vault's state announced by a peer.
	syncTimeout = 10 * time.Minute
)

// DocMeta is what a social worker says of a document. It is stored only in
// the encrypted manifest.
type DocMeta struct {
	Title    string
	Category string
	FileName string
	MIME     string
	Expires  time.Time
}

// session is an open vault: its keys (in memory only, for the time of one
// operation), its frontier and its merged manifest.
type session struct {
	keys     *vault.Keys
	id       vault.VaultID
	front    []head
	manifest *vault.Manifest
}

// CreateVault makes a new vault and its card, stores the vault's first
// (empty) state durably and returns the card. The card secret and the vault
// keys are never written to disk.
func (n *Node) CreateVault(ctx context.Context) (*vault.Card, vault.VaultID, error) {
	keys, err := vault.NewKeys()
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	card, err := vault.NewCard(nil)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	env, err := vault.SealEnvelope(card, keys)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	envCID, err := n.putRaw(ctx, env)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	rec := &proto.CardRecord{Pointer: card.SignPointer(envCID, time.Now()), Envelope: env}
	s := &session{keys: keys, id: keys.VaultID(), manifest: vault.NewManifest()}
	unlock := n.lockVault(s.id)
	defer unlock()
	if err := n.commit(ctx, s, s.manifest); err != nil {
		return nil, vault.VaultID{}, err
	}
	if err := n.storeCard(ctx, s.id, rec); err != nil {
		return nil, vault.VaultID{}, err
	}
	n.log.Info("vault created", "vault", s.id)
	return card, s.id, nil
}

// storeCard keeps a card record: the envelope block, pinned with the vault,
// and the pointer. The envelope block must be in the block store.
func (n *Node) storeCard(ctx context.Context, v vault.VaultID, rec *proto.CardRecord) error {
	c, err := n.putRaw(ctx, rec.Envelope)
	if err != nil {
		return err
	}
	if err := n.store.syncBlocks(); err != nil {
		return err
	}
	nd, err := n.dag.Get(ctx, c)
	if err != nil {
		return err
	}
	if err := n.pinner.Pin(ctx, nd, false, pinName(v)); err != nil {
		return fmt.Errorf("pin envelope: %w", err)
	}
	lookup := rec.Pointer.Lookup.String()
	b, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, cardKey(lookup), rec.Pointer.Marshal()); err != nil {
		return err
	}
	if err := b.Put(ctx, vaultCardKey(v.String(), lookup), nil); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("record card: %w", err)
	}
	return nil
}

// localCard returns the card record kept here for lookup, or nil.
func (n *Node) localCard(ctx context.Context, lookup vault.LookupID) (*proto.CardRecord, error) {
	b, ok, err := n.store.get(ctx, cardKey(lookup.String()))
	if err != nil || !ok {
		return nil, err
	}
	p, err := vault.ParsePointer(b)
	if err != nil {
		return nil, fmt.Errorf("stored card pointer: %w", err)
	}
	blk, err := n.store.blocks.Get(ctx, p.Envelope)
	if err != nil {
		return nil, fmt.Errorf("stored envelope: %w", err)
	}
	return &proto.CardRecord{Pointer: p, Envelope: blk.RawData()}, nil
}

// findCard returns the card record for lookup: from the store, or from the
// first connected peer that knows it.
func (n *Node) findCard(ctx context.Context, lookup vault.LookupID) (rec *proto.CardRecord, local bool, err error) {
	if rec, err := n.localCard(ctx, lookup); err != nil || rec != nil {
		return rec, true, err
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	found := make(chan *proto.CardRecord, 1)
	var wg sync.WaitGroup
	for _, p := range n.host.Network().Peers() {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			rec, err := proto.Resolve(ctx, n.host, p, lookup)
			if err != nil {
				if !proto.IsNotFound(err) {
					n.log.Debug("resolve card", "peer", p, "err", err)
				}
				return
			}
			select {
			case found <- rec:
				cancel()
			default:
			}
		}(p)
	}
	go func() { wg.Wait(); close(found) }()
	rec, ok := <-found
	if !ok {
		return nil, false, ErrUnknownCard
	}
	return rec, false, nil
}

// peerHeads asks every connected peer for the heads of v and returns all
// it got within the timeout.
func (n *Node) peerHeads(ctx context.Context, v vault.VaultID, timeout time.Duration) []*vault.Head {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu  sync.Mutex
		out []*vault.Head
		wg  sync.WaitGroup
	)
	for _, p := range n.host.Network().Peers() {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			heads, err := proto.Heads(ctx, n.host, p, v)
			if err != nil {
				if !proto.IsNotFound(err) {
					n.log.Debug("get heads", "peer", p, "err", err)
				}
				return
			}
			mu.Lock()
			out = append(out, heads...)
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	return out
}

// open opens the vault of a card: finds its envelope (here or at a
// connected peer), opens it, brings the vault's state up to date with what
// connected peers hold (fetching and pinning it, so that this node keeps a
// copy), and merges concurrent states into one signed head.
func (n *Node) open(ctx context.Context, card *vault.Card) (*session, error) {
	rec, local, err := n.findCard(ctx, card.LookupID())
	if err != nil {
		return nil, err
	}
	keys, err := vault.OpenEnvelope(card, rec.Envelope)
	if err != nil {
		return nil, fmt.Errorf("open the card's envelope: %w", err)
	}
	s := &session{keys: keys, id: keys.VaultID()}
	front, err := n.frontier(ctx, s.id)
	if err != nil {
		return nil, err
	}
	timeout := headsTimeoutKnown
	if len(front) == 0 {
		timeout = headsTimeoutNew
	}
	if heads := n.peerHeads(ctx, s.id, timeout); len(heads) > 0 {
		if _, err := n.adoptHeads(ctx, s.id, heads); err != nil {
			if len(front) == 0 {
				return nil, fmt.Errorf("%w: %v", ErrVaultUnreachable, err)
			}
			n.log.Warn("vault state from peers not taken", "vault", s.id, "err", err)
		}
	}
	if !local {
		if err := n.storeCard(ctx, s.id, rec); err != nil {
			return nil, err
		}
	}
	unlock := n.lockVault(s.id)
	defer unlock()
	if err := n.load(ctx, s); err != nil {
		return nil, err
	}
	if len(s.front) > 1 {
		if err := n.commit(ctx, s, s.manifest); err != nil {
			return nil, fmt.Errorf("merge vault states: %w", err)
		}
		n.announce(s)
	}
	return s, nil
}

// load reads the frontier of s's vault and merges the manifests of its
// heads into s.manifest. The caller holds the vault lock.
func (n *Node) load(ctx context.Context, s *session) error {
	front, err := n.frontier(ctx, s.id)
	if err != nil {
		return err
	}
	if len(front) == 0 {
		return ErrVaultUnreachable
	}
	var merged *vault.Manifest
	for _, h := range front {
		m, err := n.readManifest(ctx, s.keys, h.Manifest)
		if err != nil {
			return fmt.Errorf("read vault state %d: %w", h.Seq, err)
		}
		if merged == nil {
			merged = m
		} else {
			merged = vault.Merge(merged, m)
		}
	}
	s.front, s.manifest = front, merged
	return nil
}

// readManifest decrypts the manifest of a manifest root.
func (n *Node) readManifest(ctx context.Context, keys *vault.Keys, root cid.Cid) (*vault.Manifest, error) {
	body, err := n.manifestBody(ctx, root)
	if err != nil {
		return nil, err
	}
	r, err := n.readStream(ctx, body)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return vault.DecryptManifest(r, keys.Identity())
}

// commit writes manifest m as the vault's new state: the encrypted
// manifest, the manifest root that links it and the documents, and a head
// signed by the vault key whose parents are the current heads. Everything
// is durable before it returns. The caller holds the vault lock.
func (n *Node) commit(ctx context.Context, s *session, m *vault.Manifest) error {
	var buf bytes.Buffer
	if err := m.Encrypt(&buf, s.keys.Recipient()); err != nil {
		return fmt.Errorf("encrypt manifest: %w", err)
	}
	body, err := n.addStream(&buf)
	if err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	var docs []ipld.Node
	for _, e := range m.Entries() {
		nd, err := n.dag.Get(ctx, e.CID)
		if err != nil {
			return fmt.Errorf("document %s of the vault: %w", e.ID, err)
		}
		docs = append(docs, nd)
	}
	root, err := manifestRoot(body, docs)
	if err != nil {
		return err
	}
	if err := n.dag.Add(ctx, root); err != nil {
		return fmt.Errorf("store manifest root: %w", err)
	}
	var seq uint64
	parents := make([]cid.Cid, 0, len(s.front))
	for _, f := range s.front {
		seq = max(seq, f.Seq)
		parents = append(parents, f.cid)
	}
	signed, err := s.keys.SignHead(seq+1, root.Cid(), parents, time.Now())
	if err != nil {
		return fmt.Errorf("sign head: %w", err)
	}
	h, err := newHead(signed)
	if err != nil {
		return err
	}
	if _, err := n.putRaw(ctx, h.Marshal()); err != nil {
		return err
	}
	if err := n.store.syncBlocks(); err != nil {
		return err
	}
	if err := n.setFrontier(ctx, h, s.front, s.front); err != nil {
		return err
	}
	s.front, s.manifest = []head{h}, m
	return nil
}

// announce tells connected peers, in the background, about the vault's
// current heads.
func (n *Node) announce(s *session) {
	a := &proto.Announcement{Vault: s.id}
	for _, h := range s.front {
		a.Heads = append(a.Heads, h.Head)
	}
	n.goBackground(func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, p := range n.host.Network().Peers() {
			wg.Add(1)
			go func(p peer.ID) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(ctx, announceTimeout)
				defer cancel()
				if err := proto.Announce(ctx, n.host, p, a); err != nil {
					n.log.Debug("announce", "peer", p, "vault", s.id, "err", err)
				}
			}(p)
		}
		wg.Wait()
	})
}

// Add encrypts a document to the vault of card and stores it. It returns
// once the document and the new vault state are durable.
func (n *Node) Add(ctx context.Context, card *vault.Card, r io.Reader, meta DocMeta) (vault.Entry, error) {
	s, err := n.open(ctx, card)
	if err != nil {
		return vault.Entry{}, err
	}
	limit := n.cfg.MaxDocumentBytes
	counted := &limitedReader{r: r, limit: limit}
	pr, pw := io.Pipe()
	go func() {
		w, err := s.keys.EncryptDocument(pw)
		if err == nil {
			_, err = io.CopyBuffer(w, counted, make([]byte, 256<<10))
			if err == nil {
				err = w.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	root, err := n.addStream(pr)
	pr.CloseWithError(errors.New("document store stopped"))
	if tl := (*TooLargeError)(nil); errors.As(err, &tl) {
		return vault.Entry{}, tl
	}
	if err != nil {
		return vault.Entry{}, fmt.Errorf("store document: %w", err)
	}
	if err := n.store.syncBlocks(); err != nil {
		return vault.Entry{}, err
	}
	e := vault.Entry{
		ID:       vault.NewDocumentID(nil),
		CID:      root.Cid(),
		Size:     counted.n,
		Title:    meta.Title,
		Category: meta.Category,
		FileName: meta.FileName,
		MIME:     meta.MIME,
		Added:    time.Now().UTC(),
		AddedBy:  n.host.ID().String(),
		Expires:  meta.Expires,
	}
	unlock := n.lockVault(s.id)
	defer unlock()
	// Another session may have changed the vault meanwhile: start again
	// from the current state.
	if err := n.load(ctx, s); err != nil {
		return vault.Entry{}, err
	}
	m := vault.Merge(s.manifest, vault.NewManifest())
	if err := m.Add(e); err != nil {
		return vault.Entry{}, err
	}
	if err := n.commit(ctx, s, m); err != nil {
		return vault.Entry{}, err
	}
	n.announce(s)
	n.log.Info("document added", "vault", s.id, "doc", e.ID)
	return e, nil
}

// limitedReader counts what it reads and fails with a TooLargeError as
// soon as more than limit bytes come.
type limitedReader struct {
	r     io.Reader
	limit int64
	n     int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	k, err := l.r.Read(p)
	l.n += int64(k)
	if l.n > l.limit {
		return 0, &TooLargeError{Limit: l.limit}
	}
	return k, err
}

// List returns the documents of the vault of card.
func (n *Node) List(ctx context.Context, card *vault.Card) (vault.VaultID, []vault.Entry, error) {
	s, err := n.open(ctx, card)
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	return s.id, s.manifest.Entries(), nil
}

// Document is an open document: its manifest entry and a reader of its
// bytes. The caller must Close it.
type Document struct {
	vault.Entry
	io.Reader
	io.Closer
}

// Get returns the plaintext of document id in the vault of card.
func (n *Node) Get(ctx context.Context, card *vault.Card, id string) (*Document, error) {
	return n.get(ctx, card, id, false)
}

// GetRaw returns the stored ciphertext of document id: a standard age file
// that the vault's content identity decrypts.
func (n *Node) GetRaw(ctx context.Context, card *vault.Card, id string) (*Document, error) {
	return n.get(ctx, card, id, true)
}

func (n *Node) get(ctx context.Context, card *vault.Card, id string, raw bool) (*Document, error) {
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	e, ok := s.manifest.Get(id)
	if !ok {
		return nil, &NoDocumentError{ID: id}
	}
	r, err := n.readStream(ctx, e.CID)
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	if raw {
		return &Document{Entry: e, Reader: r, Closer: r}, nil
	}
	pr, err := s.keys.DecryptDocument(r)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("decrypt document: %w", err)
	}
	return &Document{Entry: e, Reader: pr, Closer: r}, nil
}

// ContentIdentity returns the vault's age content identity, a secret that
// decrypts every document of the vault with the upstream age tool.
func (n *Node) ContentIdentity(ctx context.Context, card *vault.Card) (string, error) {
	s, err := n.open(ctx, card)
	if err != nil {
		return "", err
	}
	return s.keys.IdentityString(), nil
}

// Vaults returns the ids of the vaults this node keeps.
func (n *Node) Vaults(ctx context.Context) ([]vault.VaultID, error) {
	var out []vault.VaultID
	res, err := n.store.ldb.Query(ctx, dsqKeysOnly(vaultPrefix()))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		// /baluchon/vault/<id>/head/<cid>
		parts := splitKey(e.Key)
		if len(parts) != 5 || parts[3] != "head" {
			continue
		}
		v, err := vault.ParseVaultID(parts[2])
		if err != nil || slices.Contains(out, v) {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// BlockCount returns the number of blocks in the node's store.
func (n *Node) BlockCount(ctx context.Context) (int, error) {
	ch, err := n.store.blocks.AllKeysChan(ctx)
	if err != nil {
		return 0, err
	}
	k := 0
	for range ch {
		k++
	}
	return k, nil
}
