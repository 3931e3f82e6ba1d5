package node

import (
	"time"

	"github.com/ipfs/boxo/bitswap"
)

// bitswapTuning are bitswap's options for a small machine that serves a
// few members: fewer workers than the defaults (sized for a large Kubo
// node), 4 MiB in flight per peer (four 1 MiB leaves; 16 MiB and twice
// the workers fetched no faster on loopback, where the block store's
// writes bound a fetch), no provider search (blocks are asked of
// connected peers only).
func bitswapTuning() []bitswap.Option {
	return []bitswap.Option{
		bitswap.EngineBlockstoreWorkerCount(16),
		bitswap.TaskWorkerCount(4),
		bitswap.MaxOutstandingBytesPerPeer(4 << 20),
		bitswap.WithTargetMessageSize(1 << 20),
		bitswap.ProviderSearchDelay(100 * time.Millisecond),
	}
}
