package buffer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/logshipper/logshipper/internal/diskio"
)

// faultLog records what the WAL reported through Options.OnFault.
type faultLog struct {
	mu   sync.Mutex
	seen []error
}

func (l *faultLog) add(err error) {
	l.mu.Lock()
	l.seen = append(l.seen, err)
	l.mu.Unlock()
}

// kinds lists the reports as fault kinds, "ok" for a recovery.
func (l *faultLog) kinds() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, err := range l.seen {
		var fe *FaultError
		if errors.As(err, &fe) {
			out = append(out, string(fe.Kind))
		} else {
			out = append(out, "ok")
		}
	}
	return strings.Join(out, ",")
}

// faultyWAL opens a WAL on a fault-injecting file system.
func faultyWAL(t *testing.T, opts Options) (*WAL, *diskio.Faulty, *faultLog) {
	t.Helper()
	fsys := diskio.NewFaulty(diskio.OS)
	log := &faultLog{}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.FS, opts.OnFault = fsys, log.add
	return openT(t, opts), fsys, log
}

func faultKind(err error) diskio.Kind {
	var fe *FaultError
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return ""
}

// appendAll appends testEvent(from) … testEvent(to-1) one at a time in a
// goroutine of its own, committing after every commitEvery-th as an input
// does, and counts them in appended (if not nil). The channel gets its
// error, or nil once all are in.
func appendAll(w *WAL, from, to, commitEvery int, appended *atomic.Int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := from; i < to; i++ {
			if err := w.Append(ctx, testEvent(i)); err != nil {
				done <- err
				return
			}
			if (i-from)%commitEvery == 0 {
				if err := w.Commit(ctx); err != nil {
					done <- err
					return
				}
			}
			if appended != nil {
				appended.Add(1)
			}
		}
		done <- nil
	}()
	return done
}

// deliver reads n records in batches and acknowledges each batch, as the
// pipeline does.
func deliver(t *testing.T, w *WAL, n int) []Entry {
	t.Helper()
	var got []Entry
	for len(got) < n {
		es, err := w.Read(context.Background(), min(50, n-len(got)))
		if err != nil {
			t.Fatalf("Read after %d of %d: %v", len(got), n, err)
		}
		if err := w.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		got = append(got, es...)
	}
	return got
}

// checkSequence asserts that got holds testEvent(from) … testEvent(to-1)
// once each, in order, with distinct IDs.
func checkSequence(t *testing.T, got []Entry, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("%d records, want %d", len(got), to-from)
	}
	ids := map[string]bool{}
	for i, e := range got {
		if d := sameInput(testEvent(from+i), e.Event); d != "" {
			t.Fatalf("record %d: %s", i, d)
		}
		if ids[e.ID] {
			t.Fatalf("record %d: ID %s given twice", i, e.ID)
		}
		ids[e.ID] = true
	}
}

// A full disk: the appender waits (it is not refused, and nothing is
// lost), TryAppend fails with disk_full, and delivering what is on disk
// frees the space, after which the WAL goes on by itself, without a
// restart. The segment being filled when the disk ran full is sealed, so
// that it can be deleted.
func TestDiskFullIsBackPressureAndClearsByItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, fsys, log := faultyWAL(t, Options{SegmentBytes: 64 << 10})
		fsys.SetSpace(fsys.Used() + 16<<10) // the ack file is preallocated; 16 KiB for segments
		const n = 2000                      // ~160 KB
		var appended atomic.Int64
		done := appendAll(w, 0, n, 1, &appended)
		synctest.Wait()
		if a := appended.Load(); a == 0 || a >= n {
			t.Fatalf("%d events appended before the disk was full", a)
		}
		if k := faultKind(w.Fault()); k != diskio.KindFull {
			t.Fatalf("Fault() = %v", w.Fault())
		}
		if err := w.TryAppend(testEvent(n)); faultKind(err) != diskio.KindFull || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("TryAppend on a full disk: %v", err)
		}
		got := deliver(t, w, n)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		checkSequence(t, got, 0, n)
		if w.Fault() != nil || w.Lost() != 0 {
			t.Fatalf("after delivering everything: fault %v, lost %d", w.Fault(), w.Lost())
		}
		if k := log.kinds(); !strings.HasPrefix(k, "disk_full") || !strings.HasSuffix(k, "ok") {
			t.Errorf("OnFault reports %q, want disk_full ... ok", k)
		}
		if files := segFiles(t, w.dir); len(files) > 2 {
			t.Errorf("delivered segments not deleted: %v", files)
		}
	})
}

