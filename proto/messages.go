package proto

import (
	"bytes"
	"errors"
	"fmt"

	"baluchon/vault"
)

// Status is the first byte of every response.
type Status byte

// Response statuses; see the package documentation.
const (
	StatusOK Status = iota
	StatusNotFound
	StatusRefused
	StatusInvalid
	StatusInternal
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusRefused:
		return "refused"
	case StatusInvalid:
		return "invalid request"
	case StatusInternal:
		return "internal error"
	}
	return fmt.Sprintf("status %d", byte(s))
}

// Limits of the messages. A message over its limit is refused unread.
const (
	// MaxHeads is the most heads one response or announcement carries.
	MaxHeads = 32
	// MaxCards is the most card records one announcement carries.
	MaxCards = 4
	// maxReason is the longest reason that follows a non-OK status.
	maxReason = 256

	maxCardRecord       = vault.MaxPointerSize + vault.MaxEnvelopeSize + 16
	maxResolveRequest   = 32
	maxResolveResponse  = 1 + 8 + maxCardRecord
	maxHeadsRequest     = 32
	maxHeadsResponse    = 1 + 8 + MaxHeads*(vault.MaxHeadSize+8)
	maxAnnounceRequest  = 32 + 8 + MaxHeads*(vault.MaxHeadSize+8) + 8 + MaxCards*maxCardRecord + 8 + MaxAnnounceRecords*(MaxRecordSize+4)
	maxAnnounceResponse = 1 + 8 + maxReason
)

// CardRecord is what a card lookup id leads to: the pointer signed by the
// card's lookup key and the envelope it names.
type CardRecord struct {
	Pointer  *vault.Pointer
	Envelope []byte
}

// verify checks that the envelope is the one the pointer names.
func (c *CardRecord) verify() error {
	if len(c.Envelope) > vault.MaxEnvelopeSize {
		return fmt.Errorf("envelope of %d bytes is over the limit of %d", len(c.Envelope), vault.MaxEnvelopeSize)
	}
	got, err := c.Pointer.Envelope.Prefix().Sum(c.Envelope)
	if err != nil {
		return fmt.Errorf("hash envelope: %w", err)
	}
	if !got.Equals(c.Pointer.Envelope) {
		return errors.New("envelope does not match the CID its pointer names")
	}
	return nil
}

// Announcement tells a peer about new heads of one vault, and optionally
// about card records that lead to it.
type Announcement struct {
	Vault   vault.VaultID
	Heads   []*vault.Head
	Cards   []*CardRecord
	Records []*Record
}

func appendCard(dst []byte, c *CardRecord) []byte {
	dst = appendBytes(dst, c.Pointer.Marshal())
	return appendBytes(dst, c.Envelope)
}

func (d *decoder) card() *CardRecord {
	pb := d.Bytes(vault.MaxPointerSize)
	env := d.Bytes(vault.MaxEnvelopeSize)
	if d.Err() != nil {
		return nil
	}
	p, err := vault.ParsePointer(pb)
	if err != nil {
		d.Fail(fmt.Errorf("card pointer: %w", err))
		return nil
	}
	c := &CardRecord{Pointer: p, Envelope: bytes.Clone(env)}
	if err := c.verify(); err != nil {
		d.Fail(err)
		return nil
	}
	return c
}

func appendHeads(dst []byte, heads []*vault.Head) []byte {
	dst = appendUvarint(dst, len(heads))
	for _, h := range heads {
		dst = appendBytes(dst, h.Marshal())
	}
	return dst
}

// heads reads a list of heads and checks each is a valid head of v.
func (d *decoder) heads(v vault.VaultID) []*vault.Head {
	n := d.Count(MaxHeads)
	var out []*vault.Head
	for range n {
		b := d.Bytes(vault.MaxHeadSize)
		if d.Err() != nil {
			return nil
		}
		h, err := vault.ParseHead(b)
		if err != nil {
			d.Fail(fmt.Errorf("head: %w", err))
			return nil
		}
		if h.Vault != v {
			d.Fail(errors.New("head is for another vault"))
			return nil
		}
		out = append(out, h)
	}
	return out
}

// status reads a response's status byte and, when it is not OK, the reason.
func (d *decoder) status() (Status, string) {
	s := Status(d.Byte())
	if d.Err() != nil || s == StatusOK {
		return s, ""
	}
	reason := d.Bytes(maxReason)
	return s, string(reason)
}

