package node

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// The datastore's key layout, in one place: every key and prefix the node
// reads or writes is built here, from typed values (docs/node.md has the
// same table). Ids are in base58, CIDs in their string form.
//
//	key                                                value                                 file
//	/blocks/…                                          encrypted blocks (pack store mount)   store.go
//	/packindex/<block key>                             where a block is in the packs (packds) store.go
//	/pins/…                                            pins (boxo dspinner, its own layout)  node.go
//	/baluchon/card/<lookup>                            card pointer (vault.Pointer)          cards.go
//	/baluchon/vault/<vault>/card/<lookup>              card entry: this card opens the vault cards.go
//	/baluchon/vault/<vault>/head/<head cid>            current head (vault.Head)             heads.go
//	/baluchon/vault/<vault>/record/<record cid>        signed record (proto.Record)          records.go
//	/baluchon/vault/<vault>/attest/<head cid>/<author> attestation of a head (proto.Record)  attest.go
//	/baluchon/vault/<vault>/kept/<manifest root>       since when a replaced state is kept   trash.go
//	/baluchon/vaultmem/<vault>                         the vault's memory (vaultMemory JSON) memory.go
//	/baluchon/revoked/<lookup>/<vault>                 empty: the vault revoked this card    memory.go
//	/baluchon/vouched                                  held heads vouched for on joining     attest.go
//	/baluchon/federation                               the federation's id                   federation.go
//	/baluchon/member/<peer>                            member certificate (proto.MemberCert) federation.go
//	/baluchon/invite/<sha256 of secret, hex>           expiry of a pending invitation        federation.go
//	/baluchon/removal/<peer>                           removal of a member (proto.Removal)   removal.go
//	/baluchon/structure/<peer>                         structure record (proto.StructureRecord) structure.go
//	/baluchon/recording/<lang>/<key>                   newest recording (proto.Record, RecordRecording) recordings.go
//	/baluchon/followed/<entry id>                      a person this structure follows, sealed to the structure key  followed.go

// Mounts of the store (store.go).
var (
	blocksMount = ds.NewKey("/blocks")
	rootMount   = ds.NewKey("/")
	// packIndexPrefix holds the pack store's index (internal/packds): it
	// names places in HOME/packs, so a backup leaves it out.
	packIndexPrefix = ds.NewKey("/packindex")
)

// Keys of one card.
func cardKey(lookup string) ds.Key { return ds.NewKey("/baluchon/card/" + lookup) }

// Keys under one vault: /baluchon/vault/<vault>/<kind>/….
const (
	cardKind   = "card"
	headKind   = "head"
	recordKind = "record"
	attestKind = "attest"
	keptKind   = "kept"
)

func vaultPrefix() ds.Key { return ds.NewKey("/baluchon/vault") }

func vaultKindPrefix(v, kind string) ds.Key {
	return vaultPrefix().ChildString(v).ChildString(kind)
}

func vaultCardKey(v, lookup string) ds.Key { return vaultCardsPrefix(v).ChildString(lookup) }
func vaultCardsPrefix(v string) ds.Key     { return vaultKindPrefix(v, cardKind) }
func vaultHeadsPrefix(v string) ds.Key     { return vaultKindPrefix(v, headKind) }

func headKey(v vault.VaultID, c cid.Cid) ds.Key {
	return vaultHeadsPrefix(v.String()).ChildString(c.String())
}

func recordsPrefix(v vault.VaultID) ds.Key { return vaultKindPrefix(v.String(), recordKind) }

func recordKey(v vault.VaultID, c cid.Cid) ds.Key {
	return recordsPrefix(v).ChildString(c.String())
}

// attestPrefix ends with a slash, as does attestHeadPrefix: a query by
// prefix then matches whole path elements only.
func attestPrefix(v vault.VaultID) string {
	return vaultKindPrefix(v.String(), attestKind).String() + "/"
}

