// Package kafka is the edge's output to a Kafka topic, the queue tier
// between edge shippers and indexers: that is its one job. Each event
// becomes one record whose value is the finished document in the
// configured schema (elasticsearch.schema), with two headers: logshipper-id
// (the event's stable ID, the document's _id at the indexer) and
// logshipper-index (its target index, date pattern resolved), so an
// indexer needs no parsing settings and indexes each event once (op_type
// create with that _id). The key follows kafka.partition_key: the sender's
// address (one sender's records stay in order in one partition), the
// header's hostname, or none (records spread over the partitions); keyed
// records are placed by murmur2 of the key, as the Java client places them,
// so other producers of the topic agree.
//
// Records are produced with acks=all by the idempotent producer: a record
// counts as delivered only once every in-sync replica has it, and the
// client's own resends within kafka.timeout neither duplicate nor reorder
// it. Each record is judged like an item of a bulk request: confirmed is
// Delivered, refused for good (too large, invalid) is Rejected with its
// document for the dead-letter file, anything else is a Retry for the
// pipeline, which retries with backoff. The output never retries by itself.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/pipeline"
)

// maxBufferedRecords bounds the records the client holds: two pipeline
// batches of the default 1000 per worker, two workers, with room to spare.
// A larger batch waits (within kafka.timeout) for room; it never grows
// memory without bound.
const maxBufferedRecords = 10000

// linger gathers the records of one batch while it is being produced;
// ProduceSync sends them at once when the last one is buffered, so the
// linger delays nothing but a produce to a topic whose partitions are not
// yet known.
const linger = 10 * time.Millisecond

// Output writes batches to a Kafka topic.
type Output struct {
	cfg    kafkaconn.Config
	schema elasticsearch.Schema
	index  *elasticsearch.IndexName
	opts   []kgo.Opt
	client *kgo.Client
	log    zerolog.Logger

	produced prometheus.Counter
	latency  prometheus.Observer
	// perEvent is the buffer to allocate per event: the last batch's
	// bytes per event, with room to spare.
	perEvent atomic.Int64

	// single sends records one at a time, each in a request of its own,
	// to find out which records of a refused record batch the broker
	// refuses on their own (see isolate). Made on first use; mu also
	// keeps its sends one at a time.
	mu     sync.Mutex
	single *kgo.Client
}

var _ pipeline.Output = (*Output)(nil)

// New builds the output. It does not contact Kafka: logshipper starts, and
// buffers, while Kafka is down. schema and index are the documents'
// (elasticsearch.schema and elasticsearch.index). m nil: private metrics.
func New(cfg kafkaconn.Config, schema elasticsearch.Schema, index *elasticsearch.IndexName, m *metrics.Producer, log zerolog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkTopic(cfg.Topic); err != nil {
		return nil, err
	}
	codec, err := codecOf(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.Topic),
		// A missing topic is created where the brokers allow it
		// (auto.create.topics.enable), as the Java client and Logstash's
		// kafka output do; where they do not, records are retried
		// (UNKNOWN_TOPIC_OR_PARTITION) until an operator creates it.
		kgo.AllowAutoTopicCreation(),
		// acks=all with the idempotent producer (franz-go's default,
		// kept on): a record is confirmed once every in-sync replica
		// has it, and the client's resends are deduplicated by the
		// broker (producer ID and sequence numbers), in order.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		// A record batch larger than the topic's max.message.bytes is
		// refused by the broker; keeping batches at kafka.max_record_bytes
		// (the topic's limit) lets the client refuse only a record too
		// large on its own.
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxRecordBytes)),
		// The client retries a failed request by itself (a leader
		// moving, a broker restarting, NOT_ENOUGH_REPLICAS), but only
		// within kafka.timeout of a record's buffering: then the record
		// fails with ErrRecordTimeout and the pipeline retries it, with
		// backoff and visibly (logs, logshipper_events_retried_total). Those
		// inner retries are harmless: the idempotent producer resends
		// with the same sequence numbers, so the broker writes each
		// record once and keeps the partition's order. RecordRetries
		// stays unbounded: the timeout is the bound.
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		// The broker waits at most kafka.timeout for the replicas; the
		// connection is given as much again (kafkaconn sets the
		// request overhead), so a broker that goes silent in the middle
		// of a request costs at most about twice kafka.timeout.
		kgo.ProduceRequestTimeout(cfg.Timeout),
		// Without this, a record whose request was written but never
		// answered (the broker died or the network dropped mid-request)
		// cannot be failed: the client would keep it until that broker
		// answers again, holding WriteBatch, the pipeline's retries and
		// its shutdown deadline hostage to the outage. Failing it may
		// let the pipeline's resend land next to a copy the broker did
		// write: a duplicate record with the same logshipper-id, which
		// the indexer indexes once (create with that _id answers 409).
		// The client's own resends stay deduplicated.
		kgo.AllowIdempotentProduceCancellation(),
		// A produce refused because a leader moved waits for the next
		// metadata refresh, at most one per MetadataMinAge: franz-go's 5 s
		// would spend half of the default kafka.timeout on every leader
		// election. One second keeps the wait well inside it, at one
		// metadata request a second while the cluster is unsettled.
		kgo.MetadataMinAge(time.Second),
		kgo.ProducerLinger(linger),
		kgo.MaxBufferedRecords(maxBufferedRecords),
	)
	if cfg.Compression == "lz4" {
		// LZ4 frames the indexer reads in one pass (see kafkaconn.LZ4Compressor).
		opts = append(opts, kgo.WithCompressor(&kafkaconn.LZ4Compressor{}))
	}
	// The default partitioner (UniformBytesPartitioner, KIP-794) is the
	// Java client's: murmur2 of a non-nil key modulo the partitions, and
	// sticky batches for records without a key.
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: client: %v", err)
	}
	if m == nil {
		m = metrics.NewProducer(nil)
	}
	o := &Output{
		cfg: cfg, schema: schema, index: index, opts: opts, client: client, log: log,
		produced: m.Produced.WithLabelValues(metrics.QueueKafka),
		latency:  m.Latency.WithLabelValues(metrics.QueueKafka),
	}
	o.perEvent.Store(512)
	return o, nil
}

