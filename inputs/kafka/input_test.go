package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/metrics"
)

// sink records what it is handed and holds each batch's done until the
// test releases it (or settles at once when auto).
type sink struct {
	mu      sync.Mutex
	got     []*event.Event
	held    []func(error)
	auto    bool
	arrived chan struct{}
	dlq     *deadLetters // nil: dead letters are dropped (no file)
}

func newSink(auto bool) *sink { return &sink{auto: auto, arrived: make(chan struct{}, 10000)} }

func (s *sink) PutBatch(_ context.Context, evs []*event.Event, done func(error)) error {
	s.mu.Lock()
	s.got = append(s.got, evs...)
	if !s.auto {
		s.held = append(s.held, done)
	}
	s.mu.Unlock()
	if s.auto {
		done(nil)
	}
	s.arrived <- struct{}{}
	return nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *sink) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for s.count() < n {
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("sink got %d events, want %d", s.count(), n)
		}
	}
}

// release settles held batches not yet released: those whose place in
// the order they arrived is in which (all when which is nil).
func (s *sink) release(err error, which ...int) {
	s.mu.Lock()
	var dones []func(error)
	for i, d := range s.held {
		if d != nil && (which == nil || contains(which, i)) {
			dones = append(dones, d)
			s.held[i] = nil
		}
	}
	s.mu.Unlock()
	for _, d := range dones {
		d(err)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *sink) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

type deadLetters struct {
	mu   sync.Mutex
	docs []json.RawMessage
}

func (d *deadLetters) Write(_ string, doc json.RawMessage, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs = append(d.docs, doc)
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

// testTopic creates a topic with partitions on the real broker that
// testenv/kafka.sh started.
func testTopic(t *testing.T, partitions int32) (kafkaconn.Config, *kgo.Client) {
	t.Helper()
	brokers := testes.KafkaBrokers(t)
	cfg := kafkaconn.DefaultConfig()
	cfg.Brokers = strings.Split(brokers, ",")
	cfg.Topic = fmt.Sprintf("test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	cfg.Group = cfg.Topic + "-group"
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = cfg.Topic, partitions, 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatal(err)
	}
	return cfg, cl
}

// produce writes n edge records, keys spread over the partitions.
func produce(t *testing.T, cl *kgo.Client, from, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{
			Key:   []byte(fmt.Sprintf("10.0.0.%d", i%7)),
			Value: []byte(fmt.Sprintf(`{"message":"m%d"}`, i)),
			Headers: []kgo.RecordHeader{
				{Key: kafkaconn.HeaderID, Value: []byte(fmt.Sprintf("id-%d", i))},
				{Key: kafkaconn.HeaderIndex, Value: []byte("syslog-msg")},
			},
		})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func startInput(t *testing.T, kc kafkaconn.Config, s *sink, dlq *deadLetters) (*Input, *metrics.Consumer) {
	t.Helper()
	m := metrics.NewConsumer(nil)
	cfg := Config{Kafka: kc, PollRecords: 50, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Metrics: m, CommitInterval: 50 * time.Millisecond, RevokeTimeout: 5 * time.Second}
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

// committed asks the broker for the group's committed offsets, summed
// over the partitions (partitions without a commit count as 0).
func committed(t *testing.T, cl *kgo.Client, kc kafkaconn.Config) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = kc.Group
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if p.Offset > 0 {
				sum += p.Offset
			}
		}
	}
	return sum
}

func waitCommitted(t *testing.T, cl *kgo.Client, kc kafkaconn.Config, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := committed(t, cl, kc)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %d, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker
	}
}

// Records become events carrying the finished document, _id and index;
// nothing is committed while their batches are held, everything once they
// are settled.
func TestCommitsOnlyWhatIsSettled(t *testing.T) {
	kc, cl := testTopic(t, 3)
	produce(t, cl, 0, 300)
	s := newSink(false)
	in, m := startInput(t, kc, s, nil)
	s.waitFor(t, 300)
	time.Sleep(200 * time.Millisecond) // the property under test is that nothing is committed: 4 commit intervals
	if c := committed(t, cl, kc); c != 0 {
		t.Fatalf("committed %d before anything was settled", c)
	}
	s.mu.Lock()
	ev := s.got[0]
	s.mu.Unlock()
	if !strings.HasPrefix(ev.ID, "id-") || ev.Document == nil || ev.Document.Index != "syslog-msg" || !strings.HasPrefix(string(ev.Document.Body), `{"message":"m`) || ev.Transport != "kafka" {
		t.Errorf("event: %+v %+v", ev, ev.Document)
	}
	s.release(nil)
	waitCommitted(t, cl, kc, 300)
	if err := in.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(m.Acked.WithLabelValues("kafka")); v != 300 {
		t.Errorf("acked metric %v, want 300", v)
	}
}

