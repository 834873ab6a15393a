package metrics

import "github.com/prometheus/client_golang/prometheus"

// Queue tiers, the queue label of the logshipper_queue_* metrics.
const (
	QueueKafka = "kafka"
	QueueRedis = "redis"
)

// Consumer is what an indexer's input (Kafka, Redis) reports: how far it
// has acknowledged, what it got again, how far behind it is. Registered by
// the input on the registry it is given; the same names for both queues.
type Consumer struct {
	// Acked counts records acknowledged upstream (Redis XACK, Kafka
	// offsets committed): confirmed by Elasticsearch or dead-lettered.
	Acked *prometheus.CounterVec // by queue
	// Redelivered counts records read again: claimed from a crashed
	// consumer, or read again after a restart or a rebalance.
	Redelivered *prometheus.CounterVec // by queue
	// Lag is how many records wait in the broker, by partition (the
	// stream for Redis): not yet read, or read and not acknowledged.
	Lag *prometheus.GaugeVec // by queue, partition
	// Committed is the committed offset per partition (Kafka): every
	// record before it is safe in Elasticsearch.
	Committed *prometheus.GaugeVec // by queue, partition
}

// NewConsumer registers the consumer metrics on reg (nil: unregistered).
func NewConsumer(reg prometheus.Registerer) *Consumer {
	c := &Consumer{
		Acked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_queue_acked_total",
			Help: "Records acknowledged to the queue tier (Redis XACK, Kafka offset commit) once Elasticsearch confirmed them or they were dead-lettered.",
		}, []string{"queue"}),
		Redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_queue_redelivered_total",
			Help: "Records delivered again: claimed from a consumer that stopped acknowledging, or read again after a restart or rebalance (indexed once: op_type create with the record's _id).",
		}, []string{"queue"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logshipper_queue_lag",
			Help: "Records waiting in the queue tier for this consumer group, by partition (Redis: the stream): not yet read, or read and not yet acknowledged.",
		}, []string{"queue", "partition"}),
		Committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logshipper_queue_committed_offset",
			Help: "Kafka: the committed offset per partition; every record before it is indexed or dead-lettered.",
		}, []string{"queue", "partition"}),
	}
	register(reg, c.Acked, c.Redelivered, c.Lag, c.Committed)
	return c
}

// Producer is what an edge's output to the queue tier reports.
type Producer struct {
	// Produced counts records the broker confirmed (Kafka acks=all, Redis
	// XADD answered).
	Produced *prometheus.CounterVec // by queue
	// Latency of one batch's round trip to the broker.
	Latency *prometheus.HistogramVec // by queue
}

// NewProducer registers the producer metrics on reg (nil: unregistered).
func NewProducer(reg prometheus.Registerer) *Producer {
	p := &Producer{
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_queue_produced_total",
			Help: "Records the queue tier confirmed (Kafka acks=all, Redis XADD).",
		}, []string{"queue"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "logshipper_queue_produce_seconds",
			Help:    "Time from sending a batch to the queue tier until it confirmed every record.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"queue"}),
	}
	register(reg, p.Produced, p.Latency)
	return p
}
