package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
	"baluchon/vault"
)

// Vault records (proto.Record) are what structures attach to a vault
// without its keys: deposited documents, access-log entries, recovery
// requests and approvals. A node keeps them under
//
//	/baluchon/vault/<vault id>/record/<record CID> → the record
//
// and passes them on to its peers with announcements.

func recordCID(r *proto.Record) cid.Cid {
	c, _ := rawPrefix.Sum(r.Marshal())
	return c
}

// storeRecord keeps a record; it reports whether it was new. Head
// attestations are kept beside the heads (attest.go).
func (n *Node) storeRecord(ctx context.Context, r *proto.Record) (bool, error) {
	if r.Kind == proto.RecordHead {
		return n.storeAttestation(ctx, r)
	}
	k := recordKey(r.Vault, recordCID(r))
	if ok, err := n.store.ldb.Has(ctx, k); err != nil || ok {
		return false, err
	}
	return true, n.store.ldb.Put(ctx, k, r.Marshal())
}

// takeRecord keeps a record written by another node, within the storage
// quota; it reports whether it was new.
func (n *Node) takeRecord(ctx context.Context, r *proto.Record) (bool, error) {
	if err := n.checkFits(ctx, int64(len(r.Marshal()))); err != nil {
		n.quotaLog(r.Vault, "record of a vault not kept: storage quota reached; raise max_storage_bytes in config.json or free space", "err", err)
		return false, err
	}
	return n.storeRecord(ctx, r)
}

// VaultRecords returns the signed records this node keeps for vault v
// (what a member asking for them may get, and what the admin page shows).
func (n *Node) VaultRecords(ctx context.Context, v vault.VaultID) ([]*proto.Record, error) {
	return n.localRecords(ctx, v)
}

// localRecords returns the records this node keeps for v.
func (n *Node) localRecords(ctx context.Context, v vault.VaultID) ([]*proto.Record, error) {
	return n.localRecordsOf(ctx, v, nil)
}

