//go:build unix

package main

import "syscall"

// fsSpace returns the size of the file system holding path and the bytes
// an unprivileged writer may still use on it.
func fsSpace(path string) (size, avail int64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, false
	}
	return int64(st.Blocks) * int64(st.Bsize), int64(st.Bavail) * int64(st.Bsize), true
}
