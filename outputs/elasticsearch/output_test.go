package elasticsearch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/pipeline"
)

// seenRequest is what the fake Elasticsearch received.
type seenRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte // inflated if it came gzipped
}

// fakeES is an httptest server answering with handle and recording requests.
type fakeES struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newFakeES(t *testing.T, handle func(w http.ResponseWriter, r *seenRequest)) *fakeES {
	t.Helper()
	f := &fakeES{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("bad gzip body: %v", err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		sr := seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: b}
		f.mu.Lock()
		f.seen = append(f.seen, sr)
		f.mu.Unlock()
		handle(w, &sr)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeES) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeES) bulks() []seenRequest {
	var out []seenRequest
	for _, r := range f.requests() {
		if strings.HasSuffix(r.Path, "/_bulk") {
			out = append(out, r)
		}
	}
	return out
}

// answerBulk answers _bulk with one item per document, with the given
// statuses (cycled), and everything else with 200 {}.
func answerBulk(statuses ...int) func(http.ResponseWriter, *seenRequest) {
	return func(w http.ResponseWriter, r *seenRequest) {
		if !strings.HasSuffix(r.Path, "/_bulk") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{}`)
			return
		}
		n := bytes.Count(r.Body, []byte("\n")) / 2
		var items []string
		errs := false
		for i := range n {
			st := statuses[i%len(statuses)]
			switch {
			case st < 300:
				items = append(items, `{"index":{"_index":"x","_id":"id`+itoa(i)+`","_version":1,"result":"created","status":`+itoa(st)+`}}`)
			case st == 429:
				errs = true
				items = append(items, `{"index":{"_index":"x","_id":"id`+itoa(i)+`","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}}`)
			case st >= 500:
				errs = true
				items = append(items, `{"index":{"_index":"x","_id":"id`+itoa(i)+`","status":`+itoa(st)+`,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}`)
			default:
				errs = true
				items = append(items, `{"index":{"_index":"x","_id":"id`+itoa(i)+`","status":`+itoa(st)+`,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [message] of type [long] in document with id 'id`+itoa(i)+`'. Preview of field's value: 'hello'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"hello\""}}}}`)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"took":3,"errors":`+map[bool]string{true: "true", false: "false"}[errs]+`,"items":[`+strings.Join(items, ",")+`]}`)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func testConfig(url string) Config {
	c := DefaultConfig()
	c.URLs = []string{url}
	c.Timeout = 5 * time.Second
	c.Template.Enabled = false
	return c
}

func newTestOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	o, err := New(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o
}

func testEvents(n int) []*event.Event {
	evs := make([]*event.Event, n)
	for i := range evs {
		ev := *benchEvent()
		ev.Message = "message " + itoa(i)
		evs[i] = &ev
	}
	return evs
}

func counter(t *testing.T, o *Output, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := o.cfg.Metrics.BulkRequests.WithLabelValues(result).(prometheus.Counter).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func histogramCount(t *testing.T, o *Output) uint64 {
	t.Helper()
	var m dto.Metric
	if err := o.cfg.Metrics.BulkDuration.(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestWriteBatchClassifiesItems(t *testing.T) {
	es := newFakeES(t, answerBulk(201, 400, 429, 503, 200, 404))
	cfg := testConfig(es.URL)
	cfg.Index = "syslog-msg-%{+yyyy.MM.dd}"
	o := newTestOutput(t, cfg)

	okBefore, partialBefore, durBefore := counter(t, o, BulkResultOK), counter(t, o, BulkResultPartial), histogramCount(t, o)
	evs := testEvents(6)
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Status{pipeline.Delivered, pipeline.Rejected, pipeline.Retry, pipeline.Retry, pipeline.Delivered, pipeline.Rejected}
	if len(res) != len(want) {
		t.Fatalf("%d results for %d events", len(res), len(want))
	}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("item %d: status %d, want %d (%+v)", i, r.Status, want[i], r)
		}
	}
	// Rejected: index, the exact document sent, and Elasticsearch's reason.
	rej := res[1]
	if rej.Index != "syslog-msg-2026.11.26" {
		t.Errorf("rejected index = %q", rej.Index)
	}
	if wantDoc := AppendDocument(nil, evs[1]); !bytes.Equal(rej.Document, wantDoc) {
		t.Errorf("rejected document\n got %s\nwant %s", rej.Document, wantDoc)
	}
	if want := `status 400: mapper_parsing_exception: failed to parse field [message] of type [long] in document with id 'id1'. Preview of field's value: 'hello' (caused by: illegal_argument_exception: For input string: "hello")`; rej.Reason != want {
		t.Errorf("reason = %s\nwant     %s", rej.Reason, want)
	}
	if r := res[2]; r.Reason != "status 429: es_rejected_execution_exception: rejected execution of coordinating operation" || r.Document != nil {
		t.Errorf("retry result = %+v", r)
	}
	if r := res[3]; r.Reason != "status 503: unavailable_shards_exception: primary shard is not active" {
		t.Errorf("retry result = %+v", r)
	}
	if r := res[0]; r.Reason != "" || r.Document != nil {
		t.Errorf("delivered result carries %+v", r)
	}
	if got := counter(t, o, BulkResultPartial) - partialBefore; got != 1 {
		t.Errorf("bulk partial counter += %v", got)
	}
	if got := counter(t, o, BulkResultOK) - okBefore; got != 0 {
		t.Errorf("bulk ok counter += %v", got)
	}
	if got := histogramCount(t, o) - durBefore; got != 1 {
		t.Errorf("bulk duration observed %d times", got)
	}

	// The request: one POST /_bulk, NDJSON, an action line naming the index,
	// then the document; the response trimmed with filter_path.
	bulks := es.bulks()
	if len(bulks) != 1 {
		t.Fatalf("%d bulk requests", len(bulks))
	}
	b := bulks[0]
	if b.Method != http.MethodPost || b.Path != "/_bulk" || b.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("request %s %s %s", b.Method, b.Path, b.Header.Get("Content-Type"))
	}
	if b.Query != "filter_path=errors%2Citems.%2A.status%2Citems.%2A.error" {
		t.Errorf("query %q", b.Query)
	}
	sc := bufio.NewScanner(bytes.NewReader(b.Body))
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		line := sc.Bytes()
		if i%2 == 0 {
			if string(line) != `{"index":{"_index":"syslog-msg-2026.11.26"}}` {
				t.Errorf("action line %s", line)
			}
		} else if !bytes.Equal(line, AppendDocument(nil, evs[i/2])) {
			t.Errorf("document line %d: %s", i/2, line)
		}
	}
}

