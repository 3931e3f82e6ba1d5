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
	for i, p := range plain {
		if prev != nil && bytes.Equal(prev.plain[i], p) {
			ps.links[i] = prev.links[i]
			continue
		}
		sealed, err := vault.SealPage(ix.Key, ix.Bits, i, p)
		if err != nil {
			return nil, nil, nil, err
		}
		pageNode, err := n.putRawNode(ctx, sealed)
		if err != nil {
			return nil, nil, nil, err
		}
		nd := merkledag.NodeWithData([]byte(pageTag))
		if err := nd.SetCidBuilder(pbPrefix); err != nil {
			return nil, nil, nil, err
		}
		if err := nd.AddNodeLink(linkManifest, pageNode); err != nil {
			return nil, nil, nil, err
		}
		for _, e := range live[i] {
			l, err := n.docLink(ctx, n.dag, e.CID)
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
			l, err := n.docLink(ctx, offline, e.CID)
			if err != nil {
				n.log.Debug("trashed document not here, not linked", "doc", e.ID, "err", err)
				continue
			}
			if err := nd.AddRawLink(linkTrash, l); err != nil {
				return nil, nil, nil, err
			}
		}
		if err := n.dag.Add(ctx, nd); err != nil {
			return nil, nil, nil, fmt.Errorf("store manifest page: %w", err)
		}
		l, err := ipld.MakeLink(nd)
		if err != nil {
			return nil, nil, nil, err
		}
		ps.links[i] = l
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
// cumulative size. A document of one raw block (up to 1 MiB) is sized from
// the store without being read; a larger one's root node is read from dag.
func (n *Node) docLink(ctx context.Context, dag ipld.NodeGetter, c cid.Cid) (*ipld.Link, error) {
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
