package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ipfs/go-cid"

	"baluchon/vault"
)

// Couriers: a person or a volunteer carries data between two nodes that
// never meet (a USB stick, a phone passing a file by Bluetooth). Node B
// writes a small "have" file (Have, WriteHave): for each vault it keeps,
// the states it holds complete, and the card pointers and records it has.
// Node A reads it and exports only what B lacks (PlanExportDelta): a
// standard export (car.go) whose index names A's current states, and the
// cards and records B does not have, and whose blocks are those of A's
// states that B's states do not reach. B imports it with Import, which
// checks it like any export: the blocks not in the file must be in B's
// store already.
//
// A have file is the JSON
//
//	{"baluchon_have": 1, "vaults": [{"vault": ID, "heads": [CID…],
//	  "cards": [CID…], "records": [CID…]}…]}
//
// where heads are B's current heads whose whole DAG B holds, cards the CIDs
// of B's card pointers (raw blocks, as in an export) and records those of
// B's vault records. It holds no secret, only identifiers of encrypted or
// signed blocks; a forged one can only make an export larger or smaller,
// and an export missing blocks is refused at import.

const haveVersion = 1

// MaxHaveSize bounds a have file.
const MaxHaveSize = 16 << 20

// Have is what a node holds of some vaults, for a courier's delta export.
type Have struct {
	Vaults []HaveVault
}

// HaveVault is what a node holds of one vault.
type HaveVault struct {
	Vault vault.VaultID
	// Heads are the current states whose whole DAG the node holds.
	Heads []cid.Cid
	// Cards are the CIDs of the card pointers it keeps.
	Cards []cid.Cid
	// Records are the CIDs of the vault records it keeps.
	Records []cid.Cid
}

type haveFile struct {
	Version int             `json:"baluchon_have"`
	Vaults  []haveFileVault `json:"vaults"`
}

type haveFileVault struct {
	Vault   string   `json:"vault"`
	Heads   []string `json:"heads"`
	Cards   []string `json:"cards"`
	Records []string `json:"records"`
}