// Batches settled out of order: the committed offset stops before the
// first one still in flight (a contiguous watermark), and a restarted
// consumer reads from there: nothing skipped.
func TestWatermarkHoldsAtTheFirstUnsettled(t *testing.T) {
	kc, cl := testTopic(t, 1)
	produce(t, cl, 0, 200)
	s := newSink(false)
	in, _ := startInput(t, kc, s, nil)
	s.waitFor(t, 200)
	n := s.heldCount()
	if n < 2 {
		t.Fatalf("%d batches; want several", n)
	}
	// Everything but the second batch.
	var which []int
	for i := range n {
		if i != 1 {
			which = append(which, i)
		}
	}
	s.release(nil, which...)
	time.Sleep(200 * time.Millisecond) // let commits happen
	c := committed(t, cl, kc)
	if c <= 0 || c >= 200 {
		t.Fatalf("committed %d: want the end of the first batch", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := in.Stop(ctx); err == nil {
		t.Error("Stop with a batch in flight at the deadline: no error")
	}
	if c2 := committed(t, cl, kc); c2 != c {
		t.Errorf("committed moved to %d at Stop with batch 2 in flight", c2)
	}
	// A new member of the group reads from the first unsettled record.
	s2 := newSink(true)
	in2, _ := startInput(t, kc, s2, nil)
	s2.waitFor(t, int(200-c))
	waitCommitted(t, cl, kc, 200)
	in2.Stop(context.Background())
	s2.mu.Lock()
	first := s2.got[0].ID
	s2.mu.Unlock()
	if first != fmt.Sprintf("id-%d", c) {
		t.Errorf("restart began at %s, want id-%d", first, c)
	}
}

// Two members of one group: a rebalance waits for the leaving member's
// in-flight batches, commits them, and the new owner starts right after:
// nothing read twice when the batches settle in time.
func TestRebalanceFinishesInFlightBatches(t *testing.T) {
	kc, cl := testTopic(t, 4)
	produce(t, cl, 0, 400)
	s1 := newSink(false)
	a, _ := startInput(t, kc, s1, nil)
	s1.waitFor(t, 400)
	// b joins: a is asked to give up partitions; release a's batches
	// while its revocation waits.
	s2 := newSink(true)
	b, _ := startInput(t, kc, s2, nil)
	go func() {
		time.Sleep(500 * time.Millisecond) // a's revocation is waiting on these
		s1.release(nil)
	}()
	waitCommitted(t, cl, kc, 400)
	produce(t, cl, 400, 400)
	deadline := time.Now().Add(30 * time.Second)
	for s2.count() == 0 || s1.count()+s2.count() < 800 {
		if time.Now().After(deadline) {
			t.Fatalf("a %d + b %d events, want 800", s1.count(), s2.count())
		}
		s1.release(nil) // a's later batches, if it still owns partitions
		time.Sleep(50 * time.Millisecond)
	}
	a.Stop(context.Background())
	b.Stop(context.Background())
	seen := map[string]int{}
	for _, s := range []*sink{s1, s2} {
		s.mu.Lock()
		for _, ev := range s.got {
			seen[ev.ID]++
		}
		s.mu.Unlock()
	}
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	if len(seen) != 800 || dups != 0 {
		t.Errorf("%d distinct of 800, %d read twice", len(seen), dups)
	}
}

// A record that is not an edge's (no index header) goes to the
// dead-letter file and its offset is committed with the rest.
func TestForeignRecordDeadLettered(t *testing.T) {
	kc, cl := testTopic(t, 1)
	produce(t, cl, 0, 2)
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("plain text")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, 2, 2)
	s := newSink(true)
	dlq := &deadLetters{}
	in, _ := startInput(t, kc, s, dlq)
	s.waitFor(t, 4)
	waitCommitted(t, cl, kc, 5)
	in.Stop(context.Background())
	if len(dlq.docs) != 1 || !strings.Contains(string(dlq.docs[0]), `"value":"plain text"`) {
		t.Errorf("dead letters: %s", dlq.docs)
	}
}
