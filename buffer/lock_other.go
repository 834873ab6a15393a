//go:build !unix

package buffer

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir only creates Dir/lock where flock is not available: the caller
// must make sure that one process at a time opens a directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("buffer.path: %w", err)
	}
	return f, nil
}

func unlockDir(f *os.File) { f.Close() }