// A failed fsync: Commit waits rather than claim durability, the records
// are written again from memory once the disk works, and they keep their
// positions and IDs (a reader may already have delivered them).
func TestFailedFsyncIsWrittenAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, fsys, log := faultyWAL(t, Options{})
		appendT(t, w, events(0, 10)...)
		commitT(t, w)
		heal := fsys.Fail(diskio.OpSync, segSuffix, syscall.EIO)
		appendT(t, w, events(10, 20)...)
		committed := make(chan error, 1)
		go func() { committed <- w.Commit(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-committed:
			t.Fatalf("Commit returned %v while fsync fails", err)
		default:
		}
		if err := w.Fault(); faultKind(err) != diskio.KindIO || !strings.Contains(err.Error(), "fsync") {
			t.Fatalf("Fault() = %v", err)
		}
		if err := w.TryAppend(testEvent(99)); faultKind(err) != diskio.KindIO {
			t.Fatalf("TryAppend: %v", err)
		}
		early := readN(t, w, 20, 20) // written, if not durable: readable
		writes := fsys.Calls(diskio.OpWrite)
		heal()
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		if fsys.Calls(diskio.OpWrite) == writes {
			t.Error("the records were not written again after the failed fsync")
		}
		appendT(t, w, events(20, 30)...)
		commitT(t, w)
		if k := log.kinds(); k != "io_error,ok" {
			t.Errorf("OnFault reports %q", k)
		}
		w.Close()
		all, _ := reopenAll(t, Options{Dir: w.dir})
		checkSequence(t, all, 0, 30)
		for i := range early {
			if all[i].ID != early[i].ID {
				t.Fatalf("record %d: ID %s after the rewrite, %s before", i, all[i].ID, early[i].ID)
			}
		}
	})
}

// Writes refused (read-only file system, failed creation of a segment
// file): each is a fault of its kind, and the WAL goes on when it clears.
func TestRefusedWritesClear(t *testing.T) {
	for _, tc := range []struct {
		op   diskio.Op
		err  error
		kind diskio.Kind
	}{
		{diskio.OpWrite, syscall.EROFS, diskio.KindReadOnly},
		{diskio.OpCreate, syscall.ENOSPC, diskio.KindFull},
		{diskio.OpWrite, syscall.EIO, diskio.KindIO},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.op, tc.err), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, fsys, _ := faultyWAL(t, Options{SegmentBytes: 1000})
				appendT(t, w, events(0, 5)...)
				commitT(t, w)
				heal := fsys.Fail(tc.op, segSuffix, tc.err)
				done := appendAll(w, 5, 40, 1, nil)
				synctest.Wait()
				if k := faultKind(w.Fault()); k != tc.kind {
					t.Fatalf("Fault() = %v, want kind %s", w.Fault(), tc.kind)
				}
				heal()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				checkSequence(t, deliver(t, w, 40), 0, 40)
				if w.Fault() != nil {
					t.Fatalf("Fault() = %v after healing", w.Fault())
				}
			})
		})
	}
}

