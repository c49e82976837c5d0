//go:build !unix

package forecast_test

import "time"

// processCPU is unavailable here; CPU metrics are then not reported.
func processCPU() time.Duration { return 0 }
