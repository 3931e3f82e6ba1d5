// Package proto defines baluchon's own libp2p stream protocols: how a node
// finds the envelope behind a card, learns the latest signed heads of a vault,
// and tells its peers about a new head.
//
// Blocks themselves (documents, manifests, envelopes, heads) travel with
// bitswap; these protocols only carry small signed records, so that a node can
// decide what to fetch. Every record is verified here (signature, CID) before
// a handler or a caller sees it.
//
// # Framing
//
// Each protocol opens one stream per request. The requester writes one
// request message and closes its write side; the responder writes one
// response message and closes the stream. A message is
//
//	uvarint length ‖ body (length bytes)
//
// and each protocol fixes a maximum body length; a longer message is refused
// before it is read. A stream that takes longer than StreamTimeout is reset.
//
// Inside bodies, "bytes" means uvarint length ‖ that many bytes, and
// "list of X" means uvarint count ‖ count × X. Every response starts with one
// status byte:
//
//	0 OK          the rest of the body follows
//	1 not found   this node does not know the card or vault
//	2 refused     this node will not accept this from the requester
//	3 invalid     the request did not decode or did not verify
//	4 internal    the responder failed; try another peer
//
// A non-OK status is followed by a human-readable reason (bytes, ≤ 256).
//
// # /baluchon/resolve/1.0.0
//
// Find the envelope behind a card lookup id.
//
//	request:  lookup id (32 bytes)
//	response: status ‖ pointer (bytes) ‖ envelope (bytes)
//
// The pointer is a vault.Pointer signed by the card's lookup key; the envelope
// is the age file it names. The requester checks that the pointer is for the
// lookup id it asked about, that its signature verifies and that the envelope
// hashes to the pointer's CID. Maximum response: 80 KiB.
//
// A node refuses to resolve a card that a vault it links the card to has
// revoked (replaced): status refused, reason "card replaced " followed by
// the revocation time in RFC 3339. The envelope of a replaced card (which
// holds the old vault keys) is handed to no one.
//
// # /baluchon/heads/1.0.0
//
// Get the current heads (the signed states not yet merged into a newer one) of
// a vault.
//
//	request:  vault id (32 bytes)
//	response: status ‖ list of head (bytes)
//
// Every head must be signed by the vault's key and name that vault. At most
// MaxHeads heads; maximum response: MaxHeads × vault.MaxHeadSize plus framing.
//
// # /baluchon/announce/1.0.0
//
// Tell a peer about new heads of a vault (and, optionally, the card pointer
// and envelope that lead to it).
//
//	request:  vault id (32 bytes) ‖ list of head (bytes) ‖ list of card (pointer (bytes) ‖ envelope (bytes))
//	response: status
//
// The responder verifies every record before its handler sees it; what it
// stores is its own decision (a node keeps only vaults it holds).
package proto
