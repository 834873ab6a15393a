package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
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

	client    *elastic.Client
	transport *http.Transport
	sender    bulkSender

	tmplMu   sync.Mutex
	tmplDone atomic.Bool

	arenas sync.Pool // *[]byte: one batch's encoded documents
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
		elastic.SetGzip(cfg.Gzip),
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
	o.sender = &olivereSender{client: client}
	o.arenas.New = func() any { b := make([]byte, 0, 64<<10); return &b }
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
	// Several pipeline workers share the client; keep their connections.
	t.MaxIdleConnsPerHost = 32
	// Bulk bodies are big and responses small: let Go's transport not ask
	// for gzip responses it would then have to inflate.
	t.DisableCompression = true
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

// Close releases the client's connections. Requests in flight finish.
func (o *Output) Close(context.Context) error {
	o.client.Stop()
	o.transport.CloseIdleConnections()
	return nil
}

// ensureTemplate installs the template before the first bulk request. A
// transient failure fails the batch (so that no index is created without
// its mappings); a permanent one (403, a conflicting template, ...) is
// logged once and shipping goes on without it, as Logstash does.
func (o *Output) ensureTemplate(ctx context.Context) error {
	if !o.cfg.Template.Enabled || o.tmplDone.Load() {
		return nil
	}
	err := o.InstallTemplate(ctx)
	var te *TemplateError
	if err != nil && errors.As(err, &te) && te.Permanent() {
		o.log.Error().Err(err).Msg("elasticsearch index template not installed; indexing without it (indices get dynamic mappings)")
		o.tmplDone.Store(true)
		return nil
	}
	return err
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

	arena := o.arenas.Get().(*[]byte)
	buf := (*arena)[:0]
	items := make([]bulkItem, len(events))
	var lastSec int64 = -1 << 63
	var lastIndex string
	for i, ev := range events {
		t := ev.Time()
		// Most batches fall in one second: skip even the cache lookup.
		if s := t.Unix(); s != lastSec {
			lastSec, lastIndex = s, o.index.Name(t)
		}
		start := len(buf)
		buf = o.schema.AppendDocument(buf, ev)
		items[i] = bulkItem{Index: lastIndex, Doc: buf[start:len(buf):len(buf)]}
	}

	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	begin := time.Now()
	resp, err := o.sender.Send(ctx, items)
	metrics.BulkDuration.Observe(time.Since(begin).Seconds())
	cancel()

	results, err := o.judge(items, resp, err)
	// Rejected documents were copied; the arena can serve the next batch.
	if cap(buf) <= 8<<20 {
		*arena = buf[:0]
		o.arenas.Put(arena)
	}
	return results, err
}

// judge turns the bulk response into results and counts the request.
func (o *Output) judge(items []bulkItem, resp []itemResponse, err error) ([]pipeline.Result, error) {
	if err == nil && len(resp) != len(items) {
		err = fmt.Errorf("bulk response has %d items for %d documents", len(resp), len(items))
	}
	if err != nil {
		metrics.BulkRequests.WithLabelValues(metrics.BulkError).Inc()
		return nil, &BulkError{Documents: len(items), Err: err}
	}
	results := make([]pipeline.Result, len(items))
	retries, rejects := 0, 0
	for i, r := range resp {
		switch {
		case r.Status >= 200 && r.Status < 300:
			results[i].Status = pipeline.Delivered
		case r.Status == http.StatusTooManyRequests || r.Status >= 500 || r.Status == 0:
			results[i] = pipeline.Result{Status: pipeline.Retry, Reason: r.Reason}
			retries++
		default:
			results[i] = pipeline.Result{
				Status:   pipeline.Rejected,
				Index:    items[i].Index,
				Document: json.RawMessage(bytes.Clone(items[i].Doc)),
				Reason:   r.Reason,
			}
			rejects++
		}
	}
	if retries > 0 {
		metrics.BulkRequests.WithLabelValues(metrics.BulkPartial).Inc()
	} else {
		metrics.BulkRequests.WithLabelValues(metrics.BulkOK).Inc()
	}
	if retries > 0 || rejects > 0 {
		o.log.Debug().Int("documents", len(items)).Int("retry", retries).Int("rejected", rejects).
			Msg("elasticsearch bulk request partly failed")
	}
	return results, nil
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

// bulkItem is one document of a bulk request.
type bulkItem struct {
	Index string
	Doc   []byte // valid until Send returns
}

// itemResponse is Elasticsearch's answer for one item.
type itemResponse struct {
	Status int    // HTTP status of the item; 0 if the response had none
	Reason string // "status 400: type: reason (caused by: ...)" for failures
}

// bulkSender sends one _bulk request and returns the item answers in
// request order. An error means no usable answer: transport failure,
// non-2xx for the whole request, unparsable body. This is the seam for
// replacing olivere's request building if a profile says so.
type bulkSender interface {
	Send(ctx context.Context, items []bulkItem) ([]itemResponse, error)
}

// olivereSender builds the request with olivere's BulkService.
type olivereSender struct {
	client *elastic.Client
}

// bulkFilterPath trims the response to what judge reads: Elasticsearch
// then serialises, and we parse, a few bytes per item instead of ~200.
var bulkFilterPath = []string{"errors", "items.*.status", "items.*.error"}

func (s *olivereSender) Send(ctx context.Context, items []bulkItem) ([]itemResponse, error) {
	bulk := s.client.Bulk().FilterPath(bulkFilterPath...)
	for _, it := range items {
		bulk.Add(elastic.NewBulkIndexRequest().Index(it.Index).Doc(json.RawMessage(it.Doc)).UseEasyJSON(true))
	}
	res, err := bulk.Do(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]itemResponse, len(res.Items))
	for i, m := range res.Items {
		for _, item := range m { // one entry, keyed by the action ("index")
			if item == nil {
				continue
			}
			out[i].Status = item.Status
			if item.Status < 200 || item.Status >= 300 {
				out[i].Reason = itemReason(item)
			}
		}
		if out[i].Status == 0 {
			out[i].Reason = "bulk response carries no status for this item"
		}
	}
	return out, nil
}

func itemReason(item *elastic.BulkResponseItem) string {
	r := "status " + strconv.Itoa(item.Status)
	if item.Error != nil {
		r += ": " + detailsReason(item.Error)
	}
	return r
}
