// Package diskspace tells how full the disk that holds a folder is.
package diskspace

// Usage is the size of the file system that holds a folder, and what is
// left of it for an unprivileged user.
type Usage struct {
	Total uint64 // bytes
	Free  uint64 // bytes available
}

// Percent is how full the disk is, 0 to 100.
func (u Usage) Percent() int {
	if u.Total == 0 {
		return 0
	}
	return int((u.Total - min(u.Free, u.Total)) * 100 / u.Total)
}

// FullAt is the percentage from which the disk is reported as nearly full.
const FullAt = 80
