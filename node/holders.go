package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// A member's word that it keeps a vault is not enough to count it as a
// replica: a member could claim every vault id, and vaults would look
// replicated when they are not. A node takes note of at most
// maxClaimsPerPeer vaults per sync message, and counts a member as a holder
// of a vault only once the member has served a block of it: the head block
// it names (signed by the vault), then a block picked at random along a
// path from the head's manifest root to a leaf. Where this node has the
// block itself, the member only proves it holds it (SHA-256 of a fresh
// nonce and the block); otherwise it sends the block, checked against its
// CID, and the path stops before a block over 64 KiB that this node does
// not have (for a vault it does not keep: the head, the manifest root and
// the small nodes below it stand as the proof, so that checks cost little
// bandwidth). A proof holds for proofTTL; within it, the member's word
// refreshes the holding.

const (
	// maxClaimsPerPeer bounds the vaults of one sync message a node takes
	// note of.
	maxClaimsPerPeer = 4096
	// proofTTL is how long a served block counts as proof of holding.
	proofTTL = time.Hour
	// proofWorkers bounds the checks run at once for one member.
	proofWorkers = 4
	// refuteTTL is how long a holding a member did not show is not
	// checked again: at most maxClaimsPerPeer checks of one member per
	// refuteTTL.
	refuteTTL = 5 * time.Minute
)

