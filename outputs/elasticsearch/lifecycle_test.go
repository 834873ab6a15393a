package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/pipeline"
)

// clusterES is a fake cluster for the lifecycle calls: Elasticsearch (ILM)
// or OpenSearch (ISM), with or without the lifecycle API, with or without
// composable templates; it keeps the policies it was given.
type clusterES struct {
	*fakeES
	mu         sync.Mutex
	policies   map[string][]byte // path → body
	seqNo      int
	putStatus  int // answer to a policy PUT, when not 0
	opensearch bool
	noAPI      bool
	legacyOnly bool
}

func newClusterES(t *testing.T, opensearch bool) *clusterES {
	c := &clusterES{opensearch: opensearch, policies: map[string][]byte{}}
	c.fakeES = newFakeES(t, c.handle)
	return c
}

func (c *clusterES) handle(w http.ResponseWriter, r *seenRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	answer := func(status int, body string) { w.WriteHeader(status); io.WriteString(w, body) }
	ilm := strings.HasPrefix(r.Path, "/_ilm/")
	ism := strings.HasPrefix(r.Path, "/_plugins/_ism/")
	switch {
	case r.Path == "/" && c.opensearch:
		answer(200, `{"name":"n","version":{"distribution":"opensearch","number":"2.19.6"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`)
	case r.Path == "/":
		answer(200, `{"name":"n","version":{"number":"8.15.0","build_flavor":"default"},"tagline":"You Know, for Search"}`)
	case (ilm || ism) && (c.noAPI || ilm == c.opensearch):
		// What OpenSearch 2.19 without the plugin answers (tested in
		// TestIntegrationLifecycleWithoutISM), and Elasticsearch without ILM.
		answer(400, `{"error":"no handler found for uri [`+r.Path+`] and method [`+r.Method+`]"}`)
	case (ilm || ism) && r.Method == http.MethodPut && c.putStatus != 0:
		answer(c.putStatus, `{"error":{"type":"security_exception","reason":"action [cluster:admin/ilm/put] is unauthorized for user [shipper]"},"status":403}`)
	case ilm && r.Method == http.MethodGet:
		if _, ok := c.policies[r.Path]; !ok {
			answer(404, `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"Lifecycle policy not found: x"}],"type":"resource_not_found_exception","reason":"Lifecycle policy not found: x"},"status":404}`)
			return
		}
		answer(200, `{"x":{"version":1,"policy":{}}}`)
	case ilm && r.Method == http.MethodPut:
		c.policies[r.Path] = r.Body
		answer(200, `{"acknowledged":true}`)
	case ism && r.Method == http.MethodGet:
		if _, ok := c.policies[r.Path]; !ok {
			answer(404, `{"error":{"type":"status_exception","reason":"Policy not found"},"status":404}`)
			return
		}
		answer(200, `{"_id":"x","_version":3,"_seq_no":`+itoa(c.seqNo)+`,"_primary_term":2,"policy":{}}`)
	case ism && r.Method == http.MethodPut:
		_, exists := c.policies[r.Path]
		if exists && r.Query != "if_seq_no="+itoa(c.seqNo)+"&if_primary_term=2" {
			answer(409, `{"error":{"type":"version_conflict_engine_exception","reason":"[x]: version conflict, document already exists (current version [3])"},"status":409}`)
			return
		}
		c.policies[r.Path] = r.Body
		c.seqNo++
		answer(201, `{"_id":"x","_version":1,"_primary_term":2,"_seq_no":0,"policy":{}}`)
	case strings.HasPrefix(r.Path, "/_index_template/") && c.legacyOnly:
		answer(405, `{"error":"Incorrect HTTP method for uri [`+r.Path+`] and method [`+r.Method+`], allowed: [POST]","status":405}`)
	case strings.Contains(r.Path, "template") && r.Method == http.MethodGet:
		answer(404, `{}`)
	case strings.Contains(r.Path, "template"):
		answer(200, `{"acknowledged":true}`)
	default:
		answerBulk(201)(w, r)
	}
}

// forget drops the requests seen so far.
func (c *clusterES) forget() {
	c.fakeES.mu.Lock()
	c.fakeES.seen = nil
	c.fakeES.mu.Unlock()
}

// calls lists the requests other than _bulk as "METHOD /path?query".
func (c *clusterES) calls() []string {
	var out []string
	for _, r := range c.requests() {
		if !strings.HasSuffix(r.Path, "/_bulk") {
			out = append(out, r.Method+" "+r.Path+"?"+r.Query)
		}
	}
	return out
}

