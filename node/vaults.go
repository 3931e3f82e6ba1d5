package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

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

// storeCard keeps a card record that opened the vault here or was made
// here (see cards.go).
func (n *Node) storeCard(ctx context.Context, v vault.VaultID, rec *proto.CardRecord) error {
	return n.keepCard(ctx, v, rec, true)
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
	if ipld.IsNotFound(err) {
		// The envelope went with a vault retired after a key change: the
		// card's newer pointer is to be found at the peers.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stored envelope: %w", err)
	}
	return &proto.CardRecord{Pointer: p, Envelope: blk.RawData()}, nil
}

// findCard returns the card record for lookup: from the store, or from the
// first connected member or holder found in the DHT that knows it
// (node/cardsearch.go).
func (n *Node) findCard(ctx context.Context, lookup vault.LookupID) (rec *proto.CardRecord, local bool, err error) {
	if rec, err := n.localCard(ctx, lookup); err != nil || rec != nil {
		return rec, true, err
	}
	rec, err = n.searchCard(ctx, lookup)
	return rec, false, err
}

// remoteCard asks the connected peers it trusts for the card record of lookup and
// returns the newest one that arrives within the timeout.
func (n *Node) remoteCard(ctx context.Context, lookup vault.LookupID) (*proto.CardRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var (
		mu       sync.Mutex
		best     *proto.CardRecord
		replaced *CardReplacedError
		wg       sync.WaitGroup
	)
	for _, p := range n.trustedPeers() {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			rec, err := proto.Resolve(ctx, n.host, p, lookup)
			if err != nil {
				if re := (*proto.RemoteError)(nil); errors.As(err, &re) && re.Status == proto.StatusRefused {
					if i := strings.Index(re.Reason, cardReplacedReason); i >= 0 {
						when, _ := time.Parse(time.RFC3339, re.Reason[i+len(cardReplacedReason):])
						mu.Lock()
						replaced = &CardReplacedError{When: when}
						mu.Unlock()
					}
				}
				if !proto.IsNotFound(err) {
					n.log.Debug("resolve card", "peer", p, "err", err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if best == nil || rec.Pointer.Time.After(best.Pointer.Time) {
				best = rec
			}
		}(p)
	}
	wg.Wait()
	if best == nil && replaced != nil {
		// Peers refuse to hand out a replaced card's envelope; they say
		// so, which is all this node can tell the person.
		return nil, replaced
	}
	if best == nil {
		return nil, ErrUnknownCard
	}
	return best, nil
}

// peerHeads asks every connected peer it trusts for the heads of v and returns all
// it got within the timeout.
func (n *Node) peerHeads(ctx context.Context, v vault.VaultID, timeout time.Duration) []*vault.Head {
	out := n.connectedHeads(ctx, v, timeout)
	if len(out) == 0 && n.dht.d != nil {
		// No connected member keeps it: find its holders (node/dht.go).
		fctx, cancel := context.WithTimeout(ctx, timeout)
		found := n.connectProviders(fctx, vaultDHTKey(v), 3)
		cancel()
		if len(found) > 0 {
			out = n.connectedHeads(ctx, v, timeout)
		}
	}
	return out
}

// connectedHeads asks the connected peers it trusts for the heads of v.
func (n *Node) connectedHeads(ctx context.Context, v vault.VaultID, timeout time.Duration) []*vault.Head {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu  sync.Mutex
		out []*vault.Head
		wg  sync.WaitGroup
	)
	for _, p := range n.trustedPeers() {
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

// Add encrypts a document to the vault of card and stores it. It returns
// once the document and the new vault state are durable.
func (n *Node) Add(ctx context.Context, card *vault.Card, r io.Reader, meta DocMeta) (vault.Entry, error) {
	added, err := n.AddBatch(ctx, card, func(add AddFunc) error {
		_, err := add(r, meta)
		return err
	})
	if err != nil {
		return vault.Entry{}, err
	}
	return added[0], nil
}

// storeEncrypted encrypts what r yields with encrypt (an age writer) and
// stores it as a document DAG, durably; past limit bytes of r (0: no
// limit) it fails with a *TooLargeError. It returns the DAG's root and the
// plaintext size.
func (n *Node) storeEncrypted(r io.Reader, limit int64, encrypt func(io.Writer) (io.WriteCloser, error)) (ipld.Node, int64, error) {
	root, size, err := n.storeEncryptedUnsynced(r, limit, encrypt)
	if err != nil {
		return nil, 0, err
	}
	if err := n.store.syncBlocks(); err != nil {
		return nil, 0, err
	}
	return root, size, nil
}

// storeEncryptedUnsynced is storeEncrypted without the sync: the caller
// syncs the blocks before anything durable names them.
func (n *Node) storeEncryptedUnsynced(r io.Reader, limit int64, encrypt func(io.Writer) (io.WriteCloser, error)) (ipld.Node, int64, error) {
	var size int64
	root, err := addBuffered(n.dag, func(dag ipld.DAGService) (ipld.Node, error) {
		nd, k, err := storeEncryptedTo(dag, r, limit, encrypt)
		size = k
		return nd, err
	})
	if err != nil {
		return nil, 0, err
	}
	return root, size, nil
}

// storeEncryptedTo is storeEncryptedUnsynced adding the blocks to dag, a
// buffered DAG service whose caller commits them (AddBatch).
func storeEncryptedTo(dag ipld.DAGService, r io.Reader, limit int64, encrypt func(io.Writer) (io.WriteCloser, error)) (ipld.Node, int64, error) {
	counted := &limitedReader{r: r, limit: documentLimit(limit)}
	pr, pw := io.Pipe()
	go func() {
		w, err := encrypt(pw)
		if err == nil {
			_, err = io.CopyBuffer(w, counted, make([]byte, 256<<10))
			if err == nil {
				err = w.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	root, err := buildDocument(dag, pr)
	pr.CloseWithError(errors.New("document store stopped"))
	if tl := (*TooLargeError)(nil); errors.As(err, &tl) {
		return nil, 0, tl
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store document: %w", err)
	}
	return root, counted.n, nil
}

// documentLimit is the bound of a document's bytes for a configured limit
// (0 or less: none).
func documentLimit(limit int64) int64 {
	if limit <= 0 {
		return math.MaxInt64 - 1
	}
	return limit
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

// Opened is a vault as a card session shows it.
type Opened struct {
	Vault   vault.VaultID
	Entries []vault.Entry
	// Deposited are the documents deposited without the card that this
	// session took into the vault: the person is told of them.
	Deposited []vault.Entry
}

// Open opens the vault of card and lists its documents.
func (n *Node) Open(ctx context.Context, card *vault.Card) (*Opened, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	n.logAction(ctx, s, vault.ActionList, "", "")
	return &Opened{Vault: s.id, Entries: s.manifest.Entries(), Deposited: s.deposits}, nil
}

// List returns the documents of the vault of card.
func (n *Node) List(ctx context.Context, card *vault.Card) (vault.VaultID, []vault.Entry, error) {
	o, err := n.Open(ctx, card)
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	return o.Vault, o.Entries, nil
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
	defer n.opHold()()
	// Only the page of the manifest where id is is read.
	s, err := n.openPages(ctx, card, func(bits, page int) bool { return page == vault.Bucket(id, bits) })
	if err != nil {
		return nil, err
	}
	e, ok := s.manifest.Get(id)
	if !ok {
		return nil, &NoDocumentError{ID: id}
	}
	n.logAction(ctx, s, vault.ActionGet, id, "")
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
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return "", err
	}
	n.logAction(ctx, s, vault.ActionOpen, "", "content identity")
	return s.keys.IdentityString(), nil
}

// Vaults returns the ids of the vaults this node keeps.
func (n *Node) Vaults(ctx context.Context) ([]vault.VaultID, error) {
	return n.vaultsWith(ctx, "head")
}

// vaultsWith returns the vaults that have records of a kind in the
// datastore: /baluchon/vault/<id>/<kind>/….
func (n *Node) vaultsWith(ctx context.Context, kind string) ([]vault.VaultID, error) {
	res, err := n.store.ldb.Query(ctx, dsqKeysOnly(vaultPrefix()))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	var out []vault.VaultID
	for _, e := range entries {
		if v, k, _, ok := parseVaultKey(e.Key); ok && k == kind && !slices.Contains(out, v) {
			out = append(out, v)
		}
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
