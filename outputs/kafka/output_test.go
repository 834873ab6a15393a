package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/pipeline"
)

func newTestOutput(t testing.TB, cfg kafkaconn.Config, m *metrics.Producer) *Output {
	t.Helper()
	return newLoggingOutput(t, cfg, m, zerolog.Nop())
}

func newLoggingOutput(t testing.TB, cfg kafkaconn.Config, m *metrics.Producer, log zerolog.Logger) *Output {
	t.Helper()
	index, _ := elasticsearch.ParseIndex("syslog-msg-%{+yyyy.MM.dd}")
	o, err := New(cfg, elasticsearch.SchemaLogstash, index, m, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o
}

// testConfig points at the real broker testenv/kafka.sh started, with a
// topic of the test's own.
func testConfig(t testing.TB) kafkaconn.Config {
	c := kafkaconn.DefaultConfig()
	c.Brokers = strings.Split(testes.KafkaBrokers(t), ",")
	c.Topic = topicName(t)
	return c
}

func topicName(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	return "test-" + name + "-" + time.Now().Format("150405.000000000")
}

// createTopic creates the topic with n partitions and the given topic
// configs (key, value, ...), with the admin request the client speaks.
func createTopic(t testing.TB, cfg kafkaconn.Config, partitions int32, configs ...string) {
	t.Helper()
	cl := adminClient(t, cfg)
	req := kmsg.NewPtrCreateTopicsRequest()
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = cfg.Topic, partitions, 1
	for i := 0; i+1 < len(configs); i += 2 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = configs[i], kmsg.StringPtr(configs[i+1])
		topic.Configs = append(topic.Configs, c)
	}
	req.Topics = append(req.Topics, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create topic %s: %v", cfg.Topic, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", cfg.Topic, err)
	}
	// Wait until every partition has a leader: a produce that finds
	// one missing waits for the client's next metadata refresh.
	for {
		mreq := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(cfg.Topic)
		mreq.Topics = append(mreq.Topics, mt)
		mresp, err := mreq.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("metadata of %s: %v", cfg.Topic, err)
		}
		ready := len(mresp.Topics) == 1 && mresp.Topics[0].ErrorCode == 0 && len(mresp.Topics[0].Partitions) == int(partitions)
		for _, p := range mresp.Topics[0].Partitions {
			ready = ready && p.ErrorCode == 0 && p.Leader >= 0
		}
		if ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func adminClient(t testing.TB, cfg kafkaconn.Config) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// consume reads n records of the topic from its start.
func consume(t testing.TB, cfg kafkaconn.Config, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(recs), n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		recs = append(recs, fs.Records()...)
	}
	// Nothing more than n: a short extra poll finds none.
	extra, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if more := cl.PollFetches(extra).Records(); len(more) > 0 {
		t.Errorf("%d records more than the %d expected", len(more), n)
	}
	return recs
}

func events(n int) []*event.Event {
	evs := make([]*event.Event, n)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = &event.Event{ID: fmt.Sprintf("id%d", i), Received: at, SourceIP: fmt.Sprintf("192.0.2.%d", i+1),
			Hostname: fmt.Sprintf("host-%d", i), Format: event.FormatRFC3164, Priority: 13,
			Message: fmt.Sprintf("message %d", i), Raw: []byte("<13>x")}
	}
	return evs
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func wantAll(t *testing.T, res []pipeline.Result, st pipeline.Status) {
	t.Helper()
	for i, r := range res {
		if r.Status != st {
			t.Errorf("result %d: %+v, want status %d", i, r, st)
		}
	}
}

// Each event is one record: the finished document as value, its ID and
// resolved index as headers, the sender's address as key; confirmed, and
// counted.
func TestRecordsCarryDocumentIDAndIndex(t *testing.T) {
	cfg := testConfig(t)
	m := metrics.NewProducer(nil)
	o := newTestOutput(t, cfg, m)
	ctx := context.Background()
	if err := o.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	evs := events(3)
	res, err := o.WriteBatch(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, res, pipeline.Delivered)
	recs := consume(t, cfg, 3) // one partition (auto-created): in order
	for i, r := range recs {
		if header(r, kafkaconn.HeaderID) != evs[i].ID || header(r, kafkaconn.HeaderIndex) != "syslog-msg-2026.12.04" {
			t.Errorf("record %d headers: %v", i, r.Headers)
		}
		if string(r.Key) != evs[i].SourceIP {
			t.Errorf("record %d key %q, want %q", i, r.Key, evs[i].SourceIP)
		}
		var doc map[string]any
		if err := json.Unmarshal(r.Value, &doc); err != nil || doc["message"] != evs[i].Message || doc["host"] != evs[i].SourceIP {
			t.Errorf("record %d document %s: %v", i, r.Value, err)
		}
		if want := elasticsearch.SchemaLogstash.AppendDocument(nil, evs[i]); string(r.Value) != string(want) {
			t.Errorf("record %d value\n%s\nwant\n%s", i, r.Value, want)
		}
	}
	if n := testutil.ToFloat64(m.Produced.WithLabelValues(metrics.QueueKafka)); n != 3 {
		t.Errorf("produced counter %v, want 3", n)
	}
	if n := testutil.CollectAndCount(m.Latency); n != 1 {
		t.Errorf("latency series %d, want 1", n)
	}
	if !o.WantsEventIDs() || o.Start(ctx) != nil {
		t.Error("WantsEventIDs false or Start failed")
	}
}

