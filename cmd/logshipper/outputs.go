package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/outputs/kafka"
	"github.com/logshipper/logshipper/outputs/redis"
	"github.com/logshipper/logshipper/pipeline"
)

// output is what the wiring needs of any output: batches in (pipeline.Output),
// what it must do before the first batch, whether it can deliver now
// (/readyz), whether events need stable IDs, and a close.
type output interface {
	pipeline.Output
	// Start does the destination's own start-up (Elasticsearch: the index
	// template). An error stops logshipper's start: only a setting the
	// destination cannot honour may return one, never its being down.
	Start(ctx context.Context) error
	Ready(ctx context.Context) error
	WantsEventIDs() bool
	Close(ctx context.Context) error
}

// outputDeps is what every output constructor gets.
type outputDeps struct {
	cfg    *config.Config
	reg    prometheus.Registerer
	events *metrics.Events
	log    zerolog.Logger
}

// outputs is the registry of output.type values (config.OutputTypes lists
// the same names for validation and --help).
var outputs = map[string]func(context.Context, outputDeps) (output, error){
	"elasticsearch": newElasticsearch,
	"kafka":         newKafka,
	"redis":         newRedis,
}

// newRedis: the edge role; the documents' schema and index are those
// elasticsearch.schema and elasticsearch.index give, resolved here so the
// indexer needs no parsing settings.
func newRedis(_ context.Context, d outputDeps) (output, error) {
	schema, err := elasticsearch.ParseSchema(d.cfg.Elasticsearch.Schema)
	if err != nil {
		return nil, err
	}
	index, err := elasticsearch.ParseIndex(d.cfg.Elasticsearch.Index)
	if err != nil {
		return nil, err
	}
	return redis.New(d.cfg.Redis, schema, index, metrics.NewProducer(d.reg), d.log)
}

// newKafka: the edge role, like newRedis: documents in the schema and
// index elasticsearch.schema and elasticsearch.index give, written to the
// topic kafka.topic.
func newKafka(_ context.Context, d outputDeps) (output, error) {
	schema, err := elasticsearch.ParseSchema(d.cfg.Elasticsearch.Schema)
	if err != nil {
		return nil, err
	}
	index, err := elasticsearch.ParseIndex(d.cfg.Elasticsearch.Index)
	if err != nil {
		return nil, err
	}
	return kafka.New(d.cfg.Kafka, schema, index, metrics.NewProducer(d.reg), d.log)
}

func newElasticsearch(ctx context.Context, d outputDeps) (output, error) {
	c := d.cfg.Elasticsearch
	c.Events, c.Metrics = d.events, elasticsearch.NewMetrics(d.reg)
	return elasticsearch.New(ctx, c, d.log)
}
