package buffer

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/diskio"
)

// TestConcurrentAppendersAndReaders: 4 appenders × 10,000 events in groups,
// 2 readers acknowledging out of order, a log small enough that appenders
// block on MaxBytes and segments roll over and are deleted all the time.
// Every event is read exactly once, each appender's events in its order.
func TestConcurrentAppendersAndReaders(t *testing.T) {
	const (
		appenders = 4
		perApp    = 10000
	)
	for _, policy := range []FsyncPolicy{FsyncNever, FsyncBatch} {
		t.Run(policy.String(), func(t *testing.T) {
			var c syncCounter
			w := openT(t, Options{Dir: t.TempDir(), Fsync: policy, MaxBytes: 64 << 10, SegmentBytes: 16 << 10, syncFile: c.sync})
			ctx := context.Background()

			var appWG sync.WaitGroup
			for a := range appenders {
				appWG.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(a), 1))
					for i := 0; i < perApp; {
						n := min(1+rng.IntN(20), perApp-i)
						evs := make([]*event.Event, n)
						for k := range evs {
							evs[k] = &event.Event{Transport: "tcp", SourceIP: fmt.Sprint("app", a), Raw: fmt.Appendf(nil, "%d %d", a, i+k)}
						}
						var err error
						if rng.IntN(4) == 0 {
							err = w.TryAppend(evs...)
							if err == ErrFull {
								continue
							}
						} else {
							err = w.Append(ctx, evs...)
						}
						if err != nil {
							t.Errorf("appender %d: %v", a, err)
							return
						}
						if rng.IntN(3) == 0 {
							if err := w.Commit(ctx); err != nil {
								t.Errorf("Commit: %v", err)
								return
							}
						}
						i += n
					}
				})
			}

			var (
				mu  sync.Mutex
				got []Entry
			)
			var readWG sync.WaitGroup
			for r := range 2 {
				readWG.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(r), 2))
					var held [][]Entry // read, not yet acknowledged
					ackSome := func(all bool) {
						rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
						// Hold at most 3 batches while reading on: 2 readers ×
						// 3 × 300 events stay below MaxBytes, so appenders
						// never wait for acks that cannot come.
						keep := 0
						if !all {
							keep = rng.IntN(min(len(held), 3) + 1)
						}
						for _, b := range held[keep:] {
							// Acknowledge each batch in one or two pieces.
							cut := rng.IntN(len(b))
							if err := w.Ack(b[cut].Pos, b[len(b)-1].Pos); err != nil {
								t.Errorf("Ack: %v", err)
							}
							if cut > 0 {
								if err := w.Ack(b[0].Pos, b[cut-1].Pos); err != nil {
									t.Errorf("Ack: %v", err)
								}
							}
						}
						held = held[:keep]
					}
					for {
						es, err := w.Read(ctx, 1+rng.IntN(300))
						if err == io.EOF {
							ackSome(true)
							return
						}
						if err != nil {
							t.Errorf("Read: %v", err)
							return
						}
						mu.Lock()
						got = append(got, es...)
						mu.Unlock()
						held = append(held, es)
						if len(held) > 3 {
							ackSome(false)
						}
					}
				})
			}
			appWG.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			readWG.Wait()

			if len(got) != appenders*perApp {
				t.Fatalf("read %d events, want %d", len(got), appenders*perApp)
			}
			slices.SortFunc(got, func(a, b Entry) int { return a.Pos.Compare(b.Pos) })
			next := make([]int, appenders)
			ids := make(map[string]bool, len(got))
			for _, e := range got {
				var a, i int
				if _, err := fmt.Sscan(string(e.Event.Raw), &a, &i); err != nil {
					t.Fatalf("Raw %q: %v", e.Event.Raw, err)
				}
				if i != next[a] {
					t.Fatalf("appender %d: event %d after %d in log order", a, i, next[a]-1)
				}
				next[a]++
				if ids[e.ID] {
					t.Fatalf("ID %s twice", e.ID)
				}
				ids[e.ID] = true
			}
			if n, b := w.Stats(); n != 0 || b != 0 {
				t.Errorf("Stats %d %d after acknowledging everything", n, b)
			}
			if files := segFiles(t, w.dir); len(files) != 0 {
				t.Errorf("segments left: %v", files)
			}
			files, _, _ := c.counts()
			if policy == FsyncNever && files != 0 {
				t.Errorf("FsyncNever fsynced %d times", files)
			}
			if policy == FsyncBatch && files == 0 {
				t.Error("FsyncBatch never fsynced")
			}
		})
	}
}

