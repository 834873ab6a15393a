//go:build unix

package elasticsearch

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used: on a
// busy 2-core box it measures cost where wall time measures contention.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
