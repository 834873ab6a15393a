// Package redis is the edge's output to a Redis stream, the queue tier
// between edge shippers and indexers (the second seed's figure 1): that
// is its one job. Each event becomes one stream entry (XADD) that carries
// the finished document, the event's stable ID and its target index, so an
// indexer needs no parsing settings and indexes each event once (op_type
// create with that _id). Streams, not lists: an entry stays until the
// indexers' group acknowledges it, where a popped list entry is lost with
// the consumer that popped it.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/pipeline"
)

// ErrStreamFull is the batch error while the stream holds MaxLen entries.
var ErrStreamFull = errors.New("redis: the stream holds redis.max_len entries; waiting for the indexers")

// Output writes batches to a Redis stream.
type Output struct {
	cfg    redisconn.Config
	schema elasticsearch.Schema
	index  *elasticsearch.IndexName
	client *goredis.Client
	log    zerolog.Logger
	// batches counts WriteBatch calls, for trimming without redis.max_len.
	batches  atomic.Int64
	produced prometheus.Counter  // logshipper_queue_produced_total{queue="redis"}
	latency  prometheus.Observer // logshipper_queue_produce_seconds{queue="redis"}
}

var _ pipeline.Output = (*Output)(nil)

// New builds the output. It does not contact Redis: logshipper starts,
// and buffers, while Redis is down. schema and index are the documents'
// (elasticsearch.schema and elasticsearch.index).
func New(cfg redisconn.Config, schema elasticsearch.Schema, index *elasticsearch.IndexName, m *metrics.Producer, log zerolog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// One batch is one round trip; retries are the pipeline's (with
	// backoff), not hidden in the client.
	client, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = metrics.NewProducer(nil)
	}
	m.Produced.WithLabelValues(metrics.QueueRedis)
	return &Output{cfg: cfg, schema: schema, index: index, client: client, log: log,
		produced: m.Produced.WithLabelValues(metrics.QueueRedis), latency: m.Latency.WithLabelValues(metrics.QueueRedis)}, nil
}

// WriteBatch appends one entry per event in one pipelined round trip and
// judges each: appended is Delivered; a server that is loading, busy or out
// of memory asks for a Retry; any other refusal of one entry (WRONGTYPE: the
// key is not a stream) is Rejected, for the dead-letter file. A failed
// round trip, or a full stream, fails the whole batch, to be retried.
func (o *Output) WriteBatch(ctx context.Context, events []*event.Event) ([]pipeline.Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	if o.cfg.MaxLen > 0 {
		n, err := o.client.XLen(ctx, o.cfg.Stream).Result()
		if err != nil && !errors.Is(err, goredis.Nil) && !isWrongType(err) {
			return nil, fmt.Errorf("redis: XLEN %s: %w", o.cfg.Stream, err)
		}
		// Past half the bound, make room by removing what the indexers
		// are done with; what is left waits for them.
		if n+int64(len(events)) > int64(o.cfg.MaxLen)/2 && err == nil {
			if n, err = o.trimAcknowledged(ctx); err != nil {
				return nil, err
			}
		}
		if n+int64(len(events)) > int64(o.cfg.MaxLen) && n > 0 {
			return nil, ErrStreamFull
		}
	} else if o.batches.Add(1)%trimEvery == 0 {
		if _, err := o.trimAcknowledged(ctx); err != nil {
			o.log.Warn().Err(err).Msg("redis: trimming acknowledged entries failed; trying again later")
		}
	}
	docs := make([][]byte, len(events))
	indices := make([]string, len(events))
	pipe := o.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(events))
	for i, ev := range events {
		docs[i] = o.schema.AppendDocument(nil, ev)
		indices[i] = o.index.Name(ev.Time())
		cmds[i] = pipe.XAdd(ctx, &goredis.XAddArgs{
			Stream: o.cfg.Stream,
			Values: []any{redisconn.FieldID, ev.ID, redisconn.FieldIndex, indices[i], redisconn.FieldDoc, docs[i]},
		})
	}
	sent := time.Now()
	if _, err := pipe.Exec(ctx); err != nil && allFailed(cmds) && !isRedisError(cmds[0].Err()) {
		return nil, fmt.Errorf("redis: XADD to %s: %w", o.cfg.Stream, err)
	}
	o.latency.Observe(time.Since(sent).Seconds())
	results := make([]pipeline.Result, len(events))
	for i, c := range cmds {
		switch err := c.Err(); {
		case err == nil:
			o.produced.Inc()
			results[i].Status = pipeline.Delivered
		case retriable(err):
			results[i] = pipeline.Result{Status: pipeline.Retry, Reason: err.Error()}
		default:
			results[i] = pipeline.Result{Status: pipeline.Rejected, Index: indices[i], Document: docs[i], Reason: err.Error()}
		}
	}
	return results, nil
}