// TestFsyncPolicy counts fsyncs through the test seam.
func TestFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy FsyncPolicy
		// fsyncs of segment files after: 3 single appends; a Commit; a
		// second Commit with nothing new; Close.
		afterAppends, afterCommit, afterNoop, afterClose int
		dirSyncs                                         bool // the new segment's directory entry
		ackSyncs                                         bool
	}{
		{FsyncBatch, 0, 1, 1, 1, true, true},
		{FsyncAlways, 3, 3, 3, 3, true, true},
		{FsyncNever, 0, 0, 0, 0, false, false},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var c syncCounter
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir, Fsync: tc.policy, syncFile: c.sync})
			for i := range 3 {
				appendT(t, w, testEvent(i))
			}
			check := func(when string, want int) {
				t.Helper()
				if files, _, _ := c.counts(); files != want {
					t.Errorf("after %s: %d segment fsyncs, want %d", when, files, want)
				}
			}
			check("3 appends", tc.afterAppends)
			// FsyncNever's Commit still hands the records to the OS: a
			// process crash now loses nothing.
			commitT(t, w)
			check("Commit", tc.afterCommit)
			// The file may be longer: zeros ahead of the records, under
			// the fsync policies (zeroAheadLocked).
			if s := w.active; s.flushed != s.end || fileSize(t, s.path) < s.end {
				t.Errorf("Commit left records in memory")
			}
			commitT(t, w)
			check("an empty Commit", tc.afterNoop)
			_, dirs, _ := c.counts()
			if (dirs > 0) != tc.dirSyncs {
				t.Errorf("%d directory fsyncs", dirs)
			}
			es := readN(t, w, 3, 3)
			if err := w.Ack(es[0].Pos, es[2].Pos); err != nil {
				t.Fatal(err)
			}
			if _, _, acks := c.counts(); (acks > 0) != tc.ackSyncs {
				t.Errorf("%d ack file fsyncs", acks)
			}
			w.Close()
			check("Close", tc.afterClose)
		})
	}
}

// TestGroupCommit: while one Commit is in fsync, the committers that arrive
// wait and then share a single fsync.
func TestGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			fsyncs  int
			release = make(chan struct{})
		)
		hook := func(f diskio.File) error {
			if !strings.HasSuffix(f.Name(), segSuffix) {
				return nil
			}
			mu.Lock()
			fsyncs++
			first := fsyncs == 1
			mu.Unlock()
			if first {
				<-release // the first fsync is slow
			}
			return nil
		}
		w := openT(t, Options{Dir: t.TempDir(), syncFile: hook})
		ctx := context.Background()
		appendT(t, w, testEvent(0))
		errs := make(chan error, 20)
		go func() { errs <- w.Commit(ctx) }() // the leader, stuck in fsync
		synctest.Wait()
		// Meanwhile appends go on (the lock is not held during fsync), and
		// ten more committers arrive.
		for i := 1; i <= 10; i++ {
			appendT(t, w, testEvent(i))
			go func() { errs <- w.Commit(ctx) }()
		}
		synctest.Wait()
		mu.Lock()
		if fsyncs != 1 {
			t.Errorf("%d fsyncs while the first is running", fsyncs)
		}
		mu.Unlock()
		close(release)
		for range 11 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if fsyncs != 2 {
			t.Errorf("11 commits took %d fsyncs, want 2 (one for the first, one shared by the ten others)", fsyncs)
		}
		if w.synced != w.appended {
			t.Errorf("synced %d of %d bytes", w.synced, w.appended)
		}
	})
}

