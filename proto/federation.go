package proto

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/vault"
)

// Federation protocol IDs.
const (
	JoinID    protocol.ID = "/baluchon/join/1.0.0"
	RecordsID protocol.ID = "/baluchon/records/1.0.0"
	MembersID protocol.ID = "/baluchon/members/1.0.0"
	SyncID    protocol.ID = "/baluchon/sync/1.0.0"
	CardsID   protocol.ID = "/baluchon/cards/1.0.0"
)

// Limits of the federation messages.
const (
	// MaxSyncVaults bounds the vaults of one sync message.
	MaxSyncVaults = 20000
	maxCID        = 128

	maxJoinRequest    = InviteSecretSize
	maxCertList       = 8 + MaxMembers*(MaxCertSize+4) + 8 + MaxMembers*(maxStructRecord+4) + 8 + MaxMembers*(MaxRemovalSize+4) + 8 + MaxSetRecordings*(MaxRecordSize+4)
	maxSyncMessage    = 8 << 20
	maxCardsRequest   = 32
	maxCardsResponse  = 1 + 8 + MaxCards*maxCardRecord
	maxStatusResponse = 1 + 8 + maxReason
)

// Holdings is what a node keeps: the vaults and the CIDs of their
// current heads.
type Holdings struct {
	Vaults []VaultHeads
}

// VaultHeads names the current heads of one vault.
type VaultHeads struct {
	Vault vault.VaultID
	Heads []cid.Cid
}

// FederationHandler answers the federation protocols. Every certificate it
// receives has been verified.
type FederationHandler interface {
	// Join admits from into the federation if secret is a pending
	// invitation of this node, and returns the federation's certificates.
	Join(ctx context.Context, from peer.ID, secret [InviteSecretSize]byte) ([]*MemberCert, error)
	// Members takes note of from's certificates and structure records and
	// returns this node's.
	Members(ctx context.Context, from peer.ID, m *MemberSet) (*MemberSet, error)
	// Sync takes note of what from keeps and returns what this node keeps.
	Sync(ctx context.Context, from peer.ID, h *Holdings) (*Holdings, error)
	// Cards returns the card records this node keeps for a vault.
	Cards(ctx context.Context, from peer.ID, v vault.VaultID) ([]*CardRecord, error)
	// Records returns the records this node keeps for a vault.
	Records(ctx context.Context, from peer.ID, v vault.VaultID) ([]*Record, error)
}

// MemberSet is what members exchange: their certificates, their structure
// records and the removals (each with the certificate that allowed it,
// among Certs).
type MemberSet struct {
	Certs      []*MemberCert
	Structures []*StructureRecord
	Removals   []*Removal
	// Recordings are recording records (RecordRecording), at most
	// MaxSetRecordings; the list is left out when empty.
	Recordings []*Record
}

func appendMemberSet(dst []byte, m *MemberSet) []byte {
	dst = appendCerts(dst, m.Certs)
	ss := m.Structures
	if len(ss) > MaxMembers {
		ss = ss[:MaxMembers]
	}
	dst = appendUvarint(dst, len(ss))
	for _, s := range ss {
		dst = appendBytes(dst, s.Marshal())
	}
	dst = appendRemovals(dst, m.Removals)
	if rs := m.Recordings; len(rs) > 0 {
		if len(rs) > MaxSetRecordings {
			rs = rs[:MaxSetRecordings]
		}
		dst = appendUvarint(dst, len(rs))
		for _, r := range rs {
			dst = appendBytes(dst, r.Marshal())
		}
	}
	return dst
}

func (d *decoder) memberSet() *MemberSet {
	m := &MemberSet{Certs: d.certs()}
	n := d.Count(MaxMembers)
	for range n {
		b := d.Bytes(maxStructRecord)
		if d.Err() != nil {
			return nil
		}
		s, err := ParseStructureRecord(b)
		if err != nil {
			d.Fail(err)
			return nil
		}
		m.Structures = append(m.Structures, s)
	}
	m.Removals = d.removals()
	if d.Err() != nil || len(d.Rest()) == 0 {
		return m
	}
	n = d.Count(MaxSetRecordings)
	if n == 0 {
		d.Fail(errors.New("member set: an empty list of recordings is left out"))
		return nil
	}
	for range n {
		b := d.Bytes(MaxRecordSize)
		if d.Err() != nil {
			return nil
		}
		r, err := ParseRecord(b)
		if err == nil && r.Kind != RecordRecording {
			err = errors.New("not a recording")
		}
		if err != nil {
			d.Fail(fmt.Errorf("member set recording: %w", err))
			return nil
		}
		m.Recordings = append(m.Recordings, r)
	}
	return m
}

