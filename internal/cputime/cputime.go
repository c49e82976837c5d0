// Package cputime reads the CPU time this process has used, for
// benchmarks that report CPU per operation: unlike wall-clock rates it
// does not depend on what else the machine runs.
package cputime

import "time"

// Process returns the user plus system CPU time used by this process so
// far, or 0 where the platform does not tell.
func Process() time.Duration { return process() }
