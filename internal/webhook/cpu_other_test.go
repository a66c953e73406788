//go:build !unix

package webhook

import "time"

// cpuTime is not measured here: it returns 0.
func cpuTime() time.Duration { return 0 }
