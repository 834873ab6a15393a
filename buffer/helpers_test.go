package buffer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/diskio"
)

var testBase = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testEvent is event number i, with every input field varying.
func testEvent(i int) *event.Event {
	return &event.Event{
		Received:  testBase.Add(time.Duration(i) * time.Millisecond),
		Transport: []string{"tcp", "udp"}[i%2],
		SourceIP:  fmt.Sprintf("10.0.%d.%d", i/256%256, i%256),
		Raw:       fmt.Appendf(nil, "<13>Mar  1 12:00:00 host app[1]: message %06d", i),
		Truncated: i%7 == 0,
	}
}

func events(from, to int) []*event.Event {
	var evs []*event.Event
	for i := from; i < to; i++ {
		evs = append(evs, testEvent(i))
	}
	return evs
}

// sameInput reports how got differs from want in the input fields, and
// whether parser fields are set.
func sameInput(want, got *event.Event) string {
	switch {
	case !want.Received.Equal(got.Received) || want.Received.IsZero() != got.Received.IsZero():
		return fmt.Sprintf("Received %v, want %v", got.Received, want.Received)
	case want.Transport != got.Transport:
		return fmt.Sprintf("Transport %q, want %q", got.Transport, want.Transport)
	case want.SourceIP != got.SourceIP:
		return fmt.Sprintf("SourceIP %q, want %q", got.SourceIP, want.SourceIP)
	case want.ProxyIP != got.ProxyIP:
		return fmt.Sprintf("ProxyIP %q, want %q", got.ProxyIP, want.ProxyIP)
	case !bytes.Equal(want.Raw, got.Raw):
		return fmt.Sprintf("Raw %q, want %q", got.Raw, want.Raw)
	case want.Truncated != got.Truncated:
		return fmt.Sprintf("Truncated %v, want %v", got.Truncated, want.Truncated)
	case got.Format != 0 || got.Priority != 0 || got.Message != "" || got.Hostname != "" || got.ParseFailed || got.StructuredData != nil:
		return "parser fields set"
	}
	return ""
}

func openT(t testing.TB, opts Options) *WAL {
	t.Helper()
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func appendT(t testing.TB, w *WAL, evs ...*event.Event) {
	t.Helper()
	if err := w.Append(context.Background(), evs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func commitT(t testing.TB, w *WAL) {
	t.Helper()
	if err := w.Commit(context.Background()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// readN reads exactly n entries (in calls of at most batch).
func readN(t testing.TB, w *WAL, n, batch int) []Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var all []Entry
	for len(all) < n {
		es, err := w.Read(ctx, min(batch, n-len(all)))
		if err != nil {
			t.Fatalf("Read after %d of %d entries: %v", len(all), n, err)
		}
		all = append(all, es...)
	}
	return all
}

// drain reads until io.EOF; the WAL must be closed.
func drain(t testing.TB, w *WAL) []Entry {
	t.Helper()
	var all []Entry
	for {
		es, err := w.Read(context.Background(), 7)
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		all = append(all, es...)
	}
}

// reopenAll closes w, opens dir again, closes it and returns every record
// it holds, and what Open reported.
func reopenAll(t testing.TB, opts Options) ([]Entry, Recovery) {
	t.Helper()
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rec := w.Recovery()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return drain(t, w), rec
}

// rawsOf lists the Raw of each entry as strings.
func rawsOf(es []Entry) []string {
	var s []string
	for _, e := range es {
		s = append(s, string(e.Event.Raw))
	}
	return s
}

func rawsOfEvents(evs []*event.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Raw))
	}
	return s
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), segSuffix) {
			names = append(names, de.Name())
		}
	}
	slices.Sort(names)
	return names
}

// copyDir copies the files of src into a new directory, as a crash would
// leave them (the WAL in src stays open).
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// syncCounter replaces fsync in tests and counts the calls by kind.
type syncCounter struct {
	mu                sync.Mutex
	files, dirs, acks int
}

func (c *syncCounter) sync(f diskio.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case fi.IsDir():
		c.dirs++
	case strings.HasSuffix(f.Name(), segSuffix):
		c.files++
	default:
		c.acks++
	}
	return nil
}

func (c *syncCounter) counts() (files, dirs, acks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files, c.dirs, c.acks
}
