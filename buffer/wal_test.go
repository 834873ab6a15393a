package buffer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/logshipper/logshipper/event"
)

func TestParseFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FsyncPolicy
		err  string
	}{
		{"batch", FsyncBatch, ""},
		{"always", FsyncAlways, ""},
		{"never", FsyncNever, ""},
		{"x", 0, `buffer.fsync: "x" is not allowed; use batch, always or never`},
		{"", 0, `buffer.fsync: "" is not allowed; use batch, always or never`},
		{"Batch", 0, `buffer.fsync: "Batch" is not allowed; use batch, always or never`},
	} {
		got, err := ParseFsyncPolicy(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseFsyncPolicy(%q) error %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("ParseFsyncPolicy(%q) = %v (%s), %v", tc.in, got, got, err)
		}
	}
	if FsyncPolicy(0) != FsyncBatch {
		t.Error("the zero policy is not FsyncBatch")
	}
}

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		err  string
	}{
		{"no dir", Options{}, "buffer.path: empty"},
		{"negative max", Options{Dir: t.TempDir(), MaxBytes: -1}, "buffer.max_bytes: -1 is negative"},
		{"huge segment", Options{Dir: t.TempDir(), SegmentBytes: 2 << 30}, "buffer.segment_bytes: 2147483648 is out of range"},
		{"bad policy", Options{Dir: t.TempDir(), Fsync: 7}, "buffer.fsync: FsyncPolicy(7) is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	w := openT(t, Options{Dir: filepath.Join(t.TempDir(), "a", "b")})
	if w.opts.MaxBytes != DefaultMaxBytes || w.opts.SegmentBytes != DefaultSegmentBytes || w.opts.Fsync != FsyncBatch {
		t.Errorf("defaults %+v", w.opts)
	}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000) // 1.1 MB, over readChunk and arenaChunk
	cases := []struct {
		name string
		ev   event.Event
	}{
		{"tcp", event.Event{Received: testBase, Transport: "tcp", SourceIP: "192.0.2.1", Raw: []byte("<13>hello")}},
		{"udp truncated", event.Event{Received: testBase.Add(time.Nanosecond), Transport: "udp", SourceIP: "2001:db8::1", Raw: []byte("cut"), Truncated: true}},
		{"tls", event.Event{Received: testBase, Transport: "tls", SourceIP: "198.51.100.7", Raw: []byte("x")}},
		{"other transport", event.Event{Received: testBase, Transport: "relp", SourceIP: "h", Raw: []byte("y")}},
		{"no transport", event.Event{Received: testBase, Raw: []byte("z")}},
		{"zero time", event.Event{Transport: "tcp", SourceIP: "192.0.2.1", Raw: []byte("t0")}},
		{"before 1970", event.Event{Received: time.Date(1950, 1, 1, 0, 0, 0, 1, time.UTC), Transport: "tcp", Raw: []byte("old")}},
		{"local zone", event.Event{Received: time.Date(2025, 6, 1, 2, 3, 4, 5, time.FixedZone("X", 3600)), Transport: "udp", Raw: []byte("zone")}},
		{"empty raw and ip", event.Event{Received: testBase, Transport: "tcp"}},
		{"binary raw", event.Event{Received: testBase, Transport: "tcp", SourceIP: "192.0.2.1", Raw: []byte("\x00\xff\n\r\x00invalid \xc3\x28 utf8")}},
		{"long source", event.Event{Received: testBase, Transport: "tcp", SourceIP: strings.Repeat("a", 300), Raw: []byte("v")}},
		{"1 MB raw", event.Event{Received: testBase, Transport: "tcp", SourceIP: "192.0.2.1", Raw: big}},
		{"parser fields dropped", event.Event{Received: testBase, Transport: "tcp", SourceIP: "192.0.2.9", Raw: []byte("<13>m"), Format: event.FormatRFC3164, Priority: 13, Hostname: "h", Message: "m", ParseFailed: true}},
	}
	check := func(t *testing.T, got []Entry) {
		t.Helper()
		ids := map[string]bool{}
		for i, e := range got {
			if d := sameInput(&cases[i].ev, e.Event); d != "" {
				t.Errorf("%s: %s", cases[i].name, d)
			}
			if len(e.ID) != idLen || ids[e.ID] {
				t.Errorf("%s: ID %q repeated or not %d characters", cases[i].name, e.ID, idLen)
			}
			ids[e.ID] = true
			if i > 0 && (got[i-1].Pos.Compare(e.Pos) >= 0 || got[i-1].ID >= e.ID) {
				t.Errorf("%s: position %v or ID %s not after %v %s", cases[i].name, e.Pos, e.ID, got[i-1].Pos, got[i-1].ID)
			}
		}
	}
	for _, policy := range []FsyncPolicy{FsyncBatch, FsyncAlways, FsyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir, Fsync: policy})
			in := make([]*event.Event, len(cases))
			for i := range cases {
				ev := cases[i].ev // the WAL keeps what it is given
				in[i] = &ev
				appendT(t, w, in[i])
			}
			commitT(t, w)
			// Read at once: from memory, the events as appended (except
			// the one with parser fields, which only the file can give
			// back as the other buffer's reader would see it).
			got := readN(t, w, len(cases), 100)
			check(t, got)
			for i, e := range got {
				if fromMemory := e.Event == in[i]; fromMemory == (cases[i].name == "parser fields dropped") {
					t.Errorf("%s: read from memory %v", cases[i].name, fromMemory)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// Read after a restart: from the file, the same IDs.
			again, _ := reopenAll(t, Options{Dir: dir, Fsync: policy})
			if len(again) != len(cases) {
				t.Fatalf("%d records after reopening, want %d", len(again), len(cases))
			}
			check(t, again)
			for i := range again {
				// From memory or from the file, the same event (an empty
				// Raw may be nil or not).
				fromFile, fromMemory := *again[i].Event, *got[i].Event
				if len(fromFile.Raw) == 0 && len(fromMemory.Raw) == 0 {
					fromFile.Raw, fromMemory.Raw = nil, nil
				}
				if !reflect.DeepEqual(fromFile, fromMemory) {
					t.Errorf("%s: read from the file %+v, from memory %+v", cases[i].name, fromFile, fromMemory)
				}
				if again[i].ID != got[i].ID || again[i].Pos.Compare(got[i].Pos) != 0 {
					t.Errorf("%s: after reopening ID %s at %v, was %s at %v", cases[i].name, again[i].ID, again[i].Pos, got[i].ID, got[i].Pos)
				}
			}
			// The second event's Raw must not share memory with the
			// first's, nor with the appended events.
			again[0].Event.Raw = append(again[0].Event.Raw, "XXXX"...)
			if d := sameInput(&cases[1].ev, again[1].Event); d != "" {
				t.Errorf("appending to one Raw changed the next: %s", d)
			}
			if &again[0].Event.Raw[0] == &cases[0].ev.Raw[0] {
				t.Error("Raw read from the file aliases the appended event")
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir()})
	if err := w.Append(context.Background(), testEvent(0), nil); err == nil || !strings.Contains(err.Error(), "nil event") {
		t.Errorf("nil event: %v", err)
	}
	huge := &event.Event{Raw: make([]byte, MaxEventBytes)}
	if err := w.Append(context.Background(), huge); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("huge event: %v", err)
	}
	if err := w.Append(context.Background()); err != nil {
		t.Errorf("no events: %v", err)
	}
	if n, b := w.Stats(); n != 0 || b != 0 {
		t.Errorf("failed appends left Stats %d %d", n, b)
	}
	if _, err := w.Read(context.Background(), 0); err == nil {
		t.Error("Read max 0 succeeded")
	}
}

