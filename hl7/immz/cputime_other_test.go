//go:build !unix

package immz

import "time"

// processCPU is unavailable here; CPU metrics are then not reported.
func processCPU() time.Duration { return 0 }
