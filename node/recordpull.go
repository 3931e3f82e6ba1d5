package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"baluchon/proto"
	"baluchon/vault"
)

// A card session takes in the deposits of its vault, which come as
// records. Records are announced to the connected peers when they are
// written, so a node need not ask its peers for every record of a vault at
// every session (each answer is checked record by record, and a vault's
// access log grows with every read): it asks once, then again only after a
// new connection (a peer may have written records while apart) or
// recordPullEvery.
const recordPullEvery = time.Minute

// pullMemo remembers, per vault, the connection count and time of the last
// pull.
type pullMemo struct {
	once   sync.Once
	mu     sync.Mutex
	conns  uint64 // connections made since the node started
	pulled map[vault.VaultID]pullMark
}

type pullMark struct {
	conns uint64
	at    time.Time
}

// watch counts the node's new connections.
func (n *Node) watchConnections() {
	n.pulls.once.Do(func() {
		n.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(network.Network, network.Conn) {
			n.pulls.mu.Lock()
			n.pulls.conns++
			n.pulls.mu.Unlock()
		}})
	})
}

// vaultRecords returns the records of v kept here whose kind want accepts,
// having first taken those of the connected peers, unless they were taken
// since the last new connection and within recordPullEvery.
func (n *Node) vaultRecords(ctx context.Context, v vault.VaultID, want func(kind byte) bool) []*proto.Record {
	n.watchConnections()
	p := &n.pulls
	p.mu.Lock()
	mark, ok := p.pulled[v]
	conns := p.conns
	fresh := ok && mark.conns == conns && time.Since(mark.at) < recordPullEvery
	p.mu.Unlock()
	if !fresh {
		n.collectRecords(ctx, v)
		p.mu.Lock()
		if p.pulled == nil {
			p.pulled = map[vault.VaultID]pullMark{}
		}
		p.pulled[v] = pullMark{conns: conns, at: time.Now()}
		p.mu.Unlock()
	}
	rs, _ := n.localRecordsOf(context.WithoutCancel(ctx), v, want)
	return rs
}
