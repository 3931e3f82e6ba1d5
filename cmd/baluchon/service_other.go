//go:build !linux

package main

// defaultServiceUser is empty: the service runs as the system's service
// account (Windows: LocalSystem; macOS: root, under launchd).
const defaultServiceUser = ""

func ensureServiceUser(name, home string) error { return nil }
