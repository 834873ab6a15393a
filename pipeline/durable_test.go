package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/metrics"
)

func openWAL(t *testing.T, dir string, maxBytes int64) *buffer.WAL {
	t.Helper()
	w, err := buffer.Open(buffer.Options{Dir: dir, MaxBytes: maxBytes, Fsync: buffer.FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// parseMark stands in for the parser: it proves the reader parses.
func parseMark(ev *event.Event) { ev.Message = "parsed:" + string(ev.Raw) }

func mustDurable(t *testing.T, cfg Config, w *buffer.WAL, out Output) *Pipeline {
	t.Helper()
	p, err := New(cfg, w, parseMark, out, nil, zeroLog())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDurableDeliversAndAcknowledges(t *testing.T) {
	w := openWAL(t, t.TempDir(), 1<<20)
	out := newFakeOutput()
	var ids []string
	rec := &recordingOutput{fakeOutput: out, record: func(_ int, evs []*event.Event) {
		for _, e := range evs {
			if e.Message != "parsed:"+string(e.Raw) {
				t.Errorf("event %q was not parsed after reading from the buffer", e.Raw)
			}
			ids = append(ids, e.ID)
		}
	}}
	cfg := testConfig()
	cfg.Workers = 1
	cfg.BatchCount = 7
	p := mustDurable(t, cfg, w, rec)
	putN(t, p, 100)
	if err := p.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Close(context.Background())
	if st.Delivered != 100 || st.Lost != 0 || st.Left != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if n, b := w.Stats(); n != 0 || b != 0 {
		t.Fatalf("buffer still holds %d events, %d bytes after delivery", n, b)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("id %q empty or repeated", id)
		}
		seen[id] = true
	}
}

// What the shutdown deadline cuts off stays in the buffer and goes out,
// with the same IDs, after the next start.
func TestDurableLeavesUndeliveredForNextStart(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, dir, 1<<20)
	down := newFakeOutput()
	down.failAll = func(int) error { return errors.New("connection refused") }
	firstIDs := map[string]string{} // raw → id
	rec := &recordingOutput{fakeOutput: down, record: func(_ int, evs []*event.Event) {
		for _, e := range evs {
			firstIDs[string(e.Raw)] = e.ID
		}
	}}
	cfg := testConfig()
	cfg.Workers = 1
	cfg.BatchCount = 10
	p := mustDurable(t, cfg, w, rec)
	putN(t, p, 30)
	p.Commit(context.Background())
	// Wait until the output has seen the batch at least once, then give up.
	for len(down.snapshotCalls()) == 0 {
		waitForCall(t, down)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := p.Close(ctx)
	if st.Lost != 0 || st.Delivered != 0 {
		t.Fatalf("stats = %+v: disk mode must lose nothing", st)
	}
	w.Close()

	w2 := openWAL(t, dir, 1<<20)
	if n, _ := w2.Stats(); n != 30 {
		t.Fatalf("after restart the buffer holds %d events, want 30", n)
	}
	up := newFakeOutput()
	var again []*event.Event
	rec2 := &recordingOutput{fakeOutput: up, record: func(_ int, evs []*event.Event) { again = append(again, evs...) }}
	p2 := mustDurable(t, cfg, w2, rec2)
	st2 := p2.Close(context.Background())
	if st2.Delivered != 30 {
		t.Fatalf("second start delivered %d, want 30", st2.Delivered)
	}
	for _, e := range again {
		if id, ok := firstIDs[string(e.Raw)]; ok && id != e.ID {
			t.Fatalf("%q: id changed across the restart: %q → %q", e.Raw, id, e.ID)
		}
	}
}

func TestDurableTryPutWhenFullSaysBufferFull(t *testing.T) {
	w := openWAL(t, t.TempDir(), 4096)
	out := newFakeOutput()
	out.block = make(chan struct{}) // nothing gets acknowledged
	defer close(out.block)
	cfg := testConfig()
	p := mustDurable(t, cfg, w, out)
	t.Cleanup(func() { // before the WAL's cleanup: stop everything that writes into the directory
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p.Close(ctx)
	})
	accepted, full := 0, 0
	for i := range 1000 {
		switch _, err := p.TryPut(ev(fmt.Sprintf("datagram %04d with some padding to fill the buffer quickly", i))); {
		case err == nil:
			accepted++
		case errors.Is(err, ErrBufferFull):
			full++
			if r := DropReason(err); r != metrics.DropBufferFull {
				t.Fatalf("DropReason = %q", r)
			}
		default:
			t.Fatalf("TryPut = %v", err)
		}
	}
	if accepted == 0 || full == 0 {
		t.Fatalf("accepted %d, refused %d of 1000 into a 4 KiB buffer", accepted, full)
	}
}