// TestCommitWaitsForCtx: a committer waiting for another's fsync gives up
// when its ctx is done.
func TestCommitWaitsForCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var once sync.Once
		hook := func(f diskio.File) error {
			if strings.HasSuffix(f.Name(), segSuffix) {
				once.Do(func() { <-release })
			}
			return nil
		}
		w := openT(t, Options{Dir: t.TempDir(), syncFile: hook})
		appendT(t, w, testEvent(0))
		leader := make(chan error)
		go func() { leader <- w.Commit(context.Background()) }()
		synctest.Wait()
		appendT(t, w, testEvent(1))
		ctx, cancel := context.WithCancel(context.Background())
		follower := make(chan error)
		go func() { follower <- w.Commit(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-follower; err != context.Canceled {
			t.Errorf("follower: %v", err)
		}
		close(release)
		if err := <-leader; err != nil {
			t.Error(err)
		}
	})
}

// TestAcksSurviveSeveralRestarts: acknowledgements beyond the watermark are
// kept across restarts until the watermark passes them.
func TestAcksSurviveSeveralRestarts(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 250}
	w := openT(t, opts)
	appendT(t, w, events(0, 12)...)
	es := readN(t, w, 12, 12)
	ack := func(w *WAL, a, b Entry) {
		t.Helper()
		if err := w.Ack(a.Pos, b.Pos); err != nil {
			t.Fatal(err)
		}
	}
	ack(w, es[0], es[1])
	ack(w, es[4], es[5])
	ack(w, es[9], es[9])
	w.Close()
	// Run 2 reads 2, 3, 6, 7, 8, 10, 11 and acknowledges 7 only.
	w2 := openT(t, opts)
	got := readN(t, w2, 7, 100)
	if want := []Entry{es[2], es[3], es[6], es[7], es[8], es[10], es[11]}; idsOf(got) != idsOf(want) {
		t.Fatalf("run 2 read %q, want %q", rawsOf(got), rawsOf(want))
	}
	ack(w2, got[3], got[3])
	w2.Close()
	// Run 3 reads 2, 3, 6, 8, 10, 11 and acknowledges 2..3 and 6: the
	// watermark moves past 4..5 and 7.
	w3 := openT(t, opts)
	got = readN(t, w3, 6, 100)
	if want := []Entry{es[2], es[3], es[6], es[8], es[10], es[11]}; idsOf(got) != idsOf(want) {
		t.Fatalf("run 3 read %q, want %q", rawsOf(got), rawsOf(want))
	}
	ack(w3, got[2], got[2])
	ack(w3, got[0], got[1])
	if n, _ := w3.Stats(); n != 3 {
		t.Errorf("Stats %d events, want 3", n)
	}
	w3.Close()
	rest, rec := reopenAll(t, opts)
	if want := []Entry{es[8], es[10], es[11]}; idsOf(rest) != idsOf(want) || rec.Events != 3 {
		t.Fatalf("run 4 read %q, want %q (%+v)", rawsOf(rest), rawsOf(want), rec)
	}
	for _, name := range segFiles(t, dir) {
		if name < segName(es[8].Pos.seg) {
			t.Errorf("segment %s below the watermark kept", name)
		}
	}
}

func idsOf(es []Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.ID)
	}
	return strings.Join(s, ",")
}

// TestAckRunsJoin: acks that touch join into one run, so out-of-order acks
// keep the list (and the ack file) as short as the gaps.
func TestAckRunsJoin(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir()})
	appendT(t, w, events(0, 20)...)
	es := readN(t, w, 20, 20)
	for _, r := range [][2]int{{10, 11}, {14, 15}, {12, 13}, {17, 19}, {16, 16}, {3, 5}} {
		if err := w.Ack(es[r[0]].Pos, es[r[1]].Pos); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.acked) != 2 || w.acked[0].from != es[3].Pos.ord || w.acked[1].to != es[19].Pos.ord {
		t.Fatalf("runs %+v, want 3..5 and 10..19", w.acked)
	}
	b, err := os.ReadFile(w.dir + "/" + ackName)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := decodeAckFile(b); err != nil || len(st.ranges) != 2 || !st.v2 {
		t.Fatalf("ack file %+v, %v", st, err)
	}
	if err := w.Ack(es[0].Pos, es[2].Pos); err != nil {
		t.Fatal(err)
	}
	if err := w.Ack(es[6].Pos, es[9].Pos); err != nil {
		t.Fatal(err)
	}
	if len(w.acked) != 0 || w.wmOrd != es[19].Pos.ord+1 {
		t.Fatalf("runs %+v, watermark %d after acknowledging all", w.acked, w.wmOrd)
	}
}

