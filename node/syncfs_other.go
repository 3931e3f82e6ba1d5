//go:build !linux

package node

import "os"

// flatfsSync is whether flatfs fsyncs each block it writes. Without
// syncfs(2) (Windows: FlushFileBuffers, macOS: F_FULLFSYNC are per file),
// flatfs syncs each block file and its directory itself, so that a block
// is durable once written.
const flatfsSync = true

// syncFS has nothing left to do: flatfs synced every block as it wrote it.
func syncFS(*os.File) error { return nil }