// codecOf maps kafka.compression to the client's codec.
func codecOf(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka.compression: %q is not a codec; use one of: %s", name, strings.Join(kafkaconn.Compressions, ", "))
}

// checkTopic refuses a topic name Kafka refuses: every record would fail
// with INVALID_TOPIC_EXCEPTION, forever.
func checkTopic(t string) error {
	ok := len(t) <= 249 && t != "." && t != ".."
	for i := 0; ok && i < len(t); i++ {
		c := t[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("kafka.topic: %q is not a legal topic name; use at most 249 letters, digits, '.', '_' or '-'", t)
	}
	return nil
}

// WriteBatch produces one record per event, waits until the broker has
// answered for every one (or kafka.timeout has passed), and judges each:
// confirmed is Delivered; refused for what it is (too large, invalid) is
// Rejected, once it has been refused on its own (see isolate); anything
// else (a broker down or unwell, a timeout, authorization) is a Retry. It
// returns no batch error: every record carries its own reason, and a
// record's fate is known one by one even when the cluster is down.
func (o *Output) WriteBatch(ctx context.Context, events []*event.Event) ([]pipeline.Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	recs, indices := o.records(events)
	ptrs := make([]*kgo.Record, len(events))
	at := make(map[*kgo.Record]int, len(events))
	for i := range recs {
		ptrs[i] = &recs[i]
		at[ptrs[i]] = i
	}

	begin := time.Now()
	answers := o.client.ProduceSync(ctx, ptrs...)
	o.latency.Observe(time.Since(begin).Seconds())

	errs := make([]error, len(events))
	var suspects []int
	for _, a := range answers {
		i := at[a.Record]
		errs[i] = a.Err
		if a.Err != nil && refusesRecord(a.Err) {
			suspects = append(suspects, i)
		}
	}
	if len(suspects) > 0 {
		o.isolate(ctx, recs, suspects, errs)
	}

	results := make([]pipeline.Result, len(events))
	delivered := 0
	for i, err := range errs {
		switch {
		case err == nil:
			results[i].Status = pipeline.Delivered
			delivered++
		case refusesRecord(err):
			results[i] = pipeline.Result{Status: pipeline.Rejected, Index: indices[i], Document: recs[i].Value, Reason: reason(err)}
		default:
			results[i] = pipeline.Result{Status: pipeline.Retry, Reason: reason(err)}
		}
	}
	o.produced.Add(float64(delivered))
	return results, nil
}

// records builds one record per event, and the events' indices. The
// documents, IDs and keys of the batch share one buffer and the headers
// one slice: a few allocations per batch instead of a dozen per record (on
// a 2-core edge the allocator and the GC cost as much as the encoding).
// Nothing is reused across batches: the client may hold a record until
// its promise, and a Rejected document goes on to the dead-letter file.
func (o *Output) records(events []*event.Event) ([]kgo.Record, []string) {
	n := len(events)
	recs := make([]kgo.Record, n)
	indices := make([]string, n)
	headers := make([]kgo.RecordHeader, 2*n)
	ends := make([]int, 3*n) // per event: end of document, of ID, of key
	buf := make([]byte, 0, n*int(o.perEvent.Load()))
	for i, ev := range events {
		buf = o.schema.AppendDocument(buf, ev)
		ends[3*i] = len(buf)
		buf = append(buf, ev.ID...)
		ends[3*i+1] = len(buf)
		buf = append(buf, o.key(ev)...)
		ends[3*i+2] = len(buf)
	}
	o.perEvent.Store(int64(len(buf)/n + 64))
	var lastIndex string
	var lastIndexBytes []byte
	start := 0
	for i, ev := range events {
		doc, id, key := ends[3*i], ends[3*i+1], ends[3*i+2]
		indices[i] = o.index.Name(ev.Time())
		if indices[i] != lastIndex || lastIndexBytes == nil {
			lastIndex, lastIndexBytes = indices[i], []byte(indices[i])
		}
		headers[2*i] = kgo.RecordHeader{Key: kafkaconn.HeaderID, Value: buf[doc:id:id]}
		headers[2*i+1] = kgo.RecordHeader{Key: kafkaconn.HeaderIndex, Value: lastIndexBytes}
		recs[i] = kgo.Record{Value: buf[start:doc:doc], Headers: headers[2*i : 2*i+2 : 2*i+2]}
		if key > id {
			recs[i].Key = buf[id:key:key]
		}
		start = key
	}
	return recs, indices
}

// key is the record key kafka.partition_key asks for; empty when there is
// none, and then the record gets a nil key (not an empty one), so the
// partitioner spreads it instead of hashing an empty key to one partition.
func (o *Output) key(ev *event.Event) string {
	switch o.cfg.PartitionKey {
	case kafkaconn.KeySourceIP:
		return ev.SourceIP
	case kafkaconn.KeyHost:
		if ev.Hostname != "" {
			return ev.Hostname
		}
		return ev.SourceIP
	}
	return ""
}

// refusesRecord: the broker (or the client, for a record larger than
// kafka.max_record_bytes) refused the record batch for what it holds: too
// large for the topic or the segment, failing validation (a compacted
// topic wants keys), a timestamp out of the accepted range, a bad checksum.
// Sending it again unchanged cannot succeed. Everything else means the
// cluster is unwell or not ready for us (down, no leader, not enough
// replicas, unknown topic, authorization, an unsupported codec): fixed
// there, the same record goes through, so it is retried, not dead-lettered.
func refusesRecord(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) ||
		errors.Is(err, kerr.InvalidRecord) || errors.Is(err, kerr.InvalidTimestamp) ||
		errors.Is(err, kerr.CorruptMessage)
}

