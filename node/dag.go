package node

import (
	"context"
	"errors"
	"fmt"
	"io"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"
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
	linkManifest = "m" // the encrypted manifest
	linkDocument = "d" // one encrypted document
)

// manifestRoot builds the node that ties a vault's state together: a link
// to the encrypted manifest and one to each live document. It is not
// encrypted: a node that keeps a vault without its keys (a replica) learns
// from it which blocks to keep, and nothing else (no titles, no names, no
// sizes that the blocks do not already show).
func manifestRoot(body ipld.Node, docs []ipld.Node) (*merkledag.ProtoNode, error) {
	nd := merkledag.NodeWithData([]byte(manifestTag))
	if err := nd.SetCidBuilder(pbPrefix); err != nil {
		return nil, err
	}
	// AddNodeLink records each child's cumulative size, so that the root's
	// Size is the vault's size (for quotas and progress bars).
	if err := nd.AddNodeLink(linkManifest, body); err != nil {
		return nil, err
	}
	for _, d := range docs {
		if err := nd.AddNodeLink(linkDocument, d); err != nil {
			return nil, err
		}
	}
	return nd, nil
}

// manifestBody returns the CID of the encrypted manifest in a manifest root.
func (n *Node) manifestBody(ctx context.Context, root cid.Cid) (cid.Cid, error) {
	nd, err := n.dag.Get(ctx, root)
	if err != nil {
		return cid.Undef, fmt.Errorf("get manifest root: %w", err)
	}
	pn, ok := nd.(*merkledag.ProtoNode)
	if !ok || string(pn.Data()) != manifestTag {
		return cid.Undef, errors.New("manifest root is not a baluchon manifest")
	}
	l, err := pn.GetNodeLink(linkManifest)
	if err != nil {
		return cid.Undef, errors.New("manifest root has no manifest link")
	}
	return l.Cid, nil
}
