package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileDeadLetter appends rejected events to a file, one JSON object per
// line: {"time":…,"index":…,"error":…,"document":{…}}. The file can be
// replayed with a bulk request once the cause (usually a mapping) is fixed.
type FileDeadLetter struct {
	path string
	now  func() time.Time

	mu sync.Mutex
	f  *os.File
}

// NewFileDeadLetter checks that path can be created and appended to, so a
// bad path stops the start instead of surfacing at the first rejection.
func NewFileDeadLetter(path string, now func() time.Time) (*FileDeadLetter, error) {
	if path == "" {
		return nil, fmt.Errorf("dead_letter.path: empty; give a file path such as /var/lib/logshipper/dead-letter.ndjson")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("dead_letter.path: %q: cannot create its directory: %v", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("dead_letter.path: %q: cannot open for appending: %v", path, err)
	}
	if now == nil {
		now = time.Now
	}
	return &FileDeadLetter{path: path, now: now, f: f}, nil
}

type deadLetterRecord struct {
	Time     string          `json:"time"`
	Index    string          `json:"index"`
	Error    string          `json:"error"`
	Document json.RawMessage `json:"document"`
}

// Write appends one record. It is called only on rejections, which are
// rare, so each record is written and synced on its own: a rejected event
// exists nowhere else once the batch is acknowledged.
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
	if _, err := d.f.Write(line); err != nil {
		return fmt.Errorf("dead-letter file %q: %w", d.path, err)
	}
	return d.f.Sync()
}

// Close closes the file.
func (d *FileDeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.f.Close()
}
