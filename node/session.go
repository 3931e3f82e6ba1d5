package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// session is an open vault: its keys (in memory only, for the time of one
// operation), its frontier, its merged manifest and public state.
type session struct {
	keys     *vault.Keys
	id       vault.VaultID
	front    []head
	manifest *vault.Manifest
	public   *vault.PublicState
	// card is the lookup id of the card of this session.
	card vault.LookupID
	// deposits are the documents deposited without the card that this
	// session took into the manifest.
	deposits []vault.Entry
	// paged is the paged state loaded (one head of version 2), whose
	// unchanged pages the next commit reuses; nil otherwise.
	paged *pagedState
	// pages, when not nil, says which pages of a paged state load reads
	// (see openPages); nil: all.
	pages func(bits, page int) bool
}

// CardReplacedError says that a card was replaced (or revoked after a
// recovery): its holder must use the new card.
type CardReplacedError struct{ When time.Time }

func (e *CardReplacedError) Error() string {
	return fmt.Sprintf("this card was replaced on %s; ask for the new one", e.When.UTC().Format("2 January 2006"))
}

// CreateOptions are the choices made when a person is registered.
type CreateOptions struct {
	// Guardians are the structures that can together give the person a new
	// card (recovery). Nil: this node and up to two other members of the
	// federation; fewer than two guardians means no recovery.
	Guardians []peer.ID
	// Threshold is how many guardians must approve a recovery. 0: 2.
	Threshold int
}

// Created is what CreateVault returns.
type Created struct {
	Card      *vault.Card
	Vault     vault.VaultID
	Guardians []peer.ID
	Threshold int
}

// CreateVault makes a new vault and its card, stores the vault's first
// (empty) state durably and returns the card. The card secret and the vault
// keys are never written to disk.
func (n *Node) CreateVault(ctx context.Context) (*vault.Card, vault.VaultID, error) {
	c, err := n.Register(ctx, CreateOptions{})
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	return c.Card, c.Vault, nil
}

// Register makes a new vault and its card, with recovery guardians.
func (n *Node) Register(ctx context.Context, opts CreateOptions) (*Created, error) {
	defer n.opHold()()
	keys, err := vault.NewKeys()
	if err != nil {
		return nil, err
	}
	card, err := vault.NewCard(nil)
	if err != nil {
		return nil, err
	}
	s := &session{keys: keys, id: keys.VaultID(), manifest: vault.NewManifest(), public: keys.NewPublicState(), card: card.LookupID()}
	out := &Created{Card: card, Vault: s.id}
	guardians := opts.Guardians
	if guardians == nil {
		guardians = n.defaultGuardians(s.id)
	}
	if len(guardians) >= 2 {
		k := opts.Threshold
		if k == 0 {
			k = 2
		}
		rec, err := n.makeShares(ctx, keys, guardians, k)
		if err != nil {
			return nil, err
		}
		if err := s.manifest.SetRecovery(*rec); err != nil {
			return nil, err
		}
		out.Guardians, out.Threshold = guardians, k
	}
	rec, err := n.newCardRecord(ctx, card, keys)
	if err != nil {
		return nil, err
	}
	unlock := n.lockVault(s.id)
	defer unlock()
	if err := n.commit(ctx, s, s.manifest); err != nil {
		return nil, err
	}
	if err := n.storeCard(ctx, s.id, rec); err != nil {
		return nil, err
	}
	n.logAction(ctx, s, vault.ActionCreate, "", "")
	n.log.Info("vault created", "vault", s.id, "guardians", len(out.Guardians))
	return out, nil
}

// newCardRecord seals the envelope of keys for card and signs its pointer.
func (n *Node) newCardRecord(ctx context.Context, card *vault.Card, keys *vault.Keys) (*proto.CardRecord, error) {
	env, err := vault.SealEnvelope(card, keys)
	if err != nil {
		return nil, err
	}
	envCID, err := n.putRaw(ctx, env)
	if err != nil {
		return nil, err
	}
	return &proto.CardRecord{Pointer: card.SignPointer(envCID, time.Now()), Envelope: env}, nil
}

