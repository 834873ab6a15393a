// Package redis is the indexer's input from a Redis stream, the queue tier
// between edge shippers and indexers: it reads the entries the edge's
// Redis output appended (finished documents with their _id and index) as
// one consumer of a consumer group, hands them to the pipeline, and
// acknowledges each entry (XACK) only once Elasticsearch has confirmed it
// or it was dead-lettered. An entry a crashed indexer read and never
// acknowledged stays in the group's pending list; after redis.claim_idle
// another indexer (or this one, restarted) claims it and indexes it, once:
// its _id makes the second create a no-op.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/backoff"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// Config is what the input needs besides the redis section.
type Config struct {
	Redis redisconn.Config
	// ReadCount is how many entries one read asks for (the pipeline's
	// batch size).
	ReadCount int
	Now       func() time.Time
	Logger    zerolog.Logger
	Events    *metrics.Events   // received by transport "redis"; dead-lettered entries
	Metrics   *metrics.Consumer // acked, redelivered, lag
	// RetryInitial and RetryMax bound the backoff while Redis is down.
	RetryInitial, RetryMax time.Duration
}

// Input reads a stream as one consumer of a group.
type Input struct {
	cfg      Config
	sink     pipeline.BatchSink
	client   *goredis.Client
	consumer string
	log      zerolog.Logger
	warn     zerolog.Logger // sampled

	cancel context.CancelFunc
	loopWG sync.WaitGroup
	ackWG  sync.WaitGroup
	ready  atomic.Bool

	mu       sync.Mutex
	inFlight map[string]struct{} // read, handed over, not yet settled
	toAck    []string            // settled, not yet acknowledged
	wake     chan struct{}       // toAck grew
	allDone  chan struct{}       // closed by Stop's waiter when inFlight empties
	stopping bool
	// ackClosed: Stop closed wake; what settles later stays pending in
	// the group and is claimed after redis.claim_idle (a 409 then).
	ackClosed bool
}

// New builds the input; it does not contact Redis (Start does, retrying
// while it is down).
func New(cfg Config, sink pipeline.BatchSink) (*Input, error) {
	if err := cfg.Redis.Validate(); err != nil {
		return nil, err
	}
	client, err := cfg.Redis.Client()
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadCount <= 0 {
		cfg.ReadCount = 1000
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = 100 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryInitial {
		cfg.RetryMax = 5 * time.Second
	}
	if cfg.Events == nil {
		cfg.Events = metrics.NewEvents(nil)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewConsumer(nil)
	}
	// Shown at 0 from the start, so a dashboard's rate() has a baseline.
	cfg.Metrics.Acked.WithLabelValues(metrics.QueueRedis)
	cfg.Metrics.Redelivered.WithLabelValues(metrics.QueueRedis)
	consumer := cfg.Redis.Consumer
	if consumer == "" {
		host, _ := os.Hostname()
		consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return &Input{
		cfg: cfg, sink: sink, client: client, consumer: consumer,
		log:      cfg.Logger,
		warn:     cfg.Logger.Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second}),
		inFlight: map[string]struct{}{},
		wake:     make(chan struct{}, 1),
	}, nil
}

// Consumer is this indexer's name in the group.
func (in *Input) Consumer() string { return in.consumer }

// Start begins reading in the background.
func (in *Input) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	in.loopWG.Add(2)
	go in.readLoop(ctx)
	go in.renewLoop(ctx)
	in.ackWG.Add(1)
	go in.ackLoop()
	return nil
}

// Ready: the last round trip to Redis succeeded.
func (in *Input) Ready() bool { return in.ready.Load() }

// Describe adds the input's source to the start line.
func (in *Input) Describe(e *zerolog.Event) {
	e.Str("redis", in.cfg.Redis.Redacted()).Str("stream", in.cfg.Redis.Stream).
		Str("group", in.cfg.Redis.Group).Str("consumer", in.consumer)
}

