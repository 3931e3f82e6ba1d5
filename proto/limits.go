package proto

import (
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ServiceName is the libp2p resource manager service that every stream of
// baluchon's protocols belongs to, both ways.
const ServiceName = "baluchon"

// MaxAnnounceRecords is the most records one announcement carries (records
// are announced one at a time; the bound keeps an announcement small).
const MaxAnnounceRecords = 16

// Limit is what one protocol may hold at a node: the host's resource
// manager enforces it (see node.newHost), and every message read on a
// stream of the protocol reserves its memory in the stream's scope as it
// grows, so that the limits count real buffers.
type Limit struct {
	Protocol protocol.ID
	// MaxMessage is the largest request or response body of the protocol.
	MaxMessage int
	// PeerStreamsIn bounds the inbound streams that one peer may have open
	// at once on the protocol; PeerStreamsOut the outbound ones.
	PeerStreamsIn, PeerStreamsOut int
	// PeerMemory bounds the memory that the messages of one peer's streams
	// of the protocol may hold at once; Memory that of all peers' streams.
	PeerMemory, Memory int64
	// StreamsIn bounds the inbound streams of all peers on the protocol.
	StreamsIn int
}

// Limits returns the limits of every baluchon protocol.
func Limits() []Limit {
	small := func(id protocol.ID, maxMsg int) Limit {
		return Limit{Protocol: id, MaxMessage: maxMsg, PeerStreamsIn: 4, PeerStreamsOut: 16,
			PeerMemory: 4 * int64(maxMsg), Memory: max(4<<20, 16*int64(maxMsg)), StreamsIn: 64}
	}
	large := func(id protocol.ID, maxMsg int, memory int64) Limit {
		return Limit{Protocol: id, MaxMessage: maxMsg, PeerStreamsIn: 2, PeerStreamsOut: 16,
			PeerMemory: int64(maxMsg), Memory: memory, StreamsIn: 16}
	}
	join := large(JoinID, 1+8+maxCertList, 16<<20)
	join.PeerStreamsIn = 1
	// A DAG stream reads or writes one block message at a time; a peer
	// fetches one vault state at a time from a node.
	dag := Limit{Protocol: DAGStreamID, MaxMessage: maxDAGStreamMessage, PeerStreamsIn: 1, PeerStreamsOut: 4,
		PeerMemory: 2 * maxDAGStreamMessage, Memory: 8 * maxDAGStreamMessage, StreamsIn: 4}
	return []Limit{
		small(ResolveID, maxResolveResponse),
		small(HeadsID, maxHeadsResponse),
		small(AnnounceID, maxAnnounceRequest),
		small(CardsID, maxCardsResponse),
		small(BlockID, maxBlockResponse),
		dag,
		join,
		large(MembersID, 1+8+maxCertList, 16<<20),
		large(SyncID, 1+maxSyncMessage, 24<<20),
		large(RecordsID, 1+maxRecordList, 48<<20),
	}
}

// ServiceMemory bounds the memory of all baluchon streams at a node;
// ServicePeerMemory that of one peer's.
const (
	ServiceMemory     = 64 << 20
	ServicePeerMemory = 40 << 20
)

// Admitter decides, before a byte of a request is read, whether a peer
// may use a protocol at this node.
type Admitter interface {
	// Admit reports whether from may open a stream of protocol id.
	Admit(from peer.ID, id protocol.ID) bool
}

// reservation counts the memory reserved in a stream's scope for the
// messages read on it, so that it is released when the stream is done.
type reservation struct {
	scope network.StreamScope
	held  int
}

func (r *reservation) reserve(n int) error {
	if err := r.scope.ReserveMemory(n, network.ReservationPriorityAlways); err != nil {
		return err
	}
	r.held += n
	return nil
}

func (r *reservation) release() {
	if r.held > 0 {
		r.scope.ReleaseMemory(r.held)
		r.held = 0
	}
}
