package elasticsearch

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/parser"
)

var showCompatDiffs = flag.Bool("logstash-diffs", false, "print the fields where logshipper's documents differ from Logstash's and are not listed in cases.json")

// compatCase is one row of testdata/logstash-compat/cases.json: a line,
// how it arrived, where the expectation comes from, and the fields where
// logshipper deliberately writes something else, with the reason.
type compatCase struct {
	Name      string `json:"name"`
	Line      string `json:"line"`
	Received  string `json:"received"`
	SourceIP  string `json:"source_ip"`
	Transport string `json:"transport"`
	Source    string `json:"source"`
	Derived   bool   `json:"derived"`
	// Differs maps "logstash" or "logstash_ecs" to field paths ("program",
	// "log.syslog.priority"; a path covers the fields below it) and why.
	Differs map[string]map[string]string `json:"differs"`
}

// compatDocs is one row of logstash.json, the output of derive/derive.sh:
// the documents Logstash's syslog input writes for the line.
type compatDocs struct {
	Name        string         `json:"name"`
	Line        string         `json:"line"`
	Logstash    map[string]any `json:"logstash"`
	LogstashECS map[string]any `json:"logstash_ecs"`
}

// TestLogstashCompatibility: for every line of the golden table, the
// logstash schema writes the fields and values Logstash's syslog input
// (ecs_compatibility disabled) writes, and the ecs schema those of its
// ECS mode (v8), except where cases.json lists a difference and why. A
// listed difference that no longer differs fails too, so the list (and
// README's "What changes for a Logstash user") stays true.
func TestLogstashCompatibility(t *testing.T) {
	dir := filepath.Join("testdata", "logstash-compat")
	var cases []compatCase
	var docs []compatDocs
	readJSON(t, filepath.Join(dir, "cases.json"), &cases)
	readJSON(t, filepath.Join(dir, "logstash.json"), &docs)
	if len(cases) != len(docs) || len(cases) < 40 {
		t.Fatalf("%d cases, %d Logstash documents (run derive/derive.sh, see README.md)", len(cases), len(docs))
	}
	p := parser.New(parser.Options{})
	suggest := map[string]map[string]map[string]string{}
	for i, c := range cases {
		d := docs[i]
		if d.Name != c.Name || d.Line != c.Line {
			t.Fatalf("logstash.json row %d is %q, cases.json has %q: derive again", i, d.Name, c.Name)
		}
		if c.Source == "" {
			t.Errorf("%s: no source", c.Name)
		}
		received, err := time.Parse(time.RFC3339Nano, c.Received)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		ev := &event.Event{Raw: []byte(c.Line), Received: received, SourceIP: c.SourceIP, Transport: c.Transport}
		p.Parse(ev)
		for _, s := range []struct {
			key    string
			schema Schema
			want   map[string]any
		}{{"logstash", SchemaLogstash, d.Logstash}, {"logstash_ecs", SchemaECS, d.LogstashECS}} {
			var got map[string]any
			if err := json.Unmarshal(s.schema.AppendDocument(nil, ev), &got); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			unlisted, stale := compareCompat(flatten(got), flatten(s.want), c.Differs[s.key])
			for _, f := range unlisted {
				t.Errorf("%s (%s), line %q: %s", c.Name, s.key, c.Line, f.msg)
				if suggest[c.Name] == nil {
					suggest[c.Name] = map[string]map[string]string{}
				}
				if suggest[c.Name][s.key] == nil {
					suggest[c.Name][s.key] = map[string]string{}
				}
				suggest[c.Name][s.key][f.path] = "TODO"
			}
			for _, k := range stale {
				t.Errorf("%s (%s): %q is listed as a difference but is the same as Logstash's: remove it", c.Name, s.key, k)
			}
		}
	}
	if *showCompatDiffs && len(suggest) > 0 {
		b, _ := json.MarshalIndent(suggest, "", " ")
		fmt.Printf("%s\n", b)
	}
}

type compatDiff struct{ path, msg string }

// compareCompat compares two flattened documents. A path listed in
// differs (or below one listed) may differ; every listed path must.
func compareCompat(got, want map[string]string, differs map[string]string) (unlisted []compatDiff, stale []string) {
	paths := map[string]bool{}
	for k := range got {
		paths[k] = true
	}
	for k := range want {
		paths[k] = true
	}
	sorted := make([]string, 0, len(paths))
	for k := range paths {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	differed := map[string]bool{}
	for _, path := range sorted {
		g, gok := got[path]
		w, wok := want[path]
		if gok == wok && g == w {
			continue
		}
		if k, ok := listedIn(path, differs); ok {
			differed[k] = true
			continue
		}
		switch {
		case !wok:
			unlisted = append(unlisted, compatDiff{path, fmt.Sprintf("%s: ours %s, Logstash writes none", path, g)})
		case !gok:
			unlisted = append(unlisted, compatDiff{path, fmt.Sprintf("%s: Logstash %s, ours none", path, w)})
		default:
			unlisted = append(unlisted, compatDiff{path, fmt.Sprintf("%s: ours %s, Logstash %s", path, g, w)})
		}
	}
	for k := range differs {
		if !differed[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	return unlisted, stale
}

func listedIn(path string, differs map[string]string) (string, bool) {
	for p := path; ; {
		if _, ok := differs[p]; ok {
			return p, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return "", false
		}
		p = p[:i]
	}
}

// flatten maps each leaf of a decoded JSON document to its JSON text,
// keyed by its dotted path ("log.syslog.priority"); arrays are leaves.
func flatten(doc map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && !reflect.ValueOf(m).IsNil() {
			for k, x := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x)
			}
			return
		}
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
	walk("", doc)
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
