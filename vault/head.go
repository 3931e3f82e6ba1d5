package vault

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// Limits of a head.
const (
	MaxHeadSize = 4096
	MaxParents  = 32
)

const (
	headMagic      = "BLCNHD1\n"
	headSigContext = "baluchon head v1\x00"
)

// Head is a signed state of a vault: the root of its manifest DAG, a
// sequence number, and the heads it supersedes (its parents: one after an
// edit, several after a merge). Only the vault's signing key makes heads,
// so no node can forge a vault's state.
type Head struct {
	Vault    VaultID
	Seq      uint64
	Manifest cid.Cid
	Parents  []cid.Cid
	Time     time.Time
	Sig      []byte
}

// SignHead signs a new head of the vault.
func (k *Keys) SignHead(seq uint64, manifest cid.Cid, parents []cid.Cid, t time.Time) (*Head, error) {
	h := &Head{Vault: k.VaultID(), Seq: seq, Manifest: manifest, Parents: append([]cid.Cid(nil), parents...), Time: t.UTC()}
	if err := h.check(); err != nil {
		return nil, err
	}
	h.Sig = ed25519.Sign(k.signing, append([]byte(headSigContext), h.unsigned()...))
	if len(h.Marshal()) > MaxHeadSize {
		return nil, errors.New("head is over its size limit")
	}
	return h, nil
}

func (h *Head) check() error {
	if !h.Manifest.Defined() || h.Manifest.Version() != 1 {
		return errors.New("head manifest must be a CIDv1")
	}
	if len(h.Parents) > MaxParents {
		return fmt.Errorf("head has %d parents, over the limit of %d", len(h.Parents), MaxParents)
	}
	seen := map[cid.Cid]bool{}
	for _, p := range h.Parents {
		if !p.Defined() || p.Version() != 1 {
			return errors.New("head parents must be CIDv1")
		}
		if seen[p] {
			return errors.New("head has a parent twice")
		}
		seen[p] = true
	}
	return nil
}

// unsigned encodes everything but the signature.
func (h *Head) unsigned() []byte {
	b := append([]byte(headMagic), h.Vault[:]...)
	b = appendUvarint(b, h.Seq)
	b = appendVarint(b, h.Time.UnixNano())
	b = appendCID(b, h.Manifest)
	b = appendUvarint(b, uint64(len(h.Parents)))
	for _, p := range h.Parents {
		b = appendCID(b, p)
	}
	return b
}

// Marshal encodes the head; see the package documentation.
func (h *Head) Marshal() []byte { return append(h.unsigned(), h.Sig...) }

// ParseHead decodes a head and verifies its signature.
func ParseHead(b []byte) (*Head, error) {
	if len(b) > MaxHeadSize {
		return nil, fmt.Errorf("head of %d bytes is over the limit of %d", len(b), MaxHeadSize)
	}
	r := &reader{b: b, what: "head"}
	if string(r.fixed(len(headMagic), "magic")) != headMagic {
		r.fail("magic")
	}
	h := &Head{}
	copy(h.Vault[:], r.fixed(len(h.Vault), "vault"))
	h.Seq = r.uvarint("sequence")
	h.Time = time.Unix(0, r.varint("time")).UTC()
	h.Manifest = r.cid("manifest")
	n := r.uvarint("parents")
	if r.err == nil && n > MaxParents {
		r.fail("parents")
	}
	for i := uint64(0); r.err == nil && i < n; i++ {
		h.Parents = append(h.Parents, r.cid("parent"))
	}
	h.Sig = append([]byte(nil), r.fixed(ed25519.SignatureSize, "signature")...)
	if err := r.done(); err != nil {
		return nil, err
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed("head"), err)
	}
	if !ed25519.Verify(ed25519.PublicKey(h.Vault[:]), append([]byte(headSigContext), h.unsigned()...), h.Sig) {
		return nil, fmt.Errorf("head: %w", errBadSignature)
	}
	return h, nil
}