// Stop stops reading, waits until every entry handed over is settled
// downstream and acknowledged, or ctx is done: what is still unsettled
// then stays pending in the group, and is claimed and indexed after
// redis.claim_idle (by another indexer, or this one after its restart).
func (in *Input) Stop(ctx context.Context) error {
	if in.cancel == nil {
		return in.client.Close()
	}
	in.cancel()
	in.loopWG.Wait()
	in.mu.Lock()
	in.stopping = true
	left := len(in.inFlight)
	if left > 0 {
		in.allDone = make(chan struct{})
	}
	allDone := in.allDone
	in.mu.Unlock()
	var err error
	if allDone != nil {
		select {
		case <-allDone:
		case <-ctx.Done():
			in.mu.Lock()
			n := len(in.inFlight)
			in.mu.Unlock()
			err = fmt.Errorf("redis: %d entries not yet indexed at the deadline stay pending in group %s; they are claimed after redis.claim_idle (%s)", n, in.cfg.Redis.Group, in.cfg.Redis.ClaimIdle)
		}
	}
	in.mu.Lock()
	in.ackClosed = true
	close(in.wake) // the acker flushes what is settled, then ends
	in.mu.Unlock()
	in.ackWG.Wait()
	in.client.Close()
	return err
}

// readLoop reads new entries, and every claim_idle/2 claims entries other
// consumers left idle, handing each batch to the sink. The sink blocks
// while the pipeline is full: reading stops, the stream's lag grows, and
// memory stays bounded.
func (in *Input) readLoop(ctx context.Context) {
	defer in.loopWG.Done()
	rc := in.cfg.Redis
	attempt := 0
	fail := func(what string, err error) bool {
		in.ready.Store(false)
		in.warn.Warn().Err(err).Int("attempt", attempt+1).Msgf("redis: %s failed; retrying", what)
		ok := backoff.Sleep(ctx, backoff.Wait(in.cfg.RetryInitial, in.cfg.RetryMax, attempt))
		attempt++
		return ok
	}
	// The group, from the stream's first entry when it is new: entries
	// the edge appended before any indexer started are indexed too.
	for {
		err := in.client.XGroupCreateMkStream(ctx, rc.Stream, rc.Group, "0").Err()
		if err == nil || strings.HasPrefix(errString(err), "BUSYGROUP") {
			break
		}
		if ctx.Err() != nil || !fail("creating consumer group "+rc.Group, err) {
			return
		}
	}
	attempt = 0
	// Entries this consumer name read before (a fixed redis.consumer,
	// restarted) come first, walked through once from the oldest; then
	// new ones, with claims in between.
	pendingFrom := "0"
	claimCursor := "0-0"
	nextClaim := in.cfg.Now()
	for ctx.Err() == nil {
		var (
			msgs        []goredis.XMessage
			redelivered bool
			err         error
		)
		switch {
		case pendingFrom != "":
			msgs, err = in.read(ctx, pendingFrom, 0)
			if err == nil {
				if len(msgs) == 0 {
					pendingFrom = ""
					continue
				}
				pendingFrom = msgs[len(msgs)-1].ID
			}
			redelivered = true
		case !in.cfg.Now().Before(nextClaim):
			var cursor string
			msgs, cursor, err = in.client.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
				Stream: rc.Stream, Group: rc.Group, Consumer: in.consumer,
				MinIdle: rc.ClaimIdle, Start: claimCursor, Count: int64(in.cfg.ReadCount),
			}).Result()
			if err == nil {
				claimCursor = cursor
				if cursor == "0-0" {
					nextClaim = in.cfg.Now().Add(rc.ClaimIdle / 2)
				}
				if len(msgs) > 0 {
					in.log.Info().Int("entries", len(msgs)).Dur("idle_for_at_least", rc.ClaimIdle).
						Msg("redis: claimed entries another consumer read and never acknowledged")
				}
			}
			redelivered = true
		default:
			msgs, err = in.read(ctx, ">", time.Second)
		}
		if errors.Is(err, goredis.Nil) {
			in.ready.Store(true)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if strings.HasPrefix(errString(err), "NOGROUP") {
				// The stream or group was deleted under us: make it again.
				in.client.XGroupCreateMkStream(ctx, rc.Stream, rc.Group, "0")
			}
			if !fail("reading the stream", err) {
				return
			}
			continue
		}
		attempt = 0
		in.ready.Store(true)
		if len(msgs) == 0 {
			continue
		}
		if redelivered {
			in.cfg.Metrics.Redelivered.WithLabelValues(metrics.QueueRedis).Add(float64(len(msgs)))
		}
		if !in.handOver(ctx, msgs) {
			return
		}
	}
}

