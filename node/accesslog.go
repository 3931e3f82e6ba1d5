package node

import (
	"context"
	"sync"
	"time"

	"baluchon/proto"
	"baluchon/vault"
)

// The access log is written in batches: a read (a list, a get) signs its
// record at once but stores it with the others of the same moment, in one
// synchronous batch of the datastore, and announces them together, within
// logFlushDelay. Reading the records (the access log, a member asking for
// them) writes the pending ones first, so that nothing reads a state
// without them. A crash loses at most the records of the last
// logFlushDelay: those of reads, never a document or a state.
const logFlushDelay = 250 * time.Millisecond

// logQueue holds the access-log records signed but not yet stored.
type logQueue struct {
	mu        sync.Mutex
	pending   []*proto.Record
	scheduled bool
}

// queueRecord keeps r (signed by this node) to be stored and announced
// with the next batch.
func (n *Node) queueRecord(r *proto.Record) {
	q := &n.logq
	q.mu.Lock()
	q.pending = append(q.pending, r)
	start := !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	if !start {
		return
	}
	// Once Close has begun this runs nothing: Close writes what is
	// pending before it closes the store.
	n.goRun(func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-time.After(logFlushDelay):
		}
		n.flushLog(context.WithoutCancel(ctx))
	})
}

// flushLog stores the pending records in one batch and announces them.
func (n *Node) flushLog(ctx context.Context) {
	q := &n.logq
	q.mu.Lock()
	rs := q.pending
	q.pending, q.scheduled = nil, false
	q.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	if err := n.storeRecords(ctx, rs); err != nil {
		n.log.Warn("access log entries not written", "count", len(rs), "err", err)
		return
	}
	byVault := map[vault.VaultID][]*proto.Record{}
	var order []vault.VaultID
	for _, r := range rs {
		if _, ok := byVault[r.Vault]; !ok {
			order = append(order, r.Vault)
		}
		byVault[r.Vault] = append(byVault[r.Vault], r)
	}
	for _, v := range order {
		all := byVault[v]
		for len(all) > 0 {
			k := min(len(all), proto.MaxAnnounceRecords)
			n.announceAll(&proto.Announcement{Vault: v, Records: all[:k]})
			all = all[k:]
		}
	}
}

// storeRecords writes records of this node in one synchronous batch.
func (n *Node) storeRecords(ctx context.Context, rs []*proto.Record) error {
	b, err := n.store.ldb.Batch(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := b.Put(ctx, recordKey(r.Vault, recordCID(r)), r.Marshal()); err != nil {
			return err
		}
	}
	return b.Commit(ctx)
}

// docLogGroup is how many documents a docLog gathers at most: about what
// one entry holds (vault.LogEntries splits longer ids over more).
const docLogGroup = 200

// docLog gathers the documents of one long action (a download of many)
// into few access-log entries: each is written once it names docLogGroup
// documents, or logFlushDelay after its first (even while the action
// waits, on a slow reader say), and the rest at flush. A key
// encapsulation per entry, not per document, and a crash loses what the
// queue's delay loses, twice over at most.
type docLog struct {
	n      *Node
	s      *session
	action string

	mu    sync.Mutex
	ids   []string
	timer *time.Timer // writes the entry logFlushDelay after its first document
}

// add notes that the action was done to document id.
func (l *docLog) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		l.timer = time.AfterFunc(logFlushDelay, l.flush)
	}
	l.ids = append(l.ids, id)
	if len(l.ids) >= docLogGroup {
		l.flushLocked()
	}
}

// flush writes the entry of the documents gathered.
func (l *docLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *docLog) flushLocked() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if len(l.ids) == 0 {
		return
	}
	l.n.logDocs(l.s, l.action, l.ids, "")
	l.ids = nil
}