// open opens the vault of a card: finds its envelope (here or at a
// connected peer), opens it, brings the vault's state up to date with what
// connected peers hold (fetching and pinning it, so that this node keeps a
// copy), refuses a replaced card, takes in the documents deposited without
// the card, and merges concurrent states into one signed head.
func (n *Node) open(ctx context.Context, card *vault.Card) (*session, error) {
	return n.openOnce(ctx, card, false, nil)
}

// openPages is open for an operation that reads the documents of some
// pages of the manifest only (a get reads one): when the vault's state is
// one paged head and no deposit is to be taken in, only the pages that
// pages accepts are decrypted, and s.manifest holds their documents only.
// The session must then not be committed.
func (n *Node) openPages(ctx context.Context, card *vault.Card, pages func(bits, page int) bool) (*session, error) {
	return n.openOnce(ctx, card, false, pages)
}

// openLocked opens the vault of card to change it: it holds the vault's
// lock (released by unlock) and loads the state current under it, which
// another session may have changed since open.
func (n *Node) openLocked(ctx context.Context, card *vault.Card) (s *session, unlock func(), err error) {
	if s, err = n.open(ctx, card); err != nil {
		return nil, nil, err
	}
	unlock = n.lockVault(s.id)
	if err := n.load(ctx, s); err != nil {
		unlock()
		return nil, nil, err
	}
	return s, unlock, nil
}

// openOnce is open; followed says that a key rotation's forward was
// already followed once.
func (n *Node) openOnce(ctx context.Context, card *vault.Card, followed bool, pages func(bits, page int) bool) (*session, error) {
	ctx = withCardShown(ctx) // the person is here: no quota
	rec, local, err := n.findCard(ctx, card.LookupID())
	if err != nil {
		return nil, err
	}
	keys, err := vault.OpenEnvelope(card, rec.Envelope)
	if err != nil {
		return nil, fmt.Errorf("open the card's envelope: %w", err)
	}
	s := &session{keys: keys, id: keys.VaultID(), card: card.LookupID()}
	cardTime := rec.Pointer.Time
	// A card this node ever saw revoked stays refused, whatever heads
	// came since (memory.go).
	if p := n.withMemory(ctx, s.id, nil); p != nil {
		if when, ok := p.RevokedCards[s.card]; ok {
			return nil, &CardReplacedError{When: when}
		}
	}
	if local {
		n.markCardOpened(ctx, s.id, s.card)
	}
	if err := n.refresh(ctx, s.id); err != nil {
		return nil, err
	}
	if !local {
		if err := n.storeCard(ctx, s.id, rec); err != nil {
			return nil, err
		}
	}
	deposits := n.pendingDeposits(ctx, s.id)
	s.pages = pages
	unlock := n.lockVault(s.id)
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	err = n.load(ctx, s)
	if s.public != nil {
		if when, ok := s.public.RevokedCards[s.card]; ok {
			return nil, &CardReplacedError{When: when}
		}
	}
	var moved *MovedError
	if errors.As(err, &moved) && !followed {
		// The vault's keys were changed: the card now leads to a new
		// envelope, which the structure that changed them announced.
		rec, rerr := n.remoteCard(ctx, s.card)
		if rerr == nil && rec.Pointer.Time.After(cardTime) {
			if err := n.refresh(ctx, moved.To); err != nil {
				return nil, err
			}
			if err := n.storeCard(ctx, moved.To, rec); err != nil {
				return nil, err
			}
			unlock()
			locked = false
			return n.openOnce(ctx, card, true, pages)
		}
		return nil, fmt.Errorf("%w; this card does not open the new vault: ask the structure that changed the keys", moved)
	}
	if err != nil {
		return nil, err
	}
	if s.pages != nil && n.depositsToTake(s, deposits) {
		// Deposits are taken in with the whole manifest.
		s.pages = nil
		if err := n.load(ctx, s); err != nil {
			return nil, err
		}
	}
	m := vault.Merge(s.manifest, nil)
	changed := len(s.front) > 1
	for _, d := range deposits {
		e, ok := n.takeDeposit(s, d)
		if ok && m.Add(e) == nil {
			s.deposits = append(s.deposits, e)
			changed = true
		}
	}
	if changed {
		if err := n.commit(ctx, s, m); err != nil {
			return nil, fmt.Errorf("merge vault states: %w", err)
		}
		n.announce(s)
	}
	n.markOpened(ctx, s.id)
	return s, nil
}