func TestWriteBatchAllDelivered(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	o := newTestOutput(t, testConfig(es.URL))
	before := counter(t, o, BulkResultOK)
	res, err := o.WriteBatch(context.Background(), testEvents(100))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != pipeline.Delivered {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	if got := counter(t, o, BulkResultOK) - before; got != 1 {
		t.Errorf("ok counter += %v", got)
	}
	// Rejections only still count as "ok": every item is settled.
	es2 := newFakeES(t, answerBulk(400))
	o2 := newTestOutput(t, testConfig(es2.URL))
	before = counter(t, o2, BulkResultOK)
	if _, err := o2.WriteBatch(context.Background(), testEvents(3)); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, o2, BulkResultOK) - before; got != 1 {
		t.Errorf("ok counter += %v", got)
	}
	if res, err := o2.WriteBatch(context.Background(), nil); res != nil || err != nil {
		t.Errorf("empty batch: %v %v", res, err)
	}
}

// TestWholeRequestFailures: no per-item answer means an error (the
// pipeline retries everything), one request on the wire, no retry inside.
func TestWholeRequestFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"503", 503, `{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"},"status":503}`,
			"elasticsearch: bulk request of 3 documents: %s: HTTP 503: cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"},
		{"429", 429, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429}`,
			"elasticsearch: bulk request of 3 documents: %s: HTTP 429: es_rejected_execution_exception: rejected execution"},
		{"502 from a proxy", 502, `<html>Bad Gateway</html>`,
			"elasticsearch: bulk request of 3 documents: %s: HTTP 502 Bad Gateway"},
		{"401", 401, `{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}`,
			"elasticsearch: bulk request of 3 documents: %s: HTTP 401: security_exception: missing authentication credentials; " +
				"the node wants credentials: set elasticsearch.username and elasticsearch.password (or password_file), or elasticsearch.api_key"},
		{"unparsable", 200, `{"took":1,"items":[`, "elasticsearch: bulk request of 3 documents: unexpected end of JSON input"},
		{"too few items", 200, `{"took":1,"errors":false,"items":[{"index":{"status":201}}]}`,
			"elasticsearch: bulk request of 3 documents: bulk response has 1 items for 3 documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			o := newTestOutput(t, testConfig(es.URL))
			before := counter(t, o, BulkResultError)
			res, err := o.WriteBatch(context.Background(), testEvents(3))
			if err == nil || res != nil {
				t.Fatalf("WriteBatch = %v, %v; want an error", res, err)
			}
			// %s: the node's URL, in the answers it gave
			if want := strings.Replace(tc.wantErr, "%s", es.URL, 1); err.Error() != want {
				t.Errorf("error %q\nwant  %q", err, want)
			}
			var be *BulkError
			if !errors.As(err, &be) || be.Documents != 3 {
				t.Errorf("not a *BulkError: %T", err)
			}
			if n := len(es.requests()); n != 1 {
				t.Errorf("%d requests seen; the output must not retry", n)
			}
			if got := counter(t, o, BulkResultError) - before; got != 1 {
				t.Errorf("error counter += %v", got)
			}
		})
	}
}

func TestUnreachableThenBack(t *testing.T) {
	// New must not need Elasticsearch.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	o := newTestOutput(t, testConfig("http://"+addr))
	if err := o.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded with nothing listening")
	}
	if _, err := o.WriteBatch(context.Background(), testEvents(2)); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("WriteBatch error = %v, want connection refused", err)
	}
	// Elasticsearch comes back on the same address: the next call reaches
	// it (olivere marked the node dead; it must not fail blind).
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	var hits int
	var mu sync.Mutex
	h := answerBulk(201)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		b, _ := io.ReadAll(r.Body)
		h(w, &seenRequest{Path: r.URL.Path, Body: b})
	})}
	go srv.Serve(ln)
	defer srv.Close()
	res, err := o.WriteBatch(context.Background(), testEvents(2))
	if err != nil {
		t.Fatalf("after Elasticsearch came back: %v", err)
	}
	if res[0].Status != pipeline.Delivered || hits != 1 {
		t.Errorf("results %+v, %d requests", res, hits)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) { <-release })
	defer close(release)
	cfg := testConfig(es.URL)
	cfg.Timeout = 200 * time.Millisecond
	o := newTestOutput(t, cfg)
	start := time.Now()
	_, err := o.WriteBatch(context.Background(), testEvents(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestAuthHeaders(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"basic", func(c *Config) { c.Username, c.Password = "shipper", "s3cret" },
			"Basic " + base64.StdEncoding.EncodeToString([]byte("shipper:s3cret"))},
		{"api key encoded", func(c *Config) { c.APIKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" },
			"ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"api key id:key", func(c *Config) { c.APIKey = "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw" },
			"ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"none", func(c *Config) {}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(es.URL)
			tc.edit(&cfg)
			o := newTestOutput(t, cfg)
			n := len(es.requests())
			if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
				t.Fatal(err)
			}
			if err := o.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, r := range es.requests()[n:] {
				if got := r.Header.Values("Authorization"); strings.Join(got, "|") != tc.want {
					t.Errorf("%s %s: Authorization %q, want %q", r.Method, r.Path, got, tc.want)
				}
			}
		})
	}
}

func TestGzip(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	for _, on := range []bool{true, false} {
		cfg := testConfig(es.URL)
		cfg.Gzip = on
		o := newTestOutput(t, cfg)
		n := len(es.requests())
		evs := testEvents(5)
		if _, err := o.WriteBatch(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		r := es.requests()[n]
		if got := r.Header.Get("Content-Encoding") == "gzip"; got != on {
			t.Errorf("gzip=%t: Content-Encoding %q", on, r.Header.Get("Content-Encoding"))
		}
		// (the fake inflated it) the body is the NDJSON, whichever way it came
		if !bytes.Contains(r.Body, AppendDocument(nil, evs[4])) {
			t.Errorf("gzip=%t: body lacks the document: %q", on, r.Body)
		}
	}
}

func TestPing(t *testing.T) {
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(401)
		}
	})
	cfg := testConfig(es.URL)
	o := newTestOutput(t, cfg)
	if err := o.Ping(context.Background()); err == nil || err.Error() != "elasticsearch: ping: "+es.URL+": HTTP 401 Unauthorized; "+
		"the node wants credentials: set elasticsearch.username and elasticsearch.password (or password_file), or elasticsearch.api_key" {
		t.Errorf("Ping = %v", err)
	}
	cfg.Username, cfg.Password = "u", "p"
	o = newTestOutput(t, cfg)
	if err := o.Ping(context.Background()); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if r := es.requests()[1]; r.Method != http.MethodHead || r.Path != "/" {
		t.Errorf("ping is %s %s", r.Method, r.Path)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake is expected
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(srv.URL)
	if err := newTestOutput(t, cfg).Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server: Ping = %v", err)
	}
	cfg.CAFile = caFile
	if err := newTestOutput(t, cfg).Ping(context.Background()); err != nil {
		t.Errorf("with ca_file: %v", err)
	}
	cfg.CAFile = ""
	cfg.InsecureSkipVerify = true
	if err := newTestOutput(t, cfg).Ping(context.Background()); err != nil {
		t.Errorf("insecure_skip_verify: %v", err)
	}

	cfg.InsecureSkipVerify = false
	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := New(context.Background(), cfg, zerolog.Nop()); err == nil || !strings.HasPrefix(err.Error(), "elasticsearch.ca_file: ") {
		t.Errorf("missing CA file: %v", err)
	}
	cfg.CAFile = filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(cfg.CAFile, []byte("not pem"), 0o600)
	if _, err := New(context.Background(), cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URLs = []string{"es:9200"}
	if _, err := New(context.Background(), cfg, zerolog.Nop()); err == nil || !strings.HasPrefix(err.Error(), "elasticsearch.urls: ") {
		t.Errorf("New = %v", err)
	}
}

// templateES answers like Elasticsearch ≥ 7.8 (composable) or an older one.
func templateES(t *testing.T, composable bool, existing map[string]bool) *fakeES {
	return newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		isComposable := strings.HasPrefix(r.Path, "/_index_template/")
		isLegacy := strings.HasPrefix(r.Path, "/_template/")
		switch {
		case isComposable && !composable:
			// ES 7.7 reads it as an index name.
			w.WriteHeader(405)
			io.WriteString(w, `{"error":"Incorrect HTTP method for uri [/_index_template/logshipper] and method [PUT], allowed: [POST]","status":405}`)
		case (isComposable || isLegacy) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			if !existing[r.Path] {
				w.WriteHeader(404)
				io.WriteString(w, `{}`)
				return
			}
			io.WriteString(w, `{}`)
		case (isComposable || isLegacy) && r.Method == http.MethodPut:
			if existing[r.Path] && strings.Contains(r.Query, "create=true") {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":{"type":"illegal_argument_exception","reason":"index template [logshipper] already exists"},"status":400}`)
				return
			}
			io.WriteString(w, `{"acknowledged":true}`)
		default:
			answerBulk(201)(w, r)
		}
	})
}