// isolate sends each suspect record again, alone, and keeps that answer.
//
// The broker judges a record batch as a whole, and when it refuses one,
// franz-go fails every record buffered for that partition with the same
// error, so that no later record is written after a gap (the idempotent
// producer's sequence numbers stay gapless). A batch refused because one
// record in it is too large therefore fails its innocent neighbours too,
// and this batch's records may be the neighbours of another worker's. None
// of them was written (the broker answered with the refusal), so sending
// each again cannot duplicate it; alone in its own request (a client used
// for nothing else, one record at a time), a record is refused only for
// itself. The Java client does the same by splitting a batch refused as
// too large. This is not a retry of a transient failure: a record refused
// again is rejected, one that fails otherwise is left to the pipeline.
func (o *Output) isolate(ctx context.Context, recs []kgo.Record, suspects []int, errs []error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.single == nil {
		cl, err := kgo.NewClient(o.opts...)
		if err != nil {
			return // the errors stand; kgo.NewClient succeeded with these options in New
		}
		o.single = cl
	}
	innocent := 0
	for _, i := range suspects {
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("not sent again alone: %w", ctx.Err())
			continue
		}
		r := &kgo.Record{Key: recs[i].Key, Value: recs[i].Value, Headers: recs[i].Headers}
		if errs[i] = o.single.ProduceSync(ctx, r).FirstErr(); errs[i] == nil {
			innocent++
		}
	}
	if innocent > 0 {
		o.log.Warn().Int("records", len(suspects)).Int("delivered_alone", innocent).
			Msg("kafka refused record batches for one record in them; the others went through one by one (is kafka.max_record_bytes above the topic's max.message.bytes?)")
	}
}

// reason is a record's error as one line.
func reason(err error) string {
	return "kafka: " + strings.ReplaceAll(err.Error(), "\n", " ")
}

// Start does nothing: the topic needs no set-up here (the broker creates
// it, or an operator did), and Kafka being down must not stop the start.
func (o *Output) Start(context.Context) error { return nil }

// Ready asks the cluster for its metadata, for /readyz.
func (o *Output) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	return kafkaconn.Ping(ctx, o.client)
}

// WantsEventIDs is true: the ID in each record is the document's _id at
// the indexer, which makes a re-send (here or there) harmless.
func (o *Output) WantsEventIDs() bool { return true }

// Close sends what is still buffered (until ctx is done), then closes the
// clients; records still buffered then fail, and their WriteBatch reports
// them as retries.
func (o *Output) Close(ctx context.Context) error {
	err := o.client.Flush(ctx)
	o.client.Close()
	o.mu.Lock()
	if o.single != nil {
		o.single.Close()
	}
	o.mu.Unlock()
	if err != nil {
		return fmt.Errorf("kafka: flush on close: %v", err)
	}
	return nil
}
