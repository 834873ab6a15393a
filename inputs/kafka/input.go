// Package kafka is the indexer's input from a Kafka topic, the queue tier
// between edge shippers and indexers: it reads the records the edge's
// Kafka output wrote (finished documents, with their _id and index in
// headers) as one member of a consumer group, hands each partition's
// fetch to the pipeline, and commits a partition's offset only up to the
// last record before which every record is settled downstream (indexed,
// already indexed, or dead-lettered): a contiguous watermark per
// partition. Offsets are never committed before the events are safe
// (logstash#11706), a failure is never skipped (logstash-input-kafka#343,
// vector#24215), a revoked partition's in-flight records are finished (or
// abandoned, uncommitted) before it is given up (vector#12084), and what
// was never committed is read again after a crash or a rebalance: indexed
// once all the same, since its _id makes the second create a 409.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// Config is what the input needs besides the kafka section.
type Config struct {
	Kafka kafkaconn.Config
	// PollRecords is how many records one poll asks for (the pipeline's
	// batch size).
	PollRecords int
	// RevokeTimeout bounds how long a rebalance waits for the in-flight
	// records of a partition being taken away before it commits what is
	// settled and lets the partition go (the rest is read again by its new
	// owner). Keep it below the group's rebalance timeout (60 s).
	RevokeTimeout time.Duration
	// CommitInterval: settled watermarks are committed this often.
	CommitInterval time.Duration
	Now            func() time.Time
	Logger         zerolog.Logger
	Events         *metrics.Events   // received by transport "kafka"; dead-lettered records
	Metrics        *metrics.Consumer // acked, redelivered, lag, committed offsets
}

type topicPartition struct {
	topic     string
	partition int32
}

// Input consumes one topic as a member of a consumer group.
type Input struct {
	cfg    Config
	sink   pipeline.BatchSink
	client *kgo.Client
	log    zerolog.Logger
	warn   zerolog.Logger // sampled

	cancel    context.CancelFunc
	loopDone  chan struct{}
	commitNow chan struct{}
	ready     atomic.Bool
	closing   atomic.Bool // Stop has waited already: leaving the group waits no more

	mu        sync.Mutex
	parts     map[topicPartition]*watermark
	committed map[topicPartition]int64 // last committed offset per partition
	high      map[topicPartition]int64 // high watermark seen in fetches (lag)
	seen      map[topicPartition]int64 // highest offset handed over in this process (redeliveries)
}

// New builds the input. The client joins the group only when Start polls:
// Kafka being down at start is retried, not fatal.
func New(cfg Config, sink pipeline.BatchSink) (*Input, error) {
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollRecords <= 0 {
		cfg.PollRecords = 1000
	}
	if cfg.RevokeTimeout <= 0 {
		cfg.RevokeTimeout = 30 * time.Second
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = time.Second
	}
	if cfg.Events == nil {
		cfg.Events = metrics.NewEvents(nil)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewConsumer(nil)
	}
	cfg.Metrics.Acked.WithLabelValues(metrics.QueueKafka)
	cfg.Metrics.Redelivered.WithLabelValues(metrics.QueueKafka)
	in := &Input{
		cfg: cfg, sink: sink, log: cfg.Logger,
		warn:      cfg.Logger.Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second}),
		loopDone:  make(chan struct{}),
		commitNow: make(chan struct{}, 1),
		parts:     map[topicPartition]*watermark{},
		committed: map[topicPartition]int64{},
		high:      map[topicPartition]int64{},
		seen:      map[topicPartition]int64{},
	}
	opts, err := cfg.Kafka.Options()
	if err != nil {
		return nil, err
	}
	start := kgo.NewOffset().AtStart()
	if cfg.Kafka.StartOffset == kafkaconn.StartLatest {
		start = kgo.NewOffset().AtEnd()
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Kafka.Group),
		kgo.SessionTimeout(cfg.Kafka.SessionTimeout),
		kgo.ConsumeTopics(cfg.Kafka.Topic),
		kgo.ConsumeResetOffset(start),
		kgo.DisableAutoCommit(), // committed by the watermark, never ahead of Elasticsearch
		kgo.FetchMaxBytes(int32(cfg.Kafka.FetchMaxBytes)),
		kgo.FetchMaxPartitionBytes(int32(min(cfg.Kafka.FetchMaxBytes, 4<<20))),
		kgo.FetchMinBytes(int32(cfg.Kafka.FetchMinBytes)),
		kgo.FetchMaxWait(cfg.Kafka.FetchMaxWait),
		kgo.WithDecompressor(kafkaconn.NewDecompressor()),
		kgo.MaxConcurrentFetches(1), // what is buffered ahead stays bounded while Elasticsearch is slow
		kgo.OnPartitionsAssigned(in.assigned),
		kgo.OnPartitionsRevoked(in.revoked),
		kgo.OnPartitionsLost(in.lost),
	)
	if in.client, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: %v", err)
	}
	return in, nil
}