// TestAckAcrossSkippedRun: an Ack whose records surround a run acknowledged
// in the previous run (which Read passed over) covers it; the ack file must
// stay valid.
func TestAckAcrossSkippedRun(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir}
	w := openT(t, opts)
	appendT(t, w, events(0, 10)...)
	es := readN(t, w, 10, 10)
	if err := w.Ack(es[3].Pos, es[3].Pos); err != nil {
		t.Fatal(err)
	}
	w.Close()

	w2 := openT(t, opts)
	got := readN(t, w2, 9, 100) // 0 1 2 4 5 6 7 8 9
	if want := []Entry{es[0], es[1], es[2], es[4], es[5], es[6], es[7], es[8], es[9]}; idsOf(got) != idsOf(want) {
		t.Fatalf("run 2 read %q", rawsOf(got))
	}
	if err := w2.Ack(got[2].Pos, got[3].Pos); err != nil { // 2 and 4, around 3
		t.Fatal(err)
	}
	if err := w2.Ack(got[5].Pos, got[5].Pos); err != nil { // 6
		t.Fatal(err)
	}
	w2.Close()

	rest, rec := reopenAll(t, opts)
	if want := []Entry{es[0], es[1], es[5], es[7], es[8], es[9]}; idsOf(rest) != idsOf(want) || rec.Corrupt != 0 {
		t.Fatalf("run 3 read %q, %+v", rawsOf(rest), rec)
	}
}

// TestRandomRestarts is model-based: rounds of appends, reads and random
// out-of-order acks of runs (which may surround runs acknowledged in earlier
// rounds), each round ended by Close and Open. Every round must read exactly
// the records not yet acknowledged, in log order, with unchanged IDs, and
// find no damage.
func TestRandomRestarts(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			opts := Options{Dir: t.TempDir(), SegmentBytes: int64(200 + rng.IntN(2000)), Fsync: FsyncNever}
			var (
				pending []string              // unacknowledged, in log order (Raw)
				idOf    = map[string]string{} // Raw → ID when first read
				next    int
			)
			for round := range 25 {
				w, err := Open(opts)
				if err != nil {
					t.Fatal(err)
				}
				if rec := w.Recovery(); rec.Corrupt != 0 || rec.TruncatedBytes != 0 || rec.Events != int64(len(pending)) {
					t.Fatalf("round %d: %+v, want %d events", round, rec, len(pending))
				}
				for range rng.IntN(30) {
					n := 1 + rng.IntN(5)
					appendT(t, w, events(next, next+n)...)
					for i := next; i < next+n; i++ {
						pending = append(pending, string(testEvent(i).Raw))
					}
					next += n
				}
				got := readN(t, w, len(pending), 1+rng.IntN(10))
				if strings.Join(rawsOf(got), "|") != strings.Join(pending, "|") {
					t.Fatalf("round %d read %q, want %q", round, rawsOf(got), pending)
				}
				for _, e := range got {
					raw := string(e.Event.Raw)
					if id, ok := idOf[raw]; ok && id != e.ID {
						t.Fatalf("round %d: %q has ID %s, had %s", round, raw, e.ID, id)
					}
					idOf[raw] = e.ID
				}
				// Cut what was read into runs and acknowledge a random subset
				// of them in random order.
				var runs [][2]int
				for i := 0; i < len(got); {
					n := 1 + rng.IntN(6)
					runs = append(runs, [2]int{i, min(i+n, len(got)) - 1})
					i += n
				}
				rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
				acked := map[string]bool{}
				for _, r := range runs[:rng.IntN(len(runs)+1)] {
					if err := w.Ack(got[r[0]].Pos, got[r[1]].Pos); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					for _, e := range got[r[0] : r[1]+1] {
						acked[string(e.Event.Raw)] = true
					}
				}
				pending = slices.DeleteFunc(pending, func(s string) bool { return acked[s] })
				if n, _ := w.Stats(); n != int64(len(pending)) {
					t.Fatalf("round %d: Stats %d, want %d", round, n, len(pending))
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
