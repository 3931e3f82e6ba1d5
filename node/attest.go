package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dsq "github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// Every head a node writes is attested: the node signs, with its own key, a
// record (proto.RecordHead) naming the head's CID. A head is signed by the
// vault's key, which every structure that opened the card holds; the
// attestation says which structure wrote it, so that any change to a vault
// can be traced to a member. Attestations travel with the heads they name
// (in announcements, in answers to the records protocol, on USB sticks)
// and are kept beside them:
//
//	/baluchon/vault/<vault id>/attest/<head CID>/<author peer id> → the record
//
// A node in a federation adopts a head written elsewhere only when a
// current member attests it: the heads of a removed member, or of a peer
// that never was a member, are refused even though the vault key signs
// them. Outside any federation, heads are taken as before.

// attestedHead returns the head CID an attestation names.
func attestedHead(r *proto.Record) (cid.Cid, error) {
	if r.Kind != proto.RecordHead {
		return cid.Undef, errors.New("not a head attestation")
	}
	c, err := cid.Cast(r.Payload)
	if err != nil || c.Version() != 1 {
		return cid.Undef, errors.New("head attestation names a malformed CID")
	}
	return c, nil
}

// attestHead signs and keeps this node's attestation of a head it wrote.
func (n *Node) attestHead(ctx context.Context, h head) error {
	r, err := proto.SignRecord(n.key, proto.RecordHead, h.Vault, time.Now(), h.cid.Bytes())
	if err != nil {
		return fmt.Errorf("attest head: %w", err)
	}
	if _, err := n.storeAttestation(ctx, r); err != nil {
		return fmt.Errorf("attest head: %w", err)
	}
	return nil
}

// storeAttestation keeps a head attestation written by an author this node
// takes records from; it reports whether it was new.
func (n *Node) storeAttestation(ctx context.Context, r *proto.Record) (bool, error) {
	c, err := attestedHead(r)
	if err != nil || !n.acceptsAuthor(r.Author) {
		return false, nil
	}
	k := attestKey(r.Vault, c, r.Author)
	if ok, err := n.store.ldb.Has(ctx, k); err != nil || ok {
		return false, err
	}
	return true, n.store.ldb.Put(ctx, k, r.Marshal())
}

// attestations returns the attestations of head c of v kept here.
func (n *Node) attestations(ctx context.Context, v vault.VaultID, c cid.Cid) []*proto.Record {
	return n.queryAttestations(ctx, attestHeadPrefix(v, c))
}

// vaultAttestations returns every attestation of v kept here.
func (n *Node) vaultAttestations(ctx context.Context, v vault.VaultID) []*proto.Record {
	return n.queryAttestations(ctx, attestPrefix(v))
}

func (n *Node) queryAttestations(ctx context.Context, prefix string) []*proto.Record {
	res, err := n.store.ldb.Query(ctx, dsq.Query{Prefix: prefix})
	if err != nil {
		return nil
	}
	entries, err := res.Rest()
	if err != nil {
		return nil
	}
	var out []*proto.Record
	for _, e := range entries {
		if r, err := proto.ParseRecord(e.Value); err == nil && r.Kind == proto.RecordHead {
			out = append(out, r)
		}
	}
	return out
}

// headAuthor returns the structure that wrote head c of v: this node, or
// a current member (in a federation), or any attesting node (outside one).
func (n *Node) headAuthor(ctx context.Context, v vault.VaultID, c cid.Cid) (peer.ID, bool) {
	rs := n.attestations(ctx, v, c)
	slices.SortFunc(rs, func(a, b *proto.Record) int { return a.Time.Compare(b.Time) })
	fed, _ := n.Federation()
	for _, r := range rs {
		if r.Author == n.ID() || n.IsMember(r.Author) || fed == "" {
			return r.Author, true
		}
	}
	return "", false
}

// headAttestations returns the attestations to send along with heads.
func (n *Node) headAttestations(ctx context.Context, heads []*vault.Head) []*proto.Record {
	var out []*proto.Record
	for _, h := range heads {
		hh, err := newHead(h)
		if err != nil {
			continue
		}
		out = append(out, n.attestations(ctx, h.Vault, hh.cid)...)
	}
	if len(out) > proto.MaxRecords/2 {
		out = out[:proto.MaxRecords/2]
	}
	return out
}

