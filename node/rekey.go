package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"baluchon/vault"
)

// A document whose age file fits in one leaf (1 MiB) is that one raw
// block, as `ipfs add --raw-leaves` stores a small file: one block, one
// file to create. A larger document's DAG is a balanced UnixFS file of raw
// leaves whose first leaf is the age header alone (the file key wrapped
// to the vault), and whose other leaves are the payload (nonce and STREAM
// chunks) in 1 MiB blocks. Re-keying a document for a key rotation writes
// a new header wrapping the same file key to the new vault: for a large
// document a new first leaf and the nodes of the leftmost path above it,
// every payload block shared with the old DAG; for a one-block document a
// new block, the new header followed by the same payload bytes (copied,
// not re-encrypted). Documents stored before these layouts (1 MiB leaves
// from the first byte, the header inside the first one) are re-encrypted
// in full once, into them.

// headerSplitter cuts an age file into its header, then 1 MiB chunks.
type headerSplitter struct {
	r      *bufio.Reader
	header bool
}

func newHeaderSplitter(r io.Reader) *headerSplitter {
	return &headerSplitter{r: bufio.NewReaderSize(r, 64<<10)}
}

func (s *headerSplitter) Reader() io.Reader { return s.r }

func (s *headerSplitter) NextBytes() ([]byte, error) {
	if !s.header {
		s.header = true
		return vault.ReadHeader(s.r)
	}
	buf := make([]byte, ChunkSize)
	k, err := io.ReadFull(s.r, buf)
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return buf[:k], nil
	case err != nil:
		return nil, err
	}
	return buf, nil
}

var _ chunker.Splitter = (*headerSplitter)(nil)

// errWholeFile says that a document was stored before its header had a
// leaf of its own.
var errWholeFile = errors.New("document stored in one piece")

// RekeyStats counts what a key rotation did to documents.
type RekeyStats struct {
	// Rekeyed documents got a new header only.
	Rekeyed int
	// Reencrypted documents (stored before headers had a leaf of their
	// own) were decrypted and encrypted again in full.
	Reencrypted int
	// Bytes is the size of the re-encrypted documents' ciphertext.
	Bytes uint64
}

// rekeyDocument gives the document at c a header for the keys to, reusing
// its payload blocks, or re-encrypts it in full when it is in the old
// layout. It returns the new root.
func (n *Node) rekeyDocument(ctx context.Context, old, to *vault.Keys, c cid.Cid, st *RekeyStats) (cid.Cid, error) {
	nd, err := n.rekeyFirstLeaf(ctx, old, to, c)
	if errors.Is(err, errWholeFile) {
		return n.reencryptDocument(ctx, old, to, c, st)
	}
	if err != nil {
		return cid.Undef, err
	}
	st.Rekeyed++
	return nd.Cid(), nil
}

// reencryptDocument decrypts the document at c and encrypts it again to
// the keys to, under a new file key, in the current layout.
func (n *Node) reencryptDocument(ctx context.Context, old, to *vault.Keys, c cid.Cid, st *RekeyStats) (cid.Cid, error) {
	nc, err := n.reencrypt(ctx, old, to, c)
	if err != nil {
		return cid.Undef, err
	}
	st.Reencrypted++
	if nd, err := n.dag.Get(ctx, c); err == nil {
		size, _ := nd.Size()
		st.Bytes += size
	}
	return nc, nil
}

// maxLayoutDepth bounds the walk down the leftmost path of a document.
const maxLayoutDepth = 8