// Have returns what this node holds of vaults (nil: every vault it keeps).
func (n *Node) Have(ctx context.Context, vaults []vault.VaultID) (*Have, error) {
	defer n.opHold()()
	if vaults == nil {
		var err error
		if vaults, err = n.Vaults(ctx); err != nil {
			return nil, err
		}
	}
	h := &Have{Vaults: []HaveVault{}}
	for _, v := range vaults {
		hv := HaveVault{Vault: v}
		front, err := n.frontier(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, fh := range front {
			if n.completeHere(ctx, fh.Manifest) {
				hv.Heads = append(hv.Heads, fh.cid)
			}
		}
		cards, err := n.vaultCards(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, rec := range cards {
			if c, err := rawPrefix.Sum(rec.Pointer.Marshal()); err == nil {
				hv.Cards = append(hv.Cards, c)
			}
		}
		records, err := n.localRecords(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, r := range append(records, n.vaultAttestations(ctx, v)...) {
			if c, err := rawPrefix.Sum(r.Marshal()); err == nil {
				hv.Records = append(hv.Records, c)
			}
		}
		h.Vaults = append(h.Vaults, hv)
	}
	return h, nil
}

// completeHere reports whether every block of the DAG at root is in this
// node's store.
func (n *Node) completeHere(ctx context.Context, root cid.Cid) bool {
	complete := true
	err := walkDAG(ctx, root, n.offlineLinks(), func(c cid.Cid) bool {
		if ok, err := n.store.blocks.Has(ctx, c); err != nil || !ok {
			complete = false
		}
		return complete
	})
	return err == nil && complete
}

// WriteHave writes h as a have file.
func WriteHave(w io.Writer, h *Have) error {
	f := haveFile{Version: haveVersion, Vaults: []haveFileVault{}}
	strs := func(cs []cid.Cid) []string {
		out := make([]string, 0, len(cs))
		for _, c := range cs {
			out = append(out, c.String())
		}
		return out
	}
	for _, hv := range h.Vaults {
		f.Vaults = append(f.Vaults, haveFileVault{Vault: hv.Vault.String(), Heads: strs(hv.Heads), Cards: strs(hv.Cards), Records: strs(hv.Records)})
	}
	return json.NewEncoder(w).Encode(f)
}

// HaveError says why a have file was refused.
type HaveError struct{ Err error }

func (e *HaveError) Error() string {
	return fmt.Sprintf("this is not a usable \"have\" file (write one with 'baluchon have' at the node that will import): %v", e.Err)
}
func (e *HaveError) Unwrap() error { return e.Err }

// ReadHave reads a have file of at most MaxHaveSize bytes.
func ReadHave(r io.Reader) (*Have, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxHaveSize+1))
	if err != nil {
		return nil, fmt.Errorf("read have file: %w", err)
	}
	if len(b) > MaxHaveSize {
		return nil, &HaveError{Err: fmt.Errorf("it is larger than %d MiB", MaxHaveSize>>20)}
	}
	var f haveFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version != haveVersion {
		return nil, &HaveError{Err: errors.New("it is not a baluchon have file (or is from a newer version)")}
	}
	parse := func(i int, what string, ss []string) ([]cid.Cid, error) {
		out := make([]cid.Cid, 0, len(ss))
		for j, s := range ss {
			c, err := cid.Decode(s)
			if err != nil {
				return nil, &HaveError{Err: fmt.Errorf("vault %d: %s %d is not a CID", i+1, what, j+1)}
			}
			out = append(out, c)
		}
		return out, nil
	}
	h := &Have{Vaults: []HaveVault{}}
	for i, fv := range f.Vaults {
		v, err := vault.ParseVaultID(fv.Vault)
		if err != nil {
			return nil, &HaveError{Err: fmt.Errorf("vault %d: %w", i+1, err)}
		}
		hv := HaveVault{Vault: v}
		if hv.Heads, err = parse(i, "head", fv.Heads); err != nil {
			return nil, err
		}
		if hv.Cards, err = parse(i, "card", fv.Cards); err != nil {
			return nil, err
		}
		if hv.Records, err = parse(i, "record", fv.Records); err != nil {
			return nil, err
		}
		h.Vaults = append(h.Vaults, hv)
	}
	return h, nil
}

// ErrNothingInCommon says that this node keeps none of the vaults a have
// file names.
var ErrNothingInCommon = errors.New("this node keeps none of the vaults the have file names: give the card of a person whose vault the other node should get")

// PlanExportDelta plans the export of what the node of have lacks: of the
// vault of card (and the vaults it replaced), or, when card is nil, of
// the vaults named in have that this node keeps.
func (n *Node) PlanExportDelta(ctx context.Context, have *Have, card *vault.Card) (*ExportPlan, error) {
	var full *ExportPlan
	var err error
	if card != nil {
		full, err = n.PlanExportVault(ctx, card)
	} else {
		var vs []vault.VaultID
		for _, hv := range have.Vaults {
			if front, ferr := n.frontier(ctx, hv.Vault); ferr == nil && len(front) > 0 && !slices.Contains(vs, hv.Vault) {
				vs = append(vs, hv.Vault)
			}
		}
		if len(vs) == 0 {
			return nil, ErrNothingInCommon
		}
		func() {
			defer n.opHold()()
			full, err = n.planExport(ctx, vs)
		}()
	}
	if err != nil {
		return nil, err
	}
	defer n.opHold()()
	return n.deltaOf(ctx, full, have)
}

// deltaOf removes from an export plan what have holds: the blocks that
// its complete states reach (the state blocks, their history, their
// DAGs, as this node has them), its card pointers (with their envelopes)
// and its records. The blocks the index names stay, so that the importer
// checks them.
func (n *Node) deltaOf(ctx context.Context, p *ExportPlan, have *Have) (*ExportPlan, error) {
	var idx exportIndex
	if err := json.Unmarshal(p.index, &idx); err != nil {
		return nil, err
	}
	byVault := map[string]HaveVault{}
	for _, hv := range have.Vaults {
		byVault[hv.Vault.String()] = hv
	}
	skip := cid.NewSet()
	keep := cid.NewSet()
	offline := n.offlineLinks()
	for i, ev := range idx.Vaults {
		hv, ok := byVault[ev.Vault]
		if !ok {
			for _, s := range ev.Heads {
				addCIDString(keep, s)
			}
			for _, c := range ev.Cards {
				addCIDString(keep, c.Pointer)
				addCIDString(keep, c.Envelope)
			}
			for _, s := range ev.Records {
				addCIDString(keep, s)
			}
			continue
		}
		for _, hc := range hv.Heads {
			blk, err := n.store.blocks.Get(ctx, hc)
			if err != nil {
				continue // a state this node never had: nothing to leave out
			}
			h, err := vault.ParseHead(blk.RawData())
			if err != nil || h.Vault.String() != ev.Vault {
				continue
			}
			hh, err := newHead(h)
			if err != nil {
				continue
			}
			skip.Add(hc)
			_ = n.history(ctx, hh, func(c cid.Cid) error { skip.Add(c); return nil })
			// A block missing here ends the walk early: less is left out.
			_ = walkDAG(ctx, h.Manifest, offline, func(c cid.Cid) bool { return skip.Visit(c) })
		}
		for _, c := range hv.Cards {
			skip.Add(c)
		}
		for _, c := range hv.Records {
			skip.Add(c)
		}
		ev.Cards = slices.DeleteFunc(ev.Cards, func(c exportCard) bool { return hasCIDString(skip, c.Pointer) })
		ev.Records = slices.DeleteFunc(ev.Records, func(s string) bool { return hasCIDString(skip, s) })
		for _, s := range ev.Heads {
			addCIDString(keep, s)
		}
		for _, c := range ev.Cards {
			addCIDString(keep, c.Pointer)
			addCIDString(keep, c.Envelope)
		}
		for _, s := range ev.Records {
			addCIDString(keep, s)
		}
		idx.Vaults[i] = ev
	}
	out := &ExportPlan{vaults: p.vaults, extra: map[cid.Cid][]byte{}}
	for _, c := range p.cids {
		if skip.Has(c) && !keep.Has(c) {
			continue
		}
		size := len(p.extra[c])
		if data, ok := p.extra[c]; ok {
			out.extra[c] = data
		} else {
			var err error
			if size, err = n.store.blocks.GetSize(ctx, c); err != nil {
				return nil, fmt.Errorf("block %s is missing from this node's store: %w", c, err)
			}
		}
		out.cids = append(out.cids, c)
		out.Bytes += int64(size)
	}
	var err error
	if out.index, err = json.Marshal(idx); err != nil {
		return nil, err
	}
	out.Blocks = len(out.cids) + 1
	out.Bytes += int64(len(out.index))
	return out, nil
}

func addCIDString(s *cid.Set, str string) {
	if c, err := cid.Decode(str); err == nil {
		s.Add(c)
	}
}

func hasCIDString(s *cid.Set, str string) bool {
	c, err := cid.Decode(str)
	return err == nil && s.Has(c)
}
