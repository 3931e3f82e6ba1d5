package node

// TransferStats counts the blocks this node received by bitswap since it
// started: a transfer cut and resumed must not fetch a block twice
// (Duplicates stays 0).
type TransferStats struct {
	Blocks     uint64 `json:"blocks_received"`
	Bytes      uint64 `json:"bytes_received"`
	Duplicates uint64 `json:"duplicate_blocks"`
}

// TransferStats returns the node's block counts.
func (n *Node) TransferStats() TransferStats {
	st, err := n.bitswap.Stat()
	if err != nil {
		return TransferStats{}
	}
	return TransferStats{Blocks: st.BlocksReceived, Bytes: st.DataReceived, Duplicates: st.DupBlksReceived}
}