// rekeyFirstLeaf rewrites the leftmost path of the document at c with a
// new header leaf.
func (n *Node) rekeyFirstLeaf(ctx context.Context, old, to *vault.Keys, c cid.Cid) (ipld.Node, error) {
	var path []*merkledag.ProtoNode
	cur := c
	for {
		if len(path) > maxLayoutDepth {
			return nil, errors.New("document DAG is too deep")
		}
		if cur.Prefix().Codec == cid.Raw {
			break
		}
		nd, err := n.dag.Get(ctx, cur)
		if err != nil {
			return nil, fmt.Errorf("get document node: %w", err)
		}
		pn, ok := nd.(*merkledag.ProtoNode)
		if !ok || len(pn.Links()) == 0 {
			return nil, errors.New("document node is not a UnixFS file")
		}
		path = append(path, pn)
		cur = pn.Links()[0].Cid
	}
	if len(path) == 0 {
		return n.rekeyWholeBlock(ctx, old, to, cur)
	}
	hdr, err := n.getRaw(ctx, cur, ChunkSize)
	if err != nil {
		return nil, fmt.Errorf("get document header: %w", err)
	}
	if !vault.IsHeader(hdr) {
		return nil, errWholeFile
	}
	nh, err := old.RekeyHeader(hdr, to.Recipient())
	if err != nil {
		return nil, err
	}
	var child ipld.Node
	if child, err = n.putRawNode(ctx, nh); err != nil {
		return nil, err
	}
	childSize := uint64(len(nh))
	for i := len(path) - 1; i >= 0; i-- {
		pn := path[i]
		fsn, err := unixfs.FSNodeFromBytes(pn.Data())
		if err != nil {
			return nil, fmt.Errorf("document node: %w", err)
		}
		nf := unixfs.NewFSNode(fsn.Type())
		nf.SetData(fsn.Data())
		for j, bs := range fsn.BlockSizes() {
			if j == 0 {
				bs = childSize
			}
			nf.AddBlockSize(bs)
		}
		data, err := nf.GetBytes()
		if err != nil {
			return nil, err
		}
		np := merkledag.NodeWithData(data)
		if err := np.SetCidBuilder(pbPrefix); err != nil {
			return nil, err
		}
		if err := np.AddNodeLink("", child); err != nil {
			return nil, err
		}
		for _, l := range pn.Links()[1:] {
			if err := np.AddRawLink("", &ipld.Link{Size: l.Size, Cid: l.Cid}); err != nil {
				return nil, err
			}
		}
		if err := n.dag.Add(ctx, np); err != nil {
			return nil, fmt.Errorf("store document node: %w", err)
		}
		child, childSize = np, nf.FileSize()
	}
	return child, nil
}

// rekeyWholeBlock re-keys a document stored as one raw block (its age file
// fits in one leaf): the new block is a new header followed by the same
// payload bytes, copied, not re-encrypted.
func (n *Node) rekeyWholeBlock(ctx context.Context, old, to *vault.Keys, c cid.Cid) (ipld.Node, error) {
	data, err := n.getRaw(ctx, c, ChunkSize)
	if err != nil {
		return nil, fmt.Errorf("get document: %w", err)
	}
	hdr, err := vault.ReadHeader(bufio.NewReaderSize(bytes.NewReader(data), 4096))
	if err != nil {
		return nil, err
	}
	nh, err := old.RekeyHeader(hdr, to.Recipient())
	if err != nil {
		return nil, err
	}
	file := append(nh, data[len(hdr):]...)
	if len(file) > ChunkSize {
		return nil, errWholeFile // the new header does not fit: re-encrypt into leaves
	}
	return n.putRawNode(ctx, file)
}

// addWholeFile adds an age file held whole with the layout buildDocument
// gives it: one raw block when it fits in one leaf, else a DAG.
func addWholeFile(dag ipld.DAGService, file []byte) (ipld.Node, error) {
	if len(file) <= ChunkSize {
		return addRawNode(context.Background(), dag, file)
	}
	return buildDocument(dag, bytes.NewReader(file))
}

// buildDocument chunks an age file read from r into a document DAG
// (header leaf, then payload leaves) and adds its blocks to dag (a
// buffered one: addBuffered, AddBatch). It does not sync them.
func buildDocument(dag ipld.DAGService, r io.Reader) (ipld.Node, error) {
	// An age file of one leaf or less is one raw block (as a small file
	// is in `ipfs add --raw-leaves`): one file to create instead of three.
	// One buffer of the right size (a bytes.Buffer grew to twice that,
	// copying and clearing at each step).
	head := make([]byte, ChunkSize+1)
	k, err := io.ReadFull(r, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return addRawNode(context.Background(), dag, head[:k])
	}
	if err != nil {
		return nil, err
	}
	r = io.MultiReader(bytes.NewReader(head), r)
	params := helpers.DagBuilderParams{
		Dagserv:    dag,
		Maxlinks:   helpers.DefaultLinksPerBlock,
		RawLeaves:  true,
		CidBuilder: pbPrefix,
	}
	db, err := params.New(newHeaderSplitter(r))
	if err != nil {
		return nil, err
	}
	return balanced.Layout(db)
}
