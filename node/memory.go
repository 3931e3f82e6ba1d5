package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// What a node has ever learnt of a vault only grows. A vault's signing key
// may be in the hands of someone who held a replaced card: they can sign a
// head whose public state drops a revocation, a forward, or a deposit taken
// in. So a node keeps, per vault, the merge of the public states of every
// head it ever adopted or wrote (not only of its current heads), every
// forward and every recovery guardian it ever saw, and uses that merge
// wherever it reads the public state: a revocation, once seen, holds at
// this node whatever heads come later.

// vaultMemory is the monotone record of a vault at this node.
type vaultMemory struct {
	// Public is the merged public state of every head seen (nil: none
	// yet, or heads made before public states).
	Public *vault.PublicState `json:"-"`
	// Forwards are the vaults this one was ever said to have moved to.
	Forwards []string `json:"forwards,omitempty"`
	// Guardians are the peers ever linked as holding a recovery share.
	Guardians []string `json:"guardians,omitempty"`
	// Opened is when the vault was first opened with a card at this node.
	Opened time.Time `json:"opened,omitzero"`
	// Retired is when this node retired the vault after its forward.
	Retired time.Time `json:"retired,omitzero"`
}

type vaultMemoryJSON struct {
	vaultMemory
	Public json.RawMessage `json:"public,omitempty"`
}

// memory returns the record of v (empty when the node has none).
func (n *Node) memory(ctx context.Context, v vault.VaultID) (*vaultMemory, error) {
	b, ok, err := n.store.get(ctx, memoryKey(v))
	if err != nil || !ok {
		return &vaultMemory{}, err
	}
	var j vaultMemoryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("stored record of vault %s: %w", v, err)
	}
	m := j.vaultMemory
	if len(j.Public) > 0 {
		if m.Public, err = vault.ParsePublicState(j.Public); err != nil {
			return nil, fmt.Errorf("stored record of vault %s: %w", v, err)
		}
	}
	return &m, nil
}

// updateMemory changes the record of v with f and writes it durably,
// with the index of the cards it revokes.
func (n *Node) updateMemory(ctx context.Context, v vault.VaultID, f func(*vaultMemory)) error {
	n.memMu.Lock()
	defer n.memMu.Unlock()
	m, err := n.memory(ctx, v)
	if err != nil {
		return err
	}
	f(m)
	j := vaultMemoryJSON{vaultMemory: *m}
	if m.Public != nil {
		j.Public = m.Public.Marshal()
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	batch, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return err
	}
	if err := batch.Put(ctx, memoryKey(v), b); err != nil {
		return err
	}
	if m.Public != nil {
		for l := range m.Public.RevokedCards {
			if err := batch.Put(ctx, revokedKey(l, v), nil); err != nil {
				return err
			}
		}
	}
	if err := batch.Commit(ctx); err != nil {
		return fmt.Errorf("record vault %s: %w", v, err)
	}
	return nil
}

// remember merges into the record of v the public state and the
// guardians of a head it adopts or writes (its manifest root rl). It
// returns the head's public state.
func (n *Node) remember(ctx context.Context, v vault.VaultID, rl *rootLinks) (*vault.PublicState, error) {
	p, err := n.readPublic(ctx, rl)
	if err != nil {
		return nil, err
	}
	return p, n.updateMemory(ctx, v, func(m *vaultMemory) {
		if p != nil {
			if m.Public == nil {
				m.Public = p
			} else {
				keep := m.Public.Recipient
				m.Public = vault.MergePublic(m.Public, p)
				// The first recipient seen stays: a later head signed
				// with a leaked key cannot redirect deposits and logs.
				m.Public.Recipient = keep
			}
			if p.MovedTo != nil && !slices.Contains(m.Forwards, p.MovedTo.String()) {
				m.Forwards = append(m.Forwards, p.MovedTo.String())
			}
		}
		for g := range rl.shares {
			if !slices.Contains(m.Guardians, g.String()) {
				m.Guardians = append(m.Guardians, g.String())
			}
		}
	})
}

// withMemory merges the remembered public state of v into p (which may
// be nil).
func (n *Node) withMemory(ctx context.Context, v vault.VaultID, p *vault.PublicState) *vault.PublicState {
	m, err := n.memory(ctx, v)
	if err != nil || m.Public == nil {
		return p
	}
	if p == nil {
		return m.Public
	}
	keep := p.Recipient
	out := vault.MergePublic(p, m.Public)
	out.Recipient = keep
	return out
}

