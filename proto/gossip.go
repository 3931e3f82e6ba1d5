package proto

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Gossip is one message on a federation's gossip topic (see doc.go,
// "Gossip"): an announcement (heads, cards and records of one vault, of
// every record kind), or what proves membership, with the sender's signed
// addresses.
type Gossip struct {
	// Announcement, when not nil, is what /baluchon/announce carries.
	Announcement *Announcement
	// Members, when not nil, are certificates, structure records and
	// removals, as /baluchon/members carries them.
	Members *MemberSet
	// PeerRecord is the sender's signed libp2p peer record (a
	// record.Envelope holding a peer.PeerRecord: its addresses), sent
	// with Members; the receiver checks it.
	PeerRecord []byte
}

// Kinds of gossip message (the first byte).
const (
	gossipAnnouncement = 1
	gossipMembers      = 2
)

// MaxGossip is the largest gossip message: an announcement's largest, which
// is also more than a member set of a sender's chain and new members.
const MaxGossip = maxAnnounceRequest + 1

// MaxPeerRecord is the largest signed peer record a gossip message carries.
const MaxPeerRecord = 4 << 10

// GossipTopic is the name of federation fed's gossip topic.
func GossipTopic(fed peer.ID) string { return "/baluchon/federation/1.0.0/" + fed.String() }

// EncodeGossip encodes g. It carries an announcement or members, not both.
func EncodeGossip(g *Gossip) ([]byte, error) {
	var b []byte
	switch {
	case g.Announcement != nil && g.Members == nil:
		b = append([]byte{gossipAnnouncement}, encodeAnnouncement(g.Announcement)...)
	case g.Members != nil && g.Announcement == nil:
		// The peer record first: a member set ends with an optional list
		// (its recordings), so it must come last.
		b = appendBytes([]byte{gossipMembers}, g.PeerRecord)
		b = appendMemberSet(b, g.Members)
	default:
		return nil, errors.New("a gossip message carries an announcement or members")
	}
	if len(b) > MaxGossip {
		return nil, fmt.Errorf("gossip message of %d bytes is over the limit of %d", len(b), MaxGossip)
	}
	return b, nil
}

// DecodeGossip decodes and verifies a gossip message: every signed record,
// head and certificate in it verifies on its own (membership is the
// receiver's decision).
func DecodeGossip(b []byte) (*Gossip, error) {
	if len(b) > MaxGossip {
		return nil, fmt.Errorf("gossip message of %d bytes is over the limit of %d", len(b), MaxGossip)
	}
	if len(b) == 0 {
		return nil, errors.New("gossip message is empty")
	}
	switch b[0] {
	case gossipAnnouncement:
		a, err := decodeAnnouncement(b[1:])
		if err != nil {
			return nil, fmt.Errorf("gossip announcement: %w", err)
		}
		return &Gossip{Announcement: a}, nil
	case gossipMembers:
		d := newDecoder(b[1:])
		g := &Gossip{PeerRecord: d.Bytes(MaxPeerRecord)}
		g.Members = d.memberSet()
		if err := d.End(); err != nil {
			return nil, fmt.Errorf("gossip members: %w", err)
		}
		return g, nil
	default:
		return nil, fmt.Errorf("gossip message of unknown kind %d", b[0])
	}
}