// registerFederation installs the handlers of the federation protocols.
func registerFederation(h host.Host, handler FederationHandler, s *server) {
	h.SetStreamHandler(JoinID, s.wrap(JoinID, maxJoinRequest, func(ctx context.Context, from peer.ID, req []byte) []byte {
		if len(req) != InviteSecretSize {
			return appendStatus(nil, StatusInvalid, "malformed invitation")
		}
		var secret [InviteSecretSize]byte
		copy(secret[:], req)
		certs, err := handler.Join(ctx, from, secret)
		if err != nil {
			return s.errorResponse(JoinID, from, err)
		}
		return appendCerts(appendStatus(nil, StatusOK, ""), certs)
	}))
	h.SetStreamHandler(MembersID, s.wrap(MembersID, maxCertList, func(ctx context.Context, from peer.ID, req []byte) []byte {
		d := newDecoder(req)
		ms := d.memberSet()
		if err := d.End(); err != nil {
			return appendStatus(nil, StatusInvalid, err.Error())
		}
		out, err := handler.Members(ctx, from, ms)
		if err != nil {
			return s.errorResponse(MembersID, from, err)
		}
		return appendMemberSet(appendStatus(nil, StatusOK, ""), out)
	}))
	h.SetStreamHandler(RecordsID, s.wrap(RecordsID, 32, func(ctx context.Context, from peer.ID, req []byte) []byte {
		v, err := decodeID(req)
		if err != nil {
			return appendStatus(nil, StatusInvalid, err.Error())
		}
		rs, err := handler.Records(ctx, from, v)
		if err != nil {
			return s.errorResponse(RecordsID, from, err)
		}
		return appendRecords(appendStatus(nil, StatusOK, ""), rs)
	}))
	h.SetStreamHandler(SyncID, s.wrap(SyncID, maxSyncMessage, func(ctx context.Context, from peer.ID, req []byte) []byte {
		hs, err := decodeHoldings(req)
		if err != nil {
			return appendStatus(nil, StatusInvalid, err.Error())
		}
		out, err := handler.Sync(ctx, from, hs)
		if err != nil {
			return s.errorResponse(SyncID, from, err)
		}
		return appendHoldings(appendStatus(nil, StatusOK, ""), out)
	}))
	h.SetStreamHandler(CardsID, s.wrap(CardsID, maxCardsRequest, func(ctx context.Context, from peer.ID, req []byte) []byte {
		v, err := decodeID(req)
		if err != nil {
			return appendStatus(nil, StatusInvalid, err.Error())
		}
		cards, err := handler.Cards(ctx, from, v)
		if err != nil {
			return s.errorResponse(CardsID, from, err)
		}
		if len(cards) > MaxCards {
			cards = cards[:MaxCards]
		}
		b := appendStatus(nil, StatusOK, "")
		b = appendUvarint(b, len(cards))
		for _, c := range cards {
			b = appendCard(b, c)
		}
		return b
	}))
}

func appendCerts(dst []byte, certs []*MemberCert) []byte {
	if len(certs) > MaxMembers {
		certs = certs[:MaxMembers]
	}
	dst = appendUvarint(dst, len(certs))
	for _, c := range certs {
		dst = appendBytes(dst, c.Marshal())
	}
	return dst
}

func (d *decoder) certs() []*MemberCert {
	n := d.Count(MaxMembers)
	var out []*MemberCert
	for range n {
		b := d.Bytes(MaxCertSize)
		if d.Err() != nil {
			return nil
		}
		c, err := ParseMemberCert(b)
		if err != nil {
			d.Fail(err)
			return nil
		}
		out = append(out, c)
	}
	return out
}