// Start begins polling in the background.
func (in *Input) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go in.pollLoop(ctx)
	go in.commitLoop(ctx)
	return nil
}

// Ready: the brokers answered the last metadata request (every 5 s).
func (in *Input) Ready() bool { return in.ready.Load() }

// Describe adds the input's source to the start line.
func (in *Input) Describe(e *zerolog.Event) {
	e.Str("kafka", in.cfg.Kafka.Redacted()).Str("group", in.cfg.Kafka.Group)
}

// Stop stops polling, waits until every record handed over is settled or
// ctx is done, commits the watermarks and leaves the group (its partitions
// go to the other indexers at once, from what was committed).
func (in *Input) Stop(ctx context.Context) error {
	if in.cancel == nil {
		in.client.Close()
		return nil
	}
	in.cancel()
	<-in.loopDone
	var err error
	if n := in.waitSettled(ctx, in.all()); n > 0 {
		err = fmt.Errorf("kafka: %d batches not yet indexed at the deadline stay uncommitted; they are read again by the next owner of their partitions", n)
	}
	cctx, cancel := context.WithTimeout(context.Background(), in.cfg.Kafka.Timeout)
	in.commit(cctx)
	cancel()
	in.closing.Store(true)
	in.client.Close() // leaves the group
	return err
}

func (in *Input) all() []*watermark {
	in.mu.Lock()
	defer in.mu.Unlock()
	ws := make([]*watermark, 0, len(in.parts))
	for _, w := range in.parts {
		ws = append(ws, w)
	}
	return ws
}

// waitSettled waits until none of ws has a span in flight, or ctx is done;
// it returns how many spans are still in flight.
func (in *Input) waitSettled(ctx context.Context, ws []*watermark) int {
	for {
		left := 0
		var wait <-chan struct{}
		for _, w := range ws {
			_, _, n, changed := w.state()
			if n > 0 {
				left += n
				wait = changed
			}
		}
		if left == 0 {
			return 0
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return left
		}
	}
}

// pollLoop polls and hands each partition's records to the sink. The sink
// blocks while the pipeline is full: polling stops, the lag grows in the
// broker, memory stays bounded (one poll, one fetch buffered ahead).
func (in *Input) pollLoop(ctx context.Context) {
	defer close(in.loopDone)
	for ctx.Err() == nil {
		fetches := in.client.PollRecords(ctx, in.cfg.PollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			in.warn.Warn().Err(err).Str("topic", topic).Int32("partition", p).Msg("kafka: fetch failed; the client retries")
		})
		stop := false
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if stop {
				return
			}
			tp := topicPartition{p.Topic, p.Partition}
			in.mu.Lock()
			in.high[tp] = p.HighWatermark
			in.mu.Unlock()
			if len(p.Records) > 0 && !in.handOver(ctx, tp, p.Records) {
				stop = true
			}
		})
		if stop {
			return
		}
	}
}

// handOver puts one partition's records as one batch; false when stopping.
func (in *Input) handOver(ctx context.Context, tp topicPartition, recs []*kgo.Record) bool {
	in.mu.Lock()
	w := in.parts[tp]
	if w == nil { // assigned() runs first; a fetch without it is a race with a revoke
		in.mu.Unlock()
		return true
	}
	seen, known := in.seen[tp]
	in.mu.Unlock()

	now := in.cfg.Now()
	in.cfg.Events.Received.WithLabelValues(metrics.QueueKafka).Add(float64(len(recs)))
	// One allocation for the batch's events and one for their documents,
	// not two per record; they live as long as the batch does.
	events := make([]event.Event, len(recs))
	docs := make([]event.Document, len(recs))
	evs := make([]*event.Event, 0, len(recs))
	redelivered := 0
	var lastIndex string
	for i, r := range recs {
		if known && r.Offset <= seen {
			redelivered++
		}
		var id, index []byte
		for _, h := range r.Headers {
			switch h.Key {
			case kafkaconn.HeaderID:
				id = h.Value
			case kafkaconn.HeaderIndex:
				index = h.Value
			}
		}
		if len(index) == 0 || len(r.Value) == 0 {
			if !in.deadLetter(ctx, r) {
				return false
			}
			continue
		}
		// A batch goes to one index, or two around midnight: reuse the
		// string instead of one per record.
		if string(index) != lastIndex {
			lastIndex = string(index)
		}
		// Field by field: a composite literal would copy all 256 bytes
		// of a zero Event over the zeroed slot, with write barriers.
		d, ev := &docs[i], &events[i]
		d.Index, d.Body = lastIndex, r.Value
		ev.ID, ev.Received, ev.Transport, ev.Document = bytesString(id), now, metrics.QueueKafka, d
		evs = append(evs, ev)
	}
	if redelivered > 0 {
		in.cfg.Metrics.Redelivered.WithLabelValues(metrics.QueueKafka).Add(float64(redelivered))
	}
	last := recs[len(recs)-1]
	s := &span{first: recs[0].Offset, last: last.Offset, epoch: last.LeaderEpoch}
	if !w.add(s) {
		return true // revoked meanwhile: its new owner reads these
	}
	in.mu.Lock()
	in.seen[tp] = max(in.seen[tp], last.Offset)
	in.mu.Unlock()
	done := func(err error) {
		if _, moved := w.settle(s, err != nil); moved {
			select {
			case in.commitNow <- struct{}{}:
			default:
			}
		}
		if err != nil {
			in.log.Warn().Str("topic", tp.topic).Int32("partition", tp.partition).Int64("from", s.first).Int64("to", s.last).
				Msg("kafka: records given up at the shutdown deadline; their offsets are not committed, they are read again")
		}
	}
	if len(evs) == 0 {
		done(nil)
		return true
	}
	if err := in.sink.PutBatch(ctx, evs, done); err != nil {
		w.drop(s)
		return false
	}
	return true
}

