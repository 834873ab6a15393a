// Command logshipper receives syslog over TCP and UDP, parses RFC3164 and
// RFC5424, and bulk-indexes every message into Elasticsearch.
//
//	listeners (inputs/syslog) → parser → pipeline (queue, batches, retries) → outputs/elasticsearch
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // timezone names work in a scratch image too

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/httpapi"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/parser"
	"github.com/logshipper/logshipper/pipeline"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	args := os.Args[1:]
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "", "run", "check-config", "health":
	case "version":
		fmt.Println("logshipper", version)
		return
	default:
		fmt.Fprintf(os.Stderr, "logshipper: unknown command %q; use run (the default), version, check-config or health\n", sub)
		os.Exit(2)
	}

	fs := pflag.NewFlagSet("logshipper", pflag.ContinueOnError)
	fs.SortFlags = false
	config.Flags(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	ready := fs.Bool("ready", false, "with health: ask /readyz (listeners, Elasticsearch, disk) instead of /healthz, for load balancers' checks")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "logshipper %s: syslog (TCP and UDP, RFC3164 and RFC5424) into Elasticsearch.\n\n", version)
		fmt.Fprintf(os.Stderr, "Usage: logshipper [run] [flags]      receive and ship (the default)\n"+
			"       logshipper check-config [flags]  validate the configuration: exit 0, or 1 with the error\n"+
			"       logshipper health [flags]        exit 0 when /healthz on http.listen answers (Docker HEALTHCHECK);\n"+
			"                                        with --ready, when /readyz says ready (else 1, with the reason)\n"+
			"       logshipper version\n\n"+
			"Every flag is also a key of the YAML file (--config) and an environment\nvariable: --elasticsearch.urls is LOGSHIPPER_ELASTICSEARCH_URLS.\nPrecedence: defaults < file < environment < flags.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "logshipper:", err)
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("logshipper", version)
		return
	}
	cfg, err := config.Load(fs, os.LookupEnv)
	if err != nil {
		// One line per bad setting.
		fmt.Fprintln(os.Stderr, "logshipper: "+strings.ReplaceAll(err.Error(), "\n", "\nlogshipper: "))
		if sub == "check-config" {
			os.Exit(1)
		}
		os.Exit(2)
	}
	switch sub {
	case "check-config":
		fmt.Println("logshipper: configuration is valid")
		return
	case "health":
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		if err := checkHealth(cfg.HTTP.Listen, path); err != nil {
			fmt.Fprintln(os.Stderr, "logshipper: unhealthy:", err)
			os.Exit(1)
		}
		return
	}
	log := newLogger(cfg)
	routeLibraryLogs(log)
	if err := run(cfg, log); err != nil {
		log.Error().Msg(err.Error())
		os.Exit(1)
	}
}

// checkHealth asks the running process's /healthz or /readyz, on the
// address it listens on (a wildcard host means this host); a refusal
// carries the endpoint's reason.
func checkHealth(listen, path string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s answered %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// routeLibraryLogs makes the lines libraries print JSON like logshipper's
// own: Go's standard logger (net/http's server errors) and go-redis's.
// A plain-text line in the output breaks a pipeline that ships
// logshipper's logs into Elasticsearch as JSON.
func routeLibraryLogs(log zerolog.Logger) {
	stdlog.SetFlags(0)
	stdlog.SetOutput(log.With().Str("component", "go").Logger())
	redisconn.RouteLogs(log.With().Str("component", "redis-client").Logger())
}

func newLogger(cfg *config.Config) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	level, _ := zerolog.ParseLevel(strings.ToLower(cfg.Log.Level))
	var log zerolog.Logger
	if cfg.Log.Format == "console" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339})
	} else {
		log = zerolog.New(os.Stderr)
	}
	return log.Level(level).With().Timestamp().Logger()
}

