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

// fedStatement is the shape that certificates and removals share: a
// federation, a member, the node that signs, a time, a signature.
type fedStatement struct {
	magic, context, what string
	max                  int
}

var (
	certStatement    = fedStatement{magic: certMagic, context: certSigContext, what: "member certificate", max: MaxCertSize}
	removalStatement = fedStatement{magic: removalMagic, context: removalSigContext, what: "removal", max: MaxRemovalSize}
)

func (k fedStatement) unsigned(federation, member, signer peer.ID, t time.Time) []byte {
	b := []byte(k.magic)
	for _, id := range []peer.ID{federation, member, signer} {
		b = appendBytes(b, []byte(id))
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// sign returns the signer's id, the rounded time and the signature of a
// statement by the node of key.
func (k fedStatement) sign(key crypto.PrivKey, federation, member peer.ID, t time.Time) (peer.ID, time.Time, []byte, error) {
	signer, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	t = roundTime(t)
	sig, err := sign(key, k.context, k.unsigned(federation, member, signer, t))
	return signer, t, sig, err
}

// parse decodes a statement and checks its signature; ids are federation,
// member, signer.
func (k fedStatement) parse(b []byte) (ids [3]peer.ID, t time.Time, sig []byte, err error) {
	if len(b) > k.max {
		return ids, t, nil, fmt.Errorf("%s is too large", k.what)
	}
	d := newDecoder(b)
	if string(d.Fixed(len(k.magic))) != k.magic {
		return ids, t, nil, fmt.Errorf("not a %s", k.what)
	}
	for i := range ids {
		id, err := peer.IDFromBytes(d.Bytes(64))
		if d.Err() == nil && err != nil {
			d.Fail(errors.New("malformed peer id"))
		}
		ids[i] = id
	}
	t = time.Unix(0, d.Varint()).UTC()
	sig = d.Bytes(128)
	if err := d.End(); err != nil {
		return ids, t, nil, fmt.Errorf("%s: %w", k.what, err)
	}
	if err := verify(ids[2], k.context, k.unsigned(ids[0], ids[1], ids[2], t), sig); err != nil {
		return ids, t, nil, fmt.Errorf("%s: %w", k.what, err)
	}
	return ids, t, sig, nil
}

// MemberCert admits one node into a federation.
type MemberCert struct {
	Federation peer.ID
	Member     peer.ID
	Admitter   peer.ID
	Time       time.Time
	Sig        []byte
}

// Marshal encodes the certificate.
func (m *MemberCert) Marshal() []byte {
	return appendBytes(certStatement.unsigned(m.Federation, m.Member, m.Admitter, m.Time), m.Sig)
}

// SignMember makes the certificate by which the node of key admits member
// into federation.
func SignMember(key crypto.PrivKey, federation, member peer.ID, t time.Time) (*MemberCert, error) {
	admitter, t, sig, err := certStatement.sign(key, federation, member, t)
	if err != nil {
		return nil, err
	}
	return &MemberCert{Federation: federation, Member: member, Admitter: admitter, Time: t, Sig: sig}, nil
}

// ParseMemberCert decodes a certificate and checks its signature.
func ParseMemberCert(b []byte) (*MemberCert, error) {
	ids, t, sig, err := certStatement.parse(b)
	if err != nil {
		return nil, err
	}
	return &MemberCert{Federation: ids[0], Member: ids[1], Admitter: ids[2], Time: t, Sig: sig}, nil
}
