// Package metrics holds what logshipper's components share about their
// Prometheus instruments: the registry /metrics serves (NewRegistry), the
// account of events every component adds to (Events), the disk failures
// (Disk), and the label values. No instrument is a package global: each is
// made by its owner and registered on the registry it is given, so tests
// and two pipelines in one process do not share counts.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/logshipper/logshipper/internal/diskio"
)

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

// Components that write to disk, for Disk.
const (
	DiskBuffer     = "buffer"
	DiskDeadLetter = "dead_letter"
)

// NewRegistry returns the registry /metrics serves: the Go runtime's and
// the process's collectors; each component registers its own instruments
// on it (NewEvents, NewDisk, RegisterBuffer, and the inputs' and outputs'
// own Metrics).
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// register adds cs to reg; a nil reg (tests) keeps them private.
func register(reg prometheus.Registerer, cs ...prometheus.Collector) {
	if reg != nil {
		reg.MustRegister(cs...)
	}
}

// Events is the one account of the events' lives, which every component
// adds to: the inputs count what they receive, truncate and drop, the
// parser what fails, the pipeline what waits, is retried, dropped or
// dead-lettered, the output what was already indexed. /metrics, the stats
// line and the shutdown line read it.
type Events struct {
	Received       *prometheus.CounterVec // by transport
	ParseFailures  prometheus.Counter
	Truncated      prometheus.Counter
	Dropped        *prometheus.CounterVec // by reason (DropReasons)
	Queued         prometheus.Gauge
	Indexed        prometheus.Counter
	AlreadyIndexed prometheus.Counter
	Failed         prometheus.Counter
	Retried        prometheus.Counter
}

// Transports are the Received label values: the syslog transports, and
// the queue tier an indexer reads from.
var Transports = []string{"tcp", "udp", "tls", QueueKafka, QueueRedis}

// NewEvents makes the account and registers it on reg (nil: not registered).
func NewEvents(reg prometheus.Registerer) *Events {
	e := &Events{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_events_received_total",
			Help: "Messages read from the network, by transport (tcp, udp, tls; kafka and redis for an indexer).",
		}, []string{"transport"}),
		ParseFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_parse_failures_total",
			Help: "Messages that matched no syslog grammar; indexed verbatim with tag _grokparsefailure_sysloginput.",
		}),
		Truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_truncated_total",
			Help: "Messages cut at the maximum message size; indexed with tag _truncated.",
		}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_events_dropped_total",
			Help: "Events that will never reach Elasticsearch, by reason.",
		}, []string{"reason"}),
		Queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logshipper_queue_events",
			Help: "Events read but not yet confirmed by Elasticsearch or dead-lettered.",
		}),
		Indexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_indexed_total",
			Help: "Events Elasticsearch confirmed.",
		}),
		AlreadyIndexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_already_indexed_total",
			Help: "Re-sent events Elasticsearch already had (409 on create with the event's _id): indexed once, not twice. Included in logshipper_events_indexed_total.",
		}),
		Failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_failed_total",
			Help: "Events Elasticsearch rejected for good; written to the dead-letter file.",
		}),
		Retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logshipper_events_retried_total",
			Help: "Event deliveries retried after a 429, a 5xx or an unreachable Elasticsearch.",
		}),
	}
	// Pre-create the label values operators alert on, so they read 0
	// instead of being absent.
	for _, t := range Transports {
		e.Received.WithLabelValues(t)
	}
	for _, r := range DropReasons {
		e.Dropped.WithLabelValues(r)
	}
	register(reg, e.Received, e.ParseFailures, e.Truncated, e.Dropped, e.Queued, e.Indexed, e.AlreadyIndexed, e.Failed, e.Retried)
	return e
}

// Disk counts the failures of the components that write to disk
// (DiskBuffer, DiskDeadLetter).
type Disk struct {
	Fault  *prometheus.GaugeVec   // by component
	Errors *prometheus.CounterVec // by component and kind
}

// NewDisk makes the disk instruments and registers them on reg (nil: not registered).
func NewDisk(reg prometheus.Registerer) *Disk {
	d := &Disk{
		Fault: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logshipper_disk_fault",
			Help: "1 while a component cannot write to its disk (buffer: TCP reads paused, UDP dropped; dead_letter: rejected events wait), else 0.",
		}, []string{"component"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_disk_errors_total",
			Help: "Disk failures met, by component and kind (disk_full, read_only, missing, io_error); each clears by itself once the disk takes writes again.",
		}, []string{"component", "kind"}),
	}
	for _, c := range []string{DiskBuffer, DiskDeadLetter} {
		d.Fault.WithLabelValues(c)
		for _, k := range diskio.Kinds {
			d.Errors.WithLabelValues(c, string(k))
		}
	}
	register(reg, d.Fault, d.Errors)
	return d
}

// Failing records that component's disk failed with kind; Healed that it
// takes writes again.
func (d *Disk) Failing(component string, kind diskio.Kind) {
	d.Fault.WithLabelValues(component).Set(1)
	d.Errors.WithLabelValues(component, string(kind)).Inc()
}

// Healed: see Failing.
func (d *Disk) Healed(component string) { d.Fault.WithLabelValues(component).Set(0) }

// RegisterBuffer exposes the buffer's fill level (memory or disk) on reg as
// logshipper_buffer_events and logshipper_buffer_bytes. stats is called on
// every scrape.
func RegisterBuffer(reg prometheus.Registerer, stats func() (events, bytes int64)) {
	register(reg,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logshipper_buffer_events",
			Help: "Events in the buffer (memory or disk) not yet confirmed by the output.",
		}, func() float64 { e, _ := stats(); return float64(e) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logshipper_buffer_bytes",
			Help: "Bytes of the events in the buffer (memory: message bytes; disk: records) not yet confirmed by the output.",
		}, func() float64 { _, b := stats(); return float64(b) }),
	)
}
