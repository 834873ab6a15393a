//go:build unix

package syslog

import (
	"syscall"
	"testing"
)

// needOpenFiles raises the soft RLIMIT_NOFILE to n if it is lower (and the
// hard limit too, which only root may), and skips the test if it cannot.
func needOpenFiles(t testing.TB, n uint64) {
	t.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("needs %d open files; cannot read RLIMIT_NOFILE: %v", n, err)
	}
	if uint64(rl.Cur) >= n {
		return
	}
	old := rl
	rl.Cur = n
	if uint64(rl.Max) < n {
		rl.Max = n
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("needs %d open files; RLIMIT_NOFILE is %d (hard %d) and cannot be raised: %v", n, old.Cur, old.Max, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}
