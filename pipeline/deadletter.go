package pipeline

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/diskio"
)

// FileDeadLetter appends rejected events to a file, one JSON object per
// line: {"time":…,"index":…,"error":…,"document":{…}}. The file can be
// replayed with a bulk request once the cause (usually a mapping) is fixed.
//
// A write either adds one whole line or nothing: a short write (disk full)
// or a failed fsync is cut off again, so the file stays valid NDJSON and
// the pipeline can retry. A file deleted or replaced since it was opened
// (rotated by hand, its directory removed) is opened again at the path
// before the write, so no record goes to a file nobody will find.
type FileDeadLetter struct {
	path string
	now  func() time.Time
	fs   diskio.FS

	mu    sync.Mutex
	f     diskio.File // nil after a failed reopen
	info  fs.FileInfo // the file f is, to notice a replaced one
	size  int64       // bytes of whole lines in f
	fault error       // the last write's failure; nil once one works
}

// NewFileDeadLetter checks that path can be created and appended to, so a
// bad path stops the start instead of surfacing at the first rejection.
func NewFileDeadLetter(path string, now func() time.Time) (*FileDeadLetter, error) {
	return newFileDeadLetter(path, now, diskio.OS)
}

func newFileDeadLetter(path string, now func() time.Time, fsys diskio.FS) (*FileDeadLetter, error) {
	if path == "" {
		return nil, fmt.Errorf("dead_letter.path: empty; give a file path such as /var/lib/logshipper/dead-letter.ndjson")
	}
	if now == nil {
		now = time.Now
	}
	d := &FileDeadLetter{path: path, now: now, fs: fsys}
	if err := d.open(); err != nil {
		return nil, fmt.Errorf("dead_letter.path: %q: %v", path, err)
	}
	return d, nil
}

// open (re)opens the file at d.path for appending. Called with d.mu held
// (or before d is shared).
func (d *FileDeadLetter) open() error {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	if err := d.fs.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
		return fmt.Errorf("cannot create its directory: %w", err)
	}
	f, err := d.fs.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("cannot open for appending: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	d.f, d.info, d.size = f, fi, fi.Size()
	return nil
}

// current reports whether d.f is still the file at d.path.
func (d *FileDeadLetter) current() bool {
	if d.f == nil {
		return false
	}
	fi, err := d.fs.Stat(d.path)
	return err == nil && os.SameFile(fi, d.info)
}

type deadLetterRecord struct {
	Time     string          `json:"time"`
	Index    string          `json:"index"`
	Error    string          `json:"error"`
	Document json.RawMessage `json:"document"`
}

// Write appends one record and fsyncs it: a rejected event exists nowhere
// else once its batch is acknowledged, and rejections are rare. On failure
// nothing of the record stays in the file, and the error says what failed;
// Fault reports it until a write succeeds.
func (d *FileDeadLetter) Write(index string, document json.RawMessage, reason string) error {
	if !json.Valid(document) {
		// Keep the record readable: a document the output could not even
		// encode is stored as a JSON string.
		quoted, _ := json.Marshal(string(document))
		document = quoted
	}
	line, err := json.Marshal(deadLetterRecord{
		Time:     d.now().UTC().Format(time.RFC3339Nano),
		Index:    index,
		Error:    reason,
		Document: document,
	})
	if err != nil {
		return err
	}
	line = append(line, '\n')
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fault = d.write(line)
	return d.fault
}

func (d *FileDeadLetter) write(line []byte) error {
	if !d.current() {
		if err := d.open(); err != nil {
			return fmt.Errorf("dead-letter file %q: %w", d.path, err)
		}
	}
	_, err := d.f.Write(line)
	if err == nil {
		err = d.f.Sync()
	}
	if err != nil {
		// Cut off what part of the line reached the file; truncating needs
		// no space. After a failed fsync the whole line is written again.
		d.f.Truncate(d.size)
		return fmt.Errorf("dead-letter file %q: %w", d.path, err)
	}
	d.size += int64(len(line))
	return nil
}

// Fault is the last write's failure, nil once a write has succeeded.
func (d *FileDeadLetter) Fault() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault
}

// Close closes the file.
func (d *FileDeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