// body is the body of the last request to path.
func (c *clusterES) body(t *testing.T, method, path string) map[string]any {
	t.Helper()
	reqs := c.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			var m map[string]any
			if err := json.Unmarshal(reqs[i].Body, &m); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			return m
		}
	}
	t.Fatalf("no %s %s among %v", method, path, c.calls())
	return nil
}

func lifecycleConfig(url string) Config {
	cfg := testConfig(url)
	cfg.Template.Enabled = true
	cfg.Index = "syslog-msg-%{+yyyy.MM.dd}"
	cfg.Lifecycle.Policy = "logshipper-30d"
	return cfg
}

func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	g, _ := json.Marshal(got)
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", what, err)
	}
	wb, _ := json.Marshal(w)
	if !bytes.Equal(g, wb) {
		t.Errorf("%s:\n%s\nwant\n%s", what, g, wb)
	}
}

func templateIndexSettings(t *testing.T, tmpl map[string]any) map[string]any {
	t.Helper()
	return tmpl["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
}

func TestLifecycleElasticsearchILM(t *testing.T) {
	es := newClusterES(t, false)
	o := newTestOutput(t, lifecycleConfig(es.URL))
	if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /?",
		"GET /_ilm/policy/logshipper-30d?",
		"PUT /_ilm/policy/logshipper-30d?",
		"GET /_index_template/logshipper?",
		"PUT /_index_template/logshipper?create=true",
	}
	if got := es.calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sameJSON(t, "ILM policy", es.body(t, http.MethodPut, "/_ilm/policy/logshipper-30d"),
		`{"policy":{"phases":{"delete":{"min_age":"30d","actions":{"delete":{}}}}}}`)
	tmpl := es.body(t, http.MethodPut, "/_index_template/logshipper")
	sameJSON(t, "template index settings", templateIndexSettings(t, tmpl),
		`{"number_of_shards":1,"number_of_replicas":1,"lifecycle":{"name":"logshipper-30d"}}`)
	if _, ds := tmpl["data_stream"]; ds {
		t.Error("data_stream in the template of daily indices")
	}

	// A second start keeps the policy an operator may have edited; with
	// overwrite it is put again without asking.
	es.forget()
	if err := newTestOutput(t, lifecycleConfig(es.URL)).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := es.calls(); got[1] != "GET /_ilm/policy/logshipper-30d?" || got[2] != "GET /_index_template/logshipper?" {
		t.Errorf("existing policy: %v", got)
	}
	es.forget()
	cfg := lifecycleConfig(es.URL)
	cfg.Template.Overwrite = true
	if err := newTestOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := es.calls(); !reflect.DeepEqual(got[:2], []string{"GET /?", "PUT /_ilm/policy/logshipper-30d?"}) {
		t.Errorf("overwrite: %v", got)
	}
}

func TestLifecycleElasticsearchDataStream(t *testing.T) {
	es := newClusterES(t, false)
	cfg := lifecycleConfig(es.URL)
	cfg.Index, cfg.DataStream, cfg.Lifecycle.DeleteAfter = "logs-syslog", true, "7d"
	o := newTestOutput(t, cfg)
	evs := testEvents(2)
	evs[0].ID = "id-0" // the other has none: create without _id
	if _, err := o.WriteBatch(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "ILM policy", es.body(t, http.MethodPut, "/_ilm/policy/logshipper-30d"),
		`{"policy":{"phases":{
			"hot":{"min_age":"0ms","actions":{"rollover":{"max_age":"1d","max_primary_shard_size":"50gb"}}},
			"delete":{"min_age":"7d","actions":{"delete":{}}}}}}`)
	tmpl := es.body(t, http.MethodPut, "/_index_template/logshipper")
	sameJSON(t, "data_stream", tmpl["data_stream"], `{}`)
	sameJSON(t, "index_patterns", tmpl["index_patterns"], `["logs-syslog*"]`)
	sameJSON(t, "lifecycle", templateIndexSettings(t, tmpl)["lifecycle"], `{"name":"logshipper-30d"}`)
	lines := strings.Split(string(es.bulks()[0].Body), "\n")
	if lines[0] != `{"create":{"_index":"logs-syslog","_id":"id-0"}}` || lines[2] != `{"create":{"_index":"logs-syslog"}}` {
		t.Errorf("action lines:\n%s\n%s", lines[0], lines[2])
	}
}

