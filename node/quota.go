package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// The storage quota (max_storage_bytes) bounds everything this node keeps
// for others: vault states and deposited documents fetched from peers,
// card records, vault records and imports. It counts the whole store (the
// block files and the datastore). Where a size is declared (the cumulative
// size a DAG's root gives, an import's blocks) it is checked before
// anything is fetched or stored; while fetching, the bytes are counted and
// the fetch stops, unpinned, as soon as they go past what is left.
//
// What a worker does at this node with a card shown (opening a vault,
// adding a document) is never refused for the quota: the person is in
// front of the worker.

// ErrTooManyDeposits: a structure has as many deposits pending in a vault
// as a node keeps.
var ErrTooManyDeposits = fmt.Errorf("this structure already has %d documents waiting in this vault; they are taken in when the person next shows their card", maxPendingDeposits)

// QuotaError says that something would not fit in the storage quota.
type QuotaError struct {
	Need int64 // bytes it needed (at least)
	Free int64 // bytes left under the quota
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("storage quota reached: %s would not fit in the %s left; raise max_storage_bytes in config.json or free space",
		humanBytes(e.Need), humanBytes(e.Free))
}

// Limits of what one structure may make other nodes keep.
const (
	// maxPendingDeposits bounds the pending deposits of one depositor in
	// one vault: past it, its deposits are refused until a card session
	// takes them in.
	maxPendingDeposits = 16
	// depositOverhead is what encryption and the DAG's nodes add to a
	// document, beyond its plaintext: age adds 16 bytes per 64 KiB chunk
	// and a header, the DAG a node of 174 links per 174 MiB.
	depositOverhead = 64 << 10
)

// maxDepositBytes is the largest deposited document this node keeps: the
// largest document it accepts, encrypted.
func (n *Node) maxDepositBytes() int64 {
	return n.cfg.MaxDocumentBytes + n.cfg.MaxDocumentBytes/256 + depositOverhead
}

// storageUsed returns the bytes of the store: blocks and datastore.
func (n *Node) storageUsed(ctx context.Context) (uint64, error) {
	blocks, err := n.store.packs.DiskUsage(ctx)
	if err != nil {
		return 0, fmt.Errorf("measure block store: %w", err)
	}
	meta, err := n.store.ldb.DiskUsage(ctx)
	if err != nil {
		return 0, fmt.Errorf("measure datastore: %w", err)
	}
	return blocks + meta, nil
}

type cardShownKey struct{}

// withCardShown marks the work of a card session at this node: the quota
// does not apply to it.
func withCardShown(ctx context.Context) context.Context {
	return context.WithValue(ctx, cardShownKey{}, true)
}

// storageFree returns the bytes left under the quota, or -1 when the
// quota does not apply (no quota, or a card session's work).
func (n *Node) storageFree(ctx context.Context) (int64, error) {
	if n.cfg.MaxStorageBytes == 0 || ctx.Value(cardShownKey{}) != nil {
		return -1, nil
	}
	used, err := n.storageUsed(ctx)
	if err != nil {
		return 0, err
	}
	return max(0, n.cfg.MaxStorageBytes-int64(used)), nil
}

// checkFits returns a *QuotaError when need more bytes do not fit.
func (n *Node) checkFits(ctx context.Context, need int64) error {
	free, err := n.storageFree(ctx)
	if err != nil {
		return err
	}
	if free >= 0 && need > free {
		return &QuotaError{Need: need, Free: free}
	}
	return nil
}

// keepDeposit fetches and pins the document of a deposit record, within
// the per-deposit limit and the quota: the size the document's root
// declares is checked before anything else is fetched, and the bytes that
// come are counted. A refused document is not kept; its record is.
func (n *Node) keepDeposit(ctx context.Context, r *proto.Record) {
	c, err := depositDocument(r)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	defer n.holdFetch(c)()
	if err := n.fetchDeposit(ctx, c); err != nil {
		// The record stays (it is small): a card session at this node
		// still tells the person, and reads the document from a node
		// that kept it.
		n.log.Warn("deposited document refused: not kept here", "vault", r.Vault, "by", r.Author, "err", err)
		var (
			qe *QuotaError
			tl *TooLargeError
		)
		if errors.As(err, &qe) || errors.As(err, &tl) || errors.Is(err, ErrDAGBound) {
			n.gcAfterRefusal()
		}
		return
	}
	nd, err := n.dag.Get(ctx, c)
	if err == nil {
		err = n.pinner.Pin(ctx, nd, true, pinName(r.Vault))
	}
	if err != nil {
		n.log.Warn("pin deposited document", "vault", r.Vault, "err", err)
	}
}

