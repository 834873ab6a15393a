package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olivere/elastic/v7"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// Output sends batches to Elasticsearch with the _bulk API. It is safe for
// concurrent use by several pipeline workers.
type Output struct {
	cfg    Config
	log    zerolog.Logger
	schema Schema
	index  *IndexName

	client    *elastic.Client // ping, template, and _bulk with sniff on
	transport *http.Transport
	sender    bulkSender

	tmplMu   sync.Mutex
	tmplDone atomic.Bool
	cluster  *clusterInfo // from GET /, read when a lifecycle policy needs it; under tmplMu

	batches     sync.Pool // *batch: one request's buffers
	gzipWriters sync.Pool // *gzip.Writer at gzipLevel
	lastAction  atomic.Pointer[actionLine]
	delivered   atomic.Pointer[[]pipeline.Result] // allDelivered's
}

var _ pipeline.Output = (*Output)(nil)

// New builds the output. It does not contact Elasticsearch (unless
// Sniff is on): logshipper must start, and buffer, while Elasticsearch is
// down. The template is installed before the first bulk request.
func New(ctx context.Context, cfg Config, log zerolog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	schema, _ := ParseSchema(cfg.Schema)
	index, _ := ParseIndex(cfg.Index)
	if cfg.Events == nil {
		cfg.Events = metrics.NewEvents(nil)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}

	transport, err := newTransport(&cfg)
	if err != nil {
		return nil, err
	}
	opts := []elastic.ClientOptionFunc{
		elastic.SetURL(cfg.URLs...),
		elastic.SetHttpClient(&http.Client{Transport: transport}),
		// Sniffing replaces the configured URLs with the addresses the
		// nodes publish. Behind the Docker Swarm routing mesh (or any load
		// balancer) those are container addresses we cannot reach, so it
		// is off unless asked for.
		elastic.SetSniff(cfg.Sniff),
		// No health check at construction (it would make New fail while
		// Elasticsearch is down) nor in the background: Ping serves /readyz.
		elastic.SetHealthcheck(false),
		// gzip (elasticsearch.gzip) is done here, with a reused writer at
		// BestSpeed, for every request body: olivere's own (a new writer
		// at the default level per request) costs twice as much.
		elastic.SetGzip(false),
		// olivere's default is already no retries (NewStopRetrier), but the
		// pipeline owns retrying, so say it here where it cannot be missed.
		elastic.SetRetrier(noRetries{}),
		elastic.SetRetryStatusCodes(),
	}
	if cfg.Username != "" {
		opts = append(opts, elastic.SetBasicAuth(cfg.Username, cfg.Password))
	}
	if cfg.APIKey != "" {
		opts = append(opts, elastic.SetHeaders(http.Header{"Authorization": {"ApiKey " + apiKeyHeader(cfg.APIKey)}}))
	}
	client, err := elastic.DialContext(ctx, opts...)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	o := &Output{
		cfg:       cfg,
		log:       log,
		schema:    schema,
		index:     index,
		client:    client,
		transport: transport,
	}
	if cfg.Sniff {
		o.sender = &olivereSender{client: client}
	} else {
		o.sender = newHTTPSender(&cfg, transport)
	}
	o.batches.New = func() any { return &batch{pool: &o.batches, body: make([]byte, 0, 64<<10)} }
	o.gzipWriters.New = func() any { zw, _ := gzip.NewWriterLevel(io.Discard, gzipLevel); return zw }
	return o, nil
}

// apiKeyHeader accepts the base64 "encoded" key or "id:api_key".
func apiKeyHeader(key string) string {
	if strings.Contains(key, ":") {
		return base64.StdEncoding.EncodeToString([]byte(key))
	}
	return key
}

func newTransport(cfg *Config) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Several pipeline workers (at most 64) share the client; keep their
	// connections.
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 0 // no limit across hosts beyond the one per host
	// Bulk bodies are big and responses small: let Go's transport not ask
	// for gzip responses it would then have to inflate.
	t.DisableCompression = true
	t.DialContext = bulkDialer(t.DialContext)
	if cfg.CAFile != "" || cfg.InsecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in setting
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("elasticsearch.ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("elasticsearch.ca_file: %q holds no PEM certificate", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		t.TLSClientConfig = tc
	}
	return t, nil
}