func TestInstallTemplateComposable(t *testing.T) {
	es := templateES(t, true, nil)
	cfg := testConfig(es.URL)
	cfg.Template.Enabled = true
	cfg.Template.Replicas = 0
	cfg.Index = "syslog-msg-%{+yyyy.MM.dd}"
	o := newTestOutput(t, cfg)
	// The first batch installs the template first.
	if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range es.requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"GET /_index_template/logshipper?",
		"PUT /_index_template/logshipper?create=true",
		"POST /_bulk?filter_path=errors%2Citems.%2A.status%2Citems.%2A.error",
		"POST /_bulk?filter_path=errors%2Citems.%2A.status%2Citems.%2A.error",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var body struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
		Template      struct {
			Settings struct {
				Index struct {
					Shards   int `json:"number_of_shards"`
					Replicas int `json:"number_of_replicas"`
				} `json:"index"`
			} `json:"settings"`
			Mappings struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(es.requests()[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.IndexPatterns[0] != "syslog-msg-*" || body.Priority != 200 ||
		body.Template.Settings.Index.Shards != 1 || body.Template.Settings.Index.Replicas != 0 {
		t.Errorf("template body %s", es.requests()[1].Body)
	}
	for field, typ := range map[string]string{"@timestamp": "date", "message": "text", "host": "keyword", "priority": "integer", "structured_data": "object", "tags": "keyword"} {
		if got := body.Template.Mappings.Properties[field]["type"]; got != typ {
			t.Errorf("mapping of %s: %v, want %s", field, got, typ)
		}
	}
}

func TestInstallTemplateKeepsExisting(t *testing.T) {
	es := templateES(t, true, map[string]bool{"/_index_template/logshipper": true})
	cfg := testConfig(es.URL)
	cfg.Template.Enabled = true
	o := newTestOutput(t, cfg)
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range es.requests() {
		if r.Method == http.MethodPut {
			t.Errorf("existing template overwritten: %s %s", r.Method, r.Path)
		}
	}
	// With overwrite: a plain PUT.
	cfg.Template.Overwrite = true
	o = newTestOutput(t, cfg)
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := es.requests()[len(es.requests())-1]
	if last.Method != http.MethodPut || last.Path != "/_index_template/logshipper" || last.Query != "" {
		t.Errorf("overwrite: %s %s?%s", last.Method, last.Path, last.Query)
	}
}

func TestInstallTemplateLegacyFallback(t *testing.T) {
	es := templateES(t, false, nil)
	cfg := testConfig(es.URL)
	cfg.Template.Enabled = true
	cfg.Schema = "ecs"
	o := newTestOutput(t, cfg)
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := es.requests()
	last := reqs[len(reqs)-1]
	if last.Method != http.MethodPut || last.Path != "/_template/logshipper" {
		t.Fatalf("last request %s %s", last.Method, last.Path)
	}
	var body map[string]any
	json.Unmarshal(last.Body, &body)
	if body["order"] != 200.0 || body["index_patterns"].([]any)[0] != "syslog-msg*" || body["mappings"] == nil {
		t.Errorf("legacy template %s", last.Body)
	}
	host := body["mappings"].(map[string]any)["properties"].(map[string]any)["host"].(map[string]any)
	if host["properties"].(map[string]any)["ip"].(map[string]any)["type"] != "ip" {
		t.Errorf("ECS host mapping %v", host)
	}
}

func TestTemplateFailures(t *testing.T) {
	// Transient (503): the batch fails, nothing is indexed without mappings.
	var fail = true
	var mu sync.Mutex
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(r.Path, "template") && fail {
			w.WriteHeader(503)
			return
		}
		if strings.Contains(r.Path, "template") && r.Method == http.MethodGet {
			w.WriteHeader(404)
			return
		}
		answerBulk(201)(w, r)
	})
	cfg := testConfig(es.URL)
	cfg.Template.Enabled = true
	o := newTestOutput(t, cfg)
	if _, err := o.WriteBatch(context.Background(), testEvents(1)); err == nil || !strings.Contains(err.Error(), "installing index template") {
		t.Errorf("WriteBatch = %v, want a template error", err)
	}
	if len(es.bulks()) != 0 {
		t.Error("bulk sent before the template was installed")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
		t.Errorf("after recovery: %v", err)
	}

	// Permanent (403, a user without manage_index_templates): log, ship anyway.
	es403 := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		if strings.Contains(r.Path, "template") {
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"type":"security_exception","reason":"action [indices:admin/index_template/get] is unauthorized"},"status":403}`)
			return
		}
		answerBulk(201)(w, r)
	})
	cfg = testConfig(es403.URL)
	cfg.Template.Enabled = true
	o = newTestOutput(t, cfg)
	err := o.InstallTemplate(context.Background())
	var te *TemplateError
	if !errors.As(err, &te) || !te.Permanent() ||
		err.Error() != "elasticsearch: installing index template /_index_template/logshipper: "+es403.URL+": HTTP 403: security_exception: "+
			"action [indices:admin/index_template/get] is unauthorized; the node knows these credentials but does not allow this request: grant the user or API key the privilege" {
		t.Errorf("InstallTemplate = %v", err)
	}
	if res, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil || res[0].Status != pipeline.Delivered {
		t.Errorf("WriteBatch = %v, %v", res, err)
	}
}

// Events with an ID go with op_type create and their _id; a 409 for such
// an event means an earlier send got through: delivered, not rejected.
func TestEventIDsMakeResendsIdempotent(t *testing.T) {
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"took":1,"errors":true,"items":[`+
			`{"create":{"status":201}},`+
			`{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[b]: version conflict, document already exists (current version [1])"}}},`+
			`{"index":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"conflict"}}}]}`)
	})
	o := newTestOutput(t, testConfig(es.URL))
	evs := testEvents(3)
	evs[0].ID, evs[1].ID = "a", "b\"quoted" // the third has none: plain index
	before := func() float64 {
		var m dto.Metric
		o.cfg.Events.AlreadyIndexed.Write(&m)
		return m.GetCounter().GetValue()
	}
	already := before()
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != pipeline.Delivered || res[1].Status != pipeline.Delivered || res[2].Status != pipeline.Rejected {
		t.Fatalf("results = %+v", res)
	}
	if got := before() - already; got != 1 {
		t.Fatalf("already-indexed counter +%v, want 1", got)
	}
	lines := strings.Split(string(es.bulks()[0].Body), "\n")
	if !strings.HasPrefix(lines[0], `{"create":{"_index":"syslog-msg","_id":"a"}}`) ||
		!strings.HasPrefix(lines[2], `{"create":{"_index":"syslog-msg","_id":"b\"quoted"}}`) ||
		!strings.HasPrefix(lines[4], `{"index":{"_index":"syslog-msg"}}`) {
		t.Fatalf("action lines:\n%s\n%s\n%s", lines[0], lines[2], lines[4])
	}
}