// Acknowledging needs no free space: on a completely full disk acks are
// written (in place, into the preallocated file) and delivered segments
// deleted. An ack file that cannot be written at all is reported, the
// segments are deleted all the same, appends go on, and the monitor writes
// it once it can.
func TestAcknowledgingNeedsNoSpace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, fsys, log := faultyWAL(t, Options{SegmentBytes: 2000})
		for _, ev := range events(0, 100) {
			appendT(t, w, ev) // a group is never split: one at a time fills several segments
		}
		commitT(t, w)
		es := readN(t, w, 100, 100)
		segs := len(segFiles(t, w.dir))
		fsys.SetSpace(0) // not one byte more
		for i := 0; i < 40; i += 10 {
			if err := w.Ack(es[i].Pos, es[i+9].Pos); err != nil {
				t.Fatalf("Ack on a full disk: %v", err)
			}
		}
		if after := len(segFiles(t, w.dir)); after >= segs {
			t.Fatalf("%d segments before, %d after acknowledging 40 records", segs, after)
		}
		fsys.SetSpace(-1)

		// ENOSPC even in place, as on a copy-on-write file system.
		heal := fsys.Fail(diskio.OpWrite, string(filepath.Separator)+ackName, syscall.ENOSPC)
		before := len(segFiles(t, w.dir))
		if err := w.Ack(es[40].Pos, es[79].Pos); err == nil {
			t.Fatal("Ack with a broken ack file returned nil")
		}
		if after := len(segFiles(t, w.dir)); after >= before {
			t.Errorf("segments not deleted while the ack file fails: %d before, %d after", before, after)
		}
		if err := w.Fault(); err == nil || !strings.Contains(err.Error(), "write ack") {
			t.Fatalf("Fault() = %v", err)
		}
		appendT(t, w, testEvent(100)) // appends go on
		commitT(t, w)
		heal()
		time.Sleep(2 * retryMax) // the monitor's retries, on the bubble's clock
		synctest.Wait()
		if err := w.Fault(); err != nil {
			t.Fatalf("Fault() = %v after healing", err)
		}
		if k := log.kinds(); k != "disk_full,ok" {
			t.Errorf("OnFault reports %q", k)
		}
		w.Close()
		rest, rec := reopenAll(t, Options{Dir: w.dir})
		if rec.Corrupt != 0 || len(rest) != 21 || rest[0].ID != es[80].ID {
			t.Fatalf("after a restart %d records (%+v), want 80..100", len(rest), rec)
		}
	})
}

// The directory deleted, or replaced (a repaired file system mounted in
// its place), under the running WAL: it writes its files there again from
// the ones it holds open, the records keep their IDs, and it goes on.
func TestDirectoryDeletedOrReplacedIsRestored(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(map[bool]string{false: "deleted", true: "replaced"}[replace], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &faultLog{}
				dir := filepath.Join(t.TempDir(), "buffer")
				w := openT(t, Options{Dir: dir, SegmentBytes: 2000, OnFault: log.add})
				appendT(t, w, events(0, 50)...)
				commitT(t, w)
				es := readN(t, w, 20, 20)
				if err := w.Ack(es[0].Pos, es[9].Pos); err != nil {
					t.Fatal(err)
				}
				if replace {
					if err := os.Rename(dir, dir+".old"); err != nil {
						t.Fatal(err)
					}
					if err := os.Mkdir(dir, 0o750); err != nil {
						t.Fatal(err)
					}
				} else if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				time.Sleep(checkInterval + retryMax)
				synctest.Wait()
				if err := w.Fault(); err != nil {
					t.Fatalf("Fault() = %v", err)
				}
				if k := log.kinds(); k != "missing,ok" {
					t.Errorf("OnFault reports %q", k)
				}
				appendT(t, w, events(50, 60)...)
				commitT(t, w)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				all, rec := reopenAll(t, Options{Dir: dir})
				if rec.Corrupt != 0 {
					t.Fatalf("Recovery %+v", rec)
				}
				checkSequence(t, all, 10, 60)
				for i := range 10 {
					if all[i].ID != es[10+i].ID {
						t.Fatalf("record %d: ID %s, was %s", 10+i, all[i].ID, es[10+i].ID)
					}
				}
			})
		})
	}
}

// Close with the disk still full: what could not be written is lost, and
// counted, never silently; what was written stays for the next start.
func TestCloseOnAFailingDiskCountsWhatIsLost(t *testing.T) {
	w, fsys, _ := faultyWAL(t, Options{})
	appendT(t, w, events(0, 10)...)
	commitT(t, w)
	// The disk is full: the segment's writes fail (a growing file's would
	// on a real one; the zeros put ahead of the records would still take
	// them, so SetSpace(Used()) is not enough here).
	heal := fsys.Fail(diskio.OpWrite, segSuffix, syscall.ENOSPC)
	appendT(t, w, events(10, 17)...) // in memory until a commit
	err := w.Close()
	if err == nil || !strings.Contains(err.Error(), "7 events") || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("Close: %v", err)
	}
	if w.Lost() != 7 {
		t.Errorf("Lost() = %d, want 7", w.Lost())
	}
	if n, _ := w.Stats(); n != 10 {
		t.Errorf("Stats %d events, want 10", n)
	}
	checkSequence(t, drain(t, w), 0, 10)
	heal()
	all, _ := reopenAll(t, Options{Dir: w.dir})
	checkSequence(t, all, 0, 10)
}