func attestHeadPrefix(v vault.VaultID, h cid.Cid) string {
	return attestPrefix(v) + h.String() + "/"
}

func attestKey(v vault.VaultID, h cid.Cid, author peer.ID) ds.Key {
	return ds.NewKey(attestHeadPrefix(v, h) + author.String())
}

func keptPrefix(v vault.VaultID) ds.Key { return vaultKindPrefix(v.String(), keptKind) }

func keptKey(v vault.VaultID, root cid.Cid) ds.Key {
	return keptPrefix(v).ChildString(root.String())
}

// parseVaultKey reads /baluchon/vault/<vault>/<kind>/<last>.
func parseVaultKey(k string) (v vault.VaultID, kind, last string, ok bool) {
	parts := splitKey(k)
	if len(parts) != 5 || parts[0] != "baluchon" || parts[1] != "vault" {
		return v, "", "", false
	}
	v, err := vault.ParseVaultID(parts[2])
	if err != nil {
		return v, "", "", false
	}
	return v, parts[3], parts[4], true
}

// The vaults' memories.
func memoryPrefix() ds.Key             { return ds.NewKey("/baluchon/vaultmem") }
func memoryKey(v vault.VaultID) ds.Key { return memoryPrefix().ChildString(v.String()) }

// revokedKey indexes a card revoked by a vault.
func revokedKey(l vault.LookupID, v vault.VaultID) ds.Key {
	return revokedPrefix(l).ChildString(v.String())
}

func revokedPrefix(l vault.LookupID) ds.Key {
	return ds.NewKey("/baluchon/revoked").ChildString(l.String())
}

// parseRevokedKey reads /baluchon/revoked/<lookup>/<vault>.
func parseRevokedKey(k string) (l string, v vault.VaultID, ok bool) {
	parts := splitKey(k)
	if len(parts) != 4 || parts[0] != "baluchon" || parts[1] != "revoked" {
		return "", v, false
	}
	v, err := vault.ParseVaultID(parts[3])
	if err != nil {
		return "", v, false
	}
	return parts[2], v, true
}

// The node's federation.
var (
	vouchedKey      = ds.NewKey("/baluchon/vouched")
	federationKey   = ds.NewKey("/baluchon/federation")
	memberPrefix    = ds.NewKey("/baluchon/member")
	invitePrefix    = ds.NewKey("/baluchon/invite")
	removalPrefix   = ds.NewKey("/baluchon/removal")
	structurePrefix = ds.NewKey("/baluchon/structure")
)

// The people this structure follows (followed.go): the key is a random
// id, the value is sealed to the structure key.
var followedPrefix = ds.NewKey("/baluchon/followed")

func followedKey(id string) ds.Key { return followedPrefix.ChildString(id) }

func memberKey(p peer.ID) ds.Key    { return memberPrefix.ChildString(p.String()) }
func removalKey(p peer.ID) ds.Key   { return removalPrefix.ChildString(p.String()) }
func structureKey(p peer.ID) ds.Key { return structurePrefix.ChildString(p.String()) }

// inviteKey keeps a hash of the invitation's secret, never the secret.
func inviteKey(secret [proto.InviteSecretSize]byte) ds.Key {
	h := sha256.Sum256(secret[:])
	return invitePrefix.ChildString(hex.EncodeToString(h[:]))
}

// lastElem returns the last path element of a key.
func lastElem(k string) string {
	parts := splitKey(k)
	return parts[len(parts)-1]
}

func splitKey(k string) []string {
	return strings.Split(strings.TrimPrefix(k, "/"), "/")
}

// prefixQuery asks for the entries under a prefix.
func prefixQuery(prefix ds.Key) dsq.Query { return dsq.Query{Prefix: prefix.String()} }

// dsqKeysOnly asks for the keys under a prefix.
func dsqKeysOnly(prefix ds.Key) dsq.Query {
	return dsq.Query{Prefix: prefix.String(), KeysOnly: true}
}
