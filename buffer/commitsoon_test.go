package buffer

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/logshipper/logshipper/internal/diskio"
)

// syncedFiles is how many segment fsyncs c has counted.
func (c *syncCounter) syncedFiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files
}

// written reports whether everything appended is in the segment files
// (safe from a crash of the process) and whether it is fsynced.
func written(w *WAL) (inFiles, synced bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active.flushed == w.active.end, w.synced == w.appended
}

// CommitSoon writes at once and fsyncs after CommitDelay, once for every
// commit asked for meanwhile; WaitCommitted then has nothing left to do.
func TestCommitSoonFsyncsOnceAfterTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c syncCounter
		w := openT(t, Options{Dir: t.TempDir(), CommitDelay: 5 * time.Millisecond, syncFile: c.sync})
		appendT(t, w, events(0, 3)...)
		before := c.syncedFiles()
		start := time.Now()
		w.CommitSoon()
		if inFiles, synced := written(w); !inFiles || synced {
			t.Fatalf("after CommitSoon: in the files %v (want true), fsynced %v (want false)", inFiles, synced)
		}
		time.Sleep(4 * time.Millisecond)
		synctest.Wait()
		appendT(t, w, events(3, 5)...)
		m := w.CommitSoon() // shares the fsync already asked for
		if n := c.syncedFiles() - before; n != 0 {
			t.Fatalf("%d fsyncs before CommitDelay has passed", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := c.syncedFiles() - before; n != 1 {
			t.Fatalf("%d fsyncs once CommitDelay has passed, want 1 for both commits", n)
		}
		if err := w.WaitCommitted(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if _, synced := written(w); !synced || c.syncedFiles()-before != 1 || time.Since(start) != 5*time.Millisecond {
			t.Fatalf("WaitCommitted after the delayed fsync: fsynced %v, %d fsyncs, %v since CommitSoon", synced, c.syncedFiles()-before, time.Since(start))
		}
	})
}

// WaitCommitted does not wait for CommitSoon's timer: it fsyncs at once,
// and the timer then finds nothing to do.
func TestWaitCommittedFsyncsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c syncCounter
		w := openT(t, Options{Dir: t.TempDir(), syncFile: c.sync}) // DefaultCommitDelay
		appendT(t, w, events(0, 3)...)
		before := c.syncedFiles()
		start := time.Now()
		m := w.CommitSoon()
		if err := w.WaitCommitted(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if _, synced := written(w); !synced || c.syncedFiles()-before != 1 || time.Since(start) != 0 {
			t.Fatalf("WaitCommitted: fsynced %v, %d fsyncs, after %v", synced, c.syncedFiles()-before, time.Since(start))
		}
		time.Sleep(2 * DefaultCommitDelay)
		synctest.Wait()
		if n := c.syncedFiles() - before; n != 1 {
			t.Fatalf("%d fsyncs after the timer, want still 1", n)
		}
		// A mark already durable returns at once.
		if err := w.WaitCommitted(context.Background(), m); err != nil || c.syncedFiles()-before != 1 {
			t.Fatalf("WaitCommitted again: %v, %d fsyncs", err, c.syncedFiles()-before)
		}
	})
}

// Under FsyncNever a commit is a write: CommitSoon does it and asks for no
// fsync.
func TestCommitSoonWithoutFsync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c syncCounter
		w := openT(t, Options{Dir: t.TempDir(), Fsync: FsyncNever, syncFile: c.sync})
		appendT(t, w, events(0, 3)...)
		m := w.CommitSoon()
		if inFiles, synced := written(w); !inFiles || !synced {
			t.Fatalf("after CommitSoon: in the files %v, committed %v; want both", inFiles, synced)
		}
		if err := w.WaitCommitted(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * DefaultCommitDelay)
		synctest.Wait()
		if n := c.syncedFiles(); n != 0 {
			t.Fatalf("%d segment fsyncs under FsyncNever", n)
		}
	})
}

// Close with a CommitSoon pending fsyncs what was appended itself; the
// timer then does nothing, and WaitCommitted answers.
func TestCloseWithCommitSoonPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c syncCounter
		dir := t.TempDir()
		w, err := Open(Options{Dir: dir, syncFile: c.sync})
		if err != nil {
			t.Fatal(err)
		}
		appendT(t, w, events(0, 3)...)
		m := w.CommitSoon()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		after := c.syncedFiles()
		time.Sleep(2 * DefaultCommitDelay)
		synctest.Wait()
		if c.syncedFiles() != after {
			t.Fatalf("the timer fsynced after Close")
		}
		if err := w.WaitCommitted(context.Background(), m); err != nil && !errors.Is(err, ErrClosed) {
			t.Fatalf("WaitCommitted after Close: %v", err)
		}
		w2 := openT(t, Options{Dir: dir})
		if got := readN(t, w2, 3, 10); len(got) != 3 {
			t.Fatalf("read %d events after Close and Open, want 3", len(got))
		}
	})
}

// On a failing disk CommitSoon's fsync does not claim durability:
// WaitCommitted waits until the disk works again.
func TestWaitCommittedWaitsOutAFailingFsync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, fsys, _ := faultyWAL(t, Options{})
		heal := fsys.Fail(diskio.OpSync, segSuffix, syscall.EIO)
		appendT(t, w, events(0, 3)...)
		m := w.CommitSoon()
		time.Sleep(2 * DefaultCommitDelay)
		synctest.Wait()
		if faultKind(w.Fault()) != diskio.KindIO {
			t.Fatalf("Fault() = %v after the delayed fsync failed", w.Fault())
		}
		waited := make(chan error, 1)
		go func() { waited <- w.WaitCommitted(context.Background(), m) }()
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("WaitCommitted returned %v while fsync fails", err)
		default:
		}
		heal()
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		if _, synced := written(w); !synced {
			t.Fatal("WaitCommitted returned before the events were fsynced")
		}
	})
}