func TestDocumentIDAutoIgnoresEventIDs(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	cfg := testConfig(es.URL)
	cfg.DocumentID = DocumentIDAuto
	o := newTestOutput(t, cfg)
	evs := testEvents(1)
	evs[0].ID = "a"
	if _, err := o.WriteBatch(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if body := string(es.bulks()[0].Body); !strings.HasPrefix(body, `{"index":{"_index":"syslog-msg"}}`) {
		t.Fatalf("body = %s", body)
	}
}

// A finished document from the queue tier (Event.Document) goes as it is,
// to its own index, with its _id, between events encoded here; a rejected
// one is dead-lettered with exactly what was sent.
func TestFinishedDocumentsGoAsTheyAre(t *testing.T) {
	es := newFakeES(t, answerBulk(201, 201, 400))
	cfg := testConfig(es.URL)
	cfg.Index = "syslog-msg-%{+yyyy.MM.dd}"
	o := newTestOutput(t, cfg)
	evs := testEvents(3)
	evs[0].Document = &event.Document{Index: "edge-2026.12.01", Body: []byte(`{"message":"from the edge"}`)}
	evs[0].ID = "e1"
	evs[2].Document = &event.Document{Index: "edge-2026.12.02", Body: []byte(`{"message":"rejected"}`)}
	evs[2].ID = "e3"
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(es.bulks()[0].Body), "\n")
	want := []string{
		`{"create":{"_index":"edge-2026.12.01","_id":"e1"}}`,
		`{"message":"from the edge"}`,
		`{"index":{"_index":"syslog-msg-2026.11.26"}}`,
		string(AppendDocument(nil, evs[1])),
		`{"create":{"_index":"edge-2026.12.02","_id":"e3"}}`,
		`{"message":"rejected"}`,
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	if r := res[2]; r.Status != pipeline.Rejected || r.Index != "edge-2026.12.02" || string(r.Document) != `{"message":"rejected"}` {
		t.Errorf("rejected: %+v", r)
	}
}

// Requests without a failed item share one slice of Delivered results,
// cut to each request's length and capacity.
func TestAllDeliveredShared(t *testing.T) {
	o := &Output{}
	a, b, c := o.allDelivered(3), o.allDelivered(2), o.allDelivered(5)
	for _, r := range [][]pipeline.Result{a, b, c} {
		for i := range r {
			if r[i].Status != pipeline.Delivered || r[i].Index != "" || r[i].Document != nil || r[i].Reason != "" {
				t.Fatalf("result %d: %+v", i, r[i])
			}
		}
		if len(r) != cap(r) {
			t.Fatalf("len %d cap %d: an append could write into the shared array", len(r), cap(r))
		}
	}
	if len(a) != 3 || len(b) != 2 || len(c) != 5 || &a[0] != &b[0] {
		t.Fatalf("lengths %d %d %d, shared %v", len(a), len(b), len(c), &a[0] == &b[0])
	}
	if d := o.allDelivered(4); &d[0] != &c[0] {
		t.Fatal("a shorter request after a longer one got a new slice")
	}
}
