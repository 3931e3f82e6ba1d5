package node

import (
	"os"

	"golang.org/x/sys/unix"
)

// flatfsSync is whether flatfs fsyncs each block it writes. On Linux it
// does not: syncBlocks makes a whole batch durable with one syncfs(2).
const flatfsSync = false

// syncFS makes every file written so far on the file system of d durable.
func syncFS(d *os.File) error { return unix.Syncfs(int(d.Fd())) }