func appendHoldings(dst []byte, h *Holdings) []byte {
	vs := h.Vaults
	if len(vs) > MaxSyncVaults {
		vs = vs[:MaxSyncVaults]
	}
	dst = appendUvarint(dst, len(vs))
	for _, v := range vs {
		dst = append(dst, v.Vault[:]...)
		heads := v.Heads
		if len(heads) > MaxHeads {
			heads = heads[:MaxHeads]
		}
		dst = appendUvarint(dst, len(heads))
		for _, c := range heads {
			dst = appendBytes(dst, c.Bytes())
		}
	}
	return dst
}

func (d *decoder) holdings() *Holdings {
	h := &Holdings{}
	n := d.Count(MaxSyncVaults)
	for range n {
		var vh VaultHeads
		copy(vh.Vault[:], d.Fixed(32))
		k := d.Count(MaxHeads)
		for range k {
			b := d.Bytes(maxCID)
			if d.Err() != nil {
				return nil
			}
			c, err := cid.Cast(b)
			if err != nil || c.Version() != 1 {
				d.Fail(errors.New("malformed head CID"))
				return nil
			}
			vh.Heads = append(vh.Heads, c)
		}
		if d.Err() != nil {
			return nil
		}
		h.Vaults = append(h.Vaults, vh)
	}
	return h
}

func decodeHoldings(b []byte) (*Holdings, error) {
	d := newDecoder(b)
	h := d.holdings()
	if err := d.End(); err != nil {
		return nil, err
	}
	return h, nil
}

// Join presents an invitation's secret to the inviting node p and returns
// the federation's certificates.
func Join(ctx context.Context, h host.Host, p peer.ID, secret [InviteSecretSize]byte) ([]*MemberCert, error) {
	resp, err := roundTrip(ctx, h, p, JoinID, secret[:], 1+8+maxCertList)
	if err != nil {
		return nil, err
	}
	return decodeCertsResponse(resp)
}

// ExchangeMembers sends this node's certificates and structure records to
// p and returns p's.
func ExchangeMembers(ctx context.Context, h host.Host, p peer.ID, mine *MemberSet) (*MemberSet, error) {
	resp, err := roundTrip(ctx, h, p, MembersID, appendMemberSet(nil, mine), 1+8+maxCertList)
	if err != nil {
		return nil, err
	}
	d := newDecoder(resp)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	ms := d.memberSet()
	return ms, d.End()
}

// GetRecords asks p for the records it keeps of vault v; each is verified.
func GetRecords(ctx context.Context, h host.Host, p peer.ID, v vault.VaultID) ([]*Record, error) {
	resp, err := roundTrip(ctx, h, p, RecordsID, v[:], 1+maxRecordList)
	if err != nil {
		return nil, err
	}
	d := newDecoder(resp)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	rs := d.records(&v)
	return rs, d.End()
}

func decodeCertsResponse(b []byte) ([]*MemberCert, error) {
	d := newDecoder(b)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	certs := d.certs()
	return certs, d.End()
}

// Sync sends what this node keeps to p and returns what p keeps.
func Sync(ctx context.Context, h host.Host, p peer.ID, mine *Holdings) (*Holdings, error) {
	resp, err := roundTrip(ctx, h, p, SyncID, appendHoldings(nil, mine), 1+maxSyncMessage)
	if err != nil {
		return nil, err
	}
	d := newDecoder(resp)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	theirs := d.holdings()
	return theirs, d.End()
}

// Cards asks p for the card records of vault v. Each record is verified;
// that it leads to v is p's word (a member's).
func Cards(ctx context.Context, h host.Host, p peer.ID, v vault.VaultID) ([]*CardRecord, error) {
	resp, err := roundTrip(ctx, h, p, CardsID, v[:], maxCardsResponse)
	if err != nil {
		return nil, err
	}
	d := newDecoder(resp)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	n := d.Count(MaxCards)
	var out []*CardRecord
	for range n {
		c := d.card()
		if d.Err() != nil {
			break
		}
		out = append(out, c)
	}
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}
	return out, nil
}
