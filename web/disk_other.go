//go:build !unix

package web

// diskFree is the space left for the node's home, in bytes (0: unknown).
func diskFree(dir string) int64 { return 0 }