// deadLetter writes a record that is not an edge's to the dead-letter
// file; false if the input stopped first (the record is read again).
func (in *Input) deadLetter(ctx context.Context, r *kgo.Record) bool {
	body, _ := json.Marshal(map[string]any{
		"topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
		"key": string(r.Key), "value": string(r.Value),
	})
	reason := fmt.Sprintf("kafka record %s/%d@%d has no %s header or no value: not a logshipper edge record", r.Topic, r.Partition, r.Offset, kafkaconn.HeaderIndex)
	return in.sink.DeadLetter(ctx, "", body, reason)
}

// commitLoop commits the settled watermarks every CommitInterval, and at
// once when one moved after a quiet spell. Every few seconds it also asks
// the brokers for metadata: Ready reports whether they answer, whether or
// not records are flowing.
func (in *Input) commitLoop(ctx context.Context) {
	t := time.NewTicker(in.cfg.CommitInterval)
	defer t.Stop()
	var lastPing time.Time
	for {
		if now := in.cfg.Now(); now.Sub(lastPing) >= pingInterval {
			lastPing = now
			pctx, cancel := context.WithTimeout(ctx, in.cfg.Kafka.Timeout)
			err := kafkaconn.Ping(pctx, in.client)
			cancel()
			if err != nil && ctx.Err() == nil {
				in.warn.Warn().Err(err).Msg("kafka: brokers do not answer; retrying")
			}
			in.ready.Store(err == nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-in.commitNow:
		}
		cctx, cancel := context.WithTimeout(ctx, in.cfg.Kafka.Timeout)
		in.commit(cctx)
		in.refreshHigh(cctx)
		cancel()
		in.updateLag()
	}
}

// refreshHigh asks the partitions' leaders for their log end offsets: the
// lag must grow while the indexer waits for Elasticsearch and fetches
// nothing, which a fetch's high watermark cannot show.
func (in *Input) refreshHigh(ctx context.Context) {
	in.mu.Lock()
	byTopic := map[string][]int32{}
	for tp := range in.parts {
		byTopic[tp.topic] = append(byTopic[tp.topic], tp.partition)
	}
	in.mu.Unlock()
	if len(byTopic) == 0 {
		return
	}
	req := kmsg.NewPtrListOffsetsRequest()
	for topic, ps := range byTopic {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1 // -1: the latest offset
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, in.client)
	if err != nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if kerr.ErrorForCode(p.ErrorCode) == nil {
				tp := topicPartition{t.Topic, p.Partition}
				in.high[tp] = max(in.high[tp], p.Offset)
			}
		}
	}
}

// pingInterval: how often the brokers are asked whether they answer, for
// /readyz.
const pingInterval = 5 * time.Second

