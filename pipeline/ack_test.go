package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/metrics"
)

// discardDeadLetter takes every rejected event.
type discardDeadLetter struct{}

func (discardDeadLetter) Write(string, json.RawMessage, string) error { return nil }
func (discardDeadLetter) Close() error                                { return nil }

// acks records PutBatch acknowledgements by group name.
type acks chan string

func (a acks) done(name string) func(error) {
	return func(err error) { a <- fmt.Sprintf("%s: %v", name, err) }
}

func (a acks) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-a:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement")
		return ""
	}
}

func (a acks) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-a:
		t.Fatalf("acknowledged too early: %s", s)
	default:
	}
}

func evs(prefix string, n int) []*event.Event {
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = ev(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// With the memory buffer, a group is acknowledged once, after the output
// settled every one of its events (retries and dead letters included), and
// not before.
func TestPutBatchAcknowledgesOnceSettled(t *testing.T) {
	out := newFakeOutput()
	out.block = make(chan struct{})
	out.decide = func(call int, msg string) Status {
		switch {
		case msg == "a1" && call < 2:
			return Retry
		case msg == "b2":
			return Rejected
		}
		return Delivered
	}
	cfg := testConfig()
	cfg.BatchCount = 2
	cfg.Workers = 2
	p := mustNew(t, cfg, out, discardDeadLetter{})
	a := make(acks, 4)
	if err := p.PutBatch(context.Background(), evs("a", 3), a.done("a")); err != nil {
		t.Fatal(err)
	}
	if err := p.PutBatch(context.Background(), evs("b", 3), a.done("b")); err != nil {
		t.Fatal(err)
	}
	a.none(t) // the output holds every batch
	close(out.block)
	got := map[string]bool{a.next(t): true, a.next(t): true}
	if !got["a: <nil>"] || !got["b: <nil>"] {
		t.Fatalf("acknowledgements %v", got)
	}
	if st := p.Close(context.Background()); st.Delivered != 5 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
	a.none(t)
}

// At the shutdown deadline, groups whose events were given up (in flight,
// or never read from the memory buffer) are told so: the input must not
// acknowledge them upstream. They are left (the broker delivers them
// again), not lost, and not counted as dropped.
func TestPutBatchGivenUpAtTheDeadline(t *testing.T) {
	out := newFakeOutput()
	out.decide = func(int, string) Status { return Retry } // never settles
	cfg := testConfig()
	cfg.BatchCount = 2
	cfg.Workers = 1
	cfg.QueueSize = 64
	cfg.Events = metrics.NewEvents(nil)
	p := mustNew(t, cfg, out, nil)
	a := make(acks, 64)
	// (2 x 1 worker + 2) batches of 2 = 8 events may be in the pipeline
	// at once; the broker keeps the rest.
	for i := range 4 {
		if err := p.PutBatch(context.Background(), evs(fmt.Sprintf("g%d-", i), 2), a.done(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	full, cancelFull := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelFull()
	if err := p.PutBatch(full, evs("over-", 2), a.done("over")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PutBatch beyond the limit: %v, want it to wait (DeadlineExceeded)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st := p.Close(ctx)
	if st.Left != 8 || st.Lost != 0 {
		t.Fatalf("stats %+v, want all 8 left upstream", st)
	}
	if v := testutil.ToFloat64(cfg.Events.Dropped.WithLabelValues(metrics.DropShutdown)); v != 0 {
		t.Errorf("%v counted as dropped at shutdown", v)
	}
	for range 4 {
		if s := a.next(t); !strings.HasSuffix(s, ": "+ErrGivenUp.Error()) {
			t.Fatalf("acknowledgement %q, want %v", s, ErrGivenUp)
		}
	}
	a.none(t)
}

// With the disk buffer, events are safe once on disk: the group is
// acknowledged when PutBatch returns, before any delivery.
func TestPutBatchDurableAcknowledgesOnDisk(t *testing.T) {
	out := newFakeOutput()
	out.block = make(chan struct{})
	cfg := testConfig()
	p := mustDurable(t, cfg, openWAL(t, t.TempDir(), 1<<20), out)
	a := make(acks, 1)
	if err := p.PutBatch(context.Background(), evs("d", 3), a.done("d")); err != nil {
		t.Fatal(err)
	}
	if s := a.next(t); s != "d: <nil>" {
		t.Fatalf("acknowledgement %q", s)
	}
	close(out.block)
	p.Close(context.Background())
}
