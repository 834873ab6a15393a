package elasticsearch

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	// The shipped dashboards facet on these .keyword sub-fields.
	for _, f := range []string{"logsource", "program", "severity_label"} {
		if k := field(lean, f, "keyword"); k["type"] != "keyword" {
			t.Errorf("lean %s.keyword: %v", f, k)
		}
	}
	// Keyword only, still aggregatable.
	for _, f := range []string{"host", "facility_label", "msgid", "tags"} {
		if k := field(lean, f); k["type"] != "keyword" || k["fields"] != nil || k["doc_values"] != nil {
			t.Errorf("lean %s: %v, want a plain keyword", f, k)
		}
	}
	// Searchable, not aggregatable.
	for _, f := range []string{"@version", "timestamp", "timestamp8601", "pid", "proxy_host", "priority"} {
		if k := field(lean, f); k["doc_values"] != false || k["index"] != nil || k["fields"] != nil {
			t.Errorf("lean %s: %v, want indexed without doc values", f, k)
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
	if v := field(ecs, "@version"); v["doc_values"] != false {
		t.Errorf("lean ecs @version %v", v)
	}
	if h := field(ecs, "host", "hostname"); h["type"] != "keyword" || h["doc_values"] != nil {
		t.Errorf("lean ecs host.hostname %v", h)
	}

	cfg := DefaultConfig()
	cfg.Template.Mode = TemplateModeLean
	o := newTestOutput(t, cfg)
	ct := o.ComposableTemplate()
	// The settings are the compatible mode's (no codec, no refresh_interval).
	ix := ct["template"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	if len(ix) != 2 || ix["number_of_shards"] != 1 || ix["number_of_replicas"] != 1 {
		t.Errorf("lean settings %v, want only shards and replicas", ix)
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
