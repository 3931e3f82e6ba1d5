package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"baluchon/vault"
)

// Blocks are CIDv1 with SHA-256: raw blocks for ciphertext, dag-pb for the
// nodes that link them.
var (
	rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
	pbPrefix  = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}
)

// ChunkSize is the size of the leaf blocks of a document: 1 MiB, the
// largest size every bitswap implementation accepts, so that large files
// move in few round trips.
const ChunkSize = 1 << 20

// addStream chunks r into a UnixFS DAG of raw 1 MiB leaves (balanced
// layout, as `ipfs add --raw-leaves --cid-version=1`) and stores its
// blocks. It does not sync them to disk.
func (n *Node) addStream(r io.Reader) (ipld.Node, error) {
	params := helpers.DagBuilderParams{
		Dagserv:    n.dag,
		Maxlinks:   helpers.DefaultLinksPerBlock,
		RawLeaves:  true,
		CidBuilder: pbPrefix,
	}
	db, err := params.New(chunker.NewSizeSplitter(r, ChunkSize))
	if err != nil {
		return nil, err
	}
	return balanced.Layout(db)
}

// readStream returns a reader of the bytes of the UnixFS DAG at c,
// fetching missing blocks from connected peers.
func (n *Node) readStream(ctx context.Context, c cid.Cid) (uio.DagReader, error) {
	ng := merkledag.NewSession(ctx, n.dag)
	nd, err := ng.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	return uio.NewDagReader(ctx, nd, ng)
}

// putRaw stores one raw block and returns its CID. It does not sync.
func (n *Node) putRaw(ctx context.Context, data []byte) (cid.Cid, error) {
	c, err := rawPrefix.Sum(data)
	if err != nil {
		return cid.Undef, err
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return cid.Undef, err
	}
	if err := n.bserv.AddBlock(ctx, b); err != nil {
		return cid.Undef, fmt.Errorf("store block: %w", err)
	}
	return c, nil
}

// addRawNode adds data to dag as one raw block and returns its node.
func addRawNode(ctx context.Context, dag ipld.DAGService, data []byte) (ipld.Node, error) {
	nd, err := merkledag.NewRawNodeWPrefix(data, rawPrefix)
	if err != nil {
		return nil, err
	}
	if err := dag.Add(ctx, nd); err != nil {
		return nil, fmt.Errorf("store block: %w", err)
	}
	return nd, nil
}

