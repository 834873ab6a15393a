package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	kafkain "github.com/logshipper/logshipper/inputs/kafka"
	redisin "github.com/logshipper/logshipper/inputs/redis"
	"github.com/logshipper/logshipper/inputs/syslog"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// input is what the wiring needs of any input: it hands events to the
// pipeline from Start until Stop returns (Stop delivers what it read
// before the grace period ends), says whether it is up (/readyz), and
// adds where it reads from to the start line.
type input interface {
	Start() error
	Stop(ctx context.Context) error
	Ready() bool
	Describe(e *zerolog.Event)
}

// inputDeps is what every input constructor gets.
type inputDeps struct {
	cfg    *config.Config
	reg    prometheus.Registerer
	events *metrics.Events
	pipe   *pipeline.Pipeline
	log    zerolog.Logger
}

// inputs is the registry of input.type values (config.InputTypes lists the
// same names for validation and --help).
var inputs = map[string]func(inputDeps) (input, error){
	"syslog": newSyslog,
	"kafka":  newKafkaInput,
	"redis":  newRedisInput,
}

// newKafkaInput: the indexer role, reading what edges wrote to a Kafka
// topic.
func newKafkaInput(d inputDeps) (input, error) {
	return kafkain.New(kafkain.Config{
		Kafka:       d.cfg.Kafka,
		PollRecords: d.cfg.Pipeline.BatchCount,
		Now:         time.Now,
		Logger:      d.log,
		Events:      d.events,
		Metrics:     metrics.NewConsumer(d.reg),
	}, d.pipe)
}

// newRedisInput: the indexer role, reading what edges appended to a Redis
// stream.
func newRedisInput(d inputDeps) (input, error) {
	return redisin.New(redisin.Config{
		Redis:        d.cfg.Redis,
		ReadCount:    d.cfg.Pipeline.BatchCount,
		Now:          time.Now,
		Logger:       d.log,
		Events:       d.events,
		Metrics:      metrics.NewConsumer(d.reg),
		RetryInitial: d.cfg.Pipeline.RetryInitial,
		RetryMax:     d.cfg.Pipeline.RetryMax,
	}, d.pipe)
}

func newSyslog(d inputDeps) (input, error) {
	cfg := d.cfg
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = syslog.NoIdleTimeout
	}
	// The drain may take at most half the grace period: the flush that
	// follows needs the rest.
	drain := min(cfg.Shutdown.DrainTimeout, cfg.Shutdown.GracePeriod/2)
	if drain == 0 {
		drain = syslog.NoDrain
	}
	return syslog.New(syslog.Config{
		Listen:         cfg.Listen,
		MaxMessageSize: cfg.MaxMessageSize,
		UDPReadBuffer:  cfg.UDP.ReadBuffer,
		UDPReaders:     cfg.UDP.Readers,
		MaxConnections: cfg.MaxConnections,
		IdleTimeout:    idle,
		DrainTimeout:   drain,
		TLS:            cfg.TLS,
		// PROXY protocol: checked by config.Load already.
		ProxyProtocol:        cfg.ProxyProtocol,
		ProxyProtocolTrusted: cfg.ProxyProtocolTrusted,
		Now:                  time.Now,
		Logger:               d.log,
		Events:               d.events,
		Metrics:              syslog.NewMetrics(d.reg),
	}, d.pipe)
}