// read is XREADGROUP from id: ">" for new entries, any other for this
// consumer's own pending entries after id.
func (in *Input) read(ctx context.Context, id string, block time.Duration) ([]goredis.XMessage, error) {
	rc := in.cfg.Redis
	args := &goredis.XReadGroupArgs{
		Group: rc.Group, Consumer: in.consumer,
		Streams: []string{rc.Stream, id}, Count: int64(in.cfg.ReadCount), Block: block,
	}
	if block == 0 {
		args.Block = -1 // no BLOCK: the pending list answers at once
	}
	streams, err := in.client.XReadGroup(ctx, args).Result()
	if err != nil {
		return nil, err
	}
	if len(streams) == 0 {
		return nil, nil
	}
	return streams[0].Messages, nil
}

// handOver turns entries into events and puts them as one batch; it
// reports false when the input is stopping.
func (in *Input) handOver(ctx context.Context, msgs []goredis.XMessage) bool {
	now := in.cfg.Now()
	// One allocation for the batch's events and one for their documents,
	// not two per entry; they live as long as the batch does.
	events := make([]event.Event, len(msgs))
	docs := make([]event.Document, len(msgs))
	evs := make([]*event.Event, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	var gone []string
	received := 0
	for i, m := range msgs {
		if len(m.Values) == 0 {
			// Deleted (XDEL, XTRIM) after it was read: nothing to index.
			gone = append(gone, m.ID)
			continue
		}
		received++
		doc, _ := m.Values[redisconn.FieldDoc].(string)
		index, _ := m.Values[redisconn.FieldIndex].(string)
		id, _ := m.Values[redisconn.FieldID].(string)
		if doc == "" || index == "" {
			in.deadLetter(ctx, m)
			continue
		}
		// The document's bytes are the reply's string, never written to:
		// the Elasticsearch output only copies them into its bulk body.
		// Field by field: a composite literal would copy all 256 bytes
		// of a zero Event over the zeroed slot, with write barriers.
		d, ev := &docs[i], &events[i]
		d.Index, d.Body = index, unsafe.Slice(unsafe.StringData(doc), len(doc))
		ev.ID, ev.Received, ev.Transport, ev.Document = id, now, metrics.QueueRedis, d
		evs = append(evs, ev)
		ids = append(ids, m.ID)
	}
	in.cfg.Events.Received.WithLabelValues(metrics.QueueRedis).Add(float64(received))
	if len(gone) > 0 {
		in.warn.Warn().Int("entries", len(gone)).Str("stream", in.cfg.Redis.Stream).
			Msg("redis: entries were deleted from the stream before they were indexed (XTRIM or MAXLEN on the stream?); they cannot be indexed")
		in.settled(gone)
	}
	if len(evs) == 0 {
		return true
	}
	in.mu.Lock()
	for _, id := range ids {
		in.inFlight[id] = struct{}{}
	}
	in.mu.Unlock()
	err := in.sink.PutBatch(ctx, evs, func(err error) {
		if err != nil {
			// Given up at the shutdown deadline: not acknowledged, so
			// it stays pending and is claimed later.
			in.forget(ids)
			return
		}
		in.settled(ids)
	})
	if err != nil {
		// Stopping: not handed over (or only partly: their _id makes a
		// second indexing harmless). They stay pending.
		in.forget(ids)
		return false
	}
	return true
}

// deadLetter writes an entry that is not an edge's record to the
// dead-letter file, as it is, and acknowledges it: it can never be
// indexed, and left pending it would be claimed forever.
func (in *Input) deadLetter(ctx context.Context, m goredis.XMessage) {
	body, _ := json.Marshal(map[string]any{"stream": in.cfg.Redis.Stream, "entry_id": m.ID, "fields": m.Values})
	reason := fmt.Sprintf("redis entry %s has no %q or %q field: not a logshipper edge record", m.ID, redisconn.FieldDoc, redisconn.FieldIndex)
	if !in.sink.DeadLetter(ctx, "", body, reason) {
		return // stopping: it stays pending and is claimed again
	}
	in.settled([]string{m.ID})
}

// settled queues ids for XACK.
func (in *Input) settled(ids []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.toAck = append(in.toAck, ids...)
	in.removeLocked(ids)
	// Under the lock: Stop closes wake under it too, and a batch can
	// settle after Stop gave up waiting (its entries stay pending then).
	if !in.ackClosed {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

// forget drops ids from the in-flight set without acknowledging them.
func (in *Input) forget(ids []string) {
	in.mu.Lock()
	in.removeLocked(ids)
	in.mu.Unlock()
}

func (in *Input) removeLocked(ids []string) {
	for _, id := range ids {
		delete(in.inFlight, id)
	}
	if in.stopping && len(in.inFlight) == 0 && in.allDone != nil {
		close(in.allDone)
		in.allDone = nil
	}
}

// ackLoop acknowledges settled entries, in batches, retrying while Redis
// is down (an entry acknowledged late is at worst claimed and indexed
// again: a 409, not a duplicate). It ends once Stop closed wake and what
// was settled is acknowledged, or Redis stays unreachable.
func (in *Input) ackLoop() {
	defer in.ackWG.Done()
	rc := in.cfg.Redis
	closed := false
	for attempt := 0; ; {
		if !closed {
			_, ok := <-in.wake
			closed = !ok
		}
		in.mu.Lock()
		ids := in.toAck
		in.toAck = nil
		in.mu.Unlock()
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 1000)]
			ctx, cancel := context.WithTimeout(context.Background(), rc.Timeout)
			err := in.client.XAck(ctx, rc.Stream, rc.Group, chunk...).Err()
			cancel()
			if err != nil {
				in.warn.Warn().Err(err).Int("entries", len(ids)).Msg("redis: XACK failed; retrying (until it succeeds, these entries may be claimed and indexed again, once)")
				if closed && attempt >= 3 {
					in.log.Warn().Int("entries", len(ids)).Msg("redis: stopping with entries indexed but not acknowledged; they will be claimed and found already indexed")
					return
				}
				time.Sleep(backoff.Wait(in.cfg.RetryInitial, in.cfg.RetryMax, attempt))
				attempt++
				continue
			}
			attempt = 0
			in.cfg.Metrics.Acked.WithLabelValues(metrics.QueueRedis).Add(float64(len(chunk)))
			ids = ids[len(chunk):]
		}
		if closed {
			in.mu.Lock()
			more := len(in.toAck) > 0
			in.mu.Unlock()
			if !more {
				return
			}
		}
	}
}