func TestManySegments(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, SegmentBytes: 300})
	want := events(0, 500)
	for i, k := 0, 0; i < len(want); k++ { // groups of 1..3
		n := min(1+k%3, len(want)-i)
		appendT(t, w, want[i:i+n]...)
		i += n
	}
	commitT(t, w)
	got := readN(t, w, len(want), 37)
	for i := range want {
		if d := sameInput(want[i], got[i].Event); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
	}
	files := segFiles(t, dir)
	if len(files) < 50 {
		t.Fatalf("%d segment files for 500 events in 300-byte segments", len(files))
	}
	for _, name := range files {
		// A segment is closed past SegmentBytes: it holds at most one group
		// that starts at or after 300 bytes.
		if sz := fileSize(t, filepath.Join(dir, name)); sz > 300+3*120 {
			t.Errorf("%s has %d bytes", name, sz)
		}
	}
	// Acknowledge everything: every segment but the active one goes.
	if err := w.Ack(got[0].Pos, got[len(got)-1].Pos); err != nil {
		t.Fatal(err)
	}
	if files := segFiles(t, dir); len(files) != 1 {
		t.Errorf("after acknowledging everything: %v", files)
	}
	if n, b := w.Stats(); n != 0 || b != 0 {
		t.Errorf("Stats %d %d after acknowledging everything", n, b)
	}
}

