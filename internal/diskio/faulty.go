package diskio

import (
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
)

// Op is a file-system operation Faulty can fail.
type Op string

const (
	OpOpen     Op = "open"   // OpenFile without O_CREATE
	OpCreate   Op = "create" // OpenFile with O_CREATE
	OpRead     Op = "read"   // Read, ReadAt
	OpWrite    Op = "write"  // Write, WriteAt
	OpSync     Op = "sync"
	OpTruncate Op = "truncate"
	OpRemove   Op = "remove"
	OpRename   Op = "rename"
	OpMkdir    Op = "mkdir"
	OpReadDir  Op = "readdir"
	OpStat     Op = "stat" // FS.Stat and File.Stat
)

// Faulty is an FS for tests that fails operations the way a sick disk
// does: Fail makes chosen operations on chosen paths return an error until
// healed, and SetSpace gives the files written through it a capacity,
// beyond which writes are cut short with ENOSPC, as on a full file system.
// Removing or truncating a file frees its space at once (a real file
// system frees an unlinked file's space only when its last descriptor is
// closed). It is safe for concurrent use.
type Faulty struct {
	base FS

	mu    sync.Mutex
	rules map[int]faultRule
	next  int
	space int64            // capacity in bytes; < 0: unlimited
	used  int64            // bytes of the files in sizes
	sizes map[string]int64 // sizes of the files opened through Faulty
	calls map[Op]int
}

type faultRule struct {
	op   Op
	path string // substring of the path
	err  error
}

// NewFaulty wraps base with no faults and unlimited space.
func NewFaulty(base FS) *Faulty {
	return &Faulty{base: base, rules: map[int]faultRule{}, space: -1, sizes: map[string]int64{}, calls: map[Op]int{}}
}

// Fail makes every op on a path containing pathContains ("" for any path)
// fail with err (e.g. syscall.EIO, syscall.EROFS), wrapped in an
// *fs.PathError, until heal is called.
func (f *Faulty) Fail(op Op, pathContains string, err error) (heal func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.next
	f.next++
	f.rules[id] = faultRule{op, pathContains, err}
	return func() {
		f.mu.Lock()
		delete(f.rules, id)
		f.mu.Unlock()
	}
}

// SetSpace sets the capacity of the files written through f; < 0 means
// unlimited. Lowering it below Used makes every write that grows a file
// fail with ENOSPC.
func (f *Faulty) SetSpace(bytes int64) {
	f.mu.Lock()
	f.space = bytes
	f.mu.Unlock()
}

// Used is the bytes of the files f knows of.
func (f *Faulty) Used() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}

// Calls is how many times op was attempted.
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// check counts the call and returns the injected error for op on path.
func (f *Faulty) check(op Op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	for _, r := range f.rules {
		if r.op == op && strings.Contains(path, r.path) {
			return &fs.PathError{Op: string(op), Path: path, Err: r.err}
		}
	}
	return nil
}

func (f *Faulty) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	op := OpOpen
	if flag&os.O_CREATE != 0 {
		op = OpCreate
	}
	if err := f.check(op, name); err != nil {
		return nil, err
	}
	file, err := f.base.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sizes[name]; !ok || flag&os.O_TRUNC != 0 {
		var size int64
		if fi, err := file.Stat(); err == nil {
			size = fi.Size()
		}
		f.used += size - f.sizes[name]
		f.sizes[name] = size
	}
	return &faultyFile{fs: f, f: file, path: name, append: flag&os.O_APPEND != 0}, nil
}

func (f *Faulty) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	if err := f.base.Remove(name); err != nil {
		return err
	}
	f.mu.Lock()
	f.used -= f.sizes[name]
	delete(f.sizes, name)
	f.mu.Unlock()
	return nil
}

