// Package diskio is the file-system seam of everything logshipper writes
// to disk (the disk buffer, the dead-letter file): the few operations they
// use, behind an interface, so that tests can make any of them fail the way
// a full, read-only or broken disk does (Faulty), and Classify, which names
// what went wrong in words an operator acts on.
package diskio

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FS is the file-system operations the writers use.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Remove(name string) error
	Rename(oldpath, newpath string) error
	MkdirAll(path string, perm fs.FileMode) error
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
}

// File is an open file (*os.File satisfies it).
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Name() string
	Close() error
}

// OS is the real file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return f, nil
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) Stat(name string) (fs.FileInfo, error)        { return os.Stat(name) }

// Kind names a disk fault the way an operator acts on it; the values are
// also metric labels.
type Kind string

const (
	// KindFull: no space left (ENOSPC) or over a quota (EDQUOT). Clears when
	// space is freed.
	KindFull Kind = "disk_full"
	// KindReadOnly: the file system is read-only (EROFS), e.g. remounted
	// after an error. Clears when it is writable again or a repaired file
	// system is mounted in its place.
	KindReadOnly Kind = "read_only"
	// KindMissing: a directory or file was deleted or replaced under the
	// running process.
	KindMissing Kind = "missing"
	// KindIO: anything else (EIO, EACCES, ...): the disk or its
	// permissions need a look.
	KindIO Kind = "io_error"
)

// Kinds lists every Kind, for pre-creating metric labels.
var Kinds = []Kind{KindFull, KindReadOnly, KindMissing, KindIO}

// Classify names the fault behind err.
func Classify(err error) Kind {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return KindFull
	case errors.Is(err, syscall.EROFS):
		return KindReadOnly
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return KindMissing
	}
	return KindIO
}