// noRetries never sends a request twice: the pipeline decides about
// retries. Its one "retry" sends nothing again: after a failed request
// olivere marks the only node dead and, on the next call, revives it but
// fails that call without trying it (ErrNoClient). Saying yes to that one
// case makes the next call use the revived node instead of failing blind.
type noRetries struct{}

func (noRetries) Retry(_ context.Context, n int, req *http.Request, resp *http.Response, err error) (time.Duration, bool, error) {
	if n == 1 && req == nil && resp == nil && errors.Is(err, elastic.ErrNoClient) {
		return 0, true, nil
	}
	return 0, false, nil
}

// Schema is the document schema in use.
func (o *Output) Schema() Schema { return o.schema }

// Index is the parsed index name or pattern.
func (o *Output) Index() *IndexName { return o.index }

// Ping checks that Elasticsearch answers (for /readyz). It does not look at
// the cluster's colour: a yellow single node indexes fine.
func (o *Output) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	if _, err := o.request(ctx, http.MethodHead, "/", nil); err != nil {
		return fmt.Errorf("elasticsearch: ping: %s", describeErr(err))
	}
	return nil
}

// Start does what Elasticsearch needs before the first batch, when it can:
// the index template (and lifecycle policy) is installed now if the cluster
// answers. It fails only for a setting this cluster cannot honour (a
// lifecycle policy without ILM/ISM, a data stream without composable
// templates: *ClusterError), which must stop the start. Anything else (the
// cluster is down) is logged: logshipper starts anyway, because senders
// must not be refused, and the template is installed before the first bulk
// request.
func (o *Output) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := o.InstallTemplate(ctx)
	var ce *ClusterError
	if errors.As(err, &ce) {
		return err
	}
	if err != nil {
		o.log.Warn().Err(err).Msg("index template not installed yet; retrying before the first bulk request")
	}
	return nil
}

// Ready is Ping: /readyz asks every output whether it can deliver.
func (o *Output) Ready(ctx context.Context) error { return o.Ping(ctx) }

// WantsEventIDs says whether events need a stable ID (event.Event.ID) from
// the pipeline: with document_id "event" each becomes the document's _id,
// so that a re-send is recognised (409) instead of indexed twice.
func (o *Output) WantsEventIDs() bool { return o.cfg.DocumentID == DocumentIDEvent }

// Close releases the client's connections. Requests in flight finish.
func (o *Output) Close(context.Context) error {
	o.client.Stop()
	o.transport.CloseIdleConnections()
	return nil
}

// ensureTemplate installs the template before the first bulk request. A
// transient failure fails the batch (so that no index is created without
// its mappings); a permanent one (403, a conflicting template, a policy
// the cluster refuses, a *ClusterError found only now because the cluster
// was down at start, ...) is logged once and shipping goes on without it,
// as Logstash does: logs are not held back for a template.
func (o *Output) ensureTemplate(ctx context.Context) error {
	if !o.cfg.Template.Enabled || o.tmplDone.Load() {
		return nil
	}
	err := o.InstallTemplate(ctx)
	if err != nil && permanentSetupError(err) {
		o.log.Error().Err(err).Msg("elasticsearch index template not installed; indexing without it (indices get dynamic mappings)")
		o.tmplDone.Store(true)
		return nil
	}
	return err
}

// permanentSetupError: template or policy installation failed in a way
// no retry fixes.
func permanentSetupError(err error) bool {
	var te *TemplateError
	var le *LifecycleError
	var ce *ClusterError
	return errors.As(err, &ce) || (errors.As(err, &te) && te.Permanent()) || (errors.As(err, &le) && le.Permanent())
}