// renewLoop keeps this consumer's in-flight entries from looking idle
// (XCLAIM to itself, JUSTID, which resets their idle time and leaves the
// delivery count alone): however long Elasticsearch makes them wait, no
// other indexer claims them while this one lives. It also publishes the
// group's lag.
func (in *Input) renewLoop(ctx context.Context) {
	defer in.loopWG.Done()
	rc := in.cfg.Redis
	t := time.NewTicker(max(rc.ClaimIdle/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		in.mu.Lock()
		ids := make([]string, 0, len(in.inFlight))
		for id := range in.inFlight {
			ids = append(ids, id)
		}
		in.mu.Unlock()
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 1000)]
			ids = ids[len(chunk):]
			err := in.client.XClaimJustID(ctx, &goredis.XClaimArgs{
				Stream: rc.Stream, Group: rc.Group, Consumer: in.consumer, MinIdle: 0, Messages: chunk,
			}).Err()
			if err != nil && ctx.Err() == nil {
				in.warn.Warn().Err(err).Msg("redis: renewing in-flight entries failed; another indexer may claim them (indexed once all the same)")
				break
			}
		}
		in.updateLag(ctx)
	}
}

// updateLag sets logshipper_queue_lag from XINFO GROUPS: entries not yet
// read by the group plus those read and not acknowledged.
func (in *Input) updateLag(ctx context.Context) {
	groups, err := in.client.XInfoGroups(ctx, in.cfg.Redis.Stream).Result()
	if err != nil {
		return
	}
	for _, g := range groups {
		if g.Name == in.cfg.Redis.Group {
			lag := max(g.Lag, 0) + g.Pending
			in.cfg.Metrics.Lag.WithLabelValues(metrics.QueueRedis, in.cfg.Redis.Stream).Set(float64(lag))
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
