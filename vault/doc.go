// Package vault holds baluchon's keys and the encodings of what they
// protect: the card, the envelope, the vault keys, the signed heads and
// pointers, the manifest CRDT and the encryption of documents. It is pure:
// no network, no disk.
//
// # Keys
//
//	card secret (16 random bytes)
//	  ├─HKDF "lookup"──> Ed25519 lookup key; its public key is the LookupID,
//	  │                  it signs the card's Pointer
//	  └─HKDF "envelope"─> passphrase of the envelope (age scrypt recipient)
//	envelope (age file) ─> vault signing key (Ed25519), vault content identity
//	                       (age hybrid ML-KEM-768 + X25519), vault id
//	vault content identity ─> decrypts manifest and documents
//	vault signing key ─> signs heads; its public key is the VaultID
//
// HKDF is HKDF-SHA-256 with salt "baluchon card v1" and 32-byte outputs. The
// vault keys are random: a new card for the same vault is a new envelope
// around the same keys.
//
// # Card text
//
// The payload is 0x01 (version) ‖ secret (16 bytes) ‖ check byte, the check
// byte being the first byte of SHA-256("baluchon card v1" ‖ 0x01 ‖ secret).
// Its 18 bytes are written in base58 (Bitcoin alphabet), left-padded with
// '1' to 25 digits, and cut into 5 groups of 5 digits. Each group gets a
// check character: alphabet[(7g + Σ wᵢ·vᵢ) mod 58] with g the group's index
// from 0, vᵢ the alphabet index of its i-th digit and weights 1, 3, 5, 7, 9
// (odd, so coprime with 58: any single wrong character is caught in its
// group). The text is the 5 groups of 6 characters joined by '-'.
//
// # Envelope
//
// An age file with one scrypt stanza (work factor 2^10) whose plaintext is
// the JSON {"v":1,"vault":VAULTID,"sign":BASE64(ed25519 seed),
// "content":"AGE-SECRET-KEY-PQ-1…"}. At most MaxEnvelopeSize bytes.
//
// # Head
//
//	"BLCNHD1\n" ‖ vault id (32) ‖ uvarint seq ‖ varint unix nanoseconds ‖
//	uvarint len ‖ manifest CID ‖ uvarint count ‖ count × (uvarint len ‖ parent CID) ‖
//	Ed25519 signature (64)
//
// signed over "baluchon head v1\x00" ‖ everything before the signature. CIDs
// are CIDv1; parents are distinct, at most MaxParents; varints are in their
// shortest form; at most MaxHeadSize bytes.
//
// # Pointer
//
//	"BLCNPT1\n" ‖ lookup id (32) ‖ varint unix nanoseconds ‖ uvarint len ‖
//	envelope CID ‖ Ed25519 signature (64)
//
// signed by the card's lookup key over "baluchon pointer v1\x00" ‖ everything
// before the signature. At most MaxPointerSize bytes.
//
// # Manifest
//
// The JSON {"v":1,"entries":[Entry…],"tombstones":[{"id","deleted"}…]},
// entries and tombstones sorted by document id, encrypted as an age file to
// the vault's content recipient. Titles, categories and file names are at
// most 200 characters of UTF-8, MIME types 100; document ids are 1 to 32
// base58 characters; a manifest holds at most 10000 entries and tombstones
// and MaxManifestSize bytes.
//
// # Documents
//
// A document is a standard age file encrypted to the vault's content
// recipient: the upstream age tool decrypts it with the identity that
// Keys.IdentityString returns.
package vault