// TestRandomDiskFaults is model-based: one appender commits events one
// after the other while the test reads, acknowledges out of order, and
// makes the disk fail in random ways (full, writes, fsyncs, creations or
// the ack file refused) and heal again. Whatever happens, every event is
// read exactly once, in order, nothing is lost, and after a restart
// nothing is left.
func TestRandomDiskFaults(t *testing.T) {
	errnos := []error{syscall.ENOSPC, syscall.EIO, syscall.EROFS}
	ops := []diskio.Op{diskio.OpWrite, diskio.OpSync, diskio.OpCreate, diskio.OpRemove}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 8))
				policy := []FsyncPolicy{FsyncBatch, FsyncAlways, FsyncNever}[seed%3]
				w, fsys, _ := faultyWAL(t, Options{SegmentBytes: int64(500 + rng.IntN(4000)), Fsync: policy})
				const n = 1500
				done := appendAll(w, 0, n, 7, nil)
				var heals []func()
				var got, unacked []Entry
				for len(got) < n {
					switch r := rng.IntN(10); {
					case r < 2 && len(heals) < 2:
						path := segSuffix
						if r == 1 && rng.IntN(2) == 0 {
							path = ackName
						}
						heals = append(heals, fsys.Fail(ops[rng.IntN(len(ops))], path, errnos[rng.IntN(len(errnos))]))
					case r == 2:
						fsys.SetSpace(fsys.Used() + int64(rng.IntN(3000)))
					case r == 3:
						for _, h := range heals {
							h()
						}
						heals = nil
						fsys.SetSpace(-1)
					default:
						ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
						es, err := w.Read(ctx, 1+rng.IntN(40))
						cancel()
						if err != nil && !errors.Is(err, context.DeadlineExceeded) {
							t.Fatalf("Read: %v", err)
						}
						got = append(got, es...)
						unacked = append(unacked, es...)
						// Acknowledge a random run of what was read (contiguous
						// in the log: Ack covers everything in between).
						if len(unacked) > 0 {
							k := rng.IntN(len(unacked))
							m := k
							for m+1 < len(unacked) && unacked[m+1].Pos.ord == unacked[m].Pos.ord+1 && rng.IntN(8) > 0 {
								m++
							}
							// Failures to write the ack file or delete a segment are
							// retried by the monitor; the acknowledgement holds.
							if err := w.Ack(unacked[k].Pos, unacked[m].Pos); err != nil &&
								!strings.Contains(err.Error(), "write ack") && !strings.Contains(err.Error(), "deleting an acknowledged segment") {
								t.Fatalf("Ack: %v", err)
							}
							unacked = append(unacked[:k], unacked[m+1:]...)
						}
					}
					if len(got) < n && len(heals) == 0 && rng.IntN(20) == 0 {
						fsys.SetSpace(-1)
					}
					if rng.IntN(50) == 0 { // never wedge for good
						for _, h := range heals {
							h()
						}
						heals = nil
						fsys.SetSpace(-1)
					}
				}
				for _, h := range heals {
					h()
				}
				fsys.SetSpace(-1)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				checkSequence(t, got, 0, n)
				for _, e := range unacked {
					if err := w.Ack(e.Pos, e.Pos); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(2 * retryMax) // the monitor writes the ack file if an earlier write failed
				synctest.Wait()
				if err := w.Fault(); err != nil {
					t.Fatalf("Fault() = %v with every fault healed", err)
				}
				if n, _ := w.Stats(); n != 0 || w.Lost() != 0 {
					t.Fatalf("Stats %d, Lost %d after acknowledging everything", n, w.Lost())
				}
				if files := segFiles(t, w.dir); len(files) > 1 {
					w.mu.Lock()
					for _, s := range w.segs {
						t.Logf("seg %d start %d end %d flushed %d sealed %v", s.seq, s.start, s.end, s.flushed, s.sealed)
					}
					t.Logf("wm %d/%d undeleted %d active %v", w.wmSeg, w.wmOff, len(w.undeleted), w.active != nil)
					w.mu.Unlock()
					t.Errorf("delivered segments left on disk: %v", files)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if rest, rec := reopenAll(t, Options{Dir: w.dir}); len(rest) != 0 || rec.Corrupt != 0 {
					t.Fatalf("after a restart %d records, %+v", len(rest), rec)
				}
			})
		})
	}
}
