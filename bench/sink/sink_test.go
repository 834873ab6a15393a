package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func doc(run string, seq int) string {
	return fmt.Sprintf(`{"@timestamp":"2026-11-26T12:00:00Z","message":"run=%s seq=%09d lorem ipsum","host":"127.0.0.1"}`, run, seq)
}

func post(t *testing.T, h http.Handler, path string, body []byte, gz bool) (int, []byte) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

type bulkResp struct {
	Took   int                                     `json:"took"`
	Errors bool                                    `json:"errors"`
	Items  []map[string]map[string]json.RawMessage `json:"items"`
}

func TestBulkResponseAndCounting(t *testing.T) {
	s := NewSink("7.17.0")
	var body strings.Builder
	// index with _index, create with _id, an action without _index (path
	// index), spaces after colons (rsyslog), a duplicate, a doc without seq.
	body.WriteString(`{"index":{"_index":"syslog-msg"}}` + "\n" + doc("a", 0) + "\n")
	body.WriteString(`{"create":{"_index": "syslog-msg", "_id": "x1"}}` + "\n" + doc("a", 1) + "\n")
	body.WriteString(`{"index":{}}` + "\n" + doc("a", 2) + "\n")
	body.WriteString(`{"index":{"_index":"syslog-msg"}}` + "\n" + doc("a", 1) + "\n")
	body.WriteString("\n" + `{"index":{"_index":"syslog-msg"}}` + "\r\n" + `{"message":"test"}` + "\n")
	body.WriteString(`{"index":{"_index":"syslog-msg"}}` + "\n" + doc("b", 7)) // no final LF
	code, out := post(t, s, "/pathidx/_bulk", []byte(body.String()), false)
	if code != 200 {
		t.Fatalf("status %d: %s", code, out)
	}
	var r bulkResp
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, out)
	}
	if r.Errors || len(r.Items) != 6 {
		t.Fatalf("errors=%v items=%d: %s", r.Errors, len(r.Items), out)
	}
	wantAction := []string{"index", "create", "index", "index", "index", "index"}
	for i, it := range r.Items {
		m, ok := it[wantAction[i]]
		if !ok {
			t.Fatalf("item %d: want action %q: %s", i, wantAction[i], out)
		}
		if string(m["status"]) != "201" || string(m["result"]) != `"created"` {
			t.Errorf("item %d: status %s result %s", i, m["status"], m["result"])
		}
	}
	if got := string(r.Items[1]["create"]["_id"]); got != `"x1"` {
		t.Errorf("create _id = %s, want \"x1\"", got)
	}
	if got := string(r.Items[2]["index"]["_index"]); got != `"pathidx"` {
		t.Errorf("path index = %s, want \"pathidx\"", got)
	}
	if a, b := string(r.Items[0]["index"]["_id"]), string(r.Items[3]["index"]["_id"]); a == b || a == "" {
		t.Errorf("generated ids %s and %s should differ", a, b)
	}

	st := s.Snapshot("a", 3)
	if st.Docs != 6 || st.Unique != 4 || st.Duplicates != 1 || st.NoSeq != 1 || st.BulkRequests != 1 {
		t.Errorf("counters: %+v", st.counters)
	}
	ra := st.Runs["a"]
	if ra.Docs != 4 || ra.Unique != 3 || ra.Duplicates != 1 || *ra.Missing != 0 || ra.MaxSeq != 2 {
		t.Errorf("run a: %+v (missing %d)", ra, *ra.Missing)
	}
	if m := *s.Snapshot("a", 10).Runs["a"].Missing; m != 7 {
		t.Errorf("run a missing of 10 = %d, want 7", m)
	}
	if _, ok := st.Runs["b"]; ok {
		t.Errorf("Snapshot(run=a) returned run b")
	}
	if rb := s.Snapshot("", 0).Runs["b"]; rb.Unique != 1 || rb.MinSeq != 7 {
		t.Errorf("run b: %+v", rb)
	}
}

