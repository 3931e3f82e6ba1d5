package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A federation is the set of structures that store each other's encrypted
// blocks. Its id is the peer id of the node that founded it. Each member
// holds a certificate signed by the member that admitted it; the founder's
// certificate is signed by itself. A certificate set is valid for the
// members whose chain of admitters leads to the founder.
//
//	"BLCNMC1\n" ‖ federation (bytes: peer id) ‖ member (bytes: peer id) ‖
//	admitter (bytes: peer id) ‖ varint unix nanoseconds ‖ signature (bytes)
//
// signed by the admitter's libp2p key over "baluchon member v1\x00" ‖
// everything before the signature. Peer ids are Ed25519 ones (the key is in
// the id), so a certificate verifies on its own.

const (
	certMagic      = "BLCNMC1\n"
	certSigContext = "baluchon member v1\x00"
	// MaxCertSize bounds an encoded certificate.
	MaxCertSize = 512
	// MaxMembers bounds a federation's certificate set.
	MaxMembers = 1024
)

// MemberCert admits one node into a federation.
type MemberCert struct {
	Federation peer.ID
	Member     peer.ID
	Admitter   peer.ID
	Time       time.Time
	Sig        []byte
}

func (m *MemberCert) unsigned() []byte {
	b := []byte(certMagic)
	for _, id := range []peer.ID{m.Federation, m.Member, m.Admitter} {
		b = appendBytes(b, []byte(id))
	}
	return binary.AppendVarint(b, m.Time.UnixNano())
}

// Marshal encodes the certificate.
func (m *MemberCert) Marshal() []byte { return appendBytes(m.unsigned(), m.Sig) }

// SignMember makes the certificate by which the node of key admits member
// into federation.
func SignMember(key crypto.PrivKey, federation, member peer.ID, t time.Time) (*MemberCert, error) {
	admitter, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	m := &MemberCert{Federation: federation, Member: member, Admitter: admitter, Time: roundTime(t)}
	if m.Sig, err = sign(key, certSigContext, m.unsigned()); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseMemberCert decodes a certificate and checks its signature.
func ParseMemberCert(b []byte) (*MemberCert, error) {
	if len(b) > MaxCertSize {
		return nil, errors.New("member certificate is too large")
	}
	d := &decoder{b: b}
	if string(d.fixed(len(certMagic))) != certMagic {
		return nil, errors.New("not a member certificate")
	}
	m := &MemberCert{}
	ids := make([]peer.ID, 3)
	for i := range ids {
		id, err := peer.IDFromBytes(d.bytes(64))
		if d.err == nil && err != nil {
			d.fail(errors.New("malformed peer id"))
		}
		ids[i] = id
	}
	m.Federation, m.Member, m.Admitter = ids[0], ids[1], ids[2]
	m.Time = time.Unix(0, d.varint()).UTC()
	m.Sig = d.bytes(128)
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("member certificate: %w", err)
	}
	if err := verify(m.Admitter, certSigContext, m.unsigned(), m.Sig); err != nil {
		return nil, fmt.Errorf("member certificate: %w", err)
	}
	return m, nil
}