// A record the broker refuses as too large (the topic's max.message.bytes
// is below kafka.max_record_bytes) is rejected with its document, index
// and reason; the records that shared its record batch, failed with it by
// the client, go through when sent alone.
func TestBrokerRefusesOversizeRecord(t *testing.T) {
	cfg := testConfig(t)
	createTopic(t, cfg, 1, "max.message.bytes", "10000")
	cfg.Compression = "none" // the broker judges the compressed batch
	var logs bytes.Buffer
	o := newLoggingOutput(t, cfg, nil, zerolog.New(&logs))
	evs := events(5)
	evs[2].Message = strings.Repeat("x", 20000)
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if i == 2 {
			if r.Status != pipeline.Rejected || r.Index != "syslog-msg-2026.12.04" || !strings.Contains(r.Reason, "MESSAGE_TOO_LARGE") ||
				string(r.Document) != string(elasticsearch.SchemaLogstash.AppendDocument(nil, evs[2])) {
				t.Errorf("oversize record: %+v", r)
			}
			continue
		}
		if r.Status != pipeline.Delivered {
			t.Errorf("result %d: %+v, want delivered", i, r)
		}
	}
	// The client failed the four small records with the large one (one
	// record batch); sent alone, they went through.
	if !strings.Contains(logs.String(), `"records":5,"delivered_alone":4`) {
		t.Errorf("log: %s", logs.String())
	}
	recs := consume(t, cfg, 4)
	got := map[string]bool{}
	for _, r := range recs {
		got[header(r, kafkaconn.HeaderID)] = true
	}
	for i, ev := range evs {
		if got[ev.ID] == (i == 2) {
			t.Errorf("record %s in the topic: %v", ev.ID, got[ev.ID])
		}
	}
}

// A record larger than kafka.max_record_bytes is refused by the client
// itself, and only that one.
func TestClientRefusesRecordAboveMaxRecordBytes(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxRecordBytes = 4096
	o := newTestOutput(t, cfg, nil)
	evs := events(3)
	evs[1].Message = strings.Repeat("y", 8000)
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[1]; r.Status != pipeline.Rejected || len(r.Document) < 8000 || r.Index == "" || !strings.Contains(r.Reason, "MESSAGE_TOO_LARGE") {
		t.Errorf("oversize record: %+v", r)
	}
	if res[0].Status != pipeline.Delivered || res[2].Status != pipeline.Delivered {
		t.Errorf("results %+v", res)
	}
	consume(t, cfg, 2)
}

// With no broker, New still succeeds (logshipper starts and buffers), a
// batch comes back within about kafka.timeout with every event to be
// retried, and the readiness check fails.
func TestUnreachableBroker(t *testing.T) {
	cfg := kafkaconn.DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"}
	cfg.Topic = "nowhere"
	cfg.Timeout = 2 * time.Second
	o := newTestOutput(t, cfg, nil)
	ctx := context.Background()
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	res, err := o.WriteBatch(ctx, events(3))
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, res, pipeline.Retry)
	if res[0].Reason == "" {
		t.Error("no reason")
	}
	if took > 2*cfg.Timeout {
		t.Errorf("WriteBatch took %s with kafka.timeout %s", took, cfg.Timeout)
	}
	t.Logf("WriteBatch took %s: %s", took.Round(time.Millisecond), res[0].Reason)
	if err := o.Ready(ctx); err == nil {
		t.Error("an unreachable broker is ready")
	}
	// The pipeline's context ends the wait too (shutdown).
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	begin = time.Now()
	res, _ = o.WriteBatch(cctx, events(1))
	if took := time.Since(begin); took > time.Second || res[0].Status != pipeline.Retry {
		t.Errorf("cancelled WriteBatch: %s, %+v", took, res[0])
	}
}

