package elasticsearch

import "github.com/prometheus/client_golang/prometheus"

// Bulk request results, the label of Metrics.BulkRequests.
const (
	BulkResultOK      = "ok"      // every item settled (indexed or dead-lettered)
	BulkResultPartial = "partial" // some items must be retried
	BulkResultError   = "error"   // the request itself failed (network, 5xx on the whole body)
)

// Metrics are the Elasticsearch output's own instruments. What it finds
// already indexed goes into the shared account (Config.Events).
type Metrics struct {
	BulkRequests *prometheus.CounterVec // by result
	BulkDuration prometheus.Histogram
}

// NewMetrics makes the output's instruments and registers them on reg
// (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		BulkRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_bulk_requests_total",
			Help: "Bulk requests sent, by result.",
		}, []string{"result"}),
		BulkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "logshipper_bulk_duration_seconds",
			Help:    "Time from sending a bulk request to reading its response.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
	}
	for _, r := range []string{BulkResultOK, BulkResultPartial, BulkResultError} {
		m.BulkRequests.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.BulkRequests, m.BulkDuration)
	}
	return m
}
