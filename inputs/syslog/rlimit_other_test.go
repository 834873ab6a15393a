//go:build !unix

package syslog

import "testing"

func needOpenFiles(t testing.TB, n uint64) {
	t.Skipf("needs %d open files; raising the limit is implemented for Unix only", n)
}
