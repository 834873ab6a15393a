package elasticsearch

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The compatible mode is the layout every existing deployment has: its
// template bodies must not change by a byte (testdata/template-compatible-*
// were written by the code before the lean mode existed), or
// templateVersion must be bumped and the files rewritten.
func TestCompatibleTemplateUnchanged(t *testing.T) {
	for _, schema := range []string{SchemaNameLogstash, SchemaNameECS} {
		cfg := DefaultConfig()
		cfg.Schema = schema
		if cfg.Template.Mode != TemplateModeCompatible {
			t.Fatalf("default template mode %q", cfg.Template.Mode)
		}
		o := newTestOutput(t, cfg)
		for name, body := range map[string]any{"composable": o.ComposableTemplate(), "legacy": o.LegacyTemplate()} {
			got, _ := json.MarshalIndent(body, "", "  ")
			file := filepath.Join("testdata", "template-compatible-"+schema+"-"+name+".json")
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(append(got, '\n')) != string(want) {
				t.Errorf("%s %s template differs from %s:\n%s", schema, name, file, got)
			}
		}
	}
}

// field digs a property (dotted path, multi-fields included) out of mappings.
func field(m map[string]any, path ...string) map[string]any {
	var node any = m
	for _, p := range path {
		n, _ := node.(map[string]any)
		props, _ := n["properties"].(map[string]any)
		if props == nil {
			props, _ = n["fields"].(map[string]any)
		}
		node = props[p]
	}
	f, _ := node.(map[string]any)
	return f
}

func TestLeanMappings(t *testing.T) {
	lean := MappingsFor(SchemaLogstash, TemplateModeLean)
	if msg := field(lean, "message"); msg["type"] != "text" || msg["norms"] != false || msg["fields"] != nil {
		t.Errorf("lean message %v, want text without norms and without sub-fields", msg)
	}
	// The shipped dashboards facet on these .keyword sub-fields (indexed,
	// with doc values: a click on a slice filters on them); the field
	// itself is searched, not aggregated.
	for _, f := range []string{"logsource", "program", "severity_label"} {
		if k := field(lean, f, "keyword"); k["type"] != "keyword" || k["doc_values"] != nil || k["index"] != nil {
			t.Errorf("lean %s.keyword: %v, want a plain keyword", f, k)
		}
		if k := field(lean, f); k["type"] != "keyword" || k["doc_values"] != false || k["index"] != nil {
			t.Errorf("lean %s: %v, want indexed without doc values", f, k)
		}
	}
	// Keyword only, still aggregatable.
	for _, f := range []string{"host", "facility_label", "msgid", "tags"} {
		if k := field(lean, f); k["type"] != "keyword" || k["fields"] != nil || k["doc_values"] != nil {
			t.Errorf("lean %s: %v, want a plain keyword", f, k)
		}
	}
	// Searchable, not aggregatable.
	for _, f := range []string{"pid", "proxy_host", "priority"} {
		if k := field(lean, f); k["doc_values"] != false || k["index"] != nil || k["fields"] != nil {
			t.Errorf("lean %s: %v, want indexed without doc values", f, k)
		}
	}
	// In _source only: "1" everywhere, and the header's time as sent
	// (@timestamp is the same instant, searchable).
	for _, f := range []string{"@version", "timestamp", "timestamp8601"} {
		if k := field(lean, f); k["type"] != "keyword" || k["doc_values"] != false || k["index"] != false || k["fields"] != nil {
			t.Errorf("lean %s: %v, want neither indexed nor doc values", f, k)
		}
	}
	for _, f := range []string{"@timestamp", "facility", "severity", "version", "structured_data"} {
		if fmt.Sprint(field(lean, f)) != fmt.Sprint(field(Mappings(SchemaLogstash), f)) {
			t.Errorf("lean %s: %v, want it as in the compatible mode", f, field(lean, f))
		}
	}
	// MappingsFor must not have changed the compatible mappings it started from.
	if b1, b2 := mustJSON(t, Mappings(SchemaLogstash)), mustJSON(t, MappingsFor(SchemaLogstash, TemplateModeCompatible)); b1 != b2 {
		t.Errorf("compatible mappings changed:\n%s\n%s", b1, b2)
	}

	ecs := MappingsFor(SchemaECS, TemplateModeLean)
	if msg := field(ecs, "message"); msg["norms"] != false {
		t.Errorf("lean ecs message %v", msg)
	}
	if v := field(ecs, "@version"); v["doc_values"] != false || v["index"] != false {
		t.Errorf("lean ecs @version %v", v)
	}
	if h := field(ecs, "host", "hostname"); h["type"] != "keyword" || h["doc_values"] != nil {
		t.Errorf("lean ecs host.hostname %v", h)
	}

	cfg := DefaultConfig()
	cfg.Template.Mode = TemplateModeLean
	o := newTestOutput(t, cfg)
	ct := o.ComposableTemplate()
	// Shards and replicas as configured, a 10 s refresh and 20 segments
	// per merge tier; no codec, no translog setting.
	ix := ct["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	if got := mustJSON(t, ix); got != `{"merge":{"policy":{"segments_per_tier":20}},"number_of_replicas":1,"number_of_shards":1,"refresh_interval":"10s"}` {
		t.Errorf("lean settings %s", got)
	}
	if lt := o.LegacyTemplate(); mustJSON(t, lt["settings"]) != mustJSON(t, ct["template"].(map[string]any)["settings"]) {
		t.Errorf("legacy lean settings %v", lt["settings"])
	}
	if meta := ct["_meta"].(map[string]any); meta["template_mode"] != "lean" {
		t.Errorf("lean _meta %v", meta)
	}
	if ct["version"] != templateVersion {
		t.Errorf("version %v", ct["version"])
	}
	lt := o.LegacyTemplate()
	if mustJSON(t, lt["mappings"]) != mustJSON(t, lean) {
		t.Errorf("legacy lean template %v", lt)
	}
}