func TestReadMax(t *testing.T) {
	for _, tc := range []struct {
		appended, max int
		sizes         []int
	}{
		{10, 3, []int{3, 3, 3, 1}},
		{10, 10, []int{10}},
		{10, 100, []int{10}},
		{1, 1, []int{1}},
		{2000, 1000, []int{1000, 1000}},
	} {
		w := openT(t, Options{Dir: t.TempDir(), Fsync: FsyncNever})
		appendT(t, w, events(0, tc.appended)...)
		var sizes []int
		next := 0
		for range tc.sizes {
			es, err := w.Read(context.Background(), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(es))
			for _, e := range es {
				if d := sameInput(testEvent(next), e.Event); d != "" {
					t.Fatalf("event %d: %s", next, d)
				}
				next++
			}
		}
		if !equalInts(sizes, tc.sizes) {
			t.Errorf("%d appended, Read(%d): sizes %v, want %v", tc.appended, tc.max, sizes, tc.sizes)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadBlocksUntilAppend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := openT(t, Options{Dir: t.TempDir()})
		type result struct {
			es  []Entry
			err error
		}
		done := make(chan result)
		go func() {
			es, err := w.Read(context.Background(), 10)
			done <- result{es, err}
		}()
		synctest.Wait()
		select {
		case r := <-done:
			t.Fatalf("Read returned %v, %v on an empty log", r.es, r.err)
		default:
		}
		appendT(t, w, testEvent(1))
		r := <-done
		if r.err != nil || len(r.es) != 1 || sameInput(testEvent(1), r.es[0].Event) != "" {
			t.Fatalf("woken Read: %v %v", r.es, r.err)
		}

		// ctx ends a blocked Read.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			es, err := w.Read(ctx, 10)
			done <- result{es, err}
		}()
		synctest.Wait()
		cancel()
		if r := <-done; !errors.Is(r.err, context.Canceled) || r.es != nil {
			t.Fatalf("cancelled Read: %v %v", r.es, r.err)
		}

		// A second reader waits for the first; Close ends both with io.EOF.
		for range 2 {
			go func() {
				es, err := w.Read(context.Background(), 10)
				done <- result{es, err}
			}()
		}
		synctest.Wait()
		w.Close()
		for range 2 {
			if r := <-done; r.err != io.EOF {
				t.Fatalf("Read after Close: %v %v", r.es, r.err)
			}
		}
	})
}

