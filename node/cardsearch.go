package node

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// Looking for a card this node has never seen (searchCard): the connected
// members it trusts are asked at once; the federation's DHT is asked too,
// dhtHeadStart later if no member has answered with the card by then, or as
// soon as every connected member has answered without it. The first record
// that arrives wins, except that the answers of connected members arriving
// within cardSettle after it are weighed too (the newest pointer is kept,
// as after a change of keys). The whole is bounded by resolveTimeout: a
// member that does not answer never holds up the search.
const (
	// dhtHeadStart is how long the connected members have to answer
	// before the DHT is asked as well.
	dhtHeadStart = 300 * time.Millisecond
	// cardSettle is how long a search waits, after a first record, for a
	// newer one from the connected members.
	cardSettle = 100 * time.Millisecond
)

// cardAnswer is one answer to a card search.
type cardAnswer struct {
	rec      *proto.CardRecord
	replaced *CardReplacedError
	dht      bool
}

// searchCard returns the card record of lookup from the connected members
// or the DHT, whichever answers first (see above).
func (n *Node) searchCard(ctx context.Context, lookup vault.LookupID) (*proto.CardRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	peers := n.trustedPeers()
	// Buffered for every answer: the goroutines never block on a search
	// that returned.
	answers := make(chan cardAnswer, len(peers)+1)
	for _, p := range peers {
		go func() {
			rec, replaced := n.resolveAt(ctx, p, lookup)
			answers <- cardAnswer{rec: rec, replaced: replaced}
		}()
	}
	dhtStarted := false
	startDHT := func() {
		if dhtStarted {
			return
		}
		dhtStarted = true
		go func() {
			rec, err := n.findCardInDHT(ctx, lookup)
			if err != nil {
				rec = nil
			}
			answers <- cardAnswer{rec: rec, dht: true}
		}()
	}
	headStart := time.NewTimer(dhtHeadStart)
	defer headStart.Stop()
	var (
		settle   <-chan time.Time
		best     *proto.CardRecord
		replaced *CardReplacedError
		pending  = len(peers)
		dhtDone  bool
	)
	if pending == 0 {
		startDHT()
	}
	for pending > 0 || !dhtDone {
		select {
		case a := <-answers:
			if a.dht {
				dhtDone = true
			} else {
				pending--
			}
			if a.replaced != nil {
				replaced = a.replaced
			}
			if a.rec != nil {
				if best == nil {
					settle = time.After(cardSettle)
				}
				if best == nil || a.rec.Pointer.Time.After(best.Pointer.Time) {
					best = a.rec
				}
			}
			if pending == 0 && best == nil {
				startDHT()
			}
			if best != nil && pending == 0 {
				return best, nil // nothing more to wait for from members
			}
		case <-headStart.C:
			if best == nil {
				startDHT()
			}
		case <-settle:
			return best, nil
		case <-ctx.Done():
			return n.cardFound(best, replaced)
		}
	}
	return n.cardFound(best, replaced)
}

// cardFound is the outcome of a card search.
func (n *Node) cardFound(best *proto.CardRecord, replaced *CardReplacedError) (*proto.CardRecord, error) {
	switch {
	case best != nil:
		return best, nil
	case replaced != nil:
		// Peers refuse to hand out a replaced card's envelope; they say
		// so, which is all this node can tell the person.
		return nil, replaced
	}
	return nil, ErrUnknownCard
}

// resolveAt asks member p for the card record of lookup: the record, or
// that p knows the card was replaced, or neither.
func (n *Node) resolveAt(ctx context.Context, p peer.ID, lookup vault.LookupID) (*proto.CardRecord, *CardReplacedError) {
	rec, err := proto.Resolve(ctx, n.host, p, lookup)
	if err == nil {
		return rec, nil
	}
	if re := (*proto.RemoteError)(nil); errors.As(err, &re) && re.Status == proto.StatusRefused {
		if i := strings.Index(re.Reason, cardReplacedReason); i >= 0 {
			when, _ := time.Parse(time.RFC3339, re.Reason[i+len(cardReplacedReason):])
			return nil, &CardReplacedError{When: when}
		}
	}
	if !proto.IsNotFound(err) {
		n.log.Debug("resolve card", "peer", p, "err", err)
	}
	return nil, nil
}