// On OpenSearch 2.12 and later the lean template names @timestamp's
// faster format and maps message as match_only_text; elsewhere
// (Elasticsearch refuses the format's name, older OpenSearch lacks both,
// the cluster unknown) and in the compatible mode both keep MappingsFor's.
func TestLeanTimestampFormat(t *testing.T) {
	for _, c := range []struct {
		cluster *clusterInfo
		mode    string
		want    bool
	}{
		{&clusterInfo{OpenSearch: true, Version: "2.19.6"}, TemplateModeLean, true},
		{&clusterInfo{OpenSearch: true, Version: "2.12.0"}, TemplateModeLean, true},
		{&clusterInfo{OpenSearch: true, Version: "3.9.0"}, TemplateModeLean, true},
		{&clusterInfo{OpenSearch: true, Version: "2.11.1"}, TemplateModeLean, false},
		{&clusterInfo{OpenSearch: true, Version: "1.3.20"}, TemplateModeLean, false},
		{&clusterInfo{OpenSearch: true, Version: "x"}, TemplateModeLean, false},
		{&clusterInfo{Version: "8.17.0"}, TemplateModeLean, false},
		{nil, TemplateModeLean, false},
		{&clusterInfo{OpenSearch: true, Version: "2.19.6"}, TemplateModeCompatible, false},
	} {
		for _, schema := range []string{SchemaNameLogstash, SchemaNameECS} {
			cfg := DefaultConfig()
			cfg.Schema = schema
			cfg.Template.Mode = c.mode
			o := newTestOutput(t, cfg)
			o.cluster = c.cluster
			ts := field(o.ComposableTemplate()["template"].(map[string]any)["mappings"].(map[string]any), "@timestamp")
			lts := field(o.LegacyTemplate()["mappings"].(map[string]any), "@timestamp")
			want := map[string]any{"type": "date"}
			if c.want {
				want["format"] = leanTimestampFormat
			}
			if fmt.Sprint(ts) != fmt.Sprint(want) || fmt.Sprint(lts) != fmt.Sprint(want) {
				t.Errorf("%v %s %s: @timestamp %v (legacy %v), want %v", c.cluster, c.mode, schema, ts, lts, want)
			}
			msg := field(o.ComposableTemplate()["template"].(map[string]any)["mappings"].(map[string]any), "message")
			wantMsg := field(MappingsFor(o.schema, c.mode), "message")
			if c.want {
				wantMsg = leanMessage
			}
			if fmt.Sprint(msg) != fmt.Sprint(wantMsg) {
				t.Errorf("%v %s %s: message %v, want %v", c.cluster, c.mode, schema, msg, wantMsg)
			}
			// Everything else as MappingsFor has it.
			m := o.mappings()
			m["properties"].(map[string]any)["@timestamp"] = date
			m["properties"].(map[string]any)["message"] = field(MappingsFor(o.schema, c.mode), "message")
			if mustJSON(t, m) != mustJSON(t, MappingsFor(o.schema, c.mode)) {
				t.Errorf("%v %s %s: mappings beyond @timestamp differ", c.cluster, c.mode, schema)
			}
		}
	}
	// Alone: OpenSearch 2.19 takes rfc3339_lenient in a list of formats
	// as a failure and parses every value again with the next one.
	if strings.Contains(leanTimestampFormat, "||") {
		t.Errorf("leanTimestampFormat %q: rfc3339_lenient must be the only format", leanTimestampFormat)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The bench's Logstash template is still, byte for byte, the upstream file
// its README names (git blob hash of that version).
func TestLogstashTemplateFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "logstash-template", "elasticsearch-7x.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	if got := hex.EncodeToString(h.Sum(nil)); got != "a7d382fd16d1e50b91e3521ca9b64b003c1d5e62" {
		t.Errorf("elasticsearch-7x.json is blob %s, not logstash-output-elasticsearch's a7d382fd…", got)
	}
	var tmpl struct {
		Mappings struct {
			DynamicTemplates []map[string]any `json:"dynamic_templates"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(b, &tmpl); err != nil || len(tmpl.Mappings.DynamicTemplates) != 2 {
		t.Errorf("elasticsearch-7x.json: %v, %d dynamic templates", err, len(tmpl.Mappings.DynamicTemplates))
	}
}