// guardiansEver returns every peer ever seen holding a recovery share of v.
func (n *Node) guardiansEver(ctx context.Context, v vault.VaultID) []peer.ID {
	m, err := n.memory(ctx, v)
	if err != nil {
		return nil
	}
	var out []peer.ID
	for _, g := range m.Guardians {
		if p, err := peer.Decode(g); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// revokedHere reports whether a vault this node links the card to revoked
// it, and when (a vault can only revoke its own cards: another vault
// naming the card changes nothing).
func (n *Node) revokedHere(ctx context.Context, l vault.LookupID) (time.Time, bool) {
	res, err := n.store.ldb.Query(ctx, dsqKeysOnly(revokedPrefix(l)))
	if err != nil {
		return time.Time{}, false
	}
	entries, err := res.Rest()
	if err != nil {
		return time.Time{}, false
	}
	for _, e := range entries {
		lookup, v, ok := parseRevokedKey(e.Key)
		if !ok || lookup != l.String() {
			continue
		}
		if ok, err := n.store.ldb.Has(ctx, vaultCardKey(v.String(), l.String())); err == nil && ok {
			if p := n.withMemory(ctx, v, nil); p != nil {
				return p.RevokedCards[l], true
			}
			return time.Time{}, true
		}
	}
	return time.Time{}, false
}

// markOpened records that v was opened with a card at this node.
func (n *Node) markOpened(ctx context.Context, v vault.VaultID) {
	m, err := n.memory(ctx, v)
	if err != nil || !m.Opened.IsZero() {
		return
	}
	if err := n.updateMemory(ctx, v, func(m *vaultMemory) {
		if m.Opened.IsZero() {
			m.Opened = time.Now().UTC()
		}
	}); err != nil {
		n.log.Warn("vault opening not recorded", "vault", v, "err", err)
	}
}

// retireDue retires the vaults that moved to exactly one other vault,
// once that vault has been opened with its card at this node for longer
// than the retire grace. A vault said to have moved to two different
// vaults (a forward signed with a leaked key) is kept, and so are both
// targets: nothing is dropped because of a forward alone.
func (n *Node) retireDue(ctx context.Context) {
	res, err := n.store.ldb.Query(ctx, dsqKeysOnly(memoryPrefix()))
	if err != nil {
		return
	}
	entries, err := res.Rest()
	if err != nil {
		return
	}
	grace := time.Duration(n.cfg.RetireGrace)
	for _, e := range entries {
		v, err := vault.ParseVaultID(lastElem(e.Key))
		if err != nil {
			continue
		}
		m, err := n.memory(ctx, v)
		if err != nil || len(m.Forwards) != 1 || !m.Retired.IsZero() {
			continue
		}
		to, err := vault.ParseVaultID(m.Forwards[0])
		if err != nil {
			continue
		}
		tm, err := n.memory(ctx, to)
		if err != nil || tm.Opened.IsZero() || time.Since(tm.Opened) < grace {
			continue
		}
		if err := n.updateMemory(ctx, v, func(m *vaultMemory) { m.Retired = time.Now().UTC() }); err != nil {
			n.log.Warn("vault retirement not recorded", "vault", v, "err", err)
			continue
		}
		n.goBackground(func(ctx context.Context) {
			n.retire(ctx, v)
			n.gcSoon(true)
		})
	}
}

// maxForwards bounds the forwards followed from a vault id.
const maxForwards = 32

// ForwardsError says that a vault was moved to several vaults (a forward
// signed with a leaked key): each must be dealt with by its own id.
type ForwardsError struct {
	From vault.VaultID
	To   []vault.VaultID
}

func (e *ForwardsError) Error() string {
	ids := make([]string, len(e.To))
	for i, v := range e.To {
		ids[i] = v.String()
	}
	return fmt.Sprintf("vault %s was moved to several vaults (its keys were used by someone else); start a recovery for each: %s", e.From, strings.Join(ids, ", "))
}

// latestVault follows the forwards from v (the vault id on a person's
// paper file) through every replacement and rotation since, to the vault
// that holds the person's documents now. A forward is followed only to a
// vault whose guardians are guardians of the vault it leaves (at least two
// of them, and no other): whoever holds a vault's old keys can sign a
// forward, not make other structures the guardians of the papers.
func (n *Node) latestVault(ctx context.Context, v vault.VaultID) (vault.VaultID, error) {
	seen := map[vault.VaultID]bool{}
	for range maxForwards {
		if seen[v] {
			return v, fmt.Errorf("the forwards of vault %s loop", v)
		}
		seen[v] = true
		if err := n.refresh(ctx, v); err != nil {
			return v, err
		}
		m, err := n.memory(ctx, v)
		if err != nil {
			return v, err
		}
		if p := n.withMemory(ctx, v, nil); p != nil && p.MovedTo != nil && !slices.Contains(m.Forwards, p.MovedTo.String()) {
			m.Forwards = append(m.Forwards, p.MovedTo.String())
		}
		var from []peer.ID
		if len(m.Forwards) > 0 {
			from = n.historyGuardians(ctx, v)
		}
		var next []vault.VaultID
		for _, f := range m.Forwards {
			to, err := vault.ParseVaultID(f)
			if err != nil {
				continue
			}
			if err := n.refresh(ctx, to); err != nil {
				n.log.Warn("forward not reachable", "from", v, "to", to, "err", err)
				continue
			}
			// A vault without guardians (no federation when it was
			// made) has nothing to compare: its single forward is taken.
			solo := len(from) == 0 && len(m.Forwards) == 1
			if kept := sameGuardians(from, n.guardiansEver(ctx, to)); !kept && !solo {
				n.log.Warn("forward to a vault with other guardians not followed", "from", v, "to", to)
				continue
			}
			next = append(next, to)
		}
		switch len(next) {
		case 0:
			return v, nil
		case 1:
			v = next[0]
		default:
			return v, &ForwardsError{From: v, To: next}
		}
	}
	return v, fmt.Errorf("vault %s: too many forwards", v)
}

// sameGuardians reports whether the guardians of a new vault are guardians
// of the old one: at least two of them, and no other.
func sameGuardians(old, fresh []peer.ID) bool {
	common := 0
	for _, g := range fresh {
		if !slices.Contains(old, g) {
			return false
		}
		common++
	}
	return common >= 2
}

// maxHistoryWalk bounds the heads read to learn a vault's guardians, and
// historyTimeout the time spent fetching them from peers.
const (
	maxHistoryWalk = 256
	historyTimeout = 30 * time.Second
)

// historyGuardians returns the guardians of v: those this node ever saw,
// and those the states of the vault's history name (for a node that did
// not keep the vault before it moved; the history is fetched from peers).
func (n *Node) historyGuardians(ctx context.Context, v vault.VaultID) []peer.ID {
	out := n.guardiansEver(ctx, v)
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	front, err := n.frontier(ctx, v)
	if err != nil {
		return out
	}
	seen := map[cid.Cid]bool{}
	var queue []*vault.Head
	for _, h := range front {
		queue = append(queue, h.Head)
		seen[h.cid] = true
	}
	for len(queue) > 0 && len(seen) <= maxHistoryWalk {
		h := queue[0]
		queue = queue[1:]
		hctx, cancel := context.WithTimeout(ctx, headFetchTimeout)
		rl, err := n.readRoot(hctx, h.Manifest)
		cancel()
		if err == nil && len(rl.shares) > 0 {
			// The nearest states that name guardians are enough (older
			// ones are usually collected).
			for g := range rl.shares {
				if !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
			continue
		}
		for _, p := range h.Parents {
			if seen[p] {
				continue
			}
			seen[p] = true
			if ph, err := n.loadHead(ctx, v, p); err == nil {
				queue = append(queue, ph)
			}
		}
	}
	return out
}

// statesBeforeForward returns the heads (and their manifest roots) of v
// that are the nearest, from the frontier back, not to be forwards: the
// last states of the vault before it moved. A forward leaves them pinned
// (setFrontier), so that a vault forwarded by someone holding its leaked
// keys can still be recovered by its guardians.
func (n *Node) statesBeforeForward(ctx context.Context, v vault.VaultID) ([]head, []*rootLinks) {
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	front, err := n.frontier(ctx, v)
	if err != nil {
		return nil, nil
	}
	var (
		heads []head
		roots []*rootLinks
		queue = slices.Clone(front)
		seen  = map[cid.Cid]bool{}
	)
	for _, h := range front {
		seen[h.cid] = true
	}
	for len(queue) > 0 && len(seen) <= maxHistoryWalk {
		h := queue[0]
		queue = queue[1:]
		hctx, cancel := context.WithTimeout(ctx, headFetchTimeout)
		rl, err := n.readRoot(hctx, h.Manifest)
		var p *vault.PublicState
		if err == nil {
			p, err = n.readPublic(hctx, rl)
		}
		cancel()
		if err != nil {
			continue
		}
		if p == nil || p.MovedTo == nil {
			heads, roots = append(heads, h), append(roots, rl)
			continue
		}
		for _, pc := range h.Parents {
			if seen[pc] {
				continue
			}
			seen[pc] = true
			if ph, err := n.loadHead(ctx, v, pc); err == nil {
				if hh, err := newHead(ph); err == nil {
					queue = append(queue, hh)
				}
			}
		}
	}
	return heads, roots
}

// recoveryRoots adds to the manifest roots of v's frontier those of its
// last states before a forward, where the recovery shares are.
func (n *Node) recoveryRoots(ctx context.Context, v vault.VaultID, roots []*rootLinks) []*rootLinks {
	for _, rl := range roots {
		if len(rl.shares) > 0 {
			return roots
		}
	}
	_, before := n.statesBeforeForward(ctx, v)
	return append(roots, before...)
}

// loadBeforeForward loads into s the manifest of the last states of its
// vault before it moved; s.front stays the frontier (a new state follows
// it). The caller holds the vault lock and has loaded s (which gave a
// MovedError).
func (n *Node) loadBeforeForward(ctx context.Context, s *session) error {
	heads, roots := n.statesBeforeForward(ctx, s.id)
	if len(heads) == 0 {
		return errors.New("no state of the vault from before it moved can be found")
	}
	var merged *vault.Manifest
	for i, h := range heads {
		m, _, err := n.readState(ctx, s.keys, roots[i], nil)
		if err != nil {
			return fmt.Errorf("read vault state %d: %w", h.Seq, err)
		}
		merged = vault.Merge(merged, m)
	}
	s.manifest = merged
	return nil
}

// errShrinks says that a head's public state drops something its parents
// had: only someone holding leaked keys signs such a head.
var errShrinks = errors.New("its public state drops what its parents had (a revocation, a forward, a deposit taken in, or the recipient)")

// checkGrows checks that the public state of h keeps everything the public
// states of its parents hold. A parent whose state is not in this node's
// store is not checked, nor fetched (the vault's record at this node still
// holds what it saw).
func (n *Node) checkGrows(ctx context.Context, h head) error {
	rl, err := n.readRoot(ctx, h.Manifest)
	if err != nil {
		return err
	}
	p, err := n.readPublic(ctx, rl)
	if err != nil {
		return err
	}
	for _, pc := range h.Parents {
		if !n.HasBlock(ctx, pc) {
			continue
		}
		ph, err := n.loadHead(ctx, h.Vault, pc)
		if err != nil || !n.HasBlock(ctx, ph.Manifest) {
			continue
		}
		prl, err := n.readRoot(ctx, ph.Manifest)
		if err != nil || !prl.public.Defined() || !n.HasBlock(ctx, prl.public) {
			continue
		}
		pp, err := n.readPublic(ctx, prl)
		if err != nil || pp == nil {
			continue
		}
		if p == nil || !grows(pp, p) {
			return errShrinks
		}
	}
	return nil
}

// grows reports whether b keeps everything of a.
func grows(a, b *vault.PublicState) bool {
	if a.Recipient != b.Recipient {
		return false
	}
	// A vault that moved stays moved; a second forward (to another vault)
	// is let through: the vault's record keeps every forward, and two of
	// them keep both vaults.
	if a.MovedTo != nil && b.MovedTo == nil {
		return false
	}
	for k := range a.RevokedCards {
		if _, ok := b.RevokedCards[k]; !ok {
			return false
		}
	}
	for k := range a.RevokedGrants {
		if _, ok := b.RevokedGrants[k]; !ok {
			return false
		}
	}
	for k := range a.Deposits {
		if _, ok := b.Deposits[k]; !ok {
			return false
		}
	}
	return true
}
