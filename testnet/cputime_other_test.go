//go:build !unix

package testnet

import "time"

// cpuTime is 0 where getrusage is missing (Windows): the simulation's CPU
// figures are then 0.
func cpuTime() time.Duration { return 0 }