// localRecordsOf returns the records of v kept here whose kind want
// accepts (nil: all), parsing only those.
func (n *Node) localRecordsOf(ctx context.Context, v vault.VaultID, want func(kind byte) bool) ([]*proto.Record, error) {
	n.flushLog(ctx)
	res, err := n.store.ldb.Query(ctx, prefixQuery(recordsPrefix(v)))
	if err != nil {
		return nil, err
	}
	entries, err := res.Rest()
	if err != nil {
		return nil, err
	}
	var out []*proto.Record
	for _, e := range entries {
		if k, ok := proto.RecordKind(e.Value); !ok || (want != nil && !want(k)) {
			continue
		}
		if r, err := proto.ParseRecord(e.Value); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// collectRecords returns the records of v known here and at the connected
// peers it trusts (within a short wait), keeping the new ones.
func (n *Node) collectRecords(ctx context.Context, v vault.VaultID) []*proto.Record {
	ctx, cancel := context.WithTimeout(ctx, headsTimeoutKnown)
	defer cancel()
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		got []*proto.Record
	)
	for _, p := range n.trustedPeers() {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			rs, err := proto.GetRecords(ctx, n.host, p, v)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, rs...)
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	// The new ones are kept in one batch of the datastore (a vault's
	// access log has a record per read: one synchronous write each would
	// cost a disk sync per record).
	var fresh []*proto.Record
	var size int64
	// The deposits of this batch count against their author's bound as
	// they are admitted, not only once stored.
	n.depositMu.Lock()
	defer n.depositMu.Unlock()
	admitted := map[peer.ID]int{}
	seen := map[string]bool{} // the same record from several peers
	for _, r := range got {
		if !n.acceptsAuthor(r.Author) || r.Vault != v {
			continue
		}
		k := recordCID(r).KeyString()
		if seen[k] {
			continue
		}
		seen[k] = true
		if r.Kind == proto.RecordHead {
			_, _ = n.takeRecord(context.WithoutCancel(ctx), r)
			continue
		}
		if ok, err := n.store.ldb.Has(ctx, recordKey(r.Vault, recordCID(r))); err != nil || ok {
			continue
		}
		if r.Kind == proto.RecordDeposit {
			if !n.depositAllowed(ctx, r, admitted[r.Author]) {
				continue
			}
			admitted[r.Author]++
		}
		fresh = append(fresh, r)
		size += int64(len(r.Marshal()))
	}
	if len(fresh) > 0 {
		if err := n.checkFits(ctx, size); err != nil {
			n.quotaLog(v, "records of a vault not kept: storage quota reached; raise max_storage_bytes in config.json or free space", "err", err)
		} else if err := n.storeRecords(context.WithoutCancel(ctx), fresh); err != nil {
			n.log.Warn("records of a vault not kept", "vault", v, "err", err)
		}
	}
	local, _ := n.localRecords(context.WithoutCancel(ctx), v)
	return local
}

// acceptsAuthor reports whether this node takes records written by p: any
// node outside a federation, members only inside one.
func (n *Node) acceptsAuthor(p peer.ID) bool {
	if p == n.ID() {
		return true
	}
	fed, _ := n.Federation()
	return fed == "" || n.IsMember(p)
}

// answerRecords answers a member asking for the records of a vault
// (proto.FederationHandler).
func (n *Node) answerRecords(ctx context.Context, from peer.ID, v vault.VaultID) ([]*proto.Record, error) {
	if fed, _ := n.Federation(); fed != "" && !n.IsMember(from) {
		return nil, fmt.Errorf("%w: %v", proto.ErrRefused, ErrNotMember)
	}
	rs, err := n.localRecords(ctx, v)
	if err != nil {
		return nil, err
	}
	// The attestations of the current heads come first, so that a member
	// pulling those heads can check who wrote them.
	var att []*proto.Record
	if front, err := n.frontier(ctx, v); err == nil {
		for _, h := range front {
			att = append(att, n.attestations(ctx, v, h.cid)...)
		}
	}
	if len(att) > proto.MaxRecords/2 {
		att = att[:proto.MaxRecords/2]
	}
	if len(rs) > proto.MaxRecords-len(att) {
		rs = rs[len(rs)-(proto.MaxRecords-len(att)):]
	}
	return append(att, rs...), nil
}

// takeRecords keeps the announced records this node has a use for: those
// of a vault it keeps, recovery requests naming it as guardian, approvals
// of its own requests, and passes the new ones on to its peers. A
// deposit's document is fetched and pinned at once, so that it survives its
// depositor.
func (n *Node) takeRecords(ctx context.Context, rs []*proto.Record) {
	var fresh []*proto.Record
	defer func() {
		// Pass new records on, so that they cross the federation even
		// between members that are not connected to each other. Gossip
		// does that inside a federation.
		if n.gossiping() {
			return
		}
		for _, r := range fresh {
			n.announceAll(&proto.Announcement{Vault: r.Vault, Records: []*proto.Record{r}})
		}
	}()
	for _, r := range rs {
		if !n.acceptsAuthor(r.Author) || r.Kind == proto.RecordRecording {
			continue // recordings travel in member sets (recordings.go)
		}
		front, _ := n.frontier(ctx, r.Vault)
		keep := len(front) > 0
		if r.Kind == proto.RecordHead {
			// Attestations travel with their heads; they are not passed on
			// one by one.
			if keep {
				_, _ = n.storeAttestation(ctx, r)
			}
			continue
		}
		switch r.Kind {
		case proto.RecordRecovery:
			if f, err := proto.Fields(r.Payload, 3); err == nil && slices.Contains(strings.Split(string(f[2]), "\n"), n.ID().String()) {
				keep = true
			}
			if keep && n.copiedRequest(ctx, r) {
				continue
			}
		case proto.RecordApproval:
			if f, err := proto.Fields(r.Payload, 3); err == nil && peer.ID(f[1]) == n.ID() {
				keep = true
			}
		}
		if !keep {
			continue
		}
		isNew, _, err := n.keepBounded(ctx, r, n.takeRecord)
		if err != nil || !isNew {
			continue
		}
		fresh = append(fresh, r)
		if r.Kind == proto.RecordDeposit {
			n.goBackground(func(ctx context.Context) { n.keepDeposit(ctx, r) })
		}
	}
}

// keepBounded keeps r with keep (takeRecord, storeRecord), but for a
// deposit over its author's bound of pending deposits (depositAllowed),
// which it leaves out (allowed false). A deposit's count and its keeping
// are one step, whichever peers bring deposits at once.
func (n *Node) keepBounded(ctx context.Context, r *proto.Record, keep func(context.Context, *proto.Record) (bool, error)) (isNew, allowed bool, err error) {
	if r.Kind != proto.RecordDeposit {
		isNew, err = keep(ctx, r)
		return isNew, true, err
	}
	n.depositMu.Lock()
	defer n.depositMu.Unlock()
	if !n.depositAllowed(ctx, r, 0) {
		return false, false, nil
	}
	isNew, err = keep(ctx, r)
	return isNew, true, err
}

// addRecord signs, keeps and announces a record of this node.
func (n *Node) addRecord(ctx context.Context, kind byte, v vault.VaultID, payload []byte) (*proto.Record, error) {
	r, err := proto.SignRecord(n.key, kind, v, time.Now(), payload)
	if err != nil {
		return nil, err
	}
	if _, err := n.storeRecord(ctx, r); err != nil {
		return nil, err
	}
	n.announceAll(&proto.Announcement{Vault: v, Records: []*proto.Record{r}})
	return r, nil
}

// logAction appends an entry to vault v's access log, sealed to its
// content recipient. A failure is logged, never returned: the action
// itself has happened.
func (n *Node) logAction(ctx context.Context, s *session, action, docID, note string) {
	var r age.Recipient = s.keys.Recipient()
	n.logTo(ctx, s.id, r, action, docID, note)
}

func (n *Node) logTo(ctx context.Context, v vault.VaultID, r age.Recipient, action, docID, note string) {
	var ids []string
	if docID != "" {
		ids = []string{docID}
	}
	n.logDocsTo(v, r, action, ids, note)
}

// logDocs appends to the session's vault's access log that action was
// done to each document of ids (to none when ids is empty), in as few
// entries as hold them (vault.LogEntries).
func (n *Node) logDocs(s *session, action string, ids []string, note string) {
	n.logDocsTo(s.id, s.keys.Recipient(), action, ids, note)
}

func (n *Node) logDocsTo(v vault.VaultID, r age.Recipient, action string, ids []string, note string) {
	base := vault.LogEntry{Time: time.Now().UTC(), Actor: n.ID().String(), ActorName: n.Name(), Action: action, Note: note}
	entries := vault.LogEntries(base, ids)
	if len(ids) == 0 {
		entries = []*vault.LogEntry{&base}
	}
	for _, e := range entries {
		rec, err := n.logRecord(v, r, e)
		if err != nil {
			n.log.Warn("access log entry not written", "vault", v, "documents", len(e.DocIDs()), "err", err)
			continue
		}
		n.queueRecord(rec) // stored and announced with others (accesslog.go)
	}
}

// logRecord seals an access-log entry to r and signs it as a record of
// vault v.
func (n *Node) logRecord(v vault.VaultID, r age.Recipient, e *vault.LogEntry) (*proto.Record, error) {
	sealed, err := e.Seal(r)
	if err != nil {
		return nil, err
	}
	return proto.SignRecord(n.key, proto.RecordLog, v, time.Now(), sealed)
}

// LogLine is one entry of a vault's access log, as the person reads it.
type LogLine struct {
	Time     time.Time `json:"time"`
	Who      string    `json:"who"`
	Action   string    `json:"action"`
	DocID    string    `json:"doc,omitempty"`
	DocTitle string    `json:"title,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// AccessLog returns the vault's access log, oldest first: every entry this
// node and its connected peers have, decrypted with the card, those
// written to the vaults this one replaced at key rotations included. Each
// line names the structure whose node signed its record.
func (n *Node) AccessLog(ctx context.Context, card *vault.Card) ([]LogLine, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, e := range s.manifest.Trash() {
		titles[e.ID] = e.Title
	}
	for _, e := range s.manifest.Entries() {
		titles[e.ID] = e.Title
	}
	var out []LogLine
	for _, r := range n.logRecords(ctx, s) {
		e, err := vault.OpenLogEntry(r.Payload, r.identity)
		if err != nil {
			continue // sealed to other keys, or damaged
		}
		who := n.StructureName(r.Author)
		ids := e.DocIDs()
		if len(ids) == 0 {
			ids = []string{""}
		}
		for _, id := range ids { // an entry of several documents is a line each
			out = append(out, LogLine{Time: e.Time, Who: who, Action: e.Action, DocID: id, DocTitle: titles[id], Note: e.Note})
		}
		if old, ok := strings.CutPrefix(e.Note, restoredNote); ok && e.Action == vault.ActionRestore && titles[old] == "" {
			titles[old] = titles[e.DocID] // a restored document's old id
		}
	}
	for i, l := range out {
		if l.DocTitle == "" {
			out[i].DocTitle = titles[l.DocID]
		}
	}
	slices.SortStableFunc(out, func(a, b LogLine) int { return a.Time.Compare(b.Time) })
	n.logAction(ctx, s, vault.ActionOpen, "", "access log")
	return out, nil
}

// logRecord is an access-log record and the identity that opens it.
type logRecord struct {
	*proto.Record
	identity age.Identity
}

// logRecords returns the access-log records of the vault of s and of the
// vaults it replaced (its manifest's history), each with the content
// identity of the vault it was written to. A record stays where it was
// written, under its own author: a rotation re-seals nothing.
func (n *Node) logRecords(ctx context.Context, s *session) []logRecord {
	type src struct {
		v  vault.VaultID
		id age.Identity
	}
	srcs := []src{{s.id, s.keys.Identity()}}
	for _, p := range s.manifest.History() {
		srcs = append(srcs, src{p.Vault, p.Identity()})
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out []logRecord
	)
	for _, sv := range srcs {
		wg.Go(func() {
			for _, r := range n.collectRecords(ctx, sv.v) {
				if r.Kind == proto.RecordLog && r.Vault == sv.v {
					mu.Lock()
					out = append(out, logRecord{Record: r, identity: sv.id})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return out
}
