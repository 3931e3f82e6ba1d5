package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// A vault record is something a structure attaches to a vault without its
// keys: a deposited document, an access-log entry, a recovery request or
// approval, the attestation that it wrote a head. It is signed by the author node's libp2p key; its payload is
// sealed (to the vault's content recipient, or to a structure) by the
// vault package.
//
//	"BLCNVR1\n" ‖ kind (1) ‖ vault id (32) ‖ author (bytes: peer id) ‖
//	varint unix nanoseconds ‖ payload (bytes) ‖ signature (bytes)
//
// signed over "baluchon record v1\x00" ‖ everything before the signature.

// Record kinds.
const (
	RecordDeposit  = 1 // payload: document root CID (bytes) ‖ sealed vault.DepositMeta (bytes)
	RecordLog      = 2 // payload: sealed vault.LogEntry
	RecordRecovery = 3 // payload: request id (bytes) ‖ requester's structure recipient (bytes) ‖ guardians (list of bytes)
	RecordApproval = 4 // payload: request id (bytes) ‖ requester (bytes: peer id) ‖ share sealed to the requester (bytes)
	RecordHead     = 5 // payload: the CID of a head the author wrote (binary CID, not length-prefixed)
	// RecordRecording (6, recording.go): a spoken text of the person's view.
)

const (
	recordMagic      = "BLCNVR1\n"
	recordSigContext = "baluchon record v1\x00"
	// MaxRecordSize bounds an encoded record.
	MaxRecordSize = 64 << 10
	// MaxRecords bounds the records of one message.
	MaxRecords = 512
)

// Record is a signed vault record.
type Record struct {
	Kind    byte
	Vault   vault.VaultID
	Author  peer.ID
	Time    time.Time
	Payload []byte
	Sig     []byte
}

func (r *Record) unsigned() []byte {
	b := append([]byte(recordMagic), r.Kind)
	b = append(b, r.Vault[:]...)
	b = appendBytes(b, []byte(r.Author))
	b = binary.AppendVarint(b, r.Time.UnixNano())
	return appendBytes(b, r.Payload)
}

// Marshal encodes the record.
func (r *Record) Marshal() []byte { return appendBytes(r.unsigned(), r.Sig) }

// SignRecord makes a record signed by key.
func SignRecord(key crypto.PrivKey, kind byte, v vault.VaultID, t time.Time, payload []byte) (*Record, error) {
	author, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	r := &Record{Kind: kind, Vault: v, Author: author, Time: roundTime(t), Payload: payload}
	if len(r.unsigned())+200 > MaxRecordSize {
		return nil, errors.New("record is too large")
	}
	if r.Sig, err = sign(key, recordSigContext, r.unsigned()); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseRecord decodes a record and checks its signature.
func ParseRecord(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, errors.New("record is too large")
	}
	d := newDecoder(b)
	if string(d.Fixed(len(recordMagic))) != recordMagic {
		return nil, errors.New("not a vault record")
	}
	r := &Record{Kind: d.Byte()}
	copy(r.Vault[:], d.Fixed(32))
	author, err := peer.IDFromBytes(d.Bytes(64))
	if d.Err() == nil && err != nil {
		d.Fail(errors.New("malformed author"))
	}
	r.Author = author
	r.Time = time.Unix(0, d.Varint()).UTC()
	r.Payload = d.Bytes(MaxRecordSize)
	r.Sig = d.Bytes(128)
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if r.Kind < RecordDeposit || r.Kind > RecordRecording {
		return nil, errors.New("record: unknown kind")
	}
	if err := verify(r.Author, recordSigContext, r.unsigned(), r.Sig); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return r, nil
}

// Fields splits a payload into its byte fields (see the record kinds).
func Fields(payload []byte, n int) ([][]byte, error) {
	d := newDecoder(payload)
	out := make([][]byte, n)
	for i := range out {
		out[i] = d.Bytes(MaxRecordSize)
	}
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("record payload: %w", err)
	}
	return out, nil
}

// JoinFields writes byte fields as a payload.
func JoinFields(fields ...[]byte) []byte {
	var b []byte
	for _, f := range fields {
		b = appendBytes(b, f)
	}
	return b
}

// StructureRecord tells the other members a structure's name and the age
// recipient its shares, delegations and recovery approvals are sealed to.
// It is signed by the structure node's key.
//
//	"BLCNSR1\n" ‖ peer (bytes) ‖ name (bytes, ≤ 200) ‖ recipient (bytes) ‖
//	varint unix nanoseconds ‖ signature (bytes)
type StructureRecord struct {
	Peer      peer.ID
	Name      string
	Recipient string
	Time      time.Time
	Sig       []byte
}

const (
	structMagic      = "BLCNSR1\n"
	structSigContext = "baluchon structure v1\x00"
	maxStructRecord  = 4096
)

func (s *StructureRecord) unsigned() []byte {
	b := []byte(structMagic)
	b = appendBytes(b, []byte(s.Peer))
	b = appendBytes(b, []byte(s.Name))
	b = appendBytes(b, []byte(s.Recipient))
	return binary.AppendVarint(b, s.Time.UnixNano())
}

// Marshal encodes the record.
func (s *StructureRecord) Marshal() []byte { return appendBytes(s.unsigned(), s.Sig) }

// SignStructure makes the structure record of the node of key.
func SignStructure(key crypto.PrivKey, name, recipient string, t time.Time) (*StructureRecord, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	s := &StructureRecord{Peer: id, Name: name, Recipient: recipient, Time: roundTime(t)}
	if s.Sig, err = sign(key, structSigContext, s.unsigned()); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseStructureRecord decodes a structure record and checks its signature.
func ParseStructureRecord(b []byte) (*StructureRecord, error) {
	if len(b) > maxStructRecord {
		return nil, errors.New("structure record is too large")
	}
	d := newDecoder(b)
	if string(d.Fixed(len(structMagic))) != structMagic {
		return nil, errors.New("not a structure record")
	}
	id, err := peer.IDFromBytes(d.Bytes(64))
	if d.Err() == nil && err != nil {
		d.Fail(errors.New("malformed peer id"))
	}
	s := &StructureRecord{Peer: id}
	s.Name = string(d.Bytes(800))
	s.Recipient = string(d.Bytes(2048))
	s.Time = time.Unix(0, d.Varint()).UTC()
	s.Sig = d.Bytes(128)
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("structure record: %w", err)
	}
	if err := verify(s.Peer, structSigContext, s.unsigned(), s.Sig); err != nil {
		return nil, fmt.Errorf("structure record: %w", err)
	}
	return s, nil
}