// errUnattested says that a head is not attested by a current member.
var errUnattested = errors.New("no current member of the federation attests having written it")

// checkAttested reports whether this node may adopt head h: outside a
// federation always; inside one when this node or a current member
// attests it. Missing attestations are asked once (per *asked) from the
// connected members.
func (n *Node) checkAttested(ctx context.Context, h head, asked *bool) error {
	if fed, _ := n.Federation(); fed == "" {
		return nil
	}
	if _, ok := n.headAuthor(ctx, h.Vault, h.cid); ok {
		return nil
	}
	if !*asked {
		*asked = true
		n.fetchAttestations(ctx, h.Vault)
		if _, ok := n.headAuthor(ctx, h.Vault, h.cid); ok {
			return nil
		}
	}
	return fmt.Errorf("vault state %d (head %s): %w", h.Seq, h.cid, errUnattested)
}

// fetchAttestations asks the connected members for the records of v and
// keeps the head attestations among them.
func (n *Node) fetchAttestations(ctx context.Context, v vault.VaultID) {
	ctx, cancel := context.WithTimeout(ctx, headsTimeoutKnown)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range n.host.Network().Peers() {
		if !n.IsMember(p) {
			continue
		}
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			rs, err := proto.GetRecords(ctx, n.host, p, v)
			if err != nil {
				return
			}
			for _, r := range rs {
				if r.Kind == proto.RecordHead {
					_, _ = n.storeAttestation(context.WithoutCancel(ctx), r)
				}
			}
		}(p)
	}
	wg.Wait()
}

// LastChange says which structure wrote a vault's latest state.
type LastChange struct {
	Peer string    `json:"peer"`
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// lastChange returns who wrote the newest current head of v, if known.
func (n *Node) lastChange(ctx context.Context, v vault.VaultID) *LastChange {
	front, err := n.frontier(ctx, v)
	if err != nil || len(front) == 0 {
		return nil
	}
	h := front[len(front)-1]
	p, ok := n.headAuthor(ctx, v, h.cid)
	if !ok {
		return nil
	}
	return &LastChange{Peer: p.String(), Name: n.StructureName(p), Time: h.Time}
}

// HeadAuthor returns the structure that attests having written the current
// head of vault v with the highest sequence number ("" when none is known).
func (n *Node) HeadAuthor(ctx context.Context, v vault.VaultID) peer.ID {
	front, err := n.frontier(ctx, v)
	if err != nil || len(front) == 0 {
		return ""
	}
	p, _ := n.headAuthor(ctx, v, front[len(front)-1].cid)
	return p
}

// vouchedKey marks that this node has vouched for the heads it held when
// it entered its federation (or when it was upgraded to attestations).

// vouchHeld attests the current heads this node keeps that no member
// attests: states it took outside any federation (from a node that is no
// member), or before attestations existed, which its members would
// otherwise refuse. Its attestation then says "held and vouched for by
// this member" rather than "written by". A head that a removed member
// attests is left alone.
func (n *Node) vouchHeld(ctx context.Context) {
	vs, err := n.Vaults(ctx)
	if err != nil {
		n.log.Warn("vouch for held vault states", "err", err)
		return
	}
	for _, v := range vs {
		front, err := n.frontier(ctx, v)
		if err != nil {
			continue
		}
		for _, h := range front {
			if _, ok := n.headAuthor(ctx, v, h.cid); !ok && !n.removedAttests(ctx, v, h.cid) {
				if err := n.attestHead(ctx, h); err != nil {
					n.log.Warn("vouch for held vault state", "vault", v, "err", err)
				}
			}
		}
	}
	if err := n.store.ldb.Put(ctx, vouchedKey, []byte{1}); err != nil {
		n.log.Warn("vouch for held vault states", "err", err)
	}
}

// removedAttests reports whether a member removed from the federation
// attests head c of v.
func (n *Node) removedAttests(ctx context.Context, v vault.VaultID, c cid.Cid) bool {
	for _, r := range n.attestations(ctx, v, c) {
		if n.wasRemoved(r.Author) {
			return true
		}
	}
	return false
}
