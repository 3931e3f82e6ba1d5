package proto

import (
	"bytes"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A removal takes a member out of a federation for good. It is signed by
// the member that removes it, so that every removal is attributable:
//
//	"BLCNRM1\n" ‖ federation (bytes: peer id) ‖ member (bytes: peer id) ‖
//	remover (bytes: peer id) ‖ varint unix nanoseconds ‖ signature (bytes)
//
// signed by the remover's libp2p key over "baluchon removal v1\x00" ‖
// everything before the signature. Removals spread with the certificates
// (MemberSet).
//
// Who may remove whom: the founder may remove any member but itself; any
// other member may remove the members it admitted (the admitter of the
// certificate that makes a member valid, see Membership). The founder
// cannot be removed (it is the federation's root: to leave a founder out,
// found a new federation). A removed peer id is never a member again:
// every certificate naming it, whoever signed it, is ignored, so it cannot
// re-admit itself or be re-admitted by an accomplice; it must start again
// with a new node identity. Certificates signed by a removed member no
// longer admit anyone: the remover re-admits, with certificates of its
// own, the members that the removed one had admitted.

const (
	removalMagic      = "BLCNRM1\n"
	removalSigContext = "baluchon removal v1\x00"
	// MaxRemovalSize bounds an encoded removal.
	MaxRemovalSize = 512
)

// Removal takes Member out of Federation; Remover signed it.
type Removal struct {
	Federation peer.ID
	Member     peer.ID
	Remover    peer.ID
	Time       time.Time
	Sig        []byte
}

// Marshal encodes the removal.
func (r *Removal) Marshal() []byte {
	return appendBytes(removalStatement.unsigned(r.Federation, r.Member, r.Remover, r.Time), r.Sig)
}

// SignRemoval makes the removal by which the node of key takes member out
// of federation.
func SignRemoval(key crypto.PrivKey, federation, member peer.ID, t time.Time) (*Removal, error) {
	remover, t, sig, err := removalStatement.sign(key, federation, member, t)
	if err != nil {
		return nil, err
	}
	return &Removal{Federation: federation, Member: member, Remover: remover, Time: t, Sig: sig}, nil
}

// ParseRemoval decodes a removal and checks its signature.
func ParseRemoval(b []byte) (*Removal, error) {
	ids, t, sig, err := removalStatement.parse(b)
	if err != nil {
		return nil, err
	}
	return &Removal{Federation: ids[0], Member: ids[1], Remover: ids[2], Time: t, Sig: sig}, nil
}

// Membership returns the members of federation that certs prove, less the
// removed ones; the removals that count, by removed member; and for each
// removed member the certificate that proves its remover could remove it
// (it must travel with the removal).
//
// A removal counts when its remover is a member and is the founder or has
// signed a certificate admitting the removed member; removals are applied
// until nothing changes. Certificates naming a removed member, or signed
// by one, admit nobody.
func Membership(federation peer.ID, certs []*MemberCert, removals []*Removal) (valid map[peer.ID]*MemberCert, removed map[peer.ID]*Removal, proofs map[peer.ID]*MemberCert) {
	removed = map[peer.ID]*Removal{}
	proofs = map[peer.ID]*MemberCert{}
	for {
		var live []*MemberCert
		for _, c := range certs {
			if removed[c.Member] == nil && removed[c.Admitter] == nil {
				live = append(live, c)
			}
		}
		valid = ValidMembers(federation, live)
		changed := false
		for _, r := range removals {
			if r.Federation != federation || r.Member == federation || r.Member == r.Remover || removed[r.Member] != nil {
				continue
			}
			if valid[r.Member] == nil || valid[r.Remover] == nil {
				continue
			}
			proof := valid[r.Member]
			if r.Remover != federation {
				proof = nil
				for _, c := range live {
					if c.Federation == federation && c.Member == r.Member && c.Admitter == r.Remover {
						proof = c
						break
					}
				}
			}
			if proof != nil {
				removed[r.Member], proofs[r.Member] = r, proof
				changed = true
			}
		}
		if !changed {
			return valid, removed, proofs
		}
	}
}

// ValidMembers returns the members of federation that certs prove: those
// whose chain of admitters leads to the founder (the federation id). Each
// member's certificate is the one of the shortest chain, then the
// earliest, then of the smallest admitter.
func ValidMembers(federation peer.ID, certs []*MemberCert) map[peer.ID]*MemberCert {
	valid := map[peer.ID]*MemberCert{}
	for _, c := range certs {
		if c.Federation == federation && c.Member == federation && c.Admitter == federation {
			if old := valid[federation]; old == nil || better(c, old) {
				valid[federation] = c
			}
		}
	}
	if len(valid) == 0 {
		return valid
	}
	for {
		layer := map[peer.ID]*MemberCert{}
		for _, c := range certs {
			if c.Federation != federation || valid[c.Member] != nil || valid[c.Admitter] == nil {
				continue
			}
			if old := layer[c.Member]; old == nil || better(c, old) {
				layer[c.Member] = c
			}
		}
		if len(layer) == 0 {
			return valid
		}
		for p, c := range layer {
			valid[p] = c
		}
	}
}

// better reports whether certificate a is preferred to b for one member.
func better(a, b *MemberCert) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.Admitter != b.Admitter {
		return a.Admitter < b.Admitter
	}
	return bytes.Compare(a.Sig, b.Sig) < 0
}

func appendRemovals(dst []byte, rs []*Removal) []byte {
	if len(rs) > MaxMembers {
		rs = rs[:MaxMembers]
	}
	dst = appendUvarint(dst, len(rs))
	for _, r := range rs {
		dst = appendBytes(dst, r.Marshal())
	}
	return dst
}

func (d *decoder) removals() []*Removal {
	n := d.Count(MaxMembers)
	var out []*Removal
	for range n {
		b := d.Bytes(MaxRemovalSize)
		if d.Err() != nil {
			return nil
		}
		r, err := ParseRemoval(b)
		if err != nil {
			d.Fail(err)
			return nil
		}
		out = append(out, r)
	}
	return out
}

// SortRemovals orders removals by member, for stable encodings.
func SortRemovals(rs []*Removal) {
	slices.SortFunc(rs, func(a, b *Removal) int {
		if a.Member != b.Member {
			if a.Member < b.Member {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Sig, b.Sig)
	})
}
