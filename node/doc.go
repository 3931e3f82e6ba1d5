// Package node is one structure's running baluchon program: a libp2p
// host, an encrypted block store, bitswap and baluchon's protocols, and
// the domain operations on people's vaults (register a card, add and read
// documents, recover, delegate, deposit, replace a card, export to a USB
// stick…).
//
// Node's exported methods are those domain operations. Its outward faces
// are packages of their own that take it as an interface: the local HTTP
// API (baluchon/api) and the web page. The answers to baluchon's
// protocols are not exported: an unexported adapter (protoHandler,
// handler.go) implements proto's handler interfaces and hands each request
// to the file of its feature. docs/node.md says why the node is built as
// it is, and gives the datastore's key layout.
//
// Files, by feature:
//
//	node.go         Options, Start and Close: the node assembled in order
//	config.go       Config (HOME/config.json) and its defaults
//	home.go         Init, the home folder, its lock
//	homeformat.go   HomeFormat: HOME/format, migrations of older homes,
//	                FormatError for a newer one
//	backup.go       Backup (everything the node keeps, age-encrypted) and
//	                Restore onto a new folder
//	keyfile.go      the node's keys, optionally under a passphrase
//	store.go        the datastore: blocks in packs (internal/packds, older
//	                ones in flatfs) + leveldb, mounted in one
//	dskeys.go       every datastore key: the layout, in one place
//	dag.go          documents and vault states as UnixFS / dag-pb graphs
//	walk.go         bounded walks of graphs (gc, export, sync)
//	fetch.go        pipelined, bounded fetches of graphs from peers
//	dagstream.go    a first open's DAG from one peer in one stream, checked
//	                block by block (proto.DAGStreamID), bitswap for the rest
//	addbuffer.go    a document's blocks written in batches while the next
//	                ones are encrypted (ipld.BufferedDAG)
//	bitswaptune.go  bitswap's options for a small machine
//	limits.go       libp2p resource limits of baluchon's protocols
//	handler.go      protoHandler; answers to Resolve, Heads and Announce
//	trust.go        who may use which protocol; bitswap to members only
//	session.go      a card's session: open a vault, commit a new state;
//	                Register (a new card)
//	pages.go        the paged manifest (version 2) of a state: page nodes,
//	                reading and writing only the pages that changed
//	batch.go        AddBatch: several documents, one new state
//	batchworkers.go a batch's small documents, encrypted on every core
//	writeback.go    background syncs while an add or a first open writes
//	getmany.go      GetMany: several documents read in one card session,
//	                one-block documents decrypted ahead on the other core
//	vaults.go       documents of a vault: Add, Open, List, Get; card lookup
//	cardsearch.go   a never-seen card: connected members and the DHT asked
//	                at once, the first holder that answers wins
//	cards.go        card records kept for a vault, most trusted first
//	heads.go        current heads of a vault, merging, fetching; Progress
//	adopting.go     a fetch of a state stopped once a newer state that
//	                descends from it is adopted
//	memory.go       what a node remembers of a vault (revoked cards,
//	                forwards after a rotation, retirement)
//	records.go      signed records of a vault, spreading; the access log
//	accesslog.go    access-log records stored and announced in batches;
//	                one entry for many documents (docLog)
//	recordpull.go   when a session asks its peers for a vault's records
//	attest.go       members' attestations of the heads they wrote
//	trash.go        deleted documents: trash, Remove, Restore, kept states
//	supersede.go    superseded states that a newer one covers: kept briefly
//	quota.go        storage quota and limits on deposits
//	gc.go           garbage collection of unpinned blocks; opHold, and
//	                the fetches in flight it keeps (holdFetch)
//	trim.go         an idle node gives back the memory a burst left free
//	deposit.go      deposits without the card ("mail received")
//	delegation.go   delegations: reading a vault without its card; private
//	                documents (SetPrivate), which no delegation covers
//	followed.go     the people this structure follows: Follow, FollowedPeople,
//	                Unfollow; a list sealed to the structure key, kept here only
//	recovery.go     recovery of a lost card by guardians; Replace
//	rotate.go       key rotation (Rotate, RotateFull), retiring old vaults
//	rekey.go        a document's layout (one block, or header leaf and
//	                payload leaves); re-keying and re-encrypting for a rotation
//	rotatetrash.go  the trash a rotation carries to the new vault
//	car.go          export and import of CAR files (USB sticks)
//	courier.go      have files and delta exports: only what another node
//	                lacks (Have, WriteHave, ReadHave, PlanExportDelta)
//	federation.go   the federation: Invite, JoinFederation, members
//	removal.go      taking a member out of the federation
//	structure.go    structure keys and names of the members
//	recordings.go   spoken texts of the person's view recorded at a
//	                structure (Record, Recording): signed records that travel
//	                in the member set, kept when a current member wrote them
//	guardians.go    Guardians: the structures holding a file's recovery shares
//	sync.go         syncing vaults with members; Status
//	holders.go      which members hold which vault, proved by a block
//	replicas.go     which members take a copy of a vault (rendezvous over
//	                the member list); holders sync with the chosen ones
//	discovery.go    mDNS on the local network; pairing codes
//	links.go        mDNS follows the network links that come and go (a
//	                Bluetooth PAN, tethering)
//	bluetooth.go    the RFCOMM transport when the machine has an adapter;
//	                Bluetooth addresses in codes
//	transfers.go    block counts of bitswap (a resumed transfer fetches no
//	                block twice)
//	reach.go        across NATs: AutoNAT, port mapping, a relay for members
//	                only, hole punching; Reach (direct, relayed, LAN only)
//	repunch.go      hole punching after a start: relayed-only peers are
//	                dialled again once the node serves DCUtR
//	conns.go        the open connections, their path (direct or relayed),
//	                streams and bitswap bytes, for status --json
//	dht.go          the federation-private DHT: holders provide vaults and
//	                cards, a never-seen card's holders are found
//	gossip.go       the federation's gossip topic: announcements and
//	                records of every kind, members and their addresses
package node
