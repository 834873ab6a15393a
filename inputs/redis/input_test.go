package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/metrics"
)

// sink records what it is handed; settle decides what each batch's done
// gets (nil: it is held until release).
type sink struct {
	mu      sync.Mutex
	got     []*event.Event
	held    []func(error)
	arrived chan int // total events so far, after each batch
	settle  func(batch int) (err error, hold bool)
	batches int
	dlq     *deadLetters // nil: dead letters are dropped (no file)
}

func newSink() *sink { return &sink{arrived: make(chan int, 1000)} }

func (s *sink) PutBatch(_ context.Context, evs []*event.Event, done func(error)) error {
	s.mu.Lock()
	s.got = append(s.got, evs...)
	n := len(s.got)
	b := s.batches
	s.batches++
	var err error
	hold := false
	if s.settle != nil {
		err, hold = s.settle(b)
	}
	if hold {
		s.held = append(s.held, done)
	}
	s.mu.Unlock()
	if !hold {
		done(err)
	}
	s.arrived <- n
	return nil
}

func (s *sink) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-s.arrived:
			if got >= n {
				return
			}
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("sink got %d events, want %d", len(s.got), n)
		}
	}
}

func (s *sink) release(err error) {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, d := range held {
		d(err)
	}
}

type deadLetters struct {
	mu      sync.Mutex
	docs    []json.RawMessage
	reasons []string
}

func (d *deadLetters) Write(index string, doc json.RawMessage, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs = append(d.docs, doc)
	d.reasons = append(d.reasons, reason)
	return nil
}
func (d *deadLetters) Close() error { return nil }

// DeadLetter is the pipeline's: into dlq, or nowhere when there is none.
func (s *sink) DeadLetter(_ context.Context, index string, doc []byte, reason string) bool {
	if s.dlq != nil {
		s.dlq.Write(index, doc, reason)
	}
	return true
}

func testRedis(t *testing.T) (redisconn.Config, *goredis.Client) {
	t.Helper()
	c := redisconn.DefaultConfig()
	c.URL = testes.RedisURL(t) // the real server testenv/redis.sh started
	c.Stream = fmt.Sprintf("test-%s-%d", t.Name(), time.Now().UnixNano())
	c.ClaimIdle = time.Second
	opts, _ := goredis.ParseURL(c.URL)
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Del(context.Background(), c.Stream); client.Close() })
	return c, client
}

