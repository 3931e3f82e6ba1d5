package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"github.com/ipfs/go-cid"

	"baluchon/proto"
	"baluchon/vault"
)

// A structure that receives a person's mail (domiciliation) deposits a
// scanned document without the card: encrypted to the vault's content
// recipient (from its public state), with its description sealed the same
// way, in a deposit record signed by the structure. It stays pending until
// the next card session takes it into the manifest and tells the person.
// The depositor can read neither it nor anything else of the vault.

// publicState returns the merged public state of the vault v as this node
// keeps it, fetching the vault from peers first.
func (n *Node) publicState(ctx context.Context, v vault.VaultID) (*vault.PublicState, []*rootLinks, error) {
	if err := n.refresh(ctx, v); err != nil {
		return nil, nil, err
	}
	front, err := n.frontier(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	if len(front) == 0 {
		return nil, nil, ErrVaultUnreachable
	}
	var (
		public *vault.PublicState
		roots  []*rootLinks
	)
	for _, h := range front {
		rl, err := n.readRoot(ctx, h.Manifest)
		if err != nil {
			return nil, nil, err
		}
		roots = append(roots, rl)
		p, err := n.readPublic(ctx, rl)
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			continue
		}
		if public == nil {
			public = p
		} else {
			public = vault.MergePublic(public, p)
		}
	}
	if public == nil {
		return nil, nil, errors.New("this vault was made by an older baluchon: its card must be shown once before anything can be deposited")
	}
	return n.withMemory(ctx, v, public), roots, nil
}

// DepositMetaIn is what the depositing structure says of a document.
type DepositMetaIn struct {
	Title, Category, FileName, MIME string
}

// Deposit stores a document in the vault v without the card. It returns
// once the document and its record are durable here; connected members
// that keep the vault take a copy.
func (n *Node) Deposit(ctx context.Context, v vault.VaultID, r io.Reader, meta DepositMetaIn) (string, error) {
	defer n.opHold()()
	// The mail goes to the person's vault now, after any replacement
	// since the id was noted (and nowhere when the forwards conflict).
	v, err := n.latestVault(ctx, v)
	if err != nil {
		return "", err
	}
	public, _, err := n.publicState(ctx, v)
	if err != nil {
		return "", err
	}
	if public.MovedTo != nil {
		v = *public.MovedTo
		if public, _, err = n.publicState(ctx, v); err != nil {
			return "", err
		}
	}
	rcpt, err := public.ContentRecipient()
	if err != nil {
		return "", err
	}
	// The other members keep maxPendingDeposits of this structure's
	// pending deposits in a vault: refuse the next one here, clearly.
	taken := public.Deposits
	pending := 0
	for _, r := range n.pendingDeposits(ctx, v) {
		if _, done := taken[recordCID(r).String()]; !done && r.Author == n.ID() {
			pending++
		}
	}
	if pending >= maxPendingDeposits {
		return "", ErrTooManyDeposits
	}
	root, size, err := n.storeEncrypted(r, n.cfg.MaxDocumentBytes, func(w io.Writer) (io.WriteCloser, error) {
		return age.Encrypt(w, rcpt)
	})
	if err != nil {
		return "", err
	}
	if err := n.pinner.Pin(ctx, root, true, pinName(v)); err != nil {
		return "", fmt.Errorf("pin document: %w", err)
	}
	dm := &vault.DepositMeta{Title: meta.Title, Category: meta.Category, FileName: meta.FileName, MIME: meta.MIME, Size: size, By: n.Name(), ByPeer: n.ID().String(), Deposited: time.Now().UTC()}
	sealed, err := dm.Seal(rcpt)
	if err != nil {
		return "", err
	}
	rec, err := n.addRecord(ctx, proto.RecordDeposit, v, proto.JoinFields(root.Cid().Bytes(), sealed))
	if err != nil {
		return "", err
	}
	n.logTo(ctx, v, rcpt, vault.ActionDeposit, "", "")
	n.log.Info("document deposited", "vault", v)
	return recordCID(rec).String(), nil
}

// pendingDeposits returns the deposit records of v known here and at the
// connected peers.
func (n *Node) pendingDeposits(ctx context.Context, v vault.VaultID) []*proto.Record {
	return n.vaultRecords(ctx, v, func(k byte) bool { return k == proto.RecordDeposit })
}

// depositsToTake reports whether one of deposits is not yet taken into
// s's vault.
func (n *Node) depositsToTake(s *session, deposits []*proto.Record) bool {
	for _, d := range deposits {
		if _, done := s.public.Deposits[recordCID(d).String()]; !done {
			return true
		}
	}
	return false
}

// takeDeposit makes the manifest entry of a pending deposit, and marks it
// taken in the session's public state. It reports false for a deposit
// already taken or that does not open.
func (n *Node) takeDeposit(s *session, r *proto.Record) (vault.Entry, bool) {
	key := recordCID(r).String()
	if _, done := s.public.Deposits[key]; done {
		return vault.Entry{}, false
	}
	f, err := proto.Fields(r.Payload, 2)
	if err != nil {
		return vault.Entry{}, false
	}
	c, err := cid.Cast(f[0])
	if err != nil {
		return vault.Entry{}, false
	}
	dm, err := vault.OpenDepositMeta(f[1], s.keys.Identity())
	if err != nil {
		n.log.Warn("deposit does not open with this vault's keys", "vault", s.id, "err", err)
		return vault.Entry{}, false
	}
	s.public.Deposits[key] = time.Now().UTC()
	return vault.Entry{
		ID: vault.NewDocumentID(nil), CID: c, Size: dm.Size, Title: dm.Title, Category: dm.Category,
		FileName: dm.FileName, MIME: dm.MIME, Added: dm.Deposited, AddedBy: n.StructureName(r.Author),
	}, true
}

// PendingDeposit is a document deposited without the card, not yet taken
// into the vault by a card session.
type PendingDeposit struct {
	By   string    `json:"by"`
	Time time.Time `json:"time"`
}

// PendingDeposits lists the pending deposits of vault v known here.
func (n *Node) PendingDeposits(ctx context.Context, v vault.VaultID) ([]PendingDeposit, error) {
	defer n.opHold()()
	public, _, err := n.publicState(ctx, v)
	if err != nil {
		return nil, err
	}
	var out []PendingDeposit
	for _, r := range n.pendingDeposits(ctx, v) {
		if _, done := public.Deposits[recordCID(r).String()]; !done {
			out = append(out, PendingDeposit{By: n.StructureName(r.Author), Time: r.Time})
		}
	}
	return out, nil
}
