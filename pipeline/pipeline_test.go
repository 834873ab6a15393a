package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
)

// fakeOutput records every WriteBatch call and answers with decide.
type fakeOutput struct {
	mu      sync.Mutex
	calls   [][]string
	seen    map[string]int
	decide  func(call int, msg string) Status
	failAll func(call int) error
	block   chan struct{} // when non-nil, WriteBatch waits for it or ctx
	called  chan int      // when non-nil, receives the batch size of each call
	onCall  []chan struct{}
}

func newFakeOutput() *fakeOutput {
	return &fakeOutput{seen: map[string]int{}, decide: func(int, string) Status { return Delivered }}
}

func (o *fakeOutput) WriteBatch(ctx context.Context, evs []*event.Event) ([]Result, error) {
	if o.called != nil {
		o.called <- len(evs)
	}
	if o.block != nil {
		select {
		case <-o.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	call := len(o.calls)
	msgs := make([]string, len(evs))
	for i, ev := range evs {
		msgs[i] = string(ev.Raw)
	}
	o.calls = append(o.calls, msgs)
	for _, ch := range o.onCall {
		close(ch)
	}
	o.onCall = nil
	if o.failAll != nil {
		if err := o.failAll(call); err != nil {
			return nil, err
		}
	}
	res := make([]Result, len(evs))
	for i, m := range msgs {
		res[i].Status = o.decide(call, m)
		switch res[i].Status {
		case Delivered:
			o.seen[m]++
		case Rejected:
			res[i].Index = "idx"
			res[i].Document = json.RawMessage(fmt.Sprintf(`{"message":%q}`, m))
			res[i].Reason = "mapper_parsing_exception: boom"
		case Retry:
			res[i].Reason = "es_rejected_execution_exception"
		}
	}
	return res, nil
}

func (o *fakeOutput) Close(context.Context) error { return nil }

func (o *fakeOutput) snapshotCalls() [][]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([][]string(nil), o.calls...)
}

// waitForCall blocks until the output is called once more.
func waitForCall(t *testing.T, o *fakeOutput) {
	t.Helper()
	o.mu.Lock()
	ch := make(chan struct{})
	o.onCall = append(o.onCall, ch)
	o.mu.Unlock()
	<-ch
}

func zeroLog() zerolog.Logger { return zerolog.Nop() }

func testConfig() Config {
	c := DefaultConfig()
	c.RetryInitial = time.Millisecond
	c.RetryMax = 2 * time.Millisecond
	c.FlushInterval = time.Hour // tests flush on count or on Close unless they say otherwise
	return c
}

func ev(s string) *event.Event { return &event.Event{Raw: []byte(s)} }

func mustNew(t *testing.T, cfg Config, out Output, dlq DeadLetter) *Pipeline {
	t.Helper()
	p, err := New(cfg, NewMemoryBuffer(cfg), nil, out, dlq, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func putN(t *testing.T, p *Pipeline, n int) {
	t.Helper()
	for i := range n {
		if err := p.Put(context.Background(), ev(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeliversEverythingOnClose(t *testing.T) {
	out := newFakeOutput()
	cfg := testConfig()
	cfg.BatchCount = 7
	p := mustNew(t, cfg, out, nil)
	putN(t, p, 100)
	st := p.Close(context.Background())
	if st.Delivered != 100 || st.Lost != 0 || st.Rejected != 0 {
		t.Fatalf("stats = %+v, want 100 delivered", st)
	}
	for i := range 100 {
		if n := out.seen[fmt.Sprintf("m%d", i)]; n != 1 {
			t.Fatalf("m%d delivered %d times", i, n)
		}
	}
	for _, c := range out.calls {
		if len(c) > 7 {
			t.Fatalf("batch of %d exceeds batch_count 7", len(c))
		}
	}
}

func TestBatchCutOnBytes(t *testing.T) {
	out := newFakeOutput()
	out.called = make(chan int, 10)
	cfg := testConfig()
	cfg.BatchBytes = 1024
	p := mustNew(t, cfg, out, nil)
	big := string(make([]byte, 600))
	p.Put(context.Background(), ev(big))
	p.Put(context.Background(), ev(big)) // 1200 bytes ≥ 1024: cut now, not on Close
	if n := <-out.called; n != 2 {
		t.Fatalf("first batch has %d events, want 2", n)
	}
	p.Close(context.Background())
}

func TestBatchCutOnInterval(t *testing.T) {
	out := newFakeOutput()
	out.called = make(chan int, 10)
	cfg := testConfig()
	cfg.FlushInterval = 5 * time.Millisecond
	p := mustNew(t, cfg, out, nil)
	p.Put(context.Background(), ev("lonely"))
	if n := <-out.called; n != 1 { // arrives without Close: the interval cut it
		t.Fatalf("batch has %d events, want 1", n)
	}
	p.Close(context.Background())
}

func TestRetriesOnlyTheItemsAskedFor(t *testing.T) {
	out := newFakeOutput()
	out.decide = func(call int, m string) Status {
		if call < 3 && m == "m3" { // m3 gets 429 three times
			return Retry
		}
		return Delivered
	}
	cfg := testConfig()
	cfg.BatchCount = 10
	p := mustNew(t, cfg, out, nil)
	putN(t, p, 10)
	st := p.Close(context.Background())
	if st.Delivered != 10 {
		t.Fatalf("stats = %+v", st)
	}
	if len(out.calls) != 4 {
		t.Fatalf("%d calls, want 4 (1 full + 3 retries)", len(out.calls))
	}
	for _, c := range out.calls[1:] {
		if len(c) != 1 || c[0] != "m3" {
			t.Fatalf("retry resent %v, want only m3", c)
		}
	}
	for m, n := range out.seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", m, n)
		}
	}
}

func TestRetriesWholeBatchWhileOutputDown(t *testing.T) {
	out := newFakeOutput()
	out.failAll = func(call int) error {
		if call < 5 {
			return errors.New("connection refused")
		}
		return nil
	}
	cfg := testConfig()
	p := mustNew(t, cfg, out, nil)
	putN(t, p, 50)
	st := p.Close(context.Background())
	if st.Delivered != 50 || st.Lost != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if len(out.calls) != 6 {
		t.Fatalf("%d calls, want 6", len(out.calls))
	}
}

func TestRejectedGoToDeadLetterFile(t *testing.T) {
	out := newFakeOutput()
	out.decide = func(_ int, m string) Status {
		if m == "m1" || m == "m4" {
			return Rejected
		}
		return Delivered
	}
	path := filepath.Join(t.TempDir(), "sub", "dlq.ndjson")
	fixed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	dlq, err := NewFileDeadLetter(path, func() time.Time { return fixed })
	if err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, testConfig(), out, dlq)
	putN(t, p, 6)
	st := p.Close(context.Background())
	dlq.Close()
	if st.Delivered != 4 || st.Rejected != 2 {
		t.Fatalf("stats = %+v", st)
	}
	got := readDeadLetterRecords(t, path)
	if len(got) != 2 || got[0].Index != "idx" || got[0].Error == "" || got[0].Time != "2026-11-26T12:00:00Z" {
		t.Fatalf("dead letters = %+v", got)
	}
	if string(got[0].Document) != `{"message":"m1"}` {
		t.Fatalf("document = %s", got[0].Document)
	}
}

func TestDeadLetterBadPath(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	_, err := NewFileDeadLetter(filepath.Join(blocker, "x.ndjson"), nil)
	if err == nil {
		t.Fatal("want error for a path under a regular file")
	}
}

func TestBackPressure(t *testing.T) {
	out := newFakeOutput()
	out.block = make(chan struct{})
	cfg := testConfig()
	cfg.QueueSize = 4
	cfg.BatchCount = 2
	cfg.Workers = 1
	p := mustNew(t, cfg, out, nil)
	// Fill: 1 batch in the worker, 1 batch held by the batcher, then the queue.
	accepted := 0
	for i := 0; i < 100; i++ {
		if _, err := p.TryPut(ev(fmt.Sprintf("m%d", i))); err != nil {
			if !errors.Is(err, ErrQueueFull) {
				t.Fatalf("TryPut = %v, want ErrQueueFull", err)
			}
			break
		}
		accepted++
		if accepted > 2*cfg.BatchCount+cfg.QueueSize+cfg.BatchCount {
			t.Fatalf("accepted %d events with everything full: queue is not bounded", accepted)
		}
	}
	// A blocking Put must wait and give up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Put(ctx, ev("late")) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) && err != nil {
		t.Fatalf("Put = %v", err)
	}
	close(out.block)
	st := p.Close(context.Background())
	if st.Lost != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCloseDeadlineCountsLost(t *testing.T) {
	out := newFakeOutput()
	out.failAll = func(int) error { return errors.New("down") }
	cfg := testConfig()
	cfg.BatchCount = 10
	p := mustNew(t, cfg, out, nil)
	putN(t, p, 35)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the grace period is already over
	st := p.Close(ctx)
	if st.Lost != 35 || st.Delivered != 0 {
		t.Fatalf("stats = %+v, want 35 lost", st)
	}
	if err := p.Put(context.Background(), ev("after")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.Workers = 0
	if err := c.Validate(); err == nil || err.Error() != "pipeline.workers: 0 is out of range; use 1 to 64 (default 2)" {
		t.Fatalf("err = %v", err)
	}
}

func TestAssignedIDsAreUniqueAndKeptThroughRetries(t *testing.T) {
	var mu sync.Mutex
	idsByCall := map[int][]string{}
	out := newFakeOutput()
	out.decide = func(call int, m string) Status {
		if call == 0 {
			return Retry
		}
		return Delivered
	}
	rec := &recordingOutput{fakeOutput: out, record: func(call int, evs []*event.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			idsByCall[call] = append(idsByCall[call], e.ID)
		}
	}}
	cfg := testConfig()
	cfg.AssignIDs = true
	cfg.Workers = 1 // recordingOutput counts calls unguarded
	p := mustNew(t, cfg, rec, nil)
	putN(t, p, 50)
	p.Close(context.Background())
	first, second := idsByCall[0], idsByCall[1]
	if len(first) != 50 || len(second) != 50 {
		t.Fatalf("calls saw %d and %d events", len(first), len(second))
	}
	seen := map[string]bool{}
	for i, id := range first {
		if len(id) != 22 || seen[id] {
			t.Fatalf("id %q: empty, malformed or repeated", id)
		}
		seen[id] = true
		if second[i] != id {
			t.Fatalf("retry changed the id of event %d: %q → %q", i, id, second[i])
		}
	}
}

type recordingOutput struct {
	*fakeOutput
	calls  int
	record func(call int, evs []*event.Event)
}

func (r *recordingOutput) WriteBatch(ctx context.Context, evs []*event.Event) ([]Result, error) {
	r.record(r.calls, evs)
	r.calls++
	return r.fakeOutput.WriteBatch(ctx, evs)
}

// The byte bound holds whatever the message sizes: big messages fill it
// long before the slot count.
func TestQueueBytesBoundsMemory(t *testing.T) {
	out := newFakeOutput()
	out.block = make(chan struct{})
	cfg := testConfig()
	cfg.QueueSize = 1 << 16
	cfg.QueueBytes = 1 << 20
	cfg.Workers = 1
	p := mustNew(t, cfg, out, nil)
	big := string(make([]byte, 64<<10))
	accepted := 0
	for range 100 {
		if _, err := p.TryPut(ev(big)); err == nil {
			accepted++
		}
	}
	if accepted != 16 { // 16 × 64 KiB = 1 MiB
		t.Fatalf("accepted %d messages of 64 KiB into a 1 MiB gate, want 16", accepted)
	}
	if _, got := p.buf.(*buffer.Memory).Stats(); got != 1<<20 {
		t.Fatalf("memory buffer holds %d bytes", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Put(ctx, ev(big)) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Put on a full gate = %v, want context.Canceled", err)
	}
	close(out.block)
	if st := p.Close(context.Background()); st.Delivered != 16 {
		t.Fatalf("stats = %+v", st)
	}
	if n, got := p.buf.(*buffer.Memory).Stats(); got != 0 || n != 0 {
		t.Fatalf("memory buffer still holds %d events, %d bytes after everything settled", n, got)
	}
}