// appendRecords appends n entries as the edge's output writes them.
func appendRecords(t *testing.T, c *goredis.Client, stream string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		err := c.XAdd(context.Background(), &goredis.XAddArgs{Stream: stream, Values: []any{
			redisconn.FieldID, fmt.Sprintf("id-%d", i), redisconn.FieldIndex, "syslog-msg",
			redisconn.FieldDoc, fmt.Sprintf(`{"message":"m%d"}`, i),
		}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func start(t *testing.T, rc redisconn.Config, s *sink, dlq *deadLetters) (*Input, *metrics.Consumer) {
	t.Helper()
	m := metrics.NewConsumer(nil)
	cfg := Config{Redis: rc, ReadCount: 10, Logger: zerolog.Nop(), Metrics: m, RetryInitial: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond}
	s.dlq = dlq
	in, err := New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	return in, m
}

func pending(t *testing.T, c *goredis.Client, rc redisconn.Config) int64 {
	t.Helper()
	p, err := c.XPending(context.Background(), rc.Stream, rc.Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func waitPending(t *testing.T, c *goredis.Client, rc redisconn.Config, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pending(t, c, rc) != want {
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, want %d", pending(t, c, rc), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Entries written before the indexer started are read (the group starts
// at the stream's beginning), become events carrying the finished
// document, _id and index, and each is acknowledged only once its batch
// is settled downstream.
func TestReadsEverythingAndAcksOnlySettled(t *testing.T) {
	rc, c := testRedis(t)
	appendRecords(t, c, rc.Stream, 0, 25)
	s := newSink()
	s.settle = func(int) (error, bool) { return nil, true } // hold every batch
	in, m := start(t, rc, s, nil)
	s.waitFor(t, 25)
	if p := pending(t, c, rc); p != 25 {
		t.Fatalf("pending before settling = %d, want 25", p)
	}
	s.mu.Lock()
	ev := s.got[3]
	s.mu.Unlock()
	if ev.ID != "id-3" || ev.Document == nil || ev.Document.Index != "syslog-msg" || string(ev.Document.Body) != `{"message":"m3"}` || ev.Transport != "redis" {
		t.Errorf("event 3: %+v %+v", ev, ev.Document)
	}
	s.release(nil)
	waitPending(t, c, rc, 0)
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(m.Acked.WithLabelValues("redis")); v != 25 {
		t.Errorf("acked metric %v", v)
	}
}

// Given up downstream (the shutdown deadline): not acknowledged, so the
// entries stay pending for a claim.
func TestGivenUpStaysPending(t *testing.T) {
	rc, c := testRedis(t)
	appendRecords(t, c, rc.Stream, 0, 5)
	s := newSink()
	s.settle = func(int) (error, bool) { return context.DeadlineExceeded, false }
	in, _ := start(t, rc, s, nil)
	s.waitFor(t, 5)
	in.Stop(context.Background())
	if p := pending(t, c, rc); p != 5 {
		t.Errorf("pending = %d, want 5", p)
	}
}

// Stop waits for what was handed over: settled while stopping, it is
// acknowledged before Stop returns; at the deadline the rest stays pending.
func TestStopWaitsForInFlight(t *testing.T) {
	rc, c := testRedis(t)
	appendRecords(t, c, rc.Stream, 0, 10)
	s := newSink()
	s.settle = func(int) (error, bool) { return nil, true }
	in, _ := start(t, rc, s, nil)
	s.waitFor(t, 10)
	stopped := make(chan error)
	go func() { stopped <- in.Stop(context.Background()) }()
	s.release(nil)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if p := pending(t, c, rc); p != 0 {
		t.Errorf("pending after Stop = %d", p)
	}

	appendRecords(t, c, rc.Stream, 10, 5)
	s2 := newSink()
	s2.settle = func(int) (error, bool) { return nil, true }
	in2, _ := start(t, rc, s2, nil)
	s2.waitFor(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := in2.Stop(ctx); err == nil {
		t.Error("Stop with unsettled entries at the deadline: no error")
	}
	// Settled after Stop gave up on them (the pipeline still flushing):
	// no acknowledgement any more, and no panic; they stay pending.
	s2.release(nil)
	if p := pending(t, c, rc); p != 5 {
		t.Errorf("pending = %d, want 5", p)
	}
}

// A consumer that read entries and died (never acknowledged, never
// renewed) loses them to another after claim_idle; a live one that holds
// entries longer than claim_idle keeps them (it renews them).
func TestClaimsFromTheDeadNotFromTheLiving(t *testing.T) {
	rc, c := testRedis(t)
	appendRecords(t, c, rc.Stream, 0, 10)

	// The dead one: read by hand as consumer "crashed", never acknowledged.
	if err := c.XGroupCreateMkStream(context.Background(), rc.Stream, rc.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.XReadGroup(context.Background(), &goredis.XReadGroupArgs{
		Group: rc.Group, Consumer: "crashed", Streams: []string{rc.Stream, ">"}, Count: 10, Block: -1,
	}).Result(); err != nil {
		t.Fatal(err)
	}

	// The living one holds what it reads.
	living := newSink()
	living.settle = func(int) (error, bool) { return nil, true }
	rcA := rc
	rcA.Consumer = "living"
	a, _ := start(t, rcA, living, nil)
	defer a.Stop(context.Background())
	living.waitFor(t, 10) // claimed from "crashed" after 1s
	appendRecords(t, c, rc.Stream, 10, 5)
	living.waitFor(t, 15)

	// Another indexer runs for 3 claim_idle periods: it must get nothing.
	other := newSink()
	rcB := rc
	rcB.Consumer = "other"
	b, mb := start(t, rcB, other, nil)
	time.Sleep(3 * rc.ClaimIdle) // the property under test is that nothing is claimed
	b.Stop(context.Background())
	other.mu.Lock()
	n := len(other.got)
	other.mu.Unlock()
	if n != 0 {
		t.Errorf("a live consumer's entries were claimed: %d", n)
	}
	if v := testutil.ToFloat64(mb.Redelivered.WithLabelValues("redis")); v != 0 {
		t.Errorf("other's redelivered = %v", v)
	}
	living.release(nil)
	waitPending(t, c, rc, 0)
}

// A fixed consumer name restarted reads its own pending entries first.
func TestRestartedConsumerReadsItsPendingFirst(t *testing.T) {
	rc, c := testRedis(t)
	rc.Consumer = "indexer-1"
	rc.ClaimIdle = time.Hour // no claims: only the pending walk brings them back
	appendRecords(t, c, rc.Stream, 0, 25)
	s := newSink()
	s.settle = func(int) (error, bool) { return context.Canceled, false }
	in, _ := start(t, rc, s, nil)
	s.waitFor(t, 25)
	in.Stop(context.Background())

	s2 := newSink()
	in2, m := start(t, rc, s2, nil)
	s2.waitFor(t, 25)
	waitPending(t, c, rc, 0)
	in2.Stop(context.Background())
	if v := testutil.ToFloat64(m.Redelivered.WithLabelValues("redis")); v != 25 {
		t.Errorf("redelivered = %v, want 25", v)
	}
	seen := map[string]int{}
	for _, ev := range s2.got {
		seen[ev.ID]++
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct ids of %d events", len(seen), len(s2.got))
	}
}

// An entry that is not an edge's record goes to the dead-letter file with
// its fields and is acknowledged; the others are indexed.
func TestForeignEntryDeadLettered(t *testing.T) {
	rc, c := testRedis(t)
	appendRecords(t, c, rc.Stream, 0, 2)
	c.XAdd(context.Background(), &goredis.XAddArgs{Stream: rc.Stream, Values: []any{"message", "hello"}})
	appendRecords(t, c, rc.Stream, 2, 2)
	s := newSink()
	dlq := &deadLetters{}
	in, _ := start(t, rc, s, dlq)
	s.waitFor(t, 4)
	waitPending(t, c, rc, 0)
	in.Stop(context.Background())
	if len(dlq.docs) != 1 {
		t.Fatalf("dead letters: %v", dlq.reasons)
	}
	var rec struct {
		EntryID string            `json:"entry_id"`
		Fields  map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(dlq.docs[0], &rec); err != nil || rec.Fields["message"] != "hello" || rec.EntryID == "" {
		t.Errorf("dead letter %s: %v", dlq.docs[0], err)
	}
	if want := "has no \"doc\" or \"index\" field"; !strings.Contains(dlq.reasons[0], want) {
		t.Errorf("reason %q", dlq.reasons[0])
	}
}

// Redis down at start: the input keeps trying and reads once it is there.
func TestRedisDownAtStart(t *testing.T) {
	rc := redisconn.DefaultConfig()
	rc.URL = "redis://127.0.0.1:1" // nothing listens
	s := newSink()
	in, _ := start(t, rc, s, nil)
	time.Sleep(200 * time.Millisecond) // the property under test is that nothing happens
	if in.Ready() {
		t.Error("ready without Redis")
	}
	if err := in.Stop(context.Background()); err != nil {
		t.Error(err)
	}
}