// trimEvery: without redis.max_len, acknowledged entries are trimmed
// every this many batches.
const trimEvery = 100

// trimAcknowledged removes the entries every consumer group of the stream
// has read and acknowledged (XTRIM MINID): an indexer acknowledges (XACK)
// but does not delete, and a stream keeps acknowledged entries until
// trimmed, so without this redis.max_len would count entries nobody needs
// and the edge would wait forever. It never removes an entry a group has
// not read or has not acknowledged, and with no group yet it removes
// nothing. It returns the stream's length afterwards.
func (o *Output) trimAcknowledged(ctx context.Context) (int64, error) {
	groups, err := o.client.XInfoGroups(ctx, o.cfg.Stream).Result()
	if err != nil && !strings.HasPrefix(err.Error(), "ERR no such key") {
		return 0, fmt.Errorf("redis: XINFO GROUPS %s: %w", o.cfg.Stream, err)
	}
	minID := ""
	for _, g := range groups {
		// Entries up to the group's last delivered one are read; of those,
		// the ones before its oldest pending entry are acknowledged.
		bound := g.LastDeliveredID
		if g.Pending > 0 {
			p, err := o.client.XPending(ctx, o.cfg.Stream, g.Name).Result()
			if err != nil {
				return 0, fmt.Errorf("redis: XPENDING %s %s: %w", o.cfg.Stream, g.Name, err)
			}
			bound = p.Lower
		}
		if minID == "" || streamIDLess(bound, minID) {
			minID = bound
		}
	}
	if minID != "" && minID != "0-0" {
		if err := o.client.XTrimMinID(ctx, o.cfg.Stream, minID).Err(); err != nil {
			return 0, fmt.Errorf("redis: XTRIM %s MINID %s: %w", o.cfg.Stream, minID, err)
		}
	}
	n, err := o.client.XLen(ctx, o.cfg.Stream).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: XLEN %s: %w", o.cfg.Stream, err)
	}
	return n, nil
}

// streamIDLess compares stream entry IDs ("ms-seq").
func streamIDLess(a, b string) bool {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	return am < bm || am == bm && as < bs
}

func splitStreamID(id string) (ms, seq uint64) {
	m, q, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(q, 10, 64)
	return ms, seq
}

func allFailed(cmds []*goredis.StringCmd) bool {
	for _, c := range cmds {
		if c.Err() == nil {
			return false
		}
	}
	return true
}

// isRedisError: the server answered with an error (as opposed to the
// connection failing).
func isRedisError(err error) bool {
	var re goredis.Error
	return errors.As(err, &re)
}

func isWrongType(err error) bool {
	return isRedisError(err) && strings.HasPrefix(err.Error(), "WRONGTYPE")
}

// retriable: the server refused for now (loading its data, busy with a
// script, out of memory under maxmemory, a cluster slot moving).
func retriable(err error) bool {
	if !isRedisError(err) {
		return true // the connection, not the entry
	}
	for _, p := range []string{"LOADING", "BUSY", "OOM", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN"} {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

// Start does nothing: a stream needs no set-up, and Redis being down must
// not stop the start.
func (o *Output) Start(context.Context) error { return nil }

// Ready is PING, for /readyz.
func (o *Output) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	if err := o.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %v", err)
	}
	return nil
}

// WantsEventIDs is true: the ID in each entry is the document's _id at the
// indexer, which makes a re-send (here or there) harmless.
func (o *Output) WantsEventIDs() bool { return true }

// Close closes the connections.
func (o *Output) Close(context.Context) error { return o.client.Close() }
