//go:build linux

package parser

import "syscall"

// processCPU is the CPU time (user + system) the whole process has used.
// Unlike wall time it does not grow while the process waits for a core, so
// it stays meaningful on a shared, loaded machine.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
