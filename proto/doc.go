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
// # Who may ask, and how much a peer can hold
//
// A node decides who may use a protocol before it reads a byte of the
// request (Handler's Admit, called with the peer id that the connection's
// Noise or TLS handshake authenticated). A refused peer gets a "refused"
// status (below) and nothing else; its request is never read. The node
// package admits:
//
//	join             anyone (a joining node is not a member yet; the request
//	                 is one 32-byte invitation secret)
//	members          anyone, when this node is in a federation (certificates
//	                 prove themselves); nobody otherwise
//	sync, cards,     members only
//	block
//	resolve, heads,  members only when this node is in a federation; any
//	announce,        connected peer otherwise (peers the worker connected,
//	records,         or found on the local network): the peers bitswap
//	dagstream        serves
//
// Bitswap follows the same rule: inside a federation a node sends members
// only its blocks, its want lists (they name the blocks of the vaults it
// opens) and its answers.
//
// A message's declared length is checked against its protocol's maximum,
// then its buffer grows as bytes arrive (16 KiB first, then doubling), and
// each growth is reserved in the stream's libp2p resource manager scope
// first: a peer that declares a large message and sends little makes the
// node hold little, and memory over a limit ends the stream. Every stream
// of these protocols belongs to the resource manager service "baluchon"
// (ServiceName). The limits (Limits, applied by the node when it builds its
// host) are, per protocol:
//
//	protocol   largest message  inbound streams  memory   memory     inbound
//	                            per peer         per peer all peers  streams
//	resolve       65 KiB        4                260 KiB    4 MiB      64
//	heads        128 KiB        4                513 KiB    4 MiB      64
//	announce     1.4 MiB        4                5.5 MiB   22 MiB      64
//	cards        260 KiB        4                1.0 MiB    4 MiB      64
//	block          1 MiB        4                  4 MiB   16 MiB      64
//	dagstream      1 MiB        1                  2 MiB    8 MiB       4
//	join         4.5 MiB        1                4.5 MiB   16 MiB      16
//	members      4.5 MiB        2                4.5 MiB   16 MiB      16
//	sync           8 MiB        2                  8 MiB   24 MiB      16
//	records       32 MiB        2                 32 MiB   48 MiB      16
//
// (the largest message of join and records is the response, which only
// the requester reads; that of dagstream is one block of its response,
// which is read one block at a time; a peer opens at most 4 dagstream
// streams to a node), 16 outbound streams per peer on each protocol, and
// for the whole service 64 MiB (40 MiB per peer). An announcement carries
// at most MaxAnnounceRecords records.
//
// Inside bodies, "bytes" means uvarint length ‖ that many bytes, and
// "list of X" means uvarint count ‖ count × X; every number is in its
// shortest form. The codec is internal/wire, the same as the vault's signed
// heads and pointers (package vault). Every response starts with one
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
// stores is its own decision (a node keeps only vaults it holds). The
// records of an announcement of heads include the head attestations of
// those heads.
//
// # Head attestations
//
// A head attestation is a vault record (see Record) of kind RecordHead (5)
// whose payload is the binary CID of a head, signed by the node that wrote
// the head. It says which structure made a change; a node in a federation
// adopts a head only when a current member attests it. Attestations travel
// as records: in announcements next to their heads, first in the answers
// of /baluchon/records/1.0.0 (those of the responder's current heads), and
// in USB exports. Known-answer file: testdata/record-head.hex.
//
// # /baluchon/members/1.0.0
//
// Exchange what proves membership.
//
//	request:  member set
//	response: status ‖ member set
//	member set: list of certificate (bytes) ‖ list of structure record (bytes) ‖
//	            list of removal (bytes) [‖ list of recording (bytes)]
//
// Certificates (MemberCert), structure records (StructureRecord) and
// removals (Removal) are each signed and verify on their own; a removal
// travels with the certificate that allowed it. At most MaxMembers of each.
// The recordings (records of kind RecordRecording, recording.go: a spoken
// text of the person's view recorded at a structure) come last, at most
// MaxSetRecordings, and the list is left out when there are none; a node
// keeps only those whose author is a current member. Known-answer file:
// testdata/recording.hex.
// Known-answer files: testdata/memberset.hex, testdata/removal.hex.
// # Addresses
//
// Nodes are reached at libp2p multiaddrs: TCP and QUIC over IP, and, over
// Bluetooth Classic, /bt/<adapter address>/rfcomm/<channel>, two
// multiaddr protocols of baluchon's own that this package registers with
// go-multiaddr (multiaddr.go; codes 0x3b7400 and 0x3b7401, from the
// multicodec private-use range). Pairing and invitation codes carry such
// addresses in a compact form (codes.go: type 5).
//
// # Gossip
//
// Inside a federation, announcements and membership also travel on one
// go-libp2p-pubsub (gossipsub) topic, GossipTopic(federation id), as
// messages signed by their author (pubsub's strict signing). A message
// (Gossip, gossip.go) is one kind byte, then:
//
//	1 announcement: the body of an /baluchon/announce request
//	2 members:      peer record (bytes) ‖ member set (as in /baluchon/members;
//	                last, since it ends with the optional recordings list)
//
// where the peer record is the sender's signed libp2p peer record (a
// record.Envelope of a peer.PeerRecord, at most MaxPeerRecord bytes, empty
// when absent). DecodeGossip verifies every head, record and certificate;
// whether the author is a member is the receiver's decision. At most
// MaxGossip bytes.
//
// # /baluchon/kad/1.0.0
//
// The federation-private DHT (go-libp2p-kad-dht with the protocol prefix
// /baluchon), provider records only, served to members only.
//
// # /baluchon/block/1.0.0
//
// Members only: show that the responder holds a block, so that a member
// counts it as a holder of a vault (see block.go).
//
//	request:  CID (bytes) ‖ nonce (0 or 32 bytes, to the end of the body)
//	response: status ‖ data (bytes)
//
// With no nonce, data is the block itself (at most MaxBlockAnswer bytes), which
// the requester checks against the CID; with a nonce, it is
// SHA-256(nonce ‖ block), which the requester compares with its own copy. The
// responder answers from its own store only.
//
// # /baluchon/dagstream/1.0.0
//
// The blocks of a vault state's DAG in one stream, for the first open of
// a vault (see dagstream.go): bitswap asks level by level (the index, its
// pages, the documents' roots, their leaves), one round trip each.
//
//	request:  root CID (bytes) ‖ optionally 1 (one byte: the requester has
//	          the root; it is not sent, the blocks it links are)
//	response: status message ‖ block message … ‖ empty message
//	block message: CID (bytes) ‖ the block (to the end of the message)
//
// Each is a length-prefixed message (uvarint length ‖ body), the status
// message a status as in every response. The blocks come breadth first
// from the root (the manifest root of a head the requester verified), a
// block after the block that links it, each once; a block is at most
// MaxBlockAnswer bytes. The empty message says that the whole DAG was
// sent; a responder that lacks a block ends the stream without it. Every
// message must arrive within StreamTimeout of the one before. The
// requester checks each block against its CID and takes only a block
// that a block it took links (the root first): a responder can make it
// store nothing else. It fetches what did not come with bitswap.
package proto