// commit commits every partition whose watermark moved past its last
// commit (sync: not cancelled by a rebalance).
func (in *Input) commit(ctx context.Context) {
	in.mu.Lock()
	offsets := map[string]map[int32]kgo.EpochOffset{}
	moved := map[topicPartition]int64{}
	for tp, w := range in.parts {
		settled, epoch, _, _ := w.state()
		if settled < 0 || settled <= in.committed[tp] {
			continue
		}
		if offsets[tp.topic] == nil {
			offsets[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: epoch, Offset: settled}
		moved[tp] = settled
	}
	in.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	in.commitOffsets(ctx, offsets, moved)
}

// commitOffsets commits and records what the brokers took.
func (in *Input) commitOffsets(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset, moved map[topicPartition]int64) {
	var failed error
	in.client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			failed = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := topicPartition{t.Topic, p.Partition}
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
					failed = e
					delete(moved, tp)
				}
			}
		}
	})
	if failed != nil {
		in.warn.Warn().Err(failed).Msg("kafka: committing offsets failed; retrying at the next interval (until then a restart reads those records again, indexed once)")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for tp, off := range moved {
		prev := in.committed[tp]
		if w := in.parts[tp]; prev < 0 && w != nil {
			prev = w.start() // the group's offset was not known at the assignment
		}
		if prev >= 0 && off > prev {
			in.cfg.Metrics.Acked.WithLabelValues(metrics.QueueKafka).Add(float64(off - prev))
		}
		in.committed[tp] = off
		in.cfg.Metrics.Committed.WithLabelValues(metrics.QueueKafka, partitionLabel(tp)).Set(float64(off))
	}
}

// updateLag sets logshipper_queue_lag per partition: the log end offset
// (from the last fetch or ListOffsets) minus the committed offset.
func (in *Input) updateLag() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for tp, high := range in.high {
		if _, owned := in.parts[tp]; !owned {
			continue
		}
		c, ok := in.committed[tp]
		if !ok {
			continue
		}
		in.cfg.Metrics.Lag.WithLabelValues(metrics.QueueKafka, partitionLabel(tp)).Set(float64(max(high-c, 0)))
	}
}

func partitionLabel(tp topicPartition) string {
	return tp.topic + "/" + strconv.Itoa(int(tp.partition))
}

// assigned starts a watermark for each new partition. The offset the
// group committed is where the client starts reading; it is also the
// watermark's floor.
func (in *Input) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	committed := cl.CommittedOffsets()
	in.mu.Lock()
	defer in.mu.Unlock()
	for topic, ps := range assigned {
		for _, p := range ps {
			tp := topicPartition{topic, p}
			in.parts[tp] = newWatermark()
			if eo, ok := committed[topic][p]; ok && eo.Offset >= 0 {
				in.committed[tp] = eo.Offset
			} else {
				in.committed[tp] = -1
			}
		}
	}
	in.log.Info().Interface("partitions", assigned).Msg("kafka: partitions assigned")
}

// revoked finishes what was handed over from the partitions being taken
// away, up to RevokeTimeout, commits their watermarks and forgets them:
// their new owner starts exactly after the last settled record. What is
// still in flight at the timeout stays uncommitted and is read again by
// the new owner (a 409 there, not a duplicate).
func (in *Input) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	var ws []*watermark
	in.mu.Lock()
	for topic, ps := range revoked {
		for _, p := range ps {
			if w := in.parts[topicPartition{topic, p}]; w != nil {
				w.revoke()
				ws = append(ws, w)
			}
		}
	}
	in.mu.Unlock()
	wait := in.cfg.RevokeTimeout
	if in.closing.Load() {
		wait = 0 // Stop has given the in-flight batches their time
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	left := in.waitSettled(wctx, ws)
	cancel()
	cctx, cancel := context.WithTimeout(context.Background(), in.cfg.Kafka.Timeout)
	in.commit(cctx)
	cancel()
	in.forget(revoked)
	ev := in.log.Info()
	if left > 0 {
		ev = in.log.Warn().Int("batches_abandoned", left)
	}
	ev.Interface("partitions", revoked).Msg("kafka: partitions revoked; settled offsets committed")
}

// lost forgets partitions the group took away without a revocation (the
// session expired): nothing can be committed for them any more.
func (in *Input) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	in.mu.Lock()
	for topic, ps := range lost {
		for _, p := range ps {
			if w := in.parts[topicPartition{topic, p}]; w != nil {
				w.revoke()
			}
		}
	}
	in.mu.Unlock()
	in.forget(lost)
	in.log.Warn().Interface("partitions", lost).Msg("kafka: partitions lost (session expired); their uncommitted records are read again by their new owner")
}

func (in *Input) forget(ps map[string][]int32) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for topic, parts := range ps {
		for _, p := range parts {
			tp := topicPartition{topic, p}
			delete(in.parts, tp)
			delete(in.committed, tp)
			delete(in.high, tp)
			in.cfg.Metrics.Lag.DeleteLabelValues(metrics.QueueKafka, partitionLabel(tp))
		}
	}
}

// bytesString views b as a string without copying. A record's header
// values, like its value (the document), are slices of the fetched batch,
// which franz-go allocates per fetch and never reuses (no pools are
// configured), so the view stays valid and unchanged as long as the event
// holds it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
