package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/metrics"
)

// counters is what the periodic stats line reports.
type counters struct {
	receivedTCP, receivedUDP, parseFailures, truncated, indexed, failed, retried, dropped, queued float64
}

func readCounters() counters {
	return counters{
		receivedTCP:   value(metrics.EventsReceived.WithLabelValues("tcp")),
		receivedUDP:   value(metrics.EventsReceived.WithLabelValues("udp")),
		parseFailures: value(metrics.ParseFailures),
		truncated:     value(metrics.Truncated),
		indexed:       value(metrics.EventsIndexed),
		failed:        value(metrics.EventsFailed),
		retried:       value(metrics.EventsRetried),
		dropped: value(metrics.EventsDropped.WithLabelValues(metrics.DropQueueFull)) +
			value(metrics.EventsDropped.WithLabelValues(metrics.DropShutdown)) +
			value(metrics.EventsDropped.WithLabelValues(metrics.DropUDPKernel)),
		queued: value(metrics.QueueEvents),
	}
}

func received() int64 {
	c := readCounters()
	return int64(c.receivedTCP + c.receivedUDP)
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
func logStats(log zerolog.Logger, interval time.Duration, done <-chan struct{}) {
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
		c := readCounters()
		if c == last {
			continue
		}
		last = c
		log.Info().
			Int64("received_tcp", int64(c.receivedTCP)).Int64("received_udp", int64(c.receivedUDP)).
			Int64("parse_failures", int64(c.parseFailures)).Int64("truncated", int64(c.truncated)).
			Int64("indexed", int64(c.indexed)).Int64("dead_lettered", int64(c.failed)).
			Int64("retried", int64(c.retried)).Int64("dropped", int64(c.dropped)).
			Int64("queued", int64(c.queued)).
			Msg("stats")
	}
}