// Keys follow kafka.partition_key, and a keyed record lands where the Java
// client's default partitioner puts it (murmur2 of the key), so every
// producer of the topic agrees on a sender's partition.
func TestPartitionKeys(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want func(ev *event.Event) string
	}{
		{kafkaconn.KeySourceIP, func(ev *event.Event) string { return ev.SourceIP }},
		{kafkaconn.KeyHost, func(ev *event.Event) string {
			if ev.Hostname == "" {
				return ev.SourceIP
			}
			return ev.Hostname
		}},
		{kafkaconn.KeyNone, func(*event.Event) string { return "" }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.PartitionKey = tc.key
			const partitions = 6
			createTopic(t, cfg, partitions)
			o := newTestOutput(t, cfg, nil)
			evs := events(40)
			for i := 0; i < len(evs); i += 4 {
				evs[i].Hostname = "" // host falls back to the address
			}
			res, err := o.WriteBatch(context.Background(), evs)
			if err != nil {
				t.Fatal(err)
			}
			wantAll(t, res, pipeline.Delivered)
			byID := map[string]*event.Event{}
			for _, ev := range evs {
				byID[ev.ID] = ev
			}
			for _, r := range consume(t, cfg, len(evs)) {
				ev := byID[header(r, kafkaconn.HeaderID)]
				want := tc.want(ev)
				if want == "" {
					if r.Key != nil {
						t.Errorf("%s: key %q, want none", ev.ID, r.Key)
					}
					continue
				}
				if string(r.Key) != want {
					t.Errorf("%s: key %q, want %q", ev.ID, r.Key, want)
				}
				if p := javaPartition([]byte(want), partitions); r.Partition != p {
					t.Errorf("%s: key %q in partition %d; the Java client puts it in %d", ev.ID, want, r.Partition, p)
				}
			}
		})
	}
}

// javaPartition is org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey.
func javaPartition(key []byte, n int32) int32 {
	return int32(uint32(javaMurmur2(key))&0x7fffffff) % n
}

// javaMurmur2 is org.apache.kafka.common.utils.Utils.murmur2, written
// here from the Java source rather than taken from franz-go.
func javaMurmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := length &^ 3
	switch length % 4 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// The values of Kafka's UtilsTest.testMurmur2.
func TestJavaMurmur2(t *testing.T) {
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := javaMurmur2([]byte(in)); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// Settings Kafka cannot honour stop the start with one line naming the key.
func TestNewRefusesBadSettings(t *testing.T) {
	index, _ := elasticsearch.ParseIndex("syslog-msg")
	for _, tc := range []struct {
		set  func(*kafkaconn.Config)
		want string
	}{
		{func(c *kafkaconn.Config) { c.Topic = "has space" }, `kafka.topic: "has space" is not a legal topic name`},
		{func(c *kafkaconn.Config) { c.Topic = ".." }, `kafka.topic: ".." is not a legal topic name`},
		{func(c *kafkaconn.Config) { c.Topic = strings.Repeat("t", 250) }, `is not a legal topic name`},
		{func(c *kafkaconn.Config) { c.Compression = "brotli" }, `kafka.compression: "brotli" is not a codec`},
		{func(c *kafkaconn.Config) { c.Brokers = nil }, `kafka.brokers: empty`},
	} {
		cfg := kafkaconn.DefaultConfig()
		tc.set(&cfg)
		_, err := New(cfg, elasticsearch.SchemaLogstash, index, nil, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %v, want one line with %q", err, tc.want)
		}
	}
	cfg := kafkaconn.DefaultConfig()
	cfg.Topic = "logs_edge-1.v2"
	if _, err := New(cfg, elasticsearch.SchemaLogstash, index, nil, zerolog.Nop()); err != nil {
		t.Errorf("legal topic refused: %v", err)
	}
}

// Errors that say what the record is go to the dead-letter file; errors
// that say how the cluster is are retried.
func TestRefusesRecord(t *testing.T) {
	for _, err := range []error{kerr.MessageTooLarge, fmt.Errorf("%w (uncompressed_bytes=9)", kerr.MessageTooLarge),
		kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.InvalidTimestamp, kerr.CorruptMessage} {
		if !refusesRecord(err) {
			t.Errorf("%v: retried, want rejected", err)
		}
	}
	for _, err := range []error{kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.InvalidTopicException,
		kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotLeaderForPartition, kerr.UnsupportedCompressionType,
		kgo.ErrRecordTimeout, kgo.ErrClientClosed, context.DeadlineExceeded, context.Canceled} {
		if refusesRecord(err) {
			t.Errorf("%v: rejected, want retried", err)
		}
	}
}
