//go:build !linux

package node

import "os"

// flatfsSync is whether flatfs fsyncs each block it writes. Without
// syncfs(2), flatfs syncs each block file and its directory itself, so
// that a block is durable once written: Go's File.Sync is the platform's
// full flush, FlushFileBuffers on Windows and fcntl(F_FULLFSYNC) on macOS
// (internal/poll), and flatfs skips the directory sync Windows refuses.
const flatfsSync = true

// syncFS has nothing left to do: flatfs synced every block as it wrote it.
func syncFS(*os.File) error { return nil }