// refresh brings this node's state of vault v up to date with what its
// connected peers hold: a short wait when the node keeps v already, a
// longer one (and an error when none has it) when it does not.
func (n *Node) refresh(ctx context.Context, v vault.VaultID) error {
	front, err := n.frontier(ctx, v)
	if err != nil {
		return err
	}
	timeout := headsTimeoutKnown
	if len(front) == 0 {
		timeout = headsTimeoutNew
	}
	if heads := n.peerHeads(ctx, v, timeout); len(heads) > 0 {
		if _, err := n.adoptHeads(ctx, v, heads); err != nil {
			if len(front) == 0 {
				return fmt.Errorf("%w: %v", ErrVaultUnreachable, err)
			}
			n.log.Warn("vault state from peers not taken", "vault", v, "err", err)
		}
	}
	return nil
}

// load reads the frontier of s's vault and merges the manifests and public
// states of its heads into s. The caller holds the vault lock.
func (n *Node) load(ctx context.Context, s *session) error {
	front, err := n.frontier(ctx, s.id)
	if err != nil {
		return err
	}
	if len(front) == 0 {
		return ErrVaultUnreachable
	}
	var (
		merged *vault.Manifest
		public = s.keys.NewPublicState()
	)
	roots := make([]*rootLinks, len(front))
	for i, h := range front {
		rl, err := n.readRoot(ctx, h.Manifest)
		if err != nil {
			return fmt.Errorf("read vault state %d: %w", h.Seq, err)
		}
		roots[i] = rl
		p, err := n.readPublic(ctx, rl)
		if err != nil {
			return fmt.Errorf("read vault state %d: %w", h.Seq, err)
		}
		if p != nil {
			public = vault.MergePublic(public, p)
		}
	}
	public = n.withMemory(ctx, s.id, public)
	// The keys, not any head, say what the recipient is.
	public.Recipient = s.keys.NewPublicState().Recipient
	s.front, s.public = front, public
	if public.MovedTo != nil {
		return &MovedError{To: *public.MovedTo}
	}
	s.paged = nil
	var skip func(bits, page int, node cid.Cid) bool
	if s.pages != nil && len(front) == 1 {
		skip = func(bits, page int, _ cid.Cid) bool { return !s.pages(bits, page) }
	}
	for i, h := range front {
		m, ps, err := n.readState(ctx, s.keys, roots[i], skip)
		if err != nil {
			return fmt.Errorf("read vault state %d: %w", h.Seq, err)
		}
		if len(front) == 1 {
			s.paged = ps
		}
		merged = vault.Merge(merged, m)
	}
	s.manifest = merged
	return nil
}

