//go:build !linux

// Command soak is logshipper's chaos soak; it needs Linux (tmpfs mounts,
// /proc, SIGKILL of process groups). See README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "soak: runs on Linux only (it mounts tmpfs and reads /proc)")
	os.Exit(2)
}
