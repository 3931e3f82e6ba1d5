package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"

	"baluchon/proto"
	"baluchon/vault"
)

// An export is a standard CAR (version 1) file whose one root is an index
// block: a raw block holding the JSON
//
//	{"baluchon_export": 1, "vaults": [{"vault": ID, "heads": [CID…],
//	  "cards": [{"pointer": CID, "envelope": CID}…]}…]}
//
// followed by every block the index names: head blocks (with the head
// history this node has), card pointers (as raw blocks) and envelopes, and
// the whole DAG of each head's manifest root (encrypted manifest and
// documents). Everything in it is encrypted or signed: it is safe to carry
// on a USB stick.

const exportVersion = 1

// maxIndexSize bounds the index block of an export.
const maxIndexSize = 16 << 20

type exportIndex struct {
	Version int           `json:"baluchon_export"`
	Vaults  []exportVault `json:"vaults"`
}

type exportVault struct {
	Vault   string       `json:"vault"`
	Heads   []string     `json:"heads"`
	Cards   []exportCard `json:"cards"`
	Records []string     `json:"records,omitempty"` // raw blocks of vault records: log, deposits, recovery
}

type exportCard struct {
	Pointer  string `json:"pointer"`
	Envelope string `json:"envelope"`
}

// ExportPlan is what an export will write.
type ExportPlan struct {
	vaults []vault.VaultID
	// Bytes is the total size of the blocks to write, for progress bars.
	Bytes int64
	// Blocks is the number of blocks.
	Blocks int
	index  []byte
	cids   []cid.Cid
	// extra holds blocks that are not in the store: card pointers.
	extra map[cid.Cid][]byte
}

// PlanExportVault plans the export of the vault of card, and of the vaults
// it replaced that this node keeps.
func (n *Node) PlanExportVault(ctx context.Context, card *vault.Card) (*ExportPlan, error) {
	defer n.opHold()()
	s, err := n.open(ctx, card)
	if err != nil {
		return nil, err
	}
	// The vaults it replaced at key rotations go along, as this node
	// keeps them (their last state, a forward, and their records): their
	// access log is the first part of this vault's.
	vs := []vault.VaultID{s.id}
	for _, p := range s.manifest.History() {
		if front, err := n.frontier(ctx, p.Vault); err == nil && len(front) > 0 {
			vs = append(vs, p.Vault)
		}
	}
	return n.planExport(ctx, vs)
}

// PlanExportAll plans the export of every vault this node keeps.
func (n *Node) PlanExportAll(ctx context.Context) (*ExportPlan, error) {
	defer n.opHold()()
	vs, err := n.Vaults(ctx)
	if err != nil {
		return nil, err
	}
	return n.planExport(ctx, vs)
}

