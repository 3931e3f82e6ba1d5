package vault

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// Limits of a head.
const (
	MaxHeadSize = 4096 // bytes of an encoded head
	MaxParents  = 32   // parents of one head
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
	Manifest cid.Cid   // root CID of the vault's manifest DAG
	Parents  []cid.Cid // CIDs of the head blocks this head supersedes; at most MaxParents
	Time     time.Time // UTC, to the nanosecond
	Sig      []byte    // Ed25519 signature by the vault's signing key
}

// SignHead signs a new head of the vault. The manifest and parents must be
// CIDv1, the parents distinct, and t within the years 1678 to 2262.
func (k *Keys) SignHead(seq uint64, manifest cid.Cid, parents []cid.Cid, t time.Time) (*Head, error) {
	if !fitsNanos(t) {
		return nil, fmt.Errorf("sign head: time is out of range")
	}
	h := &Head{
		Vault:    k.VaultID(),
		Seq:      seq,
		Manifest: manifest,
		Time:     time.Unix(0, t.UnixNano()).UTC(),
	}
	if len(parents) > 0 {
		h.Parents = append([]cid.Cid(nil), parents...)
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("sign head: %w", err)
	}
	h.Sig = ed25519.Sign(k.signing, h.signed())
	if n := len(h.Marshal()); n > MaxHeadSize {
		return nil, fmt.Errorf("sign head: head of %d bytes is over the limit of %d", n, MaxHeadSize)
	}
	return h, nil
}

// check checks the CIDs of a head.
func (h *Head) check() error {
	if !checkCID(h.Manifest) {
		return fmt.Errorf("manifest is not a CIDv1")
	}
	if len(h.Parents) > MaxParents {
		return fmt.Errorf("%d parents is over the limit of %d", len(h.Parents), MaxParents)
	}
	seen := make(map[cid.Cid]bool, len(h.Parents))
	for i, p := range h.Parents {
		if !checkCID(p) {
			return fmt.Errorf("parent %d is not a CIDv1", i+1)
		}
		if seen[p] {
			return fmt.Errorf("parent %d is there twice", i+1)
		}
		seen[p] = true
	}
	return nil
}

// unsigned encodes everything but the signature.
func (h *Head) unsigned() []byte {
	b := make([]byte, 0, 256)
	b = append(b, headMagic...)
	b = append(b, h.Vault[:]...)
	b = binary.AppendUvarint(b, h.Seq)
	b = appendTime(b, h.Time)
	b = appendCID(b, h.Manifest)
	b = binary.AppendUvarint(b, uint64(len(h.Parents)))
	for _, p := range h.Parents {
		b = appendCID(b, p)
	}
	return b
}

// signed returns the message the signature is over.
func (h *Head) signed() []byte { return append([]byte(headSigContext), h.unsigned()...) }

// Marshal encodes the head; see the package documentation.
func (h *Head) Marshal() []byte { return append(h.unsigned(), h.Sig...) }

// ParseHead decodes a head and verifies its signature. It accepts only
// the bytes Marshal writes: no trailing bytes, varints in their shortest
// form, CIDv1 in binary form.
func ParseHead(b []byte) (*Head, error) {
	if len(b) > MaxHeadSize {
		return nil, fmt.Errorf("head of %d bytes is over the limit of %d", len(b), MaxHeadSize)
	}
	r := newReader(b, "head")
	if string(r.fixed(len(headMagic), "magic")) != headMagic {
		r.fail("magic")
	}
	h := &Head{}
	copy(h.Vault[:], r.fixed(len(h.Vault), "vault id"))
	h.Seq = r.uvarint("sequence")
	h.Time = r.time("time")
	h.Manifest = r.cid("manifest")
	n := r.uvarint("parent count")
	if r.err == nil && n > MaxParents {
		r.fail("parent count")
	}
	for i := uint64(0); r.err == nil && i < n; i++ {
		h.Parents = append(h.Parents, r.cid("parent"))
	}
	h.Sig = append([]byte(nil), r.fixed(ed25519.SignatureSize, "signature")...)
	if err := r.done(); err != nil {
		return nil, err
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("malformed head: %w", err)
	}
	if !ed25519.Verify(ed25519.PublicKey(h.Vault[:]), h.signed(), h.Sig) {
		return nil, fmt.Errorf("head: %w", errBadSignature)
	}
	return h, nil
}