func run(cfg *config.Config, log zerolog.Logger) error {
	ctx := context.Background()
	gcPercent, memLimit := tuneGC(cfg.Pipeline.QueueBytes, os.LookupEnv)

	// One registry for /metrics; every component registers its own
	// instruments on it and adds to the one account of events.
	reg := metrics.NewRegistry()
	events := metrics.NewEvents(reg)
	disk := metrics.NewDisk(reg)
	cfg.Pipeline.Events, cfg.Pipeline.Disk = events, disk

	out, err := outputs[cfg.Output.Type](ctx, outputDeps{
		cfg: cfg, reg: reg, events: events,
		log: log.With().Str("component", cfg.Output.Type).Logger(),
	})
	if err != nil {
		return err
	}
	if err := out.Start(ctx); err != nil {
		out.Close(ctx)
		return err
	}
	dlq, err := pipeline.NewFileDeadLetter(cfg.DeadLetter.Path, nil)
	if err != nil {
		return err
	}
	// Events are parsed in one place, as the pipeline reads them from the
	// buffer, whatever the buffer: the disk buffer stores them as
	// received, so a restart replays them the same way.
	p := parser.New(parser.Options{Location: cfg.Location})
	pipeLog := log.With().Str("component", "pipeline").Logger()
	var (
		buf pipeline.Buffer
		wal *buffer.WAL
	)
	if cfg.Buffer.Type == "disk" {
		if wal, err = openBuffer(cfg, log, reg, disk); err != nil {
			return err
		}
		buf = wal // its records carry stable IDs
	} else {
		mem := pipeline.NewMemoryBuffer(cfg.Pipeline)
		metrics.RegisterBuffer(reg, mem.Stats)
		cfg.Pipeline.AssignIDs = out.WantsEventIDs()
		buf = mem
	}
	pipe, err := pipeline.New(cfg.Pipeline, buf, p.Parse, out, dlq, pipeLog)
	if err != nil {
		return err
	}
	in, err := inputs[cfg.Input.Type](inputDeps{
		cfg: cfg, reg: reg, events: events, pipe: pipe,
		log: log.With().Str("component", cfg.Input.Type).Logger(),
	})
	if err != nil {
		return err
	}
	if err := in.Start(); err != nil {
		return err
	}
	api, err := httpapi.New(cfg.HTTP.Listen, reg, []httpapi.Check{
		{Name: "listeners", Func: func(context.Context) error {
			if !in.Ready() {
				return fmt.Errorf("%s input is not up", cfg.Input.Type)
			}
			return nil
		}},
		{Name: cfg.Output.Type, Func: out.Ready},
		{Name: "disk", Func: func(context.Context) error {
			// A full or failing disk: TCP reads pause and UDP drops here, so
			// a load balancer should send the traffic elsewhere.
			var errs []error
			if wal != nil {
				errs = append(errs, wal.Fault())
			}
			errs = append(errs, pipe.DeadLetterFault())
			return errors.Join(errs...)
		}},
	})
	if err != nil {
		in.Stop(ctx)
		return err
	}
	go func() {
		if err := api.Serve(); err != nil {
			log.Error().Err(err).Msg("HTTP endpoint stopped")
		}
	}()

	start := log.Info().Str("version", version).Str("input", cfg.Input.Type)
	in.Describe(start)
	start.
		Str("http", api.Addr().String()).
		Str("output", cfg.Output.Type).
		Strs("elasticsearch", redactedURLs(cfg.Elasticsearch.URLs)).
		Str("index", cfg.Elasticsearch.Index).
		Str("schema", cfg.Elasticsearch.Schema).
		Int("workers", cfg.Pipeline.Workers).Int("batch_count", cfg.Pipeline.BatchCount).
		Int("queue_size", cfg.Pipeline.QueueSize).
		Str("buffer", cfg.Buffer.Type).
		Int("gogc", gcPercent).Int64("memory_limit", memLimit).
		Msg("logshipper started")

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	statsDone := make(chan struct{})
	go logStats(log, events, cfg.Log.StatsInterval, statsDone)

	sig := <-sigs
	close(statsDone)
	log.Info().Str("signal", sig.String()).Dur("grace_period", cfg.Shutdown.GracePeriod).
		Msg("shutting down: no new connections; draining open ones, then flushing what was read")
	grace, cancel := context.WithTimeout(ctx, cfg.Shutdown.GracePeriod)
	defer cancel()
	go func() {
		// A second signal means "now": the operator gave up waiting.
		<-sigs
		log.Warn().Msg("second signal: abandoning the flush")
		cancel()
	}()

	before := pipe.Stats()
	if err := in.Stop(grace); err != nil {
		log.Warn().Err(err).Msg("listeners did not hand over everything they read")
	}
	st := pipe.Close(grace) // closes the disk buffer for appends; its reader drains it
	out.Close(ctx)
	dlq.Close()
	var recovered, bufferLost int64
	left := st.Left // unacknowledged in the queue tier, delivered again
	if wal != nil { // closed by pipe.Close, which logs a failure
		recovered = wal.Recovery().Events
		left, _ = wal.Stats()
		bufferLost = wal.Lost()
	}
	shutdownCtx, cancelHTTP := context.WithTimeout(ctx, time.Second)
	api.Shutdown(shutdownCtx)
	cancelHTTP()

	a := account(readCounters(events), st, recovered, left, bufferLost)
	lvl := log.Info()
	if a.lost > 0 || !a.balanced() {
		lvl = log.Error()
	}
	lvl.Int64("received", a.received).
		Int64("recovered", a.recovered).
		Int64("indexed", a.indexed).
		Int64("dead_lettered", a.deadLettered).
		Int64("left_in_buffer", a.left).
		Int64("lost", a.lost).
		Bool("balanced", a.balanced()).
		Int64("flushed", st.Delivered-before.Delivered).
		Int64("indexed_total", st.Delivered).
		Msg("shutdown complete")
	if !a.balanced() {
		log.Error().Msg("the shutdown counts do not add up (received + recovered != indexed + dead_lettered + left_in_buffer + lost): a logshipper bug; please report it with this log")
	}
	return nil
}