// fetchDeposit fetches the DAG of a deposited document at c, within the
// per-deposit limit and the quota.
func (n *Node) fetchDeposit(ctx context.Context, c cid.Cid) error {
	limit := n.maxDepositBytes()
	nd, err := n.dag.Get(ctx, c)
	if err != nil {
		return fmt.Errorf("get document root: %w", err)
	}
	declared, err := nd.Size()
	if err != nil {
		return err
	}
	if int64(declared) > limit {
		return &TooLargeError{Limit: n.cfg.MaxDocumentBytes}
	}
	free, err := n.storageFree(ctx)
	if err != nil {
		return err
	}
	if free >= 0 && int64(declared) > free {
		return &QuotaError{Need: int64(declared), Free: free}
	}
	budget := limit
	if free >= 0 {
		budget = min(budget, free)
	}
	if _, err := n.fetchDAG(ctx, c, budget); err != nil {
		var qe *QuotaError
		if errors.As(err, &qe) && budget == limit {
			return &TooLargeError{Limit: n.cfg.MaxDocumentBytes}
		}
		return err
	}
	return nil
}

// depositDocument returns the CID of a deposit record's document.
func depositDocument(r *proto.Record) (cid.Cid, error) {
	f, err := proto.Fields(r.Payload, 2)
	if err != nil {
		return cid.Undef, err
	}
	return cid.Cast(f[0])
}

// depositAllowed reports whether this node takes one more deposit of r's
// author in r's vault: fewer than maxPendingDeposits of theirs are
// pending (not yet taken into the vault by a card session), counting
// admitted more that are not stored yet. The caller holds depositMu.
func (n *Node) depositAllowed(ctx context.Context, r *proto.Record, admitted int) bool {
	pending, err := n.pendingBy(ctx, r.Vault, r.Author)
	if err != nil {
		return false
	}
	pending += admitted
	if pending < maxPendingDeposits {
		return true
	}
	n.log.Warn("deposit refused: this structure has too many deposits pending in the vault; they are taken in when the person's card is next shown",
		"vault", r.Vault, "by", r.Author, "pending", pending)
	return false
}

// pendingBy counts the deposits of author in v kept here and not yet
// taken in.
func (n *Node) pendingBy(ctx context.Context, v vault.VaultID, author peer.ID) (int, error) {
	rs, err := n.localRecords(ctx, v)
	if err != nil {
		return 0, err
	}
	taken := n.takenDeposits(ctx, v)
	pending := 0
	for _, o := range rs {
		if o.Kind == proto.RecordDeposit && o.Author == author && !taken[recordCID(o).String()] {
			pending++
		}
	}
	return pending, nil
}

// takenDeposits returns the deposits that the public states of v's
// current heads mark as taken in.
func (n *Node) takenDeposits(ctx context.Context, v vault.VaultID) map[string]bool {
	out := map[string]bool{}
	front, err := n.frontier(ctx, v)
	if err != nil {
		return out
	}
	for _, h := range front {
		rl, err := n.readRoot(ctx, h.Manifest)
		if err != nil {
			continue
		}
		p, err := n.readPublic(ctx, rl)
		if err != nil || p == nil {
			continue
		}
		for k := range p.Deposits {
			out[k] = true
		}
	}
	return out
}

// checkDeclared checks, before anything else of it is fetched, that the
// state of head h fits in the quota: what its manifest root declares, less
// what the largest current state declares (documents are shared between
// states). A root that declares less than it holds is caught while
// fetching.
func (n *Node) checkDeclared(ctx context.Context, h head, front []head) error {
	free, err := n.storageFree(ctx)
	if err != nil || free < 0 {
		return err
	}
	nd, err := n.dag.Get(ctx, h.Manifest)
	if err != nil {
		return fmt.Errorf("get manifest root: %w", err)
	}
	declared, err := nd.Size()
	if err != nil {
		return err
	}
	var have uint64
	for _, f := range front {
		if fn, err := n.dag.Get(ctx, f.Manifest); err == nil {
			if s, err := fn.Size(); err == nil {
				have = max(have, s)
			}
		}
	}
	if declared > have && int64(declared-have) > free {
		return &QuotaError{Need: int64(declared - have), Free: free}
	}
	return nil
}

// quotaLog logs a refusal for the quota at most once an hour per vault.
func (n *Node) quotaLog(v vault.VaultID, msg string, args ...any) {
	n.sync.mu.Lock()
	defer n.sync.mu.Unlock()
	if time.Since(n.sync.quotaLogged[v]) > time.Hour {
		n.sync.quotaLogged[v] = time.Now()
		n.log.Warn(msg, append([]any{"vault", v}, args...)...)
	}
}