// readManifest decrypts the manifest body at c.
func (n *Node) readManifest(ctx context.Context, keys *vault.Keys, c cid.Cid) (*vault.Manifest, error) {
	r, err := n.readStream(ctx, c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return vault.DecryptManifest(r, keys.Identity())
}

// commit writes manifest m and s.public as the vault's new state: the
// encrypted manifest, the public state, the delegations (sealed to their
// structures) and recovery shares, the manifest root that links them and
// the documents, and a head signed by the vault key whose parents are the
// current heads. Everything is durable before it returns. The caller holds
// the vault lock.
func (n *Node) commit(ctx context.Context, s *session, m *vault.Manifest) error {
	if s.public == nil {
		s.public = s.keys.NewPublicState()
	}
	n.purgeTrash(m)
	root := &stateRoot{grants: map[peer.ID]ipld.Node{}, shares: map[peer.ID]ipld.Node{}, paged: true}
	body, pages, paged, err := n.writePages(ctx, s, m)
	if err != nil {
		return err
	}
	root.body, root.pages = body, pages
	if root.public, err = n.putRawNode(ctx, s.public.Marshal()); err != nil {
		return err
	}
	if err := n.sealGrants(ctx, s, m, root); err != nil {
		return err
	}
	if r := m.Recovery(); r != nil {
		for g, cs := range r.Shares {
			p, err1 := peer.Decode(g)
			c, err2 := cid.Decode(cs)
			if err1 != nil || err2 != nil {
				continue
			}
			nd, err := n.dag.Get(ctx, c)
			if err != nil {
				return fmt.Errorf("recovery share of %s: %w", p, err)
			}
			root.shares[p] = nd
		}
	}
	old := s.manifest
	s.manifest = m
	if err := n.commitRoot(ctx, s, root); err != nil {
		s.manifest = old
		return err
	}
	s.paged = paged
	return nil
}

// commitRoot stores a manifest root and signs the head that makes it the
// vault's state. The caller holds the vault lock.
func (n *Node) commitRoot(ctx context.Context, s *session, root *stateRoot) error {
	m := s.manifest
	rn, err := root.node()
	if err != nil {
		return err
	}
	if err := n.dag.Add(ctx, rn); err != nil {
		return fmt.Errorf("store manifest root: %w", err)
	}
	var seq uint64
	parents := make([]cid.Cid, 0, len(s.front))
	for _, f := range s.front {
		seq = max(seq, f.Seq)
		parents = append(parents, f.cid)
	}
	signed, err := s.keys.SignHead(seq+1, rn.Cid(), parents, time.Now())
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
	// The attestation first: a crash between the two leaves an attestation
	// of a head that never became current, never a head nobody attests.
	if err := n.attestHead(ctx, h); err != nil {
		return err
	}
	if err := n.setFrontier(ctx, h, s.front, s.front); err != nil {
		return err
	}
	s.front, s.manifest = []head{h}, m
	return nil
}

// putRawNode stores a raw block and returns it as a DAG node.
func (n *Node) putRawNode(ctx context.Context, data []byte) (ipld.Node, error) {
	return addRawNode(ctx, n.dag, data)
}

// announce tells connected peers, in the background, about the vault's
// current heads (and records, cards).
func (n *Node) announce(s *session) {
	a := &proto.Announcement{Vault: s.id}
	for _, h := range s.front {
		a.Heads = append(a.Heads, h.Head)
	}
	n.announceAll(a)
}

// announceAll sends a to every connected peer it trusts, in the
// background, with the attestations of its heads.
func (n *Node) announceAll(a *proto.Announcement) {
	if len(a.Heads) > 0 {
		att := n.headAttestations(n.ctx, a.Heads)
		// An announcement carries few records; a receiver missing an
		// attestation asks the members for it.
		if room := proto.MaxAnnounceRecords - len(a.Records); len(att) > room {
			att = att[:max(room, 0)]
		}
		if len(att) > 0 {
			b := *a
			b.Records = append(slices.Clip(a.Records), att...)
			a = &b
		}
	}
	n.goBackground(func(ctx context.Context) {
		// Inside a federation the announcement goes by gossip
		// (node/gossip.go), and straight to the connected members that
		// do not read the topic yet (just connected).
		var readers map[peer.ID]bool
		if n.publish(ctx, &proto.Gossip{Announcement: a}) {
			readers = n.topicPeers()
		}
		var wg sync.WaitGroup
		for _, p := range n.trustedPeers() {
			if readers[p] {
				continue
			}
			wg.Add(1)
			go func(p peer.ID) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(ctx, announceTimeout)
				defer cancel()
				if err := proto.Announce(ctx, n.host, p, a); err != nil {
					n.log.Debug("announce", "peer", p, "vault", a.Vault, "err", err)
				}
			}(p)
		}
		wg.Wait()
	})
}

var errNoKeys = errors.New("this needs the person's card")