// openBuffer opens the disk buffer and says what it found from last time.
func openBuffer(cfg *config.Config, log zerolog.Logger, reg prometheus.Registerer, disk *metrics.Disk) (*buffer.WAL, error) {
	fsync, err := buffer.ParseFsyncPolicy(cfg.Buffer.Fsync)
	if err != nil {
		return nil, err
	}
	faults := log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
	onFault := func(err error) {
		var fe *buffer.FaultError
		if !errors.As(err, &fe) {
			disk.Healed(metrics.DiskBuffer)
			log.Info().Str("path", cfg.Buffer.Path).Msg("disk buffer writable again: TCP reads and UDP resume")
			return
		}
		disk.Failing(metrics.DiskBuffer, fe.Kind)
		faults.Error().Str("kind", string(fe.Kind)).Msg(fe.Error())
	}
	wal, err := buffer.Open(buffer.Options{Dir: cfg.Buffer.Path, MaxBytes: int64(cfg.Buffer.MaxBytes), Fsync: fsync, OnFault: onFault})
	if err != nil {
		return nil, fmt.Errorf("buffer.path: %q: %v", cfg.Buffer.Path, err)
	}
	metrics.RegisterBuffer(reg, wal.Stats)
	r := wal.Recovery()
	ev := log.Info()
	if r.Corrupt > 0 {
		ev = log.Error()
	}
	ev.Str("path", cfg.Buffer.Path).Int64("events", r.Events).Int64("bytes", r.Bytes).
		Int64("torn_tail_bytes", r.TruncatedBytes).Int("corrupt_records", r.Corrupt).
		Msg("disk buffer opened; events left from the last run are sent first")
	if size, avail, ok := fsSpace(cfg.Buffer.Path); ok && int64(cfg.Buffer.MaxBytes) > avail+r.Bytes {
		// Not an error: a full disk is back-pressure too. But the operator
		// most likely meant the limit to be reached first.
		log.Warn().Str("path", cfg.Buffer.Path).Int("max_bytes", cfg.Buffer.MaxBytes).
			Int64("filesystem_bytes", size).Int64("available_bytes", avail).
			Msg("buffer.max_bytes is more than the file system has free: it will fill before the buffer does (TCP waits, UDP drops as disk_full until delivered events free space); set buffer.max_bytes below the free space")
	}
	return wal, nil
}

// redactedURLs hides passwords written into URLs (http://user:pw@host).
func redactedURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if p, err := url.Parse(u); err == nil {
			out[i] = p.Redacted()
		} else {
			out[i] = "(unparsable URL)"
		}
	}
	return out
}