func TestGzipAndFilterPath(t *testing.T) {
	s := NewSink("7.17.0")
	var body strings.Builder
	for i := 0; i < 1000; i++ {
		body.WriteString(`{"index":{"_index":"i"}}` + "\n" + doc("g", i) + "\n")
	}
	code, out := post(t, s, "/_bulk?filter_path=errors,items.*.error,items.*.status", []byte(body.String()), true)
	if code != 200 {
		t.Fatalf("status %d: %s", code, out)
	}
	var r bulkResp
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.Items) != 1000 || string(r.Items[0]["index"]["status"]) != "201" || r.Items[0]["index"]["_index"] != nil {
		t.Fatalf("filtered items: %d, first %v", len(r.Items), r.Items[0])
	}
	_, out = post(t, s, "/_bulk?filter_path=errors,items.*.error", []byte(`{"index":{}}`+"\n"+doc("g", 5)+"\n"), false)
	if string(out) != `{"errors":false}` {
		t.Errorf("only errors kept: %s", out)
	}
	st := s.Snapshot("g", 1000)
	if st.Unique != 1000 || st.Duplicates != 1 || *st.Runs["g"].Missing != 0 || st.WireBytes >= st.Bytes {
		t.Errorf("gzip counting: %+v", st.counters)
	}
}

func TestESShapedEndpoints(t *testing.T) {
	s := NewSink("7.17.0")
	get := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if c, b := get("GET", "/", ""); c != 200 || !strings.Contains(b, `"number":"7.17.0"`) {
		t.Errorf("GET /: %d %s", c, b)
	}
	if c, _ := get("HEAD", "/", ""); c != 200 {
		t.Errorf("HEAD /: %d", c)
	}
	if c, b := get("GET", "/_cluster/health", ""); c != 200 || !strings.Contains(b, `"green"`) {
		t.Errorf("health: %d %s", c, b)
	}
	if c, _ := get("HEAD", "/_index_template/t", ""); c != 404 {
		t.Errorf("missing template: %d", c)
	}
	if c, _ := get("PUT", "/_index_template/t", `{"index_patterns":["x*"]}`); c != 200 {
		t.Errorf("PUT template: %d", c)
	}
	if c, b := get("GET", "/_index_template/t", ""); c != 200 || !strings.Contains(b, `"index_patterns":["x*"]`) {
		t.Errorf("GET template: %d %s", c, b)
	}
	if c, _ := get("PUT", "/_template/old", `{"order":1}`); c != 200 {
		t.Errorf("PUT legacy template: %d", c)
	}
	if c, _ := get("HEAD", "/_template/old", ""); c != 200 {
		t.Errorf("HEAD legacy template: %d", c)
	}
	if c, _ := get("PUT", "/myindex", `{}`); c != 200 {
		t.Errorf("PUT index: %d", c)
	}
	if c, _ := get("HEAD", "/myindex", ""); c != 200 {
		t.Errorf("HEAD index: %d", c)
	}
	post(t, s, "/_bulk", []byte(`{"index":{}}`+"\n"+doc("r", 1)+"\n"), false)
	if c, _ := get("GET", "/_sink/reset", ""); c != 405 {
		t.Errorf("GET reset: %d", c)
	}
	if c, b := get("GET", "/_sink/sample", ""); c != 200 || !strings.Contains(b, "seq=000000001") {
		t.Errorf("sample: %d %s", c, b)
	}
	if c, _ := get("POST", "/_sink/reset", ""); c != 200 {
		t.Errorf("reset: %d", c)
	}
	if st := s.Snapshot("", 0); st.Docs != 0 || len(st.Runs) != 0 || len(st.Templates) != 2 {
		t.Errorf("after reset: %+v", st)
	}
}

func BenchmarkBulk1000(b *testing.B) {
	s := NewSink("7.17.0")
	var body strings.Builder
	for i := 0; i < 1000; i++ {
		body.WriteString(`{"index":{"_index":"syslog-msg"}}` + "\n" + doc("bench", i) + "\n")
	}
	data := []byte(body.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/_bulk", bytes.NewReader(data))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
	}
}

// With FullResponses the sink answers as Elasticsearch does without
// filter_path, whatever the request asks for.
func TestFullResponsesIgnoreFilterPath(t *testing.T) {
	s := NewSink("7.17.0")
	s.FullResponses = true
	code, out := post(t, s, "/_bulk?filter_path=errors,items.*.error,items.*.status", []byte(`{"create":{"_index":"i","_id":"x"}}`+"\n"+doc("f", 1)+"\n"), false)
	if code != 200 {
		t.Fatalf("status %d: %s", code, out)
	}
	var r bulkResp
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.Items) != 1 || string(r.Items[0]["create"]["status"]) != "201" || r.Items[0]["create"]["_index"] == nil || r.Items[0]["create"]["_shards"] == nil {
		t.Fatalf("full item expected: %s", out)
	}
}