func (f *Faulty) Rename(oldpath, newpath string) error {
	if err := f.check(OpRename, oldpath); err != nil {
		return err
	}
	if err := f.base.Rename(oldpath, newpath); err != nil {
		return err
	}
	f.mu.Lock()
	if size, ok := f.sizes[oldpath]; ok {
		f.used -= f.sizes[newpath]
		f.sizes[newpath] = size
		delete(f.sizes, oldpath)
	}
	f.mu.Unlock()
	return nil
}

func (f *Faulty) MkdirAll(path string, perm fs.FileMode) error {
	if err := f.check(OpMkdir, path); err != nil {
		return err
	}
	return f.base.MkdirAll(path, perm)
}

func (f *Faulty) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.check(OpReadDir, name); err != nil {
		return nil, err
	}
	return f.base.ReadDir(name)
}

func (f *Faulty) Stat(name string) (fs.FileInfo, error) {
	if err := f.check(OpStat, name); err != nil {
		return nil, err
	}
	return f.base.Stat(name)
}

// reserve grants up to n bytes of growth for a write to path ending at
// end, and returns how many bytes of the write may go through.
func (f *Faulty) reserve(path string, off int64, n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	size := f.sizes[path]
	end := off + int64(n)
	if end <= size {
		return n
	}
	grow := end - size
	if f.space >= 0 && f.used+grow > f.space {
		grow = max(0, f.space-f.used)
	}
	f.used += grow
	f.sizes[path] = size + grow
	return int(min(int64(n), max(0, size+grow-off)))
}

type faultyFile struct {
	fs     *Faulty
	f      File
	path   string
	append bool
	pos    int64 // file offset of Read and Write (not O_APPEND)
}

func (h *faultyFile) Name() string { return h.f.Name() }
func (h *faultyFile) Close() error { return h.f.Close() }

func (h *faultyFile) Read(p []byte) (int, error) {
	if err := h.fs.check(OpRead, h.path); err != nil {
		return 0, err
	}
	n, err := h.f.Read(p)
	h.pos += int64(n)
	return n, err
}

func (h *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	if err := h.fs.check(OpRead, h.path); err != nil {
		return 0, err
	}
	return h.f.ReadAt(p, off)
}

func (h *faultyFile) Write(p []byte) (int, error) {
	if err := h.fs.check(OpWrite, h.path); err != nil {
		return 0, err
	}
	off := h.pos
	if h.append {
		h.fs.mu.Lock()
		off = h.fs.sizes[h.path]
		h.fs.mu.Unlock()
	}
	allowed := h.fs.reserve(h.path, off, len(p))
	n, err := h.f.Write(p[:allowed])
	h.pos += int64(n)
	if err == nil && allowed < len(p) {
		err = &fs.PathError{Op: "write", Path: h.path, Err: syscall.ENOSPC}
	}
	return n, err
}

func (h *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	if err := h.fs.check(OpWrite, h.path); err != nil {
		return 0, err
	}
	allowed := h.fs.reserve(h.path, off, len(p))
	n, err := h.f.WriteAt(p[:allowed], off)
	if err == nil && allowed < len(p) {
		err = &fs.PathError{Op: "write", Path: h.path, Err: syscall.ENOSPC}
	}
	return n, err
}

func (h *faultyFile) Sync() error {
	if err := h.fs.check(OpSync, h.path); err != nil {
		return err
	}
	return h.f.Sync()
}

func (h *faultyFile) Truncate(size int64) error {
	if err := h.fs.check(OpTruncate, h.path); err != nil {
		return err
	}
	if err := h.f.Truncate(size); err != nil {
		return err
	}
	h.fs.mu.Lock()
	if old := h.fs.sizes[h.path]; size < old {
		h.fs.used -= old - size
		h.fs.sizes[h.path] = size
	}
	h.fs.mu.Unlock()
	return nil
}

func (h *faultyFile) Stat() (fs.FileInfo, error) {
	if err := h.fs.check(OpStat, h.path); err != nil {
		return nil, err
	}
	return h.f.Stat()
}
