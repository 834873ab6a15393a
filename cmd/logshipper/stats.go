package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// counters is what the periodic stats line reports.
type counters struct {
	parseFailures, truncated, indexed, failed, retried, queued float64
	// received by transport (metrics.Transports), dropped by reason
	// (metrics.DropReasons)
	received, dropped map[string]float64
}

// readCounters reads the account of events (metrics.Events): received
// over every transport, dropped for every reason.
func readCounters(e *metrics.Events) counters {
	c := counters{
		parseFailures: value(e.ParseFailures),
		truncated:     value(e.Truncated),
		indexed:       value(e.Indexed),
		failed:        value(e.Failed),
		retried:       value(e.Retried),
		queued:        value(e.Queued),
		received:      map[string]float64{},
		dropped:       map[string]float64{},
	}
	for _, t := range metrics.Transports {
		c.received[t] = value(e.Received.WithLabelValues(t))
	}
	for _, r := range metrics.DropReasons {
		c.dropped[r] = value(e.Dropped.WithLabelValues(r))
	}
	return c
}

// receivedTotal is every event read, over every transport.
func (c counters) receivedTotal() float64 {
	var n float64
	for _, v := range c.received {
		n += v
	}
	return n
}

// droppedTotal is every event that will never reach Elasticsearch,
// datagrams the kernel dropped included.
func (c counters) droppedTotal() float64 {
	var n float64
	for _, v := range c.dropped {
		n += v
	}
	return n
}

func (c counters) same(d counters) bool {
	for t, v := range c.received {
		if d.received[t] != v {
			return false
		}
	}
	if c.parseFailures != d.parseFailures || c.truncated != d.truncated || c.indexed != d.indexed ||
		c.failed != d.failed || c.retried != d.retried || c.queued != d.queued {
		return false
	}
	return c.droppedTotal() == d.droppedTotal()
}

// accounting is the shutdown line: where every event this run saw went.
type accounting struct {
	received     int64 // read from the network (TCP, UDP, TLS) or the queue tier
	recovered    int64 // found in the disk buffer at start, left by the last run
	indexed      int64 // confirmed by Elasticsearch (409 "already there" included)
	deadLettered int64 // rejected by Elasticsearch, in the dead-letter file
	left         int64 // still in the disk buffer or unacknowledged in the queue tier, sent after the next start
	lost         int64 // dropped (counted by reason) or not writable to the disk buffer
}

// account builds the shutdown line from the counters, the pipeline's
// stats and the disk buffer's (zero without one).
func account(c counters, st pipeline.Stats, recovered, left, bufferLost int64) accounting {
	lost := bufferLost
	for r, v := range c.dropped {
		if r != metrics.DropUDPKernel { // never received
			lost += int64(v)
		}
	}
	return accounting{
		received:     int64(c.receivedTotal()),
		recovered:    recovered,
		indexed:      st.Delivered,
		deadLettered: st.Rejected,
		left:         left,
		lost:         lost,
	}
}

// balanced: every event received or recovered is indexed, dead-lettered,
// still in the buffer, or counted as lost. Anything else is a bug.
func (a accounting) balanced() bool {
	return a.received+a.recovered == a.indexed+a.deadLettered+a.left+a.lost
}

func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return 0
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return 0
}

// logStats writes one line of counters every interval, only when they
// changed: an idle shipper stays quiet, a busy one is visible without a
// line per message.
func logStats(log zerolog.Logger, events *metrics.Events, interval time.Duration, done <-chan struct{}) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last counters
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		c := readCounters(events)
		if c.same(last) {
			continue
		}
		last = c
		line := log.Info()
		for _, t := range metrics.Transports {
			line.Int64("received_"+t, int64(c.received[t]))
		}
		line.Int64("parse_failures", int64(c.parseFailures)).Int64("truncated", int64(c.truncated)).
			Int64("indexed", int64(c.indexed)).Int64("dead_lettered", int64(c.failed)).
			Int64("retried", int64(c.retried)).Int64("dropped", int64(c.droppedTotal())).
			Int64("queued", int64(c.queued)).
			Msg("stats")
	}
}
