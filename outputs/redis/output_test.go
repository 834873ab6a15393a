package redis

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/pipeline"
)

func newTestOutput(t *testing.T, cfg redisconn.Config) (*Output, *goredis.Client) {
	t.Helper()
	index, _ := elasticsearch.ParseIndex("syslog-msg-%{+yyyy.MM.dd}")
	o, err := New(cfg, elasticsearch.SchemaLogstash, index, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o, o.client
}

func testConfig(t *testing.T) redisconn.Config {
	c := redisconn.DefaultConfig()
	c.URL = testes.RedisURL(t) // the real server testenv/redis.sh started
	c.Stream = "test-" + t.Name() + "-" + time.Now().Format("150405.000000000")
	return c
}

func events(n int) []*event.Event {
	evs := make([]*event.Event, n)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = &event.Event{ID: "id" + string(rune('a'+i)), Received: at, SourceIP: "192.0.2.1", Format: event.FormatRFC3164,
			Priority: 13, Message: "message " + string(rune('a'+i)), Raw: []byte("<13>x")}
	}
	return evs
}

// Each event is one entry with its ID, its resolved index and the
// finished document, in order.
func TestEntriesCarryDocumentIDAndIndex(t *testing.T) {
	o, c := newTestOutput(t, testConfig(t))
	ctx := context.Background()
	if err := o.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	evs := events(3)
	res, err := o.WriteBatch(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != pipeline.Delivered {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if v := testutil.ToFloat64(o.produced); v != 3 {
		t.Errorf("logshipper_queue_produced_total = %v, want 3", v)
	}
	entries, err := c.XRange(ctx, o.cfg.Stream, "-", "+").Result()
	if err != nil || len(entries) != 3 {
		t.Fatalf("XRANGE: %v %v", entries, err)
	}
	for i, e := range entries {
		if e.Values[redisconn.FieldID] != evs[i].ID || e.Values[redisconn.FieldIndex] != "syslog-msg-2026.12.04" {
			t.Errorf("entry %d: %v", i, e.Values)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(e.Values[redisconn.FieldDoc].(string)), &doc); err != nil || doc["message"] != evs[i].Message {
			t.Errorf("entry %d document %v: %v", i, e.Values[redisconn.FieldDoc], err)
		}
	}
}

// A full stream holds the batch back (to be retried) rather than trimming
// entries no indexer has read.
func TestFullStreamIsBackPressure(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxLen = 3
	o, c := newTestOutput(t, cfg)
	ctx := context.Background()
	if _, err := o.WriteBatch(ctx, events(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteBatch(ctx, events(1)); !errors.Is(err, ErrStreamFull) {
		t.Fatalf("write into a full stream: %v, want ErrStreamFull", err)
	}
	if n := c.XLen(ctx, cfg.Stream).Val(); n != 3 {
		t.Fatalf("stream holds %d entries", n)
	}
}

// The bound counts what waits for the indexers: entries every group has
// read and acknowledged are trimmed to make room; an entry read but not
// acknowledged, or not read, is never trimmed.
func TestAcknowledgedEntriesAreTrimmed(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxLen = 10
	o, c := newTestOutput(t, cfg)
	ctx := context.Background()
	if _, err := o.WriteBatch(ctx, events(8)); err != nil {
		t.Fatal(err)
	}
	if err := c.XGroupCreate(ctx, cfg.Stream, "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	read, err := c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{cfg.Stream, ">"}, Count: 6, Block: -1}).Result()
	if err != nil {
		t.Fatal(err)
	}
	msgs := read[0].Messages
	// Acknowledge the first 4 of the 6 read; 2 stay pending, 2 unread.
	for _, m := range msgs[:4] {
		c.XAck(ctx, cfg.Stream, "g", m.ID)
	}
	if _, err := o.WriteBatch(ctx, events(4)); err != nil {
		t.Fatalf("8 entries, 4 of them acknowledged, + 4: %v", err)
	}
	entries := c.XRange(ctx, cfg.Stream, "-", "+").Val()
	if len(entries) != 8 || entries[0].ID != msgs[4].ID {
		t.Fatalf("after trimming: %d entries from %v, want 8 from the oldest pending %s", len(entries), entries[0].ID, msgs[4].ID)
	}
	// Nothing more is acknowledged: the bound holds.
	if _, err := o.WriteBatch(ctx, events(3)); !errors.Is(err, ErrStreamFull) {
		t.Fatalf("write past the bound with nothing acknowledged: %v, want ErrStreamFull", err)
	}
}

// An entry the server refuses for good (the key is no stream) is rejected
// for the dead-letter file, with its document; a dead server fails the
// batch and the readiness check.
func TestRefusalsAndOutages(t *testing.T) {
	cfg := testConfig(t)
	o, c := newTestOutput(t, cfg)
	ctx := context.Background()
	if err := c.Set(ctx, cfg.Stream, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := o.WriteBatch(ctx, events(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != pipeline.Rejected || len(r.Document) == 0 || r.Index == "" {
			t.Errorf("result %+v, want rejected with its document", r)
		}
	}
	dead := cfg
	dead.URL = "redis://127.0.0.1:1"
	dead.Timeout = time.Second
	d, _ := newTestOutput(t, dead)
	if _, err := d.WriteBatch(ctx, events(1)); err == nil {
		t.Error("a batch to a dead server succeeded")
	}
	if err := d.Ready(ctx); err == nil {
		t.Error("a dead server is ready")
	}
}
