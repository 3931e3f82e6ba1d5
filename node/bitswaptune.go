package node

import (
	"time"

	"github.com/ipfs/boxo/bitswap"
)

// bitswapTuning are bitswap's options for a small machine that serves a
// few members: fewer workers than the defaults (sized for a large Kubo
// node), enough bytes in flight per peer that a fetch of 1 MiB leaves is
// not held by round trips (fetch.go asks for 256 blocks at once), no
// provider search (blocks are asked of connected peers only).
func bitswapTuning() []bitswap.Option {
	return []bitswap.Option{
		bitswap.EngineBlockstoreWorkerCount(32),
		bitswap.TaskWorkerCount(8),
		bitswap.MaxOutstandingBytesPerPeer(16 << 20),
		bitswap.WithTargetMessageSize(1 << 20),
		bitswap.ProviderSearchDelay(100 * time.Millisecond),
	}
}