// answerBlock serves a block of this node's store to a member
// (proto.BlockHandler): the proof of holding.
func (n *Node) answerBlock(ctx context.Context, from peer.ID, c cid.Cid) ([]byte, error) {
	if !n.IsMember(from) {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	b, err := n.store.blocks.Get(ctx, c)
	if err != nil {
		return nil, proto.ErrNotFound
	}
	return b.RawData(), nil
}

// takeHoldings notes what member from says it keeps: a holding whose proof
// is fresh counts at once, the others once checked (in the background);
// and fetches in the background the heads it has of vaults this node
// keeps.
func (n *Node) takeHoldings(from peer.ID, h *proto.Holdings) {
	vs := h.Vaults
	if len(vs) > maxClaimsPerPeer {
		n.log.Debug("member says it keeps more vaults than a node takes note of", "peer", from, "vaults", len(vs))
		vs = vs[:maxClaimsPerPeer]
	}
	now := time.Now()
	var check []proto.VaultHeads
	n.sync.mu.Lock()
	refuted := n.sync.refuted[from]
	for v, t := range refuted {
		if now.Sub(t) > refuteTTL {
			delete(refuted, v)
		}
	}
	for _, vh := range vs {
		if len(vh.Heads) == 0 {
			continue
		}
		switch {
		case now.Sub(n.sync.proved[vh.Vault][from]) <= proofTTL:
			n.noteHolder(vh.Vault, from, now)
		case !refuted[vh.Vault].IsZero() || len(refuted)+len(check) >= maxClaimsPerPeer:
			// Not shown lately, or too many not shown: not checked now.
		default:
			check = append(check, vh)
		}
	}
	checking := n.sync.checking[from]
	if len(check) > 0 && !checking {
		n.sync.checking[from] = true
	}
	n.sync.mu.Unlock()
	if len(check) > 0 && !checking {
		n.goBackground(func(ctx context.Context) { n.checkHoldings(ctx, from, check) })
	}
	for _, vh := range vs {
		// Not an opHold operation: its fetch is named by holdFetch (gc.go).
		n.goRun(func(ctx context.Context) {
			n.syncVault(ctx, from, vh)
		})
	}
}

// noteHolder records that p keeps v. The caller holds n.sync.mu.
func (n *Node) noteHolder(v vault.VaultID, p peer.ID, t time.Time) {
	hs := n.sync.holders[v]
	if hs == nil {
		hs = map[peer.ID]time.Time{}
		n.sync.holders[v] = hs
	}
	hs[p] = t
}

// checkHoldings asks member from for a block of each vault it says it
// keeps, and counts it as a holder of those it serves.
func (n *Node) checkHoldings(ctx context.Context, from peer.ID, claims []proto.VaultHeads) {
	defer func() {
		n.sync.mu.Lock()
		delete(n.sync.checking, from)
		n.sync.mu.Unlock()
	}()
	work := make(chan proto.VaultHeads)
	done := make(chan struct{})
	for range proofWorkers {
		go func() {
			defer func() { done <- struct{}{} }()
			for vh := range work {
				err := n.proveHolding(ctx, from, vh)
				now := time.Now()
				n.sync.mu.Lock()
				if err != nil {
					rs := n.sync.refuted[from]
					if rs == nil {
						rs = map[vault.VaultID]time.Time{}
						n.sync.refuted[from] = rs
					}
					rs[vh.Vault] = now
					n.sync.mu.Unlock()
					n.log.Debug("member did not show it keeps a vault it names", "peer", from, "vault", vh.Vault, "err", err)
					continue
				}
				ps := n.sync.proved[vh.Vault]
				if ps == nil {
					ps = map[peer.ID]time.Time{}
					n.sync.proved[vh.Vault] = ps
				}
				ps[from] = now
				n.noteHolder(vh.Vault, from, now)
				n.sync.mu.Unlock()
			}
		}()
	}
	for _, vh := range claims {
		if ctx.Err() != nil {
			break
		}
		work <- vh
	}
	close(work)
	for range proofWorkers {
		<-done
	}
}

// proofTimeout bounds one check of a holding.
const proofTimeout = 30 * time.Second

// proveHolding asks member p for the head block it names for vh.Vault and
// for a block picked at random below that head's manifest root.
func (n *Node) proveHolding(ctx context.Context, p peer.ID, vh proto.VaultHeads) error {
	ctx, cancel := context.WithTimeout(ctx, proofTimeout)
	defer cancel()
	hc := vh.Heads[mrand.IntN(len(vh.Heads))]
	hb, err := n.blockFrom(ctx, p, hc, vault.MaxHeadSize)
	if err != nil {
		return fmt.Errorf("head block: %w", err)
	}
	h, err := vault.ParseHead(hb)
	if err != nil {
		return err
	}
	if h.Vault != vh.Vault {
		return errors.New("the head it names is of another vault")
	}
	c := h.Manifest
	for depth := 0; ; depth++ {
		if depth > maxDAGDepth {
			return dagBoundError(h.Manifest, "levels of links", maxDAGDepth)
		}
		data, err := n.blockFrom(ctx, p, c, proto.MaxBlockAnswer)
		if err != nil {
			return err
		}
		if c.Prefix().Codec != cid.DagProtobuf {
			return nil
		}
		nd, err := merkledag.DecodeProtobuf(data)
		if err != nil {
			return fmt.Errorf("block %s: %w", c, err)
		}
		links := nd.Links()
		if len(links) == 0 {
			return nil
		}
		l := links[mrand.IntN(len(links))]
		if l.Cid.Prefix().Codec == cid.Raw && l.Size > maxSentProof && !n.HasBlock(ctx, l.Cid) {
			// A large block this node does not have itself would have to
			// be sent whole: the blocks served so far stand as the proof.
			return nil
		}
		c = l.Cid
	}
}

// maxSentProof bounds the blocks a member is asked to send whole, to show
// it keeps a vault that this node does not keep.
const maxSentProof = 64 << 10

// blockFrom returns the data of block c as member p holds it: when this
// node has the block, p proves it holds the same; otherwise p sends it.
func (n *Node) blockFrom(ctx context.Context, p peer.ID, c cid.Cid, max int) ([]byte, error) {
	if b, err := n.store.blocks.Get(ctx, c); err == nil {
		var nonce [proto.NonceSize]byte
		if _, err := rand.Read(nonce[:]); err != nil {
			return nil, err
		}
		got, err := proto.ProveBlock(ctx, n.host, p, c, nonce)
		if err != nil {
			return nil, err
		}
		if got != proto.BlockProof(nonce, b.RawData()) {
			return nil, fmt.Errorf("block %s: wrong proof", c)
		}
		return b.RawData(), nil
	}
	data, err := proto.GetBlock(ctx, n.host, p, c)
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("block %s of %d bytes is over the limit of %d", c, len(data), max)
	}
	return data, nil
}