func (n *Node) planExport(ctx context.Context, vaults []vault.VaultID) (*ExportPlan, error) {
	p := &ExportPlan{vaults: vaults, extra: map[cid.Cid][]byte{}}
	seen := cid.NewSet()
	add := func(c cid.Cid) error {
		if !seen.Visit(c) {
			return nil
		}
		size := len(p.extra[c])
		if size == 0 {
			var err error
			if size, err = n.store.blocks.GetSize(ctx, c); err != nil {
				return fmt.Errorf("block %s is missing from this node's store: %w", c, err)
			}
		}
		p.cids = append(p.cids, c)
		p.Bytes += int64(size)
		return nil
	}
	offline := n.offlineLinks()
	idx := exportIndex{Version: exportVersion, Vaults: []exportVault{}}
	for _, v := range vaults {
		ev := exportVault{Vault: v.String(), Heads: []string{}, Cards: []exportCard{}}
		front, err := n.frontier(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, h := range front {
			ev.Heads = append(ev.Heads, h.cid.String())
			if err := add(h.cid); err != nil {
				return nil, err
			}
			if err := n.history(ctx, h, add); err != nil {
				return nil, err
			}
			var addErr error
			err := walkDAG(ctx, h.Manifest, offline, func(c cid.Cid) bool {
				if seen.Has(c) || addErr != nil {
					return false
				}
				addErr = add(c)
				return addErr == nil
			})
			if err = errors.Join(err, addErr); err != nil {
				return nil, fmt.Errorf("walk vault state %d: %w", h.Seq, err)
			}
		}
		cards, err := n.vaultCards(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, rec := range cards {
			pb := rec.Pointer.Marshal()
			pc, err := rawPrefix.Sum(pb)
			if err != nil {
				return nil, err
			}
			p.extra[pc] = pb
			for _, c := range []cid.Cid{pc, rec.Pointer.Envelope} {
				if err := add(c); err != nil {
					return nil, err
				}
			}
			ev.Cards = append(ev.Cards, exportCard{Pointer: pc.String(), Envelope: rec.Pointer.Envelope.String()})
		}
		// The vault's records go along: the access log, and pending
		// deposits with their documents, travel on the USB stick too.
		records, err := n.localRecords(ctx, v)
		if err != nil {
			return nil, err
		}
		records = append(records, n.vaultAttestations(ctx, v)...) // who wrote each head
		for _, r := range records {
			rb := r.Marshal()
			rc, err := rawPrefix.Sum(rb)
			if err != nil {
				return nil, err
			}
			p.extra[rc] = rb
			if err := add(rc); err != nil {
				return nil, err
			}
			ev.Records = append(ev.Records, rc.String())
			if r.Kind != proto.RecordDeposit {
				continue
			}
			f, err := proto.Fields(r.Payload, 2)
			if err != nil {
				continue
			}
			doc, err := cid.Cast(f[0])
			if err != nil {
				continue
			}
			var addErr error
			_ = walkDAG(ctx, doc, offline, func(c cid.Cid) bool {
				if seen.Has(c) || addErr != nil {
					return false
				}
				addErr = add(c)
				return addErr == nil
			})
			if addErr != nil {
				n.log.Warn("document of a deposit not exported: it is not complete here", "vault", v, "err", addErr)
			}
		}
		idx.Vaults = append(idx.Vaults, ev)
	}
	var err error
	if p.index, err = json.Marshal(idx); err != nil {
		return nil, err
	}
	p.Blocks = len(p.cids) + 1
	p.Bytes += int64(len(p.index))
	return p, nil
}

// history calls add for the head blocks of h's ancestors that this node
// has, so that the importer can tell old heads from new ones.
func (n *Node) history(ctx context.Context, h head, add func(cid.Cid) error) error {
	queue := slices.Clone(h.Parents)
	seen := cid.NewSet()
	for len(queue) > 0 && seen.Len() < maxAncestorWalk {
		c := queue[0]
		queue = queue[1:]
		if !seen.Visit(c) {
			continue
		}
		blk, err := n.store.blocks.Get(ctx, c)
		if err != nil {
			continue // not here: the importer keeps both heads, losing nothing
		}
		ph, err := vault.ParseHead(blk.RawData())
		if err != nil || ph.Vault != h.Vault {
			continue
		}
		if err := add(c); err != nil {
			return err
		}
		queue = append(queue, ph.Parents...)
	}
	return nil
}

// VaultCards returns the card records this node keeps for vault v, most
// trusted first.
func (n *Node) VaultCards(ctx context.Context, v vault.VaultID) ([]*proto.CardRecord, error) {
	return n.vaultCards(ctx, v)
}

// vaultCards returns the card records this node keeps for v, most
// trusted first (see cards.go).
func (n *Node) vaultCards(ctx context.Context, v vault.VaultID) ([]*proto.CardRecord, error) {
	entries, err := n.cardEntries(ctx, v)
	if err != nil {
		return nil, err
	}
	var out []*proto.CardRecord
	for _, e := range entries {
		lookup, err := vault.ParseLookupID(e.lookup)
		if err != nil {
			continue
		}
		rec, err := n.localCard(ctx, lookup)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// WriteExport writes the planned export to w as a CAR. progress, if not
// nil, is called with the bytes of blocks written so far.
func (n *Node) WriteExport(ctx context.Context, p *ExportPlan, w io.Writer, progress func(done int64)) error {
	indexCID, err := rawPrefix.Sum(p.index)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	car, err := storage.NewWritable(bw, []cid.Cid{indexCID}, carv2.WriteAsCarV1(true))
	if err != nil {
		return err
	}
	var done int64
	put := func(c cid.Cid, data []byte) error {
		if err := car.Put(ctx, c.KeyString(), data); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		done += int64(len(data))
		if progress != nil {
			progress(done)
		}
		return nil
	}
	if err := put(indexCID, p.index); err != nil {
		return err
	}
	for _, c := range p.cids {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, ok := p.extra[c]
		if !ok {
			blk, err := n.store.blocks.Get(ctx, c)
			if err != nil {
				return fmt.Errorf("read block %s: %w", c, err)
			}
			data = blk.RawData()
		}
		if err := put(c, data); err != nil {
			return err
		}
	}
	if err := car.Finalize(); err != nil {
		return err
	}
	return bw.Flush()
}

// ImportError says why an import file was refused. Nothing of a refused
// file is stored.
type ImportError struct{ Err error }

func (e *ImportError) Error() string {
	return fmt.Sprintf("this file cannot be imported, nothing was stored: %v", e.Err)
}
func (e *ImportError) Unwrap() error { return e.Err }

// ImportResult tells what an import brought.
type ImportResult struct {
	Vaults    int `json:"vaults"`
	Blocks    int `json:"blocks"`
	NewBlocks int `json:"new_blocks"`
	NewStates int `json:"new_states"`
	Cards     int `json:"cards"`
	// Ignored counts the blocks of the file not stored as blocks: those
	// that nothing verified in it reaches, and the card pointers and
	// records (taken, when they are, into the datastore).
	Ignored int `json:"ignored_blocks,omitempty"`
	// RefusedRecords counts the records of the file whose author this
	// node does not take records from.
	RefusedRecords int `json:"refused_records,omitempty"`
	// RefusedStates counts the vault states of the file left out: inside
	// a federation, those no member attests having written.
	RefusedStates int `json:"refused_states,omitempty"`
}

// maxImportBlock bounds one block of an import (bitswap's own limit).
const maxImportBlock = 2 << 20

// Import reads a CAR export from r. It first copies it to a temporary
// file in the home while checking every block against its CID, every
// head's and pointer's signature, and that every DAG the heads name is
// complete; only then does it store the blocks and take the heads and
// cards. A refused file (tampered, truncated, incomplete) stores nothing
// and gives an *ImportError. Importing the same file again changes
// nothing.
func (n *Node) Import(ctx context.Context, r io.Reader, progress func(read int64)) (*ImportResult, error) {
	defer n.opHold()()
	tmpDir := filepath.Join(n.home, "tmp")
	if err := os.MkdirAll(tmpDir, homeDirPerm); err != nil {
		return nil, err
	}
	spool, err := os.CreateTemp(tmpDir, "import-*.car")
	if err != nil {
		return nil, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	counted := &progressReader{r: r, progress: progress}
	plan, err := checkCAR(io.TeeReader(counted, spool), n)
	if err != nil {
		return nil, &ImportError{Err: err}
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return n.storeImport(ctx, bufio.NewReaderSize(spool, 1<<20), plan)
}

type progressReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	k, err := p.r.Read(b)
	p.n += int64(k)
	if p.progress != nil && k > 0 {
		p.progress(p.n)
	}
	return k, err
}

// importPlan is what a checked CAR holds.
type importPlan struct {
	vaults []importVault
	blocks int
	// want are the blocks to store: those reachable from the file's
	// verified heads and from the deposit records it takes.
	want *cid.Set
	// refused counts the records left out (author not accepted).
	refused int
	// refusedStates counts the vault states left out (inside a
	// federation, a state no member attests having written).
	refusedStates int
}

type importVault struct {
	id      vault.VaultID
	heads   []*vault.Head
	cards   []*proto.CardRecord
	records []*proto.Record
}

// checkCAR reads a whole CAR and checks it; see Import.
func checkCAR(r io.Reader, n *Node) (*importPlan, error) {
	br, err := carv2.NewBlockReader(r, carv2.MaxAllowedSectionSize(maxImportBlock+128))
	if err != nil {
		return nil, fmt.Errorf("not a CAR file: %w", err)
	}
	if len(br.Roots) != 1 {
		return nil, fmt.Errorf("a baluchon export has one root, this file has %d", len(br.Roots))
	}
	root := br.Roots[0]
	have := cid.NewSet()
	// Small blocks needed for the checks: the index, heads, pointers,
	// envelopes and dag-pb nodes (which hold the links).
	kept := map[cid.Cid][]byte{}
	sizes := map[cid.Cid]int{}
	count := 0
	for {
		blk, err := br.Next() // checks the data against the CID
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("block %d: %w (the file is damaged or cut short)", count+1, err)
		}
		count++
		c := blk.Cid()
		have.Add(c)
		sizes[c] = len(blk.RawData())
		if c.Prefix().Codec == cid.DagProtobuf || len(blk.RawData()) <= vault.MaxEnvelopeSize || c.Equals(root) {
			kept[c] = blk.RawData()
		}
	}
	idxData, ok := kept[root]
	if !ok {
		return nil, errors.New("the file's index block is missing")
	}
	if len(idxData) > maxIndexSize {
		return nil, errors.New("the file's index is too large")
	}
	var idx exportIndex
	if err := json.Unmarshal(idxData, &idx); err != nil || idx.Version != exportVersion {
		return nil, errors.New("the file is not a baluchon export (or is from a newer version)")
	}
	present := func(c cid.Cid) bool {
		if have.Has(c) {
			return true
		}
		ok, err := n.store.blocks.Has(context.Background(), c)
		return err == nil && ok
	}
	plan := &importPlan{blocks: count, want: cid.NewSet()}
	fed, _ := n.Federation()
	for i, ev := range idx.Vaults {
		v, err := vault.ParseVaultID(ev.Vault)
		if err != nil {
			return nil, fmt.Errorf("vault %d: %w", i+1, err)
		}
		iv := importVault{id: v}
		// Inside a federation a head is taken only when a member attests
		// having written it (attest.go): here, or in the file.
		attested := cid.NewSet()
		if fed != "" {
			for _, rs := range ev.Records {
				c, err := cid.Decode(rs)
				if err != nil || kept[c] == nil {
					continue // reported below
				}
				if r, err := proto.ParseRecord(kept[c]); err == nil && r.Vault == v && r.Kind == proto.RecordHead && n.acceptsAuthor(r.Author) {
					if hc, err := attestedHead(r); err == nil {
						attested.Add(hc)
					}
				}
			}
		}
		for _, hs := range ev.Heads {
			c, err := cid.Decode(hs)
			if err != nil || kept[c] == nil {
				return nil, fmt.Errorf("vault %s: a head block is missing", v)
			}
			h, err := vault.ParseHead(kept[c])
			if err != nil {
				return nil, fmt.Errorf("vault %s: %w", v, err)
			}
			if h.Vault != v {
				return nil, fmt.Errorf("vault %s: a head is signed for another vault", v)
			}
			want := cid.NewSet()
			if err := checkComplete(h.Manifest, kept, present, want); err != nil {
				return nil, fmt.Errorf("vault %s: %w", v, err)
			}
			if fed != "" && !attested.Has(c) {
				if _, ok := n.headAuthor(context.Background(), v, c); !ok {
					plan.refusedStates++
					continue
				}
			}
			_ = want.ForEach(func(c cid.Cid) error { plan.want.Add(c); return nil })
			plan.want.Add(c)
			wantHistory(h, kept, plan.want)
			iv.heads = append(iv.heads, h)
		}
		for _, ec := range ev.Cards {
			pc, err1 := cid.Decode(ec.Pointer)
			envC, err2 := cid.Decode(ec.Envelope)
			if err1 != nil || err2 != nil || kept[pc] == nil || kept[envC] == nil {
				return nil, fmt.Errorf("vault %s: a card record is missing", v)
			}
			p, err := vault.ParsePointer(kept[pc])
			if err != nil {
				return nil, fmt.Errorf("vault %s: card pointer: %w", v, err)
			}
			rec := &proto.CardRecord{Pointer: p, Envelope: kept[envC]}
			if !p.Envelope.Equals(envC) {
				return nil, fmt.Errorf("vault %s: a card pointer names another envelope", v)
			}
			iv.cards = append(iv.cards, rec)
		}
		for _, rs := range ev.Records {
			c, err := cid.Decode(rs)
			if err != nil || kept[c] == nil {
				return nil, fmt.Errorf("vault %s: a record is missing", v)
			}
			r, err := proto.ParseRecord(kept[c])
			if err != nil {
				return nil, fmt.Errorf("vault %s: %w", v, err)
			}
			if r.Vault != v {
				return nil, fmt.Errorf("vault %s: a record is of another vault", v)
			}
			// Records of members only; outside a federation, records
			// of a vault whose verified state the file brings.
			if fed != "" && !n.acceptsAuthor(r.Author) || fed == "" && len(iv.heads) == 0 {
				plan.refused++
				continue
			}
			if r.Kind == proto.RecordDeposit {
				doc, err := depositDocument(r)
				if err != nil {
					plan.refused++
					continue
				}
				docWant := cid.NewSet()
				if err := checkComplete(doc, kept, present, docWant); err != nil {
					// Not complete in the file: fetched from peers
					// later, within the limits, like any deposit.
					if errors.Is(err, ErrDAGBound) {
						plan.refused++
						continue
					}
				} else {
					_ = docWant.ForEach(func(c cid.Cid) error { plan.want.Add(c); return nil })
				}
			}
			iv.records = append(iv.records, r)
		}
		plan.vaults = append(plan.vaults, iv)
	}
	var need int64
	_ = plan.want.ForEach(func(c cid.Cid) error {
		if ok, err := n.store.blocks.Has(context.Background(), c); err != nil || !ok {
			need += int64(sizes[c])
		}
		return nil
	})
	if err := n.checkFits(context.Background(), need); err != nil {
		return nil, err
	}
	return plan, nil
}

// wantHistory adds to want the head blocks of h's ancestors that the file
// holds (an export carries them, so that the importer tells old heads from
// new ones): each verified, of the same vault.
func wantHistory(h *vault.Head, kept map[cid.Cid][]byte, want *cid.Set) {
	queue := slices.Clone(h.Parents)
	seen := cid.NewSet()
	for len(queue) > 0 && seen.Len() < maxAncestorWalk {
		c := queue[0]
		queue = queue[1:]
		if !seen.Visit(c) {
			continue
		}
		b, ok := kept[c]
		if !ok {
			continue
		}
		ph, err := vault.ParseHead(b)
		if err != nil || ph.Vault != h.Vault {
			continue
		}
		want.Add(c)
		queue = append(queue, ph.Parents...)
	}
}

// checkComplete checks that every block of the DAG at root is in the file
// (or already in the store), within the DAG bounds, and adds the blocks to
// want.
func checkComplete(root cid.Cid, kept map[cid.Cid][]byte, present func(cid.Cid) bool, want *cid.Set) error {
	seen := cid.NewSet()
	level := []cid.Cid{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxDAGDepth {
			return dagBoundError(root, "levels of links", maxDAGDepth)
		}
		var next []cid.Cid
		for _, c := range level {
			if !seen.Visit(c) {
				continue
			}
			if seen.Len() > maxDAGBlocks {
				return dagBoundError(root, "blocks", maxDAGBlocks)
			}
			if !present(c) {
				return fmt.Errorf("block %s of the vault's documents is missing (the file is incomplete)", c)
			}
			want.Add(c)
			if c.Prefix().Codec != cid.DagProtobuf {
				continue
			}
			data, ok := kept[c]
			if !ok {
				continue // already in the store, so complete there
			}
			nd, err := merkledag.DecodeProtobuf(data)
			if err != nil {
				return fmt.Errorf("block %s does not decode: %w", c, err)
			}
			for _, l := range nd.Links() {
				next = append(next, l.Cid)
			}
		}
		level = next
	}
	return nil
}

// storeImport stores the blocks of a checked CAR, then takes its heads and
// cards.
func (n *Node) storeImport(ctx context.Context, r io.Reader, plan *importPlan) (*ImportResult, error) {
	br, err := carv2.NewBlockReader(r, carv2.MaxAllowedSectionSize(maxImportBlock+128))
	if err != nil {
		return nil, err
	}
	res := &ImportResult{Vaults: len(plan.vaults), Blocks: plan.blocks, RefusedRecords: plan.refused, RefusedStates: plan.refusedStates}
	for {
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !plan.want.Has(blk.Cid()) {
			res.Ignored++
			continue
		}
		if ok, _ := n.store.blocks.Has(ctx, blk.Cid()); ok {
			continue
		}
		if err := n.store.blocks.Put(ctx, blk); err != nil {
			return nil, fmt.Errorf("store block: %w", err)
		}
		res.NewBlocks++
	}
	if err := n.store.syncBlocks(); err != nil {
		return nil, err
	}
	for _, iv := range plan.vaults {
		for _, r := range iv.records {
			if r.Kind == proto.RecordHead {
				_, _ = n.storeAttestation(ctx, r) // before the heads they attest
			}
		}
		changed, err := n.adoptHeads(ctx, iv.id, iv.heads)
		if err != nil {
			return nil, fmt.Errorf("vault %s: %w", iv.id, err)
		}
		if changed {
			res.NewStates++
		}
		for _, rec := range iv.cards {
			if have, _ := n.localCard(ctx, rec.Pointer.Lookup); have != nil {
				continue
			}
			if err := n.takeCard(ctx, iv.id, rec); err != nil {
				n.log.Warn("card record of an import not kept", "vault", iv.id, "err", err)
				continue
			}
			res.Cards++
		}
		for _, r := range iv.records {
			if !n.acceptsAuthor(r.Author) {
				continue // written by a non-member or a removed member
			}
			isNew, allowed, err := n.keepBounded(ctx, r, n.storeRecord)
			if err != nil {
				return nil, err
			}
			if !allowed {
				res.RefusedRecords++
				continue
			}
			if isNew && r.Kind == proto.RecordDeposit {
				n.keepDeposit(ctx, r) // its blocks came with the file
			}
		}
	}
	return res, nil
}
