package elasticsearch

// Integration tests against the real OpenSearch node of testenv/opensearch.sh
// (internal/testes): they skip locally without one and fail in CI.
//
//	bash testenv/opensearch.sh start --port 19201 --data /tmp/os-outputs
//	LOGSHIPPER_TEST_ES_URL=http://127.0.0.1:19201 go test ./outputs/...

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/pipeline"
)

// osNode is a raw HTTP view of the node, independent of the code under test.
type osNode struct {
	t   *testing.T
	url string
}

func (n osNode) do(method, path string, body any) (int, map[string]any) {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			n.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func (n osNode) must(method, path string, body any) map[string]any {
	n.t.Helper()
	status, m := n.do(method, path, body)
	if status/100 != 2 {
		n.t.Fatalf("%s %s: HTTP %d %v", method, path, status, m)
	}
	return m
}

func (n osNode) count(index string) int {
	n.t.Helper()
	n.must(http.MethodPost, "/"+index+"/_refresh", nil)
	return int(n.must(http.MethodGet, "/"+index+"/_count", nil)["count"].(float64))
}

// fieldType digs the type of a (dotted) field out of GET <index>/_mapping.
func (n osNode) fieldType(index, field string) string {
	n.t.Helper()
	m := n.must(http.MethodGet, "/"+index+"/_mapping", nil)
	var node any = m[index].(map[string]any)["mappings"]
	for _, part := range strings.Split(field, ".") {
		props, _ := node.(map[string]any)["properties"].(map[string]any)
		if props == nil { // a multi-field such as program.keyword
			props, _ = node.(map[string]any)["fields"].(map[string]any)
		}
		if props == nil {
			return ""
		}
		node = props[part]
	}
	if node == nil {
		return ""
	}
	if t, ok := node.(map[string]any)["type"].(string); ok {
		return t
	}
	return "object"
}

// setup returns the node and a unique lower-case name; everything named
// name* (indices and the template) is deleted after the test.
func setup(t *testing.T) (osNode, string) {
	url := testes.URL(t)
	var b [4]byte
	rand.Read(b[:])
	name := "lsit-" + hex.EncodeToString(b[:])
	n := osNode{t: t, url: url}
	t.Cleanup(func() {
		n.do(http.MethodDelete, "/"+name+"*", nil)
		n.do(http.MethodDelete, "/_index_template/"+name, nil)
		n.do(http.MethodDelete, "/_template/"+name, nil)
	})
	return n, name
}

func integrationOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	o, err := New(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	if err := o.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func integrationConfig(url, name string) Config {
	cfg := DefaultConfig()
	cfg.URLs = []string{url}
	cfg.Index = name + "-%{+yyyy.MM.dd}"
	cfg.Template.Name = name
	cfg.Template.Replicas = 0 // one node
	cfg.Timeout = 30 * time.Second
	return cfg
}

func goldenBatch() []*event.Event {
	g := goldenEvents()
	return []*event.Event{g["rfc3164"], g["rfc5424"], g["parse_failure"], g["nasty"]}
}

func writeAll(t *testing.T, o *Output, evs []*event.Event) []pipeline.Result {
	t.Helper()
	res, err := o.WriteBatch(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(evs) {
		t.Fatalf("%d results for %d events", len(res), len(evs))
	}
	return res
}

func TestIntegrationLogstashSchema(t *testing.T) {
	n, name := setup(t)
	o := integrationOutput(t, integrationConfig(n.url, name))

	// The template is installed and visible.
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	tmpl := n.must(http.MethodGet, "/_index_template/"+name, nil)
	it := tmpl["index_templates"].([]any)[0].(map[string]any)["index_template"].(map[string]any)
	if p := it["index_patterns"].([]any); len(p) != 1 || p[0] != name+"-*" {
		t.Errorf("template index_patterns %v", p)
	}

	// A batch lands in the daily index; an event of the next day makes the
	// next daily index.
	batch := goldenBatch()
	next := *batch[0]
	next.Timestamp = time.Date(2026, 11, 27, 0, 0, 1, 0, time.UTC)
	batch = append(batch, &next)
	for i, r := range writeAll(t, o, batch) {
		if r.Status != pipeline.Delivered {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	day1, day2 := name+"-2026.11.26", name+"-2026.11.27"
	if c := n.count(day1); c != 4 {
		t.Errorf("%s holds %d documents, want 4", day1, c)
	}
	if c := n.count(day2); c != 1 {
		t.Errorf("%s holds %d documents, want 1", day2, c)
	}

	// The index got the template's mappings and settings.
	for field, want := range map[string]string{
		"@timestamp": "date", "@version": "keyword", "message": "text", "host": "keyword",
		"logsource": "keyword", "program": "keyword", "pid": "keyword", "priority": "integer",
		"facility": "integer", "severity": "integer", "facility_label": "keyword",
		"severity_label": "keyword", "timestamp": "keyword", "msgid": "keyword", "version": "integer",
		"tags": "keyword", "structured_data": "object", "structured_data.origin.ip": "keyword",
		"structured_data.exampleSDID@32473.eventID": "keyword",
	} {
		if got := n.fieldType(day1, field); got != want {
			t.Errorf("mapping of %s: %q, want %q", field, got, want)
		}
	}
	settings := n.must(http.MethodGet, "/"+day1+"/_settings", nil)[day1].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	if settings["number_of_shards"] != "1" || settings["number_of_replicas"] != "0" {
		t.Errorf("index settings shards=%v replicas=%v", settings["number_of_shards"], settings["number_of_replicas"])
	}

	// host is a keyword: an exact term finds it; @timestamp is a date:
	// a range query finds the document.
	hits := func(q any) int {
		res := n.must(http.MethodPost, "/"+name+"-*/_search", map[string]any{"query": q})
		return int(res["hits"].(map[string]any)["total"].(map[string]any)["value"].(float64))
	}
	if h := hits(map[string]any{"term": map[string]any{"host": "2001:db8::7"}}); h != 1 {
		t.Errorf("term host: %d hits", h)
	}
	if h := hits(map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": "2026-11-26T12:00:00.400Z", "lt": "2026-11-26T12:00:00.600Z"}}}); h != 1 {
		t.Errorf("range @timestamp: %d hits", h)
	}
	if h := hits(map[string]any{"term": map[string]any{"tags": "_grokparsefailure_sysloginput"}}); h != 1 {
		t.Errorf("term tags: %d hits", h)
	}
	// Dashboards made on Logstash's dynamically mapped indices use the
	// .keyword sub-fields.
	for _, f := range []string{"host", "logsource", "program", "facility_label", "severity_label", "tags"} {
		if got := n.fieldType(day1, f+".keyword"); got != "keyword" {
			t.Errorf("mapping of %s.keyword: %q, want keyword", f, got)
		}
	}
	if h := hits(map[string]any{"term": map[string]any{"tags.keyword": "_grokparsefailure_sysloginput"}}); h != 1 {
		t.Errorf("term tags.keyword: %d hits", h)
	}

	// Invalid UTF-8 was accepted, stored as U+FFFD.
	res := n.must(http.MethodPost, "/"+day1+"/_search", map[string]any{"query": map[string]any{"term": map[string]any{"program": "app"}}})
	hit := res["hits"].(map[string]any)["hits"].([]any)
	if len(hit) != 1 {
		t.Fatalf("nasty event: %d hits", len(hit))
	}
	src := hit[0].(map[string]any)["_source"].(map[string]any)
	nasty := goldenEvents()["nasty"]
	if want := strings.ToValidUTF8(nasty.Message, "\uFFFD"); src["message"] != want {
		t.Errorf("stored message %q, want %q", src["message"], want)
	}
	if src["logsource"] != "h\uFFFDst" {
		t.Errorf("stored logsource %q", src["logsource"])
	}
}

func TestIntegrationECSSchema(t *testing.T) {
	n, name := setup(t)
	cfg := integrationConfig(n.url, name)
	cfg.Schema = SchemaNameECS
	cfg.Index = name // plain name: template pattern name*
	o := integrationOutput(t, cfg)
	for i, r := range writeAll(t, o, goldenBatch()) {
		if r.Status != pipeline.Delivered {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	if c := n.count(name); c != 4 {
		t.Errorf("%d documents, want 4", c)
	}
	tmpl := n.must(http.MethodGet, "/_index_template/"+name, nil)
	if p := tmpl["index_templates"].([]any)[0].(map[string]any)["index_template"].(map[string]any)["index_patterns"].([]any); p[0] != name+"*" {
		t.Errorf("template pattern %v", p)
	}
	for field, want := range map[string]string{
		"@timestamp": "date", "message": "text", "host": "object", "host.ip": "ip", "host.hostname": "keyword",
		"process.name": "keyword", "process.pid": "long", "log.syslog.priority": "long",
		"log.syslog.facility.code": "long", "log.syslog.facility.name": "keyword",
		"log.syslog.severity.code": "long", "log.syslog.severity.name": "keyword",
		"log.syslog.msgid": "keyword", "log.syslog.version": "keyword",
		"log.syslog.structured_data.origin.ip": "keyword", "event.original": "keyword", "tags": "keyword",
	} {
		if got := n.fieldType(name, field); got != want {
			t.Errorf("mapping of %s: %q, want %q", field, got, want)
		}
	}
	// host.ip is an ip: a CIDR query works (the zone of fe80::1%eth0 was stripped).
	res := n.must(http.MethodPost, "/"+name+"/_search", map[string]any{"query": map[string]any{"term": map[string]any{"host.ip": "10.0.0.0/8"}}})
	if h := res["hits"].(map[string]any)["total"].(map[string]any)["value"].(float64); h != 1 {
		t.Errorf("host.ip CIDR: %v hits", h)
	}
	res = n.must(http.MethodPost, "/"+name+"/_search", map[string]any{"query": map[string]any{"term": map[string]any{"host.ip": "fe80::1"}}})
	if h := res["hits"].(map[string]any)["total"].(map[string]any)["value"].(float64); h != 1 {
		t.Errorf("host.ip fe80::1: %v hits", h)
	}
}

// parseFailure is a node's reason for refusing "hello" in a long field:
// mapper_parsing_exception from OpenSearch and Elasticsearch 7,
// document_parsing_exception with the position in the source ("[1:67] ")
// from Elasticsearch 8 (since 8.8).
var parseFailure = regexp.MustCompile(`^status 400: (mapper_parsing_exception|document_parsing_exception): (\[\d+:\d+\] )?failed to parse field \[message\] of type \[long\]`)

// TestIntegrationMappingConflict: Elasticsearch refuses one document of the
// batch; that one is Rejected with what was sent and why, the rest land.
func TestIntegrationMappingConflict(t *testing.T) {
	n, name := setup(t)
	n.must(http.MethodPut, "/"+name, map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
		"mappings": map[string]any{"properties": map[string]any{"message": map[string]any{"type": "long"}}},
	})
	cfg := integrationConfig(n.url, name)
	cfg.Index = name
	cfg.Template.Enabled = false
	o := integrationOutput(t, cfg)

	evs := testEvents(3)
	evs[0].Message = "12345"
	evs[1].Message = "hello"
	evs[2].Message = "678"
	res := writeAll(t, o, evs)
	if res[0].Status != pipeline.Delivered || res[2].Status != pipeline.Delivered {
		t.Errorf("numeric messages: %+v", res)
	}
	r := res[1]
	if r.Status != pipeline.Rejected {
		t.Fatalf("conflicting document: %+v", r)
	}
	if r.Index != name || !bytes.Equal(r.Document, AppendDocument(nil, evs[1])) {
		t.Errorf("rejected index %q document %s", r.Index, r.Document)
	}
	if !parseFailure.MatchString(r.Reason) {
		t.Errorf("reason %q", r.Reason)
	}
	t.Logf("reason: %s", r.Reason)
	if c := n.count(name); c != 2 {
		t.Errorf("%d documents, want 2", c)
	}
}

// TestIntegrationStructuredDataConflict: a real conflict under our own
// template. Structured data is dynamic; an SD-ID with a dot ("a.b") is
// expanded by Elasticsearch into objects and collides with a parameter
// "b" of SD-ID "a" that an earlier message made a keyword.
func TestIntegrationStructuredDataConflict(t *testing.T) {
	n, name := setup(t)
	o := integrationOutput(t, integrationConfig(n.url, name))
	first := *goldenEvents()["rfc5424"]
	first.StructuredData = event.StructuredData{{ID: "a", Params: []event.SDParam{{Name: "b", Value: "keyword value"}}}}
	if r := writeAll(t, o, []*event.Event{&first}); r[0].Status != pipeline.Delivered {
		t.Fatalf("first: %+v", r[0])
	}
	second := first
	second.StructuredData = event.StructuredData{{ID: "a.b", Params: []event.SDParam{{Name: "c", Value: "x"}}}}
	third := first
	res := writeAll(t, o, []*event.Event{&second, &third})
	if res[0].Status != pipeline.Rejected || res[1].Status != pipeline.Delivered {
		t.Fatalf("results %+v", res)
	}
	if !strings.Contains(res[0].Reason, "status 400: ") || res[0].Index != name+"-2026.11.26" {
		t.Errorf("rejection %+v", res[0])
	}
	t.Logf("reason: %s", res[0].Reason)
}

// TestIntegrationReadOnlyIndexRetries: the flood-stage disk watermark puts
// a read_only_allow_delete block on indices; the node answers 429 per
// item, so the events are retried, not dead-lettered.
func TestIntegrationReadOnlyIndexRetries(t *testing.T) {
	n, name := setup(t)
	n.must(http.MethodPut, "/"+name, map[string]any{"settings": map[string]any{"number_of_replicas": 0}})
	n.must(http.MethodPut, "/"+name+"/_settings", map[string]any{"index.blocks.read_only_allow_delete": true})
	cfg := integrationConfig(n.url, name)
	cfg.Index = name
	cfg.Template.Enabled = false
	o := integrationOutput(t, cfg)
	res, err := o.WriteBatch(context.Background(), testEvents(2))
	if err != nil {
		t.Fatalf("whole request failed: %v", err)
	}
	for i, r := range res {
		if r.Status != pipeline.Retry || !strings.Contains(r.Reason, "cluster_block_exception") {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	t.Logf("reason: %s", res[0].Reason)
	// Disk freed: the block is lifted and the retry lands.
	n.must(http.MethodPut, "/"+name+"/_settings", map[string]any{"index.blocks.read_only_allow_delete": nil})
	for _, r := range writeAll(t, o, testEvents(2)) {
		if r.Status != pipeline.Delivered {
			t.Errorf("after unblocking: %+v", r)
		}
	}
}

// TestIntegrationTemplateOverwrite: without overwrite an existing template
// is kept (an operator's edits survive a restart); with it, replaced.
func TestIntegrationTemplateOverwrite(t *testing.T) {
	n, name := setup(t)
	replicas := func() any {
		tm := n.must(http.MethodGet, "/_index_template/"+name, nil)
		it := tm["index_templates"].([]any)[0].(map[string]any)["index_template"].(map[string]any)
		return it["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["number_of_replicas"]
	}
	cfg := integrationConfig(n.url, name)
	if err := integrationOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Template.Replicas = 2
	if err := integrationOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := replicas(); r != "0" {
		t.Errorf("kept template has replicas %v, want 0", r)
	}
	cfg.Template.Overwrite = true
	if err := integrationOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := replicas(); r != "2" {
		t.Errorf("overwritten template has replicas %v, want 2", r)
	}
}

// TestIntegrationLegacyTemplateBody: the body sent to Elasticsearch before
// 7.8 is accepted by a real node (OpenSearch still serves _template) and
// gives the same mappings.
func TestIntegrationLegacyTemplateBody(t *testing.T) {
	n, name := setup(t)
	cfg := integrationConfig(n.url, name)
	o := integrationOutput(t, cfg)
	n.must(http.MethodPut, "/_template/"+name, o.LegacyTemplate())
	o.tmplDone.Store(true) // only the legacy one
	for i, r := range writeAll(t, o, goldenBatch()) {
		if r.Status != pipeline.Delivered {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	day := name + "-2026.11.26"
	for field, want := range map[string]string{"@timestamp": "date", "host": "keyword", "priority": "integer", "structured_data.origin.ip": "keyword"} {
		if got := n.fieldType(day, field); got != want {
			t.Errorf("mapping of %s: %q, want %q", field, got, want)
		}
	}
}

// TestIntegrationFilterPath: the node honours filter_path, so the answer
// is {"errors":false,"items":[{"index":{"status":201}},...]} (no _id, no
// _shards, no took), and the scanner reads it, on success and on failure.
func TestIntegrationFilterPath(t *testing.T) {
	n, name := setup(t)
	n.must(http.MethodPut, "/"+name, map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
		"mappings": map[string]any{"properties": map[string]any{"message": map[string]any{"type": "long"}}},
	})
	cfg := integrationConfig(n.url, name)
	cfg.Index = name
	cfg.Template.Enabled = false
	o := integrationOutput(t, cfg)
	send := func(evs []*event.Event) string {
		t.Helper()
		b := o.batches.Get().(*batch)
		b.refs.Store(1)
		defer b.release()
		o.build(b, evs)
		if err := o.sender.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		a, ok := scanBulkResponse(b.resp.Bytes(), nil)
		if !ok || a.items != len(evs) {
			t.Errorf("scanner: %v %+v on %s", ok, a, b.resp.Bytes())
		}
		return b.resp.String()
	}
	evs := testEvents(3)
	for _, ev := range evs {
		ev.Message = "42"
	}
	if got, want := send(evs), `{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":201}},{"index":{"status":201}}]}`; got != want {
		t.Errorf("answer\n%s\nwant\n%s", got, want)
	}
	evs[1].Message = "not a number"
	got := send(evs)
	failed := regexp.MustCompile(`^\{"errors":true,"items":\[\{"index":\{"status":201\}\},\{"index":\{"status":400,"error":\{"type":"(mapper|document)_parsing_exception","reason":"(\[\d+:\d+\] )?failed to parse field \[message\] of type \[long\]`)
	if !failed.MatchString(got) || strings.Contains(got, `"_id"`) || strings.Contains(got, `"took"`) {
		t.Errorf("answer %s", got)
	}
}

// TestIntegrationGzip: the node takes gzipped bulk and template bodies.
func TestIntegrationGzip(t *testing.T) {
	n, name := setup(t)
	cfg := integrationConfig(n.url, name)
	cfg.Gzip = true
	o := integrationOutput(t, cfg)
	for i, r := range writeAll(t, o, goldenBatch()) {
		if r.Status != pipeline.Delivered {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	if c := n.count(name + "-2026.11.26"); c != 4 {
		t.Errorf("%d documents, want 4", c)
	}
	n.must(http.MethodGet, "/_index_template/"+name, nil)
}

// distribution is "opensearch" or "" (Elasticsearch), from GET /.
func (n osNode) distribution() (dist, version string) {
	v, _ := n.must(http.MethodGet, "/", nil)["version"].(map[string]any)
	dist, _ = v["distribution"].(string)
	version, _ = v["number"].(string)
	return dist, version
}

func alreadyIndexed(o *Output) float64 {
	var m dto.Metric
	o.cfg.Events.AlreadyIndexed.Write(&m)
	return m.GetCounter().GetValue()
}

// TestIntegrationDataStream: data-stream mode end to end. The template
// declares the stream, the first write creates it with a .ds- backing
// index, every event lands once, a re-send of the same events (own ids)
// adds nothing, and with document_id auto the create goes without _id.
// The Elasticsearch 7 test node (no x-pack) has no data streams: there the
// start must fail with one line saying so. Elasticsearch 8's core has them
// (the test node's GET and DELETE _data_stream are stand-ins, see
// testenv/README.md, "Elasticsearch 8").
func TestIntegrationDataStream(t *testing.T) {
	n, name := setup(t)
	t.Cleanup(func() { n.do(http.MethodDelete, "/_data_stream/"+name, nil) }) // before setup's: a template in use cannot go
	cfg := integrationConfig(n.url, name)
	cfg.Index, cfg.DataStream = name, true
	o := integrationOutput(t, cfg)
	err := o.InstallTemplate(context.Background())
	if dist, version := n.distribution(); dist != "opensearch" && strings.HasPrefix(version, "7.") {
		var ce *ClusterError
		if !errors.As(err, &ce) || ce.Key != "elasticsearch.data_stream" || !strings.Contains(err.Error(), "cannot declare a data stream") {
			t.Fatalf("Elasticsearch %s without data streams: InstallTemplate = %v", version, err)
		}
		t.Logf("Elasticsearch %s: %v", version, err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}

	evs := testEvents(50)
	for i, ev := range evs {
		ev.ID = name + "-" + itoa(i)
		ev.Timestamp = ev.Timestamp.Add(time.Duration(i) * time.Second)
	}
	for i, r := range writeAll(t, o, evs) {
		if r.Status != pipeline.Delivered {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	ds := n.must(http.MethodGet, "/_data_stream/"+name, nil)["data_streams"].([]any)
	if len(ds) != 1 {
		t.Fatalf("data streams %v", ds)
	}
	stream := ds[0].(map[string]any)
	backing := stream["indices"].([]any)[0].(map[string]any)["index_name"].(string)
	if stream["name"] != name || stream["template"] != name || !strings.HasPrefix(backing, ".ds-"+name+"-") ||
		stream["timestamp_field"].(map[string]any)["name"] != "@timestamp" {
		t.Errorf("data stream %v", stream)
	}
	t.Logf("data stream %s, backing index %s", name, backing)
	if c := n.count(name); c != 50 {
		t.Errorf("%d documents, want 50", c)
	}
	for field, want := range map[string]string{"@timestamp": "date", "host": "keyword", "priority": "integer"} {
		if got := n.fieldType(backing, field); got != want {
			t.Errorf("mapping of %s in %s: %q, want %q", field, backing, got, want)
		}
	}

	// The same events again (a retry whose answer was lost, a replay from
	// the disk buffer): 409 for each, counted as indexed, none twice.
	before := alreadyIndexed(o)
	for i, r := range writeAll(t, o, evs) {
		if r.Status != pipeline.Delivered {
			t.Fatalf("re-sent event %d: %+v", i, r)
		}
	}
	if got := alreadyIndexed(o) - before; got != 50 {
		t.Errorf("already indexed +%v, want 50", got)
	}
	if c := n.count(name); c != 50 {
		t.Errorf("%d documents after the re-send, want 50", c)
	}

	// document_id auto: create without _id.
	cfg.DocumentID = DocumentIDAuto
	for i, r := range writeAll(t, integrationOutput(t, cfg), testEvents(3)) {
		if r.Status != pipeline.Delivered {
			t.Fatalf("auto-id event %d: %+v", i, r)
		}
	}
	if c := n.count(name); c != 53 {
		t.Errorf("%d documents, want 53", c)
	}
}

// TestIntegrationLifecycleWithoutAPI: the test nodes have no lifecycle API
// (OpenSearch without the index-management plugin, Elasticsearch 7 without
// x-pack; see README.md, "Index lifecycle"). A configured policy must stop
// the start with one line naming the setting and the cluster, before any
// template is put; found at the first batch instead, it is logged and the
// events are indexed without the template.
func TestIntegrationLifecycleWithoutAPI(t *testing.T) {
	n, name := setup(t)
	cfg := integrationConfig(n.url, name)
	cfg.Lifecycle.Policy = name + "-policy"
	o := integrationOutput(t, cfg)
	err := o.InstallTemplate(context.Background())
	dist, version := n.distribution()
	if err == nil {
		t.Skipf("this node (%s %s) has a lifecycle API; the request bodies are checked in TestLifecycle*, this test is for a node without one", dist, version)
	}
	cluster := "Elasticsearch " + version
	if dist == "opensearch" {
		cluster = "OpenSearch " + version
	}
	want := `elasticsearch.lifecycle.policy: "` + cfg.Lifecycle.Policy + `": this cluster (` + cluster + `) has no index lifecycle API (`
	var ce *ClusterError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("InstallTemplate = %v\nwant a line starting %s", err, want)
	}
	t.Logf("%v", err)
	if status, _ := n.do(http.MethodGet, "/_index_template/"+name, nil); status != http.StatusNotFound {
		t.Errorf("template after the failed policy: HTTP %d", status)
	}
	for i, r := range writeAll(t, o, goldenBatch()) {
		if r.Status != pipeline.Delivered {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	if c := n.count(name + "-2026.11.26"); c != 4 {
		t.Errorf("%d documents, want 4", c)
	}
}

// TestIntegrationLeanTemplate: the lean template on the real node, and the
// requests the shipped dashboards (deploy/kibana) make, answered: terms on
// the faceted .keyword fields, a date histogram split by severity, the
// parse-failure filters, the saved search's sort, a filter made by
// clicking a slice (a term on program.keyword), and a match on message.
func TestIntegrationLeanTemplate(t *testing.T) {
	n, name := setup(t)
	cfg := integrationConfig(n.url, name)
	cfg.Template.Mode = TemplateModeLean
	o := integrationOutput(t, cfg)
	for i, r := range writeAll(t, o, goldenBatch()) {
		if r.Status != pipeline.Delivered {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	index := name + "-2026.11.26"
	if c := n.count(index); c != 4 {
		t.Fatalf("%s holds %d documents, want 4", index, c)
	}

	mapping := n.must(http.MethodGet, "/"+index+"/_mapping", nil)[index].(map[string]any)["mappings"].(map[string]any)
	dist, version := n.distribution()
	lean := openSearchLean(&clusterInfo{OpenSearch: dist == "opensearch", Version: version})
	if msg := field(mapping, "message"); lean && fmt.Sprint(msg) != "map[type:match_only_text]" ||
		!lean && (msg["type"] != "text" || msg["norms"] != false || msg["fields"] != nil) {
		t.Errorf("message mapped %v on %s %s, want match_only_text on OpenSearch ≥ 2.12, else text without norms or sub-fields", msg, dist, version)
	}
	for f, want := range map[string]string{
		"logsource.keyword": "keyword", "program.keyword": "keyword", "severity_label.keyword": "keyword",
		"host": "keyword", "host.keyword": "", "pid": "keyword", "tags": "keyword",
	} {
		if got := n.fieldType(index, f); got != want {
			t.Errorf("mapping of %s: %q, want %q", f, got, want)
		}
	}

	// The lean settings reached the index.
	ix := n.must(http.MethodGet, "/"+index+"/_settings", nil)[index].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	if ix["refresh_interval"] != "10s" || fmt.Sprint(ix["merge"]) != "map[policy:map[segments_per_tier:20]]" {
		t.Errorf("index settings %v, want refresh_interval 10s and merge.policy.segments_per_tier 20", ix)
	}

	// @timestamp's format: the fast one where the cluster has it.
	var wantFormat any // none
	if lean {
		wantFormat = leanTimestampFormat
	}
	if ts := field(mapping, "@timestamp"); ts["type"] != "date" || ts["format"] != wantFormat {
		t.Errorf("@timestamp mapped %v on %s %s, want format %v", ts, dist, version, wantFormat)
	}

	// What the dashboards see (field_caps: a field not searchable gets no
	// filter on a click): searchable where an operator searches, and
	// aggregatable where the dashboards facet; @version and the header's
	// time string in _source only.
	caps := n.must(http.MethodGet, "/"+index+"/_field_caps?fields=*", nil)["fields"].(map[string]any)
	capOf := func(f string) (searchable, aggregatable bool, ok bool) {
		byType, _ := caps[f].(map[string]any)
		for _, c := range byType {
			c := c.(map[string]any)
			return c["searchable"] == true, c["aggregatable"] == true, true
		}
		return false, false, false
	}
	for f, want := range map[string][2]bool{ // searchable, aggregatable
		"logsource.keyword": {true, true}, "program.keyword": {true, true}, "severity_label.keyword": {true, true},
		"logsource": {true, false}, "program": {true, false}, "severity_label": {true, false},
		"host": {true, true}, "facility_label": {true, true}, "tags": {true, true}, "msgid": {true, true},
		"@timestamp": {true, true}, "facility": {true, true}, "severity": {true, true},
		"pid": {true, false}, "priority": {true, false}, "message": {true, false},
		"@version": {false, false}, "timestamp": {false, false},
	} {
		s, a, ok := capOf(f)
		if !ok || s != want[0] || a != want[1] {
			t.Errorf("field_caps %s: searchable %v aggregatable %v (present %v), want %v %v", f, s, a, ok, want[0], want[1])
		}
	}

	search := func(body map[string]any) map[string]any {
		t.Helper()
		return n.must(http.MethodPost, "/"+name+"-*/_search", body)
	}
	total := func(res map[string]any) int {
		return int(res["hits"].(map[string]any)["total"].(map[string]any)["value"].(float64))
	}
	buckets := func(res map[string]any, agg string) map[string]int {
		out := map[string]int{}
		for _, b := range res["aggregations"].(map[string]any)[agg].(map[string]any)["buckets"].([]any) {
			b := b.(map[string]any)
			out[fmt.Sprint(b["key"])] = int(b["doc_count"].(float64))
		}
		return out
	}
	terms := func(f string) map[string]any {
		return map[string]any{"terms": map[string]any{"field": f, "size": 10}}
	}

	// The "hosts", "programs" and severity visualizations.
	res := search(map[string]any{"size": 0, "aggs": map[string]any{
		"hosts":    terms("logsource.keyword"),
		"programs": terms("program.keyword"),
		"severity": map[string]any{
			"date_histogram": map[string]any{"field": "@timestamp", "fixed_interval": "1h"},
			"aggs":           map[string]any{"label": terms("severity_label.keyword")},
		},
		// Not in the shipped dashboards, but the obvious next facets.
		"senders":    terms("host"),
		"facilities": terms("facility_label"),
	}})
	if got := buckets(res, "programs"); got["sshd"] != 1 || got["evntslog"] != 1 || got["app"] != 1 {
		t.Errorf("terms program.keyword: %v", got)
	}
	if got := buckets(res, "hosts"); got["web01"] != 1 || got["mymachine.example.com"] != 1 {
		t.Errorf("terms logsource.keyword: %v", got)
	}
	if got := buckets(res, "senders"); got["10.0.0.5"] != 1 || len(got) != 4 {
		t.Errorf("terms host: %v", got)
	}
	if got := buckets(res, "facilities"); len(got) == 0 {
		t.Errorf("terms facility_label: %v", got)
	}
	labels := map[string]int{}
	for _, b := range res["aggregations"].(map[string]any)["severity"].(map[string]any)["buckets"].([]any) {
		for _, l := range b.(map[string]any)["label"].(map[string]any)["buckets"].([]any) {
			l := l.(map[string]any)
			labels[l["key"].(string)] += int(l["doc_count"].(float64))
		}
	}
	if labels["Informational"] != 1 || labels["Notice"] != 2 || labels["Error"] != 1 {
		t.Errorf("severity_label.keyword per hour: %v", labels)
	}

	// The "parse failures" filters (KQL tags:"…" is a match_phrase on tags).
	res = search(map[string]any{"size": 0, "aggs": map[string]any{"failures": map[string]any{"filters": map[string]any{"filters": map[string]any{
		"grok":      map[string]any{"match_phrase": map[string]any{"tags": "_grokparsefailure_sysloginput"}},
		"truncated": map[string]any{"match_phrase": map[string]any{"tags": "_truncated"}},
	}}}}})
	fb := res["aggregations"].(map[string]any)["failures"].(map[string]any)["buckets"].(map[string]any)
	if fb["grok"].(map[string]any)["doc_count"].(float64) != 1 || fb["truncated"].(map[string]any)["doc_count"].(float64) != 1 {
		t.Errorf("filters on tags: %v", fb)
	}

	// The saved search: newest first, its columns from _source.
	res = search(map[string]any{"sort": []any{map[string]any{"@timestamp": "desc"}},
		"_source": []string{"logsource", "program", "severity_label", "message"}})
	if total(res) != 4 {
		t.Errorf("saved search: %d hits", total(res))
	}
	// The fields kept in _source only are still in every document.
	res = search(map[string]any{"query": map[string]any{"term": map[string]any{"program.keyword": "sshd"}}})
	if hits := res["hits"].(map[string]any)["hits"].([]any); len(hits) != 1 {
		t.Errorf("term program.keyword: %d hits", len(hits))
	} else if src := hits[0].(map[string]any)["_source"].(map[string]any); src["@version"] != "1" || src["timestamp"] != "Nov 26 12:00:00" {
		t.Errorf("_source %v, want @version and timestamp in it", src)
	}
	// A click on a slice filters on its .keyword field; a query on the
	// field itself, and a search in the message text.
	for what, q := range map[string]map[string]any{
		"term program.keyword": {"term": map[string]any{"program.keyword": "sshd"}},
		"match_phrase program": {"match_phrase": map[string]any{"program": "sshd"}},
		"term pid":             {"term": map[string]any{"pid": "1234"}},
		"match message":        {"match": map[string]any{"message": "password root"}},
		"match_phrase message": {"match_phrase": map[string]any{"message": "accepted password"}},
		// Times in a range without a format: parsed by the mapping's
		// format, a date without a time too, and with date math.
		"range @timestamp date": {"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": "2026-11-26", "lt": "2026-11-27"}}},
			map[string]any{"term": map[string]any{"program.keyword": "sshd"}}}}},
		"range @timestamp time and date math": {"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": "2026-11-26T11:00:00+00:00", "lt": "2026-11-26||+1d"}}},
			map[string]any{"term": map[string]any{"program.keyword": "sshd"}}}}},
		"query_string @timestamp": {"query_string": map[string]any{"query": "@timestamp:[2026-11-26 TO 2026-11-27} AND program.keyword:sshd"}},
		// Epoch milliseconds with their format, as Grafana sends them
		// (rfc3339_lenient alone does not take them without it).
		"range @timestamp epoch_millis": {"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": 1795651200000, "format": "epoch_millis"}}},
			map[string]any{"term": map[string]any{"program.keyword": "sshd"}}}}},
	} {
		if h := total(search(map[string]any{"query": q})); h != 1 {
			t.Errorf("%s: %d hits, want 1", what, h)
		}
	}
}
