// Package vault holds baluchon's keys and the encodings of what they
// protect: the card, the envelope, the vault keys, the signed heads and
// pointers, the manifest CRDT and the encryption of documents.
//
// It is pure: no network, no disk, no printing, no global state. Every
// decoder takes untrusted bytes, bounds their size, checks every field
// and returns errors that name a field or a position, never the secret or
// plaintext bytes it was given.
//
// # Keys
//
//	card secret (16 random bytes, printed on the card)
//	  ├─HKDF "lookup"───> Ed25519 lookup key: its public key is the card's
//	  │                   LookupID; it signs the card's Pointer
//	  └─HKDF "envelope"─> passphrase of the card's envelope
//	envelope (age file) ──> vault signing key (Ed25519), vault content
//	                        identity (age hybrid ML-KEM-768 + X25519)
//	vault signing key ────> signs heads; its public key is the VaultID
//	vault content identity > decrypts the manifest and the documents
//
// HKDF is HKDF-SHA-256 (crypto/hkdf) with the card secret as input key
// material, the salt "baluchon card v1", the purpose as info, and 32
// bytes of output. The lookup key is ed25519.NewKeyFromSeed of its 32
// bytes. The envelope passphrase is the unpadded base64url encoding
// (RFC 4648 §5) of its 32 bytes, 43 characters.
//
// The vault keys are random, not derived from a card. A card replacement
// or a recovery gives new keys (a new vault, to which the old one
// forwards), since whoever held the old card held the old keys; documents
// are then re-keyed, not re-encrypted: Keys.RekeyHeader wraps a document's
// file key to the new vault in a new age header over the unchanged
// payload. The signing key makes a forged vault state impossible for any
// node that does not hold it; the content identity is post-quantum.
//
// # Card text
//
// The payload is 18 bytes:
//
//	offset  size  field
//	0       1     version: 0x01
//	1       16    card secret
//	17      1     check byte: first byte of SHA-256("baluchon card v1" ‖ 0x01 ‖ secret)
//
// The payload, read as a big-endian number, is written in base58 with the
// alphabet of github.com/mr-tron/base58 (Bitcoin's,
// "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz": no 0, O,
// I or l) and left-padded with '1' (zero) to 25 digits; a version 1
// payload always takes 24 digits, so the text starts with '1'. The 25
// digits are cut into 5 groups of 5, and each group gets a sixth, check
// character:
//
//	alphabet[(7·g + 1·v₀ + 3·v₁ + 5·v₂ + 7·v₃ + 9·v₄) mod 58]
//
// where g is the group's index from 0 and vᵢ the value of its i-th digit.
// The weights are odd and below 29, so coprime with 58: any single wrong
// character is caught in its group; the 7·g term catches groups typed in
// the wrong order. The printed text is the 5 groups of 6 characters joined
// by '-', 34 characters in all, such as
//
//	13QXnh-mdfKdn-pHdST3-Y5pumG-j7tuFN   (secret 00 01 02 … 0f)
//
// ParseCard skips dashes (also typographic ones) and white space anywhere,
// then checks, in this order and reporting the first problem as a
// *CardTextError: the count of characters (30), each character (in the
// alphabet), each group's check character, the version byte (1; above 1
// is a newer card), and the check byte (which also requires the number to
// fit the 18 bytes).
//
// # Envelope
//
// A binary (not armored) age file (age-encryption.org/v1) with a single
// scrypt stanza of work factor 2^10, encrypted with the card's envelope
// passphrase. The card secret has 128 bits, so scrypt serves only as
// age's standard symmetric wrapping; OpenEnvelope refuses a work factor
// above 2^10, so that a hostile envelope cannot demand much work. The
// plaintext is this JSON object, fields in this order, no white space:
//
//	{"v":1,"vault":VAULT,"sign":SEED,"content":IDENTITY}
//
//	v        1, the envelope version; any other is refused
//	vault    the VaultID, base58
//	sign     the 32-byte Ed25519 seed of the vault signing key, standard
//	         padded base64 (RFC 4648 §4); its public key must be vault
//	content  the vault content identity, "AGE-SECRET-KEY-PQ-1…"
//
// Unknown fields and anything after the object are refused. An envelope
// and its plaintext are at most MaxEnvelopeSize bytes.
//
// # Head
//
// A head is binary; varints are those of encoding/binary (LEB128 uvarint;
// zig-zag varint) and must be in their shortest form:
//
//	size      field
//	8         magic "BLCNHD1\n"
//	32        VaultID: the vault's Ed25519 public key
//	uvarint   sequence number
//	varint    time: Unix nanoseconds (years 1678 to 2262)
//	uvarint   length n of the manifest CID (1 to 128)
//	n         manifest CID, binary CIDv1
//	uvarint   number of parents (0 to MaxParents)
//	…         for each parent: uvarint length (1 to 128) ‖ binary CIDv1
//	64        Ed25519 signature
//
// The signature is by the vault's key over "baluchon head v1\x00" ‖ every
// byte before the signature. Parents are distinct. Nothing may follow the
// signature; a head is at most MaxHeadSize bytes.
//
// # Pointer
//
// A pointer leads from a card's LookupID to the CID of its envelope:
//
//	size      field
//	8         magic "BLCNPT1\n"
//	32        LookupID: the card's Ed25519 lookup public key
//	varint    time: Unix nanoseconds
//	uvarint   length n of the envelope CID (1 to 128)
//	n         envelope CID, binary CIDv1
//	64        Ed25519 signature
//
// The signature is by the card's lookup key over "baluchon pointer v1\x00"
// ‖ every byte before the signature, so any node can check a pointer
// without the card. At most MaxPointerSize bytes.
//
// # Manifest
//
// The manifest is a state-based CRDT: an add-wins set of entries keyed by
// random document ids, with tombstones for deletions. Merging two
// manifests keeps every tombstone and every entry no tombstone names. A
// deleted document's entry stays next to its tombstone (the trash) until a
// commit purges it; merging keeps, for each tombstone, the entry that
// either side has in its trash or live (the one whose JSON sorts first),
// so a tombstone without its entry never takes a document that the other
// side holds. Restoring a document adds its entry under a new id. Its
// plaintext is this JSON object, written without white space (Go's
// encoding/json), entries and tombstones sorted by id:
//
//	{"v":1,"entries":[ENTRY…],"tombstones":[{"id":ID,"deleted":TIME[,"entry":ENTRY]}…]
//	 [,"delegations":[…]][,"recovery":{…}][,"history":[PREVIOUS…]]}
//
// where "entry", in the trash, is the deleted document's ENTRY, with the
// tombstone's id, and a PREVIOUS, sorted by vault id, is a vault this one
// replaced at a key rotation (card replacement, recovery, rotation):
//
//	{"vault":VAULT,"identity":IDENTITY,"moved":TIME}
//
//	vault     the old VaultID, base58
//	identity  its content identity, "AGE-SECRET-KEY-PQ-1…"
//	moved     RFC 3339 time of the rotation
//
// The history is carried forward at each rotation (a third vault lists
// the first and the second), so that a card of the new vault opens the
// access-log records written to the old ones, each under its own verified
// signer. It is left out when empty (older manifests are unchanged),
// lists at most MaxHistory (64) distinct valid vaults, and merges as a
// union (for one vault, the value whose JSON sorts first; over the bound,
// the greatest vault ids are dropped, an order of keys only, so that the
// merge stays associative). Only the encrypted manifest holds these
// identities, and each opens only what the old vault's cards opened.
//
// where an ENTRY is (fields in this order, the omitempty ones left out
// when empty):
//
//	id         document id: 1 to 32 base58 characters (NewDocumentID makes
//	           8 random bytes, at most 11 characters)
//	cid        root CID of the encrypted document's DAG, as a string
//	size       plaintext size in bytes, 0 or more
//	title      at most 200 characters                  (omitted if empty)
//	category   at most 100 characters                  (omitted if empty)
//	file_name  at most 255 characters                  (omitted if empty)
//	mime       at most 255 characters                  (omitted if empty)
//	added      RFC 3339 time in UTC, years 0 to 9999
//	added_by   at most 100 characters: the structure   (omitted if empty)
//	expires    RFC 3339 time in UTC                    (omitted if zero)
//	private    true: no delegation covers the document (omitted if false)
//
// Characters are Unicode code points; texts are valid UTF-8 without
// control characters. A manifest has version 1, unique ids, no entry with
// a tombstone, at most 100000 entries and tombstones, no unknown fields,
// nothing after the object, and at most MaxManifestSize bytes. It is
// stored as an age file encrypted to the vault's content recipient.
//
// # Paged manifest
//
// Since version 2 a vault's state stores its manifest in pages, so that a
// change writes what it changes and not the whole manifest (the node's
// layout of the blocks is in docs/node.md). The documents and tombstones
// are spread over 2^bits pages, bits from 0 to MaxPageBits (12): an id is
// in page Bucket(id, bits), the first bits bits, read big-endian, of
//
//	SHA-256("baluchon page v2" ‖ 0x00 ‖ id)
//
// PageBits gives the bits for a number of items (documents and
// tombstones): the pages double when they hold over 128 items on average
// and never halve. (Earlier nodes doubled them past 32: the number of
// pages is in the index, so every node reads the states of the others.)
// A page's plaintext is this JSON object, without white space, entries
// and tombstones sorted by id and encoded as in version 1:
//
//	{"v":2,"page":P,"entries":[ENTRY…],"tombstones":[{"id":ID,"deleted":TIME[,"entry":ENTRY]}…]}
//
// where P is the page's number; every id in it must fall in page P. A
// page is sealed with XChaCha20-Poly1305 (golang.org/x/crypto) under the
// vault's 32-byte page key:
//
//	24 bytes   random nonce
//	…          ciphertext and 16-byte tag of the plaintext, with the
//	           additional data "baluchon page v2" ‖ 0x00 ‖ bits (1 byte) ‖
//	           P (2 bytes, big-endian)
//
// so that a page read in another place, or under other bits, does not
// open. A sealed page is at most MaxPageSize (1 MiB, one block). The page
// key is random, made once per vault (a vault made by a key rotation gets
// its own, and so does a state whose pages are all rewritten); it is kept
// only in the index, with what is not a document: the index's plaintext
// is this JSON object, at most MaxIndexSize bytes, encrypted with age to
// the vault's content recipient as a version 1 manifest is:
//
//	{"v":2,"key":KEY,"bits":BITS[,"delegations":[…]][,"recovery":{…}][,"history":[…]]}
//
//	key     the page key, standard padded base64 (44 characters)
//	bits    the number of pages is 2^bits
//
// and delegations, recovery and history as in version 1. Unknown fields
// are refused everywhere. The merged manifest of a state is its index and
// all its pages, with the limits of version 1 (at most 100000 entries and
// tombstones in all). testdata/manifest-v2.json holds frozen known-answer
// vectors: an index and its age file, the pages of a manifest, their
// nonces and sealed bytes.
//
// # Documents
//
// A document is a standard binary age file encrypted to the vault's
// content recipient (age1pq1…), written as a stream: the upstream age
// tool decrypts it with the identity that Keys.IdentityString returns.
// ReadHeader cuts a document at the end of its header (the line of the
// MAC), so that a store can keep the header apart from the payload, and
// RekeyHeader writes a header for the same file key to another recipient,
// byte for byte as age writes one (intro, stanzas with 64-column base64
// bodies, "---" and the HMAC-SHA-256 keyed by HKDF(file key, "header")).
//
// # Access-log entries
//
// An entry is a binary age file to the vault's content recipient whose
// plaintext, at most MaxLogEntrySize (8 KiB), is this JSON object (fields
// in this order, the omitempty ones left out when empty; unknown fields
// refused):
//
//	time        RFC 3339 time, years 0 to 9999
//	actor       at most 100 characters: the writing node's peer id
//	actor_name  at most 200 characters: its structure's name
//	action      at most 40 characters ("add", "get", "list", …)
//	doc         a document id                          (omitted if empty)
//	note        at most 200 characters                 (omitted if empty)
//	docs        more document ids, after doc           (omitted if empty)
//
// An entry with docs says that its action was done, at its time, to doc
// and to each of docs: one line each for the reader. It names at most 256
// documents in all, and docs only with a doc. LogEntries groups a list of
// ids into as few entries as stay under the size bound with every other
// field at its longest. An entry of one document has no docs, as before
// the field existed; readers older than it refuse an entry that has one.
package vault
