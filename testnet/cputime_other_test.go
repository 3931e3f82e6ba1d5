//go:build !unix

package testnet

import "time"

// cpuTime is not measured where there is no getrusage: the simulation
// prints zero CPU.
func cpuTime() time.Duration { return 0 }