func TestCloseSemantics(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir})
	appendT(t, w, events(0, 5)...)
	first := readN(t, w, 2, 2)
	appendT(t, w, events(5, 8)...) // appended, never committed: Close makes it durable
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := w.Append(ctx, testEvent(9)); err != ErrClosed {
		t.Errorf("Append after Close: %v", err)
	}
	if err := w.TryAppend(testEvent(9)); err != ErrClosed {
		t.Errorf("TryAppend after Close: %v", err)
	}
	if err := w.Commit(ctx); err != ErrClosed {
		t.Errorf("Commit after Close: %v", err)
	}
	rest := drain(t, w)
	if got := rawsOf(rest); strings.Join(got, "|") != strings.Join(rawsOfEvents(events(2, 8)), "|") {
		t.Fatalf("after Close Read returned %q", got)
	}
	if _, err := w.Read(ctx, 1); err != io.EOF {
		t.Errorf("Read after draining: %v", err)
	}
	// Ack works after Close (the pipeline drains after the inputs stopped).
	if err := w.Ack(first[0].Pos, first[1].Pos); err != nil {
		t.Fatal(err)
	}
	if err := w.Ack(rest[0].Pos, rest[len(rest)-1].Pos); err != nil {
		t.Fatal(err)
	}
	if n, b := w.Stats(); n != 0 || b != 0 {
		t.Errorf("Stats %d %d", n, b)
	}
	if files := segFiles(t, dir); len(files) != 0 {
		t.Errorf("acknowledged segments left after Close: %v", files)
	}
	got, _ := reopenAll(t, Options{Dir: dir})
	if len(got) != 0 {
		t.Errorf("reopened log holds %q", rawsOf(got))
	}
}

func TestCloseWakesBlockedAppend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := openT(t, Options{Dir: t.TempDir(), MaxBytes: 100})
		appendT(t, w, testEvent(0))
		done := make(chan error)
		go func() { done <- w.Append(context.Background(), testEvent(1)) }()
		synctest.Wait()
		w.Close()
		if err := <-done; err != ErrClosed {
			t.Fatalf("blocked Append after Close: %v", err)
		}
	})
}

func TestDirLocked(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir})
	_, err := Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), filepath.Join(dir, "lock")) {
		t.Fatalf("second Open: %v", err)
	}
	w.Close()
	w2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	w2.Close()
}

func TestAckErrors(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir()})
	appendT(t, w, events(0, 10)...)
	es := readN(t, w, 6, 6)
	p := func(i int) Pos { return es[i].Pos }
	for _, tc := range []struct {
		name        string
		first, last Pos
		err         string // "" for success
	}{
		{"zero", Pos{}, Pos{}, "did not return"},
		{"zero last", p(0), Pos{}, "did not return"},
		{"reversed", p(3), p(2), "first is after the last"},
		{"middle", p(2), p(3), ""},
		{"overlap start", p(3), p(4), "already acknowledged in part"},
		{"overlap end", p(1), p(2), "already acknowledged in part"},
		{"covering", p(1), p(5), "already acknowledged in part"},
		{"prefix", p(0), p(1), ""},
		{"below watermark", p(0), p(0), "already acknowledged"},
		{"single", p(5), p(5), ""},
		{"gap", p(4), p(4), ""},
		{"again", p(4), p(4), "already acknowledged"},
	} {
		err := w.Ack(tc.first, tc.last)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: Ack(%v, %v) = %v, want %q", tc.name, tc.first, tc.last, err, tc.err)
		}
	}
	// An unread position: forge one past the cursor.
	unread := p(5)
	unread.ord += 1
	if err := w.Ack(unread, unread); err == nil || !strings.Contains(err.Error(), "not read yet") {
		t.Errorf("unread: %v", err)
	}
	if n, _ := w.Stats(); n != 4 {
		t.Errorf("Stats events %d, want 4", n)
	}
	// A position from another Open of the same directory.
	w.Close()
	w2 := openT(t, Options{Dir: w.dir})
	es2 := readN(t, w2, 2, 10)
	if err := w2.Ack(es[6-1].Pos, es[6-1].Pos); err == nil || !strings.Contains(err.Error(), "did not return") {
		t.Errorf("stale position: %v", err)
	}
	if err := w2.Ack(es2[0].Pos, es2[1].Pos); err != nil {
		t.Error(err)
	}
}

func TestMaxBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Events of one size: the same source for all.
		ev := func(i int) *event.Event { e := testEvent(i); e.SourceIP = "192.0.2.1"; return e }
		evs := func(from, to int) (s []*event.Event) {
			for i := from; i < to; i++ {
				s = append(s, ev(i))
			}
			return s
		}
		one, _ := recordSize(ev(0))
		w := openT(t, Options{Dir: t.TempDir(), MaxBytes: int64(10 * one)})
		ctx := context.Background()
		appendT(t, w, evs(0, 10)...)
		if n, b := w.Stats(); n != 10 || b != int64(10*one) {
			t.Fatalf("Stats %d %d, want 10 %d", n, b, 10*one)
		}
		if err := w.TryAppend(ev(10)); err != ErrFull {
			t.Fatalf("TryAppend on a full log: %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := w.Append(cctx, ev(10)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append with a done ctx on a full log: %v", err)
		}

		done := make(chan error)
		go func() { done <- w.Append(ctx, evs(10, 12)...) }() // needs 2 records of room
		synctest.Wait()
		es := readN(t, w, 10, 10)
		// Acknowledging one record out of order frees one record: not enough.
		if err := w.Ack(es[5].Pos, es[5].Pos); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Append returned %v with room for one record", err)
		default:
		}
		if n, b := w.Stats(); n != 9 || b != int64(9*one) {
			t.Fatalf("Stats %d %d, want 9 %d", n, b, 9*one)
		}
		if err := w.Ack(es[0].Pos, es[0].Pos); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Append after Ack: %v", err)
		}
		if n, b := w.Stats(); n != 10 || b != int64(10*one) {
			t.Fatalf("Stats %d %d, want 10 %d", n, b, 10*one)
		}
		if err := w.TryAppend(ev(12)); err != ErrFull {
			t.Fatalf("TryAppend: %v", err)
		}
		// Drain and acknowledge all: then even a group bigger than MaxBytes fits.
		rest := readN(t, w, 2, 10)
		if err := w.Ack(es[1].Pos, es[4].Pos); err != nil {
			t.Fatal(err)
		}
		if err := w.Ack(es[6].Pos, rest[1].Pos); err != nil {
			t.Fatal(err)
		}
		if n, b := w.Stats(); n != 0 || b != 0 {
			t.Fatalf("Stats %d %d, want 0", n, b)
		}
		if err := w.TryAppend(evs(100, 125)...); err != nil {
			t.Fatalf("a group over MaxBytes into an empty log: %v", err)
		}
		if err := w.TryAppend(ev(200)); err != ErrFull {
			t.Fatalf("TryAppend over a log beyond MaxBytes: %v", err)
		}
	})
}

func TestRecoveryOfCleanLog(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir})
	appendT(t, w, events(0, 3)...)
	w.Close()
	w2 := openT(t, Options{Dir: dir})
	rec := w2.Recovery()
	if rec.Segments != 1 || rec.Events != 3 || rec.Bytes == 0 || rec.TruncatedBytes != 0 || rec.Corrupt != 0 || rec.Problems != nil {
		t.Errorf("Recovery %+v", rec)
	}
	if n, b := w2.Stats(); n != 3 || b != rec.Bytes {
		t.Errorf("Stats %d %d", n, b)
	}
	// Files other than the WAL's are left alone.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	got, _ := reopenAll(t, Options{Dir: dir})
	if len(got) != 3 {
		t.Errorf("%d records", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error(err)
	}
}

// estimateRecords sizes a Read by the records read so far, bounded by
// max, and by the smallest record before the first.
func TestEstimateRecords(t *testing.T) {
	for _, c := range []struct {
		span            int64
		read, readBytes uint64
		maxN, want      int
	}{
		{span: 1900, maxN: 1000, want: 1900*5/4/(recHeaderSize+minPayload) + 1}, // nothing read yet
		{span: 1900, read: 10, readBytes: 1900, maxN: 1000, want: 13},           // records of 190 B
		{span: 1 << 20, read: 10, readBytes: 1900, maxN: 1000, want: 1000},      // bounded by max
		{span: 5, read: 10, readBytes: 1900, maxN: 1000, want: 1},               // at least one
		{span: 1900, read: 10, readBytes: 10, maxN: 1000, want: 1900*5/4/(recHeaderSize+minPayload) + 1},
	} {
		if got := estimateRecords(c.span, c.read, c.readBytes, c.maxN); got != c.want {
			t.Errorf("estimateRecords(%d, %d, %d, %d) = %d, want %d", c.span, c.read, c.readBytes, c.maxN, got, c.want)
		}
	}
}
