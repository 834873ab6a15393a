// Package metrics holds logshipper's Prometheus instruments. They live in
// one registry so /metrics shows exactly these and the Go runtime's own.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/logshipper/logshipper/internal/diskio"
)

// Registry is what the HTTP endpoint serves.
var Registry = prometheus.NewRegistry()

// Drop reasons for EventsDropped.
const (
	DropQueueFull  = "queue_full"  // UDP datagram arrived while the queue was full
	DropShutdown   = "shutdown"    // still queued when the shutdown grace period ran out
	DropBufferFull = "buffer_full" // UDP datagram arrived while the disk buffer was full
	DropUDPKernel  = "udp_kernel"  // the kernel's socket buffer overflowed (SO_RXQ_OVFL); logshipper never saw them
	DropDiskFull   = "disk_full"   // UDP datagram arrived while the disk buffer's file system was full
	DropDiskError  = "disk_error"  // UDP datagram arrived while the disk buffer's disk failed otherwise (read-only, I/O errors, directory gone)
	DropDeadLetter = "dead_letter" // rejected by Elasticsearch, and the dead-letter file could not be written before the shutdown deadline
)

// DropReasons lists every reason; all but DropUDPKernel count events that
// were received.
var DropReasons = []string{DropQueueFull, DropBufferFull, DropDiskFull, DropDiskError, DropShutdown, DropDeadLetter, DropUDPKernel}

// Components that write to disk, for DiskFault and DiskErrors.
const (
	DiskBuffer     = "buffer"
	DiskDeadLetter = "dead_letter"
)

// Bulk request results for BulkRequests.
const (
	BulkOK      = "ok"      // every item settled (indexed or dead-lettered)
	BulkPartial = "partial" // some items must be retried
	BulkError   = "error"   // the request itself failed (network, 5xx on the whole body)
)

var (
	EventsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logshipper_events_received_total",
		Help: "Messages read from the network, by transport.",
	}, []string{"transport"})
	ParseFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_parse_failures_total",
		Help: "Messages that matched no syslog grammar; indexed verbatim with tag _grokparsefailure_sysloginput.",
	})
	Truncated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_truncated_total",
		Help: "Messages cut at the maximum message size; indexed with tag _truncated.",
	})
	EventsIndexed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_indexed_total",
		Help: "Events Elasticsearch confirmed.",
	})
	EventsFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_failed_total",
		Help: "Events Elasticsearch rejected for good; written to the dead-letter file.",
	})
	EventsAlreadyIndexed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_already_indexed_total",
		Help: "Re-sent events Elasticsearch already had (409 on create with the event's _id): indexed once, not twice. Included in logshipper_events_indexed_total.",
	})
	EventsRetried = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "logshipper_events_retried_total",
		Help: "Event deliveries retried after a 429, a 5xx or an unreachable Elasticsearch.",
	})
	EventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logshipper_events_dropped_total",
		Help: "Events that will never reach Elasticsearch, by reason.",
	}, []string{"reason"})
	QueueEvents = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "logshipper_queue_events",
		Help: "Events read but not yet confirmed by Elasticsearch or dead-lettered.",
	})
	BulkRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logshipper_bulk_requests_total",
		Help: "Bulk requests sent, by result.",
	}, []string{"result"})
	BulkDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "logshipper_bulk_duration_seconds",
		Help:    "Time from sending a bulk request to reading its response.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	Connections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "logshipper_tcp_connections",
		Help: "Open TCP syslog connections, plain and TLS.",
	})
	ConnectionsLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "logshipper_tcp_connections_limit",
		Help: "The most TCP syslog connections (plain and TLS) open at once (max_connections); more are refused and counted in logshipper_input_errors_total{kind=\"max_connections\"}.",
	})
	DiskFault = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "logshipper_disk_fault",
		Help: "1 while a component cannot write to its disk (buffer: TCP reads paused, UDP dropped; dead_letter: rejected events wait), else 0.",
	}, []string{"component"})
	DiskErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logshipper_disk_errors_total",
		Help: "Disk failures met, by component and kind (disk_full, read_only, missing, io_error); each clears by itself once the disk takes writes again.",
	}, []string{"component", "kind"})
	InputErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "logshipper_input_errors_total",
		Help: "Problems with received data and connections, by kind: framing (oversize, bad_octet_count), connections (max_connections, idle_timeout, tls_handshake, accept, tcp_read, udp_read), parse_panic.",
	}, []string{"kind"})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		EventsReceived, ParseFailures, Truncated, EventsIndexed, EventsFailed,
		EventsRetried, EventsAlreadyIndexed, EventsDropped, QueueEvents, BulkRequests, BulkDuration,
		Connections, ConnectionsLimit, InputErrors, DiskFault, DiskErrors,
	)
	// Pre-create the label values operators alert on, so they read 0
	// instead of being absent.
	for _, t := range []string{"tcp", "udp", "tls"} {
		EventsReceived.WithLabelValues(t)
	}
	for _, r := range DropReasons {
		EventsDropped.WithLabelValues(r)
	}
	for _, c := range []string{DiskBuffer, DiskDeadLetter} {
		DiskFault.WithLabelValues(c)
		for _, k := range diskio.Kinds {
			DiskErrors.WithLabelValues(c, string(k))
		}
	}
	for _, r := range []string{BulkOK, BulkPartial, BulkError} {
		BulkRequests.WithLabelValues(r)
	}
}

// RegisterBuffer exposes the disk buffer's fill level as
// logshipper_buffer_events and logshipper_buffer_bytes. stats is called on
// every scrape.
func RegisterBuffer(stats func() (events, bytes int64)) {
	Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logshipper_buffer_events",
			Help: "Events in the disk buffer not yet confirmed by Elasticsearch.",
		}, func() float64 { e, _ := stats(); return float64(e) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logshipper_buffer_bytes",
			Help: "Bytes of the events in the disk buffer not yet confirmed by Elasticsearch.",
		}, func() float64 { _, b := stats(); return float64(b) }),
	)
}
