package node

// TransferStats counts the blocks this node received by bitswap and by
// DAG streams (dagstream.go) since it started: a transfer cut and resumed must not fetch a block twice
// (Duplicates stays 0).
type TransferStats struct {
	Blocks     uint64 `json:"blocks_received"`
	Bytes      uint64 `json:"bytes_received"`
	Duplicates uint64 `json:"duplicate_blocks"`
}

// TransferStats returns the node's block counts.
func (n *Node) TransferStats() TransferStats {
	out := TransferStats{Blocks: n.streamed.blocks.Load(), Bytes: n.streamed.bytes.Load(), Duplicates: n.streamed.dups.Load()}
	if st, err := n.bitswap.Stat(); err == nil {
		out.Blocks += st.BlocksReceived
		out.Bytes += st.DataReceived
		out.Duplicates += st.DupBlksReceived
	}
	return out
}
