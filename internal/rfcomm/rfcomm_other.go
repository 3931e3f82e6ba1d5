//go:build !linux

package rfcomm

// System returns nil: baluchon speaks RFCOMM itself on Linux only (on
// other systems, join by Bluetooth PAN or tethering, an IP link).
func System() Sockets { return nil }