// getRaw returns the data of a raw block, from the store or from connected
// peers. The block service checks the data against its CID.
func (n *Node) getRaw(ctx context.Context, c cid.Cid, max int) ([]byte, error) {
	if c.Prefix().Codec != cid.Raw {
		return nil, fmt.Errorf("block %s is not a raw block", c)
	}
	b, err := n.bserv.GetBlock(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(b.RawData()) > max {
		return nil, fmt.Errorf("block %s of %d bytes is over the limit of %d", c, len(b.RawData()), max)
	}
	return b.RawData(), nil
}

// manifestTag is the data of a manifest root node.
const manifestTag = "baluchon manifest v1"

// Link names in a manifest root.
const (
	linkManifest = "m"  // the encrypted manifest
	linkPublic   = "p"  // the vault's public state (vault.PublicState)
	linkDocument = "d"  // one encrypted document
	linkGrant    = "g:" // + peer id: a delegation sealed to that structure
	linkShare    = "r:" // + peer id: a recovery share sealed to that guardian
	linkTrash    = "t"  // one encrypted document in the trash (see trash.go)
)

// stateRoot is what a manifest root links. It is not encrypted: a node
// that keeps a vault without its keys (a replica) learns from it which
// blocks to keep, the public state, and which structures hold a delegation
// or a recovery share; no titles, no names, no sizes that the blocks do
// not already show.
type stateRoot struct {
	body   ipld.Node
	public ipld.Node
	// paged: a state of version 2 (pages.go), whose documents are linked
	// from its pages; docs and trash are those of a state of version 1.
	paged  bool
	pages  []*ipld.Link
	docs   []ipld.Node
	trash  []ipld.Node
	grants map[peer.ID]ipld.Node
	shares map[peer.ID]ipld.Node
}

// node builds the manifest root.
func (r *stateRoot) node() (*merkledag.ProtoNode, error) {
	tag := manifestTag
	if r.paged {
		tag = manifestTagV2
	}
	nd := merkledag.NodeWithData([]byte(tag))
	if err := nd.SetCidBuilder(pbPrefix); err != nil {
		return nil, err
	}
	// AddNodeLink records each child's cumulative size, so that the root's
	// Size is the vault's size (for quotas and progress bars).
	add := func(name string, child ipld.Node) error {
		if child == nil {
			return nil
		}
		return nd.AddNodeLink(name, child)
	}
	if err := errors.Join(add(linkManifest, r.body), add(linkPublic, r.public)); err != nil {
		return nil, err
	}
	for _, l := range r.pages {
		if err := nd.AddRawLink(linkPage, l); err != nil {
			return nil, err
		}
	}
	for _, d := range r.docs {
		if err := add(linkDocument, d); err != nil {
			return nil, err
		}
	}
	for _, d := range r.trash {
		if err := add(linkTrash, d); err != nil {
			return nil, err
		}
	}
	for _, m := range []struct {
		prefix string
		links  map[peer.ID]ipld.Node
	}{{linkGrant, r.grants}, {linkShare, r.shares}} {
		keys := slices.Sorted(maps.Keys(m.links))
		for _, p := range keys {
			if err := add(m.prefix+p.String(), m.links[p]); err != nil {
				return nil, err
			}
		}
	}
	return nd, nil
}

// rootLinks is what a manifest root names.
type rootLinks struct {
	body   cid.Cid // the manifest (version 1) or its index (version 2)
	paged  bool    // version 2: the manifest is in pages
	pages  []*ipld.Link
	public cid.Cid // cid.Undef in states made before public states
	docs   []cid.Cid
	grants map[peer.ID]cid.Cid
	shares map[peer.ID]cid.Cid
}

// readRoot reads a manifest root.
func (n *Node) readRoot(ctx context.Context, root cid.Cid) (*rootLinks, error) {
	nd, err := n.dag.Get(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("get manifest root: %w", err)
	}
	pn, ok := nd.(*merkledag.ProtoNode)
	if !ok || !isManifestRoot(pn.Data()) {
		return nil, errors.New("manifest root is not a baluchon manifest")
	}
	rl := &rootLinks{grants: map[peer.ID]cid.Cid{}, shares: map[peer.ID]cid.Cid{}, paged: string(pn.Data()) == manifestTagV2}
	for _, l := range pn.Links() {
		switch {
		case l.Name == linkPage && rl.paged:
			if len(rl.pages) >= 1<<vault.MaxPageBits {
				return nil, errors.New("manifest root links too many pages")
			}
			rl.pages = append(rl.pages, l)
		case l.Name == linkManifest:
			rl.body = l.Cid
		case l.Name == linkPublic:
			rl.public = l.Cid
		case l.Name == linkDocument:
			rl.docs = append(rl.docs, l.Cid)
		case strings.HasPrefix(l.Name, linkGrant), strings.HasPrefix(l.Name, linkShare):
			p, err := peer.Decode(l.Name[2:])
			if err != nil {
				continue
			}
			if l.Name[0] == 'g' {
				rl.grants[p] = l.Cid
			} else {
				rl.shares[p] = l.Cid
			}
		}
	}
	if !rl.body.Defined() {
		return nil, errors.New("manifest root has no manifest link")
	}
	return rl, nil
}

// readPublic reads the public state a manifest root links, or nil for a
// state without one.
func (n *Node) readPublic(ctx context.Context, rl *rootLinks) (*vault.PublicState, error) {
	if !rl.public.Defined() {
		return nil, nil
	}
	b, err := n.getRaw(ctx, rl.public, vault.MaxPublicSize)
	if err != nil {
		return nil, fmt.Errorf("read public state: %w", err)
	}
	return vault.ParsePublicState(b)
}
