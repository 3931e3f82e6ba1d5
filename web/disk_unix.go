//go:build unix

package web

import "golang.org/x/sys/unix"

// diskFree is the space left for the node's home, in bytes (0: unknown).
func diskFree(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