func TestLifecycleOpenSearchISM(t *testing.T) {
	es := newClusterES(t, true)
	o := newTestOutput(t, lifecycleConfig(es.URL))
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /?",
		"PUT /_plugins/_ism/policies/logshipper-30d?",
		"GET /_index_template/logshipper?",
		"PUT /_index_template/logshipper?create=true",
	}
	if got := es.calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sameJSON(t, "ISM policy", es.body(t, http.MethodPut, "/_plugins/_ism/policies/logshipper-30d"), `{"policy":{
		"description":"logshipper: delete indices 30d after their creation",
		"default_state":"hot",
		"states":[
			{"name":"hot","actions":[],"transitions":[{"state_name":"delete","conditions":{"min_index_age":"30d"}}]},
			{"name":"delete","actions":[{"delete":{}}],"transitions":[]}],
		"ism_template":[{"index_patterns":["syslog-msg-*"],"priority":200}]}}`)
	// ISM attaches through ism_template: nothing in the index settings.
	sameJSON(t, "template index settings", templateIndexSettings(t, es.body(t, http.MethodPut, "/_index_template/logshipper")),
		`{"number_of_shards":1,"number_of_replicas":1}`)

	// Restart: ISM answers 409 to the create; the policy is kept.
	es.forget()
	if err := newTestOutput(t, lifecycleConfig(es.URL)).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := es.calls(); len(got) != 4 || got[2] != "GET /_index_template/logshipper?" {
		t.Errorf("existing policy: %v", got)
	}
	// Overwrite: the replacement names the revision it replaces.
	es.forget()
	cfg := lifecycleConfig(es.URL)
	cfg.Template.Overwrite, cfg.Lifecycle.DeleteAfter = true, "12h"
	if err := newTestOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"GET /?",
		"PUT /_plugins/_ism/policies/logshipper-30d?",
		"GET /_plugins/_ism/policies/logshipper-30d?",
		"PUT /_plugins/_ism/policies/logshipper-30d?if_seq_no=1&if_primary_term=2",
		"PUT /_index_template/logshipper?",
	}
	if got := es.calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("overwrite requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(string(es.policies["/_plugins/_ism/policies/logshipper-30d"]), `"min_index_age":"12h"`) {
		t.Errorf("replaced policy %s", es.policies["/_plugins/_ism/policies/logshipper-30d"])
	}
}

func TestLifecycleOpenSearchDataStream(t *testing.T) {
	es := newClusterES(t, true)
	cfg := lifecycleConfig(es.URL)
	cfg.Index, cfg.DataStream = "logs-syslog", true
	if err := newTestOutput(t, cfg).InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "ISM policy", es.body(t, http.MethodPut, "/_plugins/_ism/policies/logshipper-30d"), `{"policy":{
		"description":"logshipper: roll data stream backing indices over daily or at 50gb per primary shard, delete them 30d after the rollover",
		"default_state":"hot",
		"states":[
			{"name":"hot","actions":[{"rollover":{"min_index_age":"1d","min_primary_shard_size":"50gb"}}],
			 "transitions":[{"state_name":"delete","conditions":{"min_rollover_age":"30d"}}]},
			{"name":"delete","actions":[{"delete":{}}],"transitions":[]}],
		"ism_template":[{"index_patterns":["logs-syslog*"],"priority":200}]}}`)
	tmpl := es.body(t, http.MethodPut, "/_index_template/logshipper")
	sameJSON(t, "data_stream", tmpl["data_stream"], `{}`)
	if _, ok := templateIndexSettings(t, tmpl)["lifecycle"]; ok {
		t.Error("ILM setting in an OpenSearch template")
	}
}

// A cluster without the lifecycle API: the start fails with one line that
// names the setting, the cluster and what to do; no template is put. Found
// only at the first batch (the cluster was down at start), it is logged and
// the events are shipped without the template.
func TestLifecycleWithoutAPI(t *testing.T) {
	for _, tc := range []struct {
		opensearch bool
		want       string
	}{
		{true, `elasticsearch.lifecycle.policy: "logshipper-30d": this cluster (OpenSearch 2.19.6) has no index lifecycle API ` +
			`(PUT /_plugins/_ism/policies/logshipper-30d answered HTTP 400: no handler found for uri [/_plugins/_ism/policies/logshipper-30d] and method [PUT]); ` +
			`unset the setting, or install the opensearch-index-management plugin (ISM) on every node`},
		{false, `elasticsearch.lifecycle.policy: "logshipper-30d": this cluster (Elasticsearch 8.15.0) has no index lifecycle API ` +
			`(GET /_ilm/policy/logshipper-30d answered HTTP 400: no handler found for uri [/_ilm/policy/logshipper-30d] and method [GET]); ` +
			`unset the setting, or run an Elasticsearch distribution with ILM (the default one, free under the basic license; not OSS)`},
	} {
		es := newClusterES(t, tc.opensearch)
		es.noAPI = true
		o := newTestOutput(t, lifecycleConfig(es.URL))
		err := o.InstallTemplate(context.Background())
		var ce *ClusterError
		if !errors.As(err, &ce) || err.Error() != tc.want {
			t.Errorf("InstallTemplate = %v\nwant             %s", err, tc.want)
		}
		for _, c := range es.calls() {
			if strings.Contains(c, "template") {
				t.Errorf("template request after the failed policy: %s", c)
			}
		}
		if res, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil || res[0].Status != pipeline.Delivered {
			t.Errorf("WriteBatch = %v, %v", res, err)
		}
	}
}

