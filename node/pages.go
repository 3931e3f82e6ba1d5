package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"baluchon/vault"
)

// A vault state written since version 2 of the manifest is paged, so that
// a change writes what it changes and not the whole vault:
//
//	manifest root (dag-pb, "baluchon manifest v2")
//	  m    the manifest index: age file (UnixFS) to the content recipient,
//	       with the page key, the number of pages, delegations, recovery
//	  p    the public state (raw), as in version 1
//	  s    one link per page, in page order, to a page node:
//	         page node (dag-pb, "baluchon page v2")
//	           m   the sealed page (raw): its documents and tombstones
//	           d   each live document of the page
//	           t   each document of the page in the trash
//	  g:…, r:…  delegations and recovery shares, as in version 1
//
// A commit reuses the page node of every page whose plaintext did not
// change, so that adding a document writes the index, the root, one page
// and its page node. States of version 1 (one manifest linked by m, every
// document linked from the root) are still read; a vault is written in
// version 2 at its next change.
const (
	manifestTagV2 = "baluchon manifest v2"
	pageTag       = "baluchon page v2"
	linkPage      = "s"
)

// isManifestRoot reports whether data is that of a manifest root (either
// version).
func isManifestRoot(data []byte) bool {
	return string(data) == manifestTag || string(data) == manifestTagV2
}

// pagedState is what a session keeps of the paged state it loaded, so that
// its next commit reuses the pages that did not change.
type pagedState struct {
	vault vault.VaultID
	index vault.Index
	plain [][]byte     // each page's plaintext
	links []*ipld.Link // each page's node
}

// readState decrypts the manifest of a state, either version. For a paged
// state it also returns what a commit reuses; skip, when not nil, leaves
// out the pages it names (by place or node): then no pagedState is
// returned.
func (n *Node) readState(ctx context.Context, keys *vault.Keys, rl *rootLinks, skip func(bits, page int, node cid.Cid) bool) (*vault.Manifest, *pagedState, error) {
	if !rl.paged {
		m, err := n.readManifest(ctx, keys, rl.body)
		return m, nil, err
	}
	r, err := n.readStream(ctx, rl.body)
	if err != nil {
		return nil, nil, err
	}
	m, ix, err := vault.DecryptIndex(r, keys.Identity())
	r.Close()
	if err != nil {
		return nil, nil, err
	}
	if len(rl.pages) != 1<<ix.Bits {
		return nil, nil, fmt.Errorf("manifest root links %d pages, its index says %d", len(rl.pages), 1<<ix.Bits)
	}
	ps := &pagedState{vault: keys.VaultID(), index: ix, plain: make([][]byte, len(rl.pages)), links: rl.pages}
	for i, l := range rl.pages {
		if skip != nil && skip(ix.Bits, i, l.Cid) {
			ps = nil
			continue
		}
		sealed, err := n.pageBlock(ctx, l.Cid)
		if err != nil {
			return nil, nil, fmt.Errorf("manifest page %d: %w", i, err)
		}
		plain, err := m.OpenPage(ix.Key, ix.Bits, i, sealed)
		if err != nil {
			return nil, nil, err
		}
		if ps != nil {
			ps.plain[i] = plain
		}
	}
	return m, ps, nil
}

// pageBlock returns the sealed page that the page node c links.
func (n *Node) pageBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	nd, err := n.dag.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	pn, ok := nd.(*merkledag.ProtoNode)
	if !ok || string(pn.Data()) != pageTag {
		return nil, errors.New("not a manifest page node")
	}
	for _, l := range pn.Links() {
		if l.Name == linkManifest {
			return n.getRaw(ctx, l.Cid, vault.MaxPageSize)
		}
	}
	return nil, errors.New("manifest page node links no page")
}