// WriteBatch sends events in one bulk request and returns one Result per
// event, in order. An error means the request as a whole failed and every
// event is to be retried.
func (o *Output) WriteBatch(ctx context.Context, events []*event.Event) ([]pipeline.Result, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if err := o.ensureTemplate(ctx); err != nil {
		return nil, err
	}

	b := o.batches.Get().(*batch)
	b.refs.Store(1)
	o.build(b, events)
	var err error
	if o.cfg.Gzip {
		err = o.compress(b)
	}

	var ans bulkAnswer
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
		begin := time.Now()
		err = o.sender.Send(ctx, b)
		o.cfg.Metrics.BulkDuration.Observe(time.Since(begin).Seconds())
		cancel()
		if err == nil {
			ans, err = parseBulkResponse(b.resp.Bytes(), b.failures)
		}
	}

	results, err := o.judge(b, ans, err)
	b.failures = ans.failures[:0]
	// Rejected documents were copied; the buffers can serve the next batch.
	b.release()
	return results, err
}

// judge turns the bulk answer into results and counts the request.
func (o *Output) judge(b *batch, ans bulkAnswer, err error) ([]pipeline.Result, error) {
	n := len(b.docs)
	if err == nil && ans.items != n {
		err = fmt.Errorf("bulk response has %d items for %d documents", ans.items, n)
	}
	if err != nil {
		o.cfg.Metrics.BulkRequests.WithLabelValues(BulkResultError).Inc()
		return nil, &BulkError{Documents: n, Err: o.explain(err)}
	}
	if len(ans.failures) == 0 {
		o.cfg.Metrics.BulkRequests.WithLabelValues(BulkResultOK).Inc()
		return o.allDelivered(n), nil
	}
	results := make([]pipeline.Result, n)
	if pipeline.Delivered != 0 {
		for i := range results {
			results[i].Status = pipeline.Delivered
		}
	}
	retries, rejects := 0, 0
	for _, f := range ans.failures {
		switch {
		case f.status == http.StatusConflict && b.docs[f.pos].create:
			// A document with this _id exists: an earlier send of this
			// very event got through. It is indexed, once.
			o.cfg.Events.AlreadyIndexed.Inc()
		case f.status == http.StatusTooManyRequests || f.status >= 500 || f.status == 0:
			results[f.pos] = pipeline.Result{Status: pipeline.Retry, Reason: f.reason}
			retries++
		default: // another 4xx (or a 1xx/3xx, which no item has)
			results[f.pos] = pipeline.Result{
				Status:   pipeline.Rejected,
				Index:    b.docs[f.pos].index,
				Document: json.RawMessage(bytes.Clone(b.doc(f.pos))),
				Reason:   f.reason,
			}
			rejects++
		}
	}
	if retries > 0 {
		o.cfg.Metrics.BulkRequests.WithLabelValues(BulkResultPartial).Inc()
	} else {
		o.cfg.Metrics.BulkRequests.WithLabelValues(BulkResultOK).Inc()
	}
	if retries > 0 || rejects > 0 {
		o.log.Debug().Int("documents", n).Int("retry", retries).Int("rejected", rejects).
			Msg("elasticsearch bulk request partly failed")
	}
	return results, nil
}

// allDelivered returns n results of Delivered: one slice shared by every
// request that had no failed item (pipeline.Output's results are read
// only), where a fresh one per request was 64 bytes per event. Its
// capacity is n, so an append cannot reach the shared array.
func (o *Output) allDelivered(n int) []pipeline.Result {
	if p := o.delivered.Load(); p != nil && len(*p) >= n {
		return (*p)[:n:n]
	}
	s := make([]pipeline.Result, n)
	if pipeline.Delivered != 0 {
		for i := range s {
			s[i].Status = pipeline.Delivered
		}
	}
	o.delivered.Store(&s)
	return s[:n:n]
}

// BulkError is a bulk request that failed as a whole.
type BulkError struct {
	Documents int
	Err       error // *elastic.Error when Elasticsearch answered non-2xx
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("elasticsearch: bulk request of %d documents: %s", e.Documents, describeErr(e.Err))
}

func (e *BulkError) Unwrap() error { return e.Err }
