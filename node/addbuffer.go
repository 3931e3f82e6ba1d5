package node

import (
	"context"
	"fmt"

	ipld "github.com/ipfs/go-ipld-format"
)

// addBuffered runs build with a DAG service that buffers the nodes added
// and writes them to dag in batches of a few MiB, committed in the
// background while build goes on (ipld.Batch, as Kubo's add): the
// blocks are appended to the packs while the next ones are encrypted.
// Every block is written when addBuffered returns without error;
// none is synced.
func addBuffered(dag ipld.DAGService, build func(ipld.DAGService) (ipld.Node, error)) (ipld.Node, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bd := ipld.NewBufferedDAG(ctx, dag)
	root, err := build(bd)
	if err != nil {
		return nil, err // cancel aborts the commits in flight
	}
	if err := bd.Commit(); err != nil {
		return nil, fmt.Errorf("write blocks: %w", err)
	}
	return root, nil
}