// expectOK reads a response's status. A non-OK status ends the body and
// comes back as the peer's *RemoteError.
func (d *decoder) expectOK() error {
	s, reason := d.status()
	if d.Err() == nil && s != StatusOK {
		if err := d.End(); err != nil {
			return err
		}
		return &RemoteError{Status: s, Reason: reason}
	}
	return d.Err()
}

func appendStatus(dst []byte, s Status, reason string) []byte {
	dst = append(dst, byte(s))
	if s != StatusOK {
		if len(reason) > maxReason {
			reason = reason[:maxReason]
		}
		dst = appendBytes(dst, []byte(reason))
	}
	return dst
}

// encodeResolveResponse encodes a successful resolve response.
func encodeResolveResponse(c *CardRecord) []byte {
	return appendCard(appendStatus(nil, StatusOK, ""), c)
}

// decodeResolveResponse decodes a resolve response to a request for id.
func decodeResolveResponse(b []byte, id vault.LookupID) (*CardRecord, error) {
	d := newDecoder(b)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	c := d.card()
	if err := d.End(); err != nil {
		return nil, err
	}
	if c.Pointer.Lookup != id {
		return nil, errors.New("pointer is for another card")
	}
	return c, nil
}

func encodeHeadsResponse(heads []*vault.Head) []byte {
	return appendHeads(appendStatus(nil, StatusOK, ""), heads)
}

// decodeHeadsResponse decodes a heads response to a request for v.
func decodeHeadsResponse(b []byte, v vault.VaultID) ([]*vault.Head, error) {
	d := newDecoder(b)
	if err := d.expectOK(); err != nil {
		return nil, err
	}
	heads := d.heads(v)
	if err := d.End(); err != nil {
		return nil, err
	}
	return heads, nil
}

func encodeAnnouncement(a *Announcement) []byte {
	b := append([]byte(nil), a.Vault[:]...)
	b = appendHeads(b, a.Heads)
	b = appendUvarint(b, len(a.Cards))
	for _, c := range a.Cards {
		b = appendCard(b, c)
	}
	return appendRecords(b, a.Records)
}

// decodeAnnouncement decodes and verifies an announcement.
func decodeAnnouncement(b []byte) (*Announcement, error) {
	d := newDecoder(b)
	a := &Announcement{}
	copy(a.Vault[:], d.Fixed(len(a.Vault)))
	a.Heads = d.heads(a.Vault)
	n := d.Count(MaxCards)
	for range n {
		c := d.card()
		if d.Err() != nil {
			break
		}
		a.Cards = append(a.Cards, c)
	}
	a.Records = d.recordList(&a.Vault, MaxAnnounceRecords)
	if err := d.End(); err != nil {
		return nil, err
	}
	if len(a.Heads) == 0 && len(a.Cards) == 0 && len(a.Records) == 0 {
		return nil, errors.New("announcement is empty")
	}
	return a, nil
}

// decodeStatusResponse decodes a response that is only a status.
func decodeStatusResponse(b []byte) error {
	d := newDecoder(b)
	if err := d.expectOK(); err != nil {
		return err
	}
	return d.End()
}

func decodeID(b []byte) ([32]byte, error) {
	var id [32]byte
	if len(b) != len(id) {
		return id, fmt.Errorf("request of %d bytes, want %d", len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

// maxRecordList bounds a list of records.
const maxRecordList = 8 + MaxRecords*(MaxRecordSize+4)

func appendRecords(dst []byte, rs []*Record) []byte {
	if len(rs) > MaxRecords {
		rs = rs[:MaxRecords]
	}
	dst = appendUvarint(dst, len(rs))
	for _, r := range rs {
		dst = appendBytes(dst, r.Marshal())
	}
	return dst
}

// records reads a list of records, each of which must be of vault v when
// v is not nil.
func (d *decoder) records(v *vault.VaultID) []*Record {
	return d.recordList(v, MaxRecords)
}

// recordList reads a list of at most limit records, each of which must be
// of vault v when v is not nil.
func (d *decoder) recordList(v *vault.VaultID, limit int) []*Record {
	n := d.Count(limit)
	var out []*Record
	for range n {
		b := d.Bytes(MaxRecordSize)
		if d.Err() != nil {
			return nil
		}
		r, err := ParseRecord(b)
		if err != nil {
			d.Fail(err)
			return nil
		}
		if v != nil && r.Vault != *v {
			d.Fail(errors.New("record is for another vault"))
			return nil
		}
		out = append(out, r)
	}
	return out
}