// writePages writes manifest m of s's vault as a paged state: its index
// and the pages that changed since the state s loaded (the others are
// reused). It returns the index's node and the page links; s.paged is set
// once the state is committed (see commit).
func (n *Node) writePages(ctx context.Context, s *session, m *vault.Manifest) (ipld.Node, []*ipld.Link, *pagedState, error) {
	prev := s.paged
	if prev != nil && prev.vault != s.id {
		// Another vault's key (before a rotation): whoever held the old
		// keys must not read the new pages.
		prev = nil
	}
	ix := vault.Index{Key: vault.NewPageKey()}
	if prev != nil {
		ix = prev.index
	}
	ix.Bits = vault.PageBits(m.Items(), ix.Bits)
	if prev != nil && prev.index.Bits != ix.Bits {
		prev = nil
	}
	if prev == nil {
		// A new key at every full rewrite: nothing of an older state is
		// reused, so its key need not be either.
		ix.Key = vault.NewPageKey()
	}
	plain := m.Pages(ix.Bits)
	live, trashed := m.PageOf(ix.Bits)
	ps := &pagedState{vault: s.id, index: ix, plain: plain, links: make([]*ipld.Link, len(plain))}
	offline := merkledag.NewDAGService(blockservice.New(n.store.blocks, nil))
	var changed []int
	for i, p := range plain {
		if prev != nil && bytes.Equal(prev.plain[i], p) {
			ps.links[i] = prev.links[i]
			continue
		}
		changed = append(changed, i)
	}
	known := n.linkedSizes(ctx, offline, s.paged, ix.Bits, changed)
	// The pages' blocks are written in batches, in parallel (see
	// addBuffered), and all are written before the index names them.
	bd := ipld.NewBufferedDAG(ctx, n.freshDAG)
	for _, i := range changed {
		sealed, err := vault.SealPage(ix.Key, ix.Bits, i, plain[i])
		if err != nil {
			return nil, nil, nil, err
		}
		pageNode, err := addRawNode(ctx, bd, sealed)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store manifest page: %w", err)
		}
		nd := merkledag.NodeWithData([]byte(pageTag))
		if err := nd.SetCidBuilder(pbPrefix); err != nil {
			return nil, nil, nil, err
		}
		if err := nd.AddNodeLink(linkManifest, pageNode); err != nil {
			return nil, nil, nil, err
		}
		for _, e := range live[i] {
			l, err := n.docLink(ctx, n.dag, e.CID, known)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("document %s of the vault: %w", e.ID, err)
			}
			if err := nd.AddRawLink(linkDocument, l); err != nil {
				return nil, nil, nil, err
			}
		}
		for _, e := range trashed[i] {
			// A trashed document whose blocks are not here is left
			// unlinked (a node that keeps a state that has it holds
			// them).
			l, err := n.docLink(ctx, offline, e.CID, nil)
			if err != nil {
				n.log.Debug("trashed document not here, not linked", "doc", e.ID, "err", err)
				continue
			}
			if err := nd.AddRawLink(linkTrash, l); err != nil {
				return nil, nil, nil, err
			}
		}
		if err := bd.Add(ctx, nd); err != nil {
			return nil, nil, nil, fmt.Errorf("store manifest page: %w", err)
		}
		l, err := ipld.MakeLink(nd)
		if err != nil {
			return nil, nil, nil, err
		}
		ps.links[i] = l
	}
	if err := bd.Commit(); err != nil {
		return nil, nil, nil, fmt.Errorf("store manifest pages: %w", err)
	}
	var buf bytes.Buffer
	if err := m.EncryptIndex(&buf, s.keys.Recipient(), ix); err != nil {
		return nil, nil, nil, err
	}
	body, err := n.addStream(&buf)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store manifest index: %w", err)
	}
	return body, ps.links, ps, nil
}

// docLink is a page's link to the document at c, with the document's
// cumulative size: the one known (from the page that linked it in the
// state before), else, for a document of one raw block (up to 1 MiB),
// its size in the store, without reading it; else its root node's,
// read from dag.
func (n *Node) docLink(ctx context.Context, dag ipld.NodeGetter, c cid.Cid, known map[cid.Cid]uint64) (*ipld.Link, error) {
	if size, ok := known[c]; ok {
		return &ipld.Link{Cid: c, Size: size}, nil
	}
	if c.Prefix().Codec == cid.Raw {
		size, err := n.store.blocks.GetSize(ctx, c)
		if err == nil {
			return &ipld.Link{Cid: c, Size: uint64(size)}, nil
		}
		if !ipld.IsNotFound(err) {
			return nil, err
		}
		// Not here yet: dag fetches it (a page is written only with its
		// documents).
	}
	doc, err := dag.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	return ipld.MakeLink(doc)
}

// linkedSizes returns the sizes with which the pages of the state before
// (old) link their live documents, read from the page nodes that the
// rewritten pages replace (all of them when the number of pages changed):
// a page rewritten for one new document then links the others without a
// look at each. Those documents are here: the state before is kept whole.
// A size is what a state declares (as every link's); it is used for
// progress and quota estimates only, every fetch being bounded by what
// arrives. A page node that cannot be read is skipped.
func (n *Node) linkedSizes(ctx context.Context, local ipld.NodeGetter, old *pagedState, bits int, changed []int) map[cid.Cid]uint64 {
	if old == nil {
		return nil
	}
	pages := changed
	if old.index.Bits != bits {
		pages = make([]int, len(old.links))
		for i := range pages {
			pages[i] = i
		}
	}
	known := map[cid.Cid]uint64{}
	for _, i := range pages {
		if i >= len(old.links) || old.links[i] == nil {
			continue
		}
		nd, err := local.Get(ctx, old.links[i].Cid)
		if err != nil {
			continue
		}
		for _, l := range nd.Links() {
			if l.Name == linkDocument {
				known[l.Cid] = l.Size
			}
		}
	}
	return known
}