// A policy the cluster refuses for good (403) is logged, and shipping goes
// on without template, as for a refused template.
func TestLifecyclePolicyRefused(t *testing.T) {
	es := newClusterES(t, false)
	es.putStatus = 403
	o := newTestOutput(t, lifecycleConfig(es.URL))
	err := o.InstallTemplate(context.Background())
	var le *LifecycleError
	if !errors.As(err, &le) || !le.Permanent() || err.Error() != "elasticsearch: installing lifecycle policy /_ilm/policy/logshipper-30d: "+es.URL+": "+
		"HTTP 403: security_exception: action [cluster:admin/ilm/put] is unauthorized for user [shipper]; "+
		"the node knows these credentials but does not allow this request: grant the user or API key the privilege" {
		t.Errorf("InstallTemplate = %v", err)
	}
	if res, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil || res[0].Status != pipeline.Delivered {
		t.Errorf("WriteBatch = %v, %v", res, err)
	}
}

func TestDataStreamNeedsComposableTemplates(t *testing.T) {
	es := newClusterES(t, false)
	es.legacyOnly = true
	cfg := testConfig(es.URL)
	cfg.Template.Enabled, cfg.DataStream = true, true
	err := newTestOutput(t, cfg).InstallTemplate(context.Background())
	want := `elasticsearch.data_stream: true: this cluster has no composable index templates ` +
		`(PUT /_index_template/logshipper answered HTTP 405: Incorrect HTTP method for uri [/_index_template/logshipper] and method [PUT], allowed: [POST]), ` +
		`and a legacy _template cannot declare a data stream (Elasticsearch ≥ 7.9 and OpenSearch can); ` +
		`set elasticsearch.data_stream to false (a date pattern in elasticsearch.index gives daily indices), or upgrade the cluster`
	var ce *ClusterError
	if !errors.As(err, &ce) || err.Error() != want {
		t.Errorf("InstallTemplate = %v\nwant             %s", err, want)
	}
	for _, c := range es.calls() {
		if strings.HasPrefix(c, "PUT /_template/") {
			t.Errorf("legacy template put for a data stream: %s", c)
		}
	}
}

// In data-stream mode with document_id auto every action is a create
// without _id (a data stream refuses op_type index).
func TestDataStreamAutoIDsUseCreate(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	cfg := testConfig(es.URL)
	cfg.DataStream, cfg.DocumentID = true, DocumentIDAuto
	o := newTestOutput(t, cfg)
	evs := testEvents(1)
	evs[0].ID = "ignored"
	if _, err := o.WriteBatch(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if body := string(es.bulks()[0].Body); !strings.HasPrefix(body, `{"create":{"_index":"syslog-msg"}}`+"\n") {
		t.Fatalf("body = %s", body)
	}
}

// The example policies in deploy/lifecycle/ are what logshipper installs
// (delete_after 30d, the priority 200 default, the index of each file's
// example), so they cannot drift from the code. go test -update rewrites
// them.
func TestDeployLifecyclePolicies(t *testing.T) {
	for _, tc := range []struct {
		file       string
		index      string
		dataStream bool
		opensearch bool
	}{
		{"ilm-policy.json", "syslog-msg-%{+yyyy.MM.dd}", false, false},
		{"ism-policy.json", "syslog-msg-%{+yyyy.MM.dd}", false, true},
		{"ilm-policy-data-stream.json", "syslog-msg", true, false},
		{"ism-policy-data-stream.json", "syslog-msg", true, true},
	} {
		cfg := DefaultConfig()
		cfg.Index, cfg.DataStream, cfg.Lifecycle.Policy = tc.index, tc.dataStream, "logshipper-30d"
		o := newTestOutput(t, cfg)
		policy := o.ILMPolicy()
		if tc.opensearch {
			policy = o.ISMPolicy()
		}
		path := filepath.Join("..", "..", "deploy", "lifecycle", tc.file)
		if *update {
			b, _ := json.MarshalIndent(policy, "", "  ")
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, tc.file, policy, string(b))
	}
}
