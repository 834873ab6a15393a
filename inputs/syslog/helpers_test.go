package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/pipeline"
)

// waitLimit bounds every wait, so a broken server fails a test instead of
// hanging it. It is never what makes a test pass.
const waitLimit = 10 * time.Second

var fixedNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// sink records events. If gate is set, Put waits for it to be closed (or
// for ctx); entered is closed at the first Put.
type sink struct {
	mu      sync.Mutex
	events  []*event.Event
	changed chan struct{}

	gate       chan struct{}
	entered    chan struct{}
	enterOnce  sync.Once
	tryPut     func(*event.Event) bool // overrides TryPut's answer when set
	putCalls   int
	tryPutSeen int
	commits    int   // Commit and CommitSoon calls
	waited     int   // the highest mark WaitCommitted was called with
	waitedAt   []int // waited when each event was put
}

func newSink() *sink {
	return &sink{changed: make(chan struct{}, 1), entered: make(chan struct{})}
}

func (s *sink) add(ev *event.Event) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.waitedAt = append(s.waitedAt, s.waited)
	s.mu.Unlock()
	s.poke()
}

func (s *sink) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *sink) Put(ctx context.Context, evs ...*event.Event) error {
	s.mu.Lock()
	s.putCalls++
	s.mu.Unlock()
	s.enterOnce.Do(func() { close(s.entered) })
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, ev := range evs {
		s.add(ev)
	}
	return nil
}

// TryPut takes each event the tryPut rule lets in, as the pipeline does
// when some of a batch fit and some do not.
func (s *sink) TryPut(evs ...*event.Event) (int, error) {
	var err error
	n := 0
	for _, ev := range evs {
		s.mu.Lock()
		s.tryPutSeen++
		s.mu.Unlock()
		if s.tryPut != nil && !s.tryPut(ev) {
			s.poke()
			err = pipeline.ErrQueueFull
			continue
		}
		s.add(ev)
		n++
	}
	return n, err
}

func (s *sink) Commit(context.Context) error {
	s.mu.Lock()
	s.commits++
	s.waited = len(s.events)
	s.mu.Unlock()
	s.poke()
	return nil
}

// CommitSoon's mark is the number of events put so far.
func (s *sink) CommitSoon() buffer.Mark {
	s.mu.Lock()
	s.commits++
	m := len(s.events)
	s.mu.Unlock()
	s.poke()
	return buffer.Mark(m)
}

func (s *sink) WaitCommitted(_ context.Context, m buffer.Mark) error {
	s.mu.Lock()
	s.waited = max(s.waited, int(m))
	s.mu.Unlock()
	return nil
}

// waitCommits waits until the input has asked for n commits.
func (s *sink) waitCommits(t testing.TB, n int) {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d commits", n), func([]*event.Event) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.commits >= n
	})
}

func (s *sink) snapshot() []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*event.Event(nil), s.events...)
}

// waitFor waits until cond holds for the recorded events.
func (s *sink) waitFor(t testing.TB, what string, cond func([]*event.Event) bool) []*event.Event {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		evs := s.snapshot()
		if cond(evs) {
			return evs
		}
		select {
		case <-s.changed:
		case <-limit.C:
			t.Fatalf("timed out waiting for %s; have %d events", what, len(evs))
		}
	}
}

func (s *sink) waitN(t testing.TB, n int) []*event.Event {
	t.Helper()
	return s.waitFor(t, "events", func(evs []*event.Event) bool { return len(evs) >= n })
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) count(substr string) int { return strings.Count(b.String(), substr) }

func testConfig(logs *syncBuffer) Config {
	cfg := Config{
		Listen: "127.0.0.1:0",
		Now:    func() time.Time { return fixedNow },
	}
	if logs != nil {
		cfg.Logger = zerolog.New(logs)
	}
	return cfg
}

// start starts a server and stops it when the test ends.
func start(t testing.TB, cfg Config, sk pipeline.Sink) (*Server, *net.TCPAddr, *net.UDPAddr) {
	t.Helper()
	s, err := New(cfg, sk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		s.Stop(ctx)
	})
	tcp, udp := s.Addr()
	return s, tcp.(*net.TCPAddr), udp.(*net.UDPAddr)
}

func dialTCP(t testing.TB, addr *net.TCPAddr) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// value reads a counter or gauge. Metrics are process-global, so tests
// compare values before and after.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func raws(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Raw)
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after waitLimit.
// For state that has no channel to wait on: metrics and connection counts.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-limit.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// openConns is the number of TCP and TLS connections the server holds.
func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// waitDelta waits until counter m has grown by want since before.
func waitDelta(t testing.TB, what string, m prometheus.Metric, before, want float64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s +%v (have +%v)", what, want, value(m)-before), func() bool { return value(m)-before >= want })
	if d := value(m) - before; d != want {
		t.Errorf("%s +%v, want +%v", what, d, want)
	}
}

// infoConfig logs at info, as production does by default logs at the default log.level.
func infoConfig(logs *syncBuffer) Config {
	cfg := testConfig(logs)
	cfg.Logger = cfg.Logger.Level(zerolog.InfoLevel)
	return cfg
}

// lines counts log lines.
func (b *syncBuffer) lines() int { return strings.Count(b.String(), "\n") }

// expectClosed checks that the server closes c (EOF or reset) within
// waitLimit, without c writing anything.
func expectClosed(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	_, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("read data from a connection the server should have closed")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("server did not close the connection within %v", waitLimit)
	}
}

// countingSink counts events and keeps none: for tests with many of them.
type countingSink struct {
	n       atomic.Int64
	changed chan struct{}
}

func newCountingSink() *countingSink { return &countingSink{changed: make(chan struct{}, 1)} }

func (s *countingSink) Put(_ context.Context, evs ...*event.Event) error {
	s.n.Add(int64(len(evs)))
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

func (s *countingSink) TryPut(evs ...*event.Event) (int, error) {
	return len(evs), s.Put(context.Background(), evs...)
}

func (s *countingSink) Commit(context.Context) error { return nil }

func (s *countingSink) CommitSoon() buffer.Mark { return 0 }

func (s *countingSink) WaitCommitted(context.Context, buffer.Mark) error { return nil }

func (s *countingSink) waitN(t testing.TB, n int64) {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for s.n.Load() < n {
		select {
		case <-s.changed:
		case <-limit.C:
			t.Fatalf("timed out waiting for %d events; have %d", n, s.n.Load())
		}
	}
}

// octet frames m by octet counting (RFC 6587 3.4.1, RFC 5425 4.3).
func octet(m string) string { return fmt.Sprintf("%d %s", len(m), m) }
