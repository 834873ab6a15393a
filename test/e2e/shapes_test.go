package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/parser"
)

// TestEveryShapeIndexed sends each line of the Logstash compatibility table
// (outputs/elasticsearch/testdata/logstash-compat/cases.json: RFC 3164 in
// its variants, RFC 5424 clean and malformed, not syslog at all) to a real
// logshipper in front of the real cluster, once per schema, and checks that
// the document the cluster holds is exactly the one the golden test proves
// against Logstash's: the index template takes every field, nothing is
// rejected or altered on the way. Each line comes from its own loopback
// address (127.0.0.N), so its document is found by host.
func TestEveryShapeIndexed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "outputs", "elasticsearch", "testdata", "logstash-compat", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Name, Line, Transport string }
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 || len(cases) > 200 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, schema := range []elasticsearch.Schema{elasticsearch.SchemaLogstash, elasticsearch.SchemaECS} {
		t.Run(schema.String(), func(t *testing.T) {
			s := startShipper(t, uniqueIndex(t, esURL(t)), "LOGSHIPPER_ELASTICSEARCH_SCHEMA="+schema.String())
			sent := time.Now()
			for i, c := range cases {
				sendTCPFrom(t, fmt.Sprintf("127.0.0.%d", 10+i), s.addr, []byte(c.Line+"\n"))
			}
			s.waitSettled(len(cases), settleTimeout)
			done := time.Now()
			docs := search(t, s.es, s.index, `{"match_all":{}}`, 2*len(cases))
			if len(docs) != len(cases) {
				t.Fatalf("%d documents, want %d", len(docs), len(cases))
			}
			byHost := map[string]map[string]any{}
			for _, d := range docs {
				ip := d["host"]
				if m, ok := ip.(map[string]any); ok { // ecs: host.ip
					ip = m["ip"]
				}
				byHost[fmt.Sprint(ip)] = d
			}
			p := parser.New(parser.Options{})
			for i, c := range cases {
				ip := fmt.Sprintf("127.0.0.%d", 10+i)
				got, ok := byHost[ip]
				if !ok {
					t.Errorf("%s: no document from %s", c.Name, ip)
					continue
				}
				ev := &event.Event{Raw: []byte(c.Line), Received: sent, SourceIP: ip, Transport: "tcp"}
				p.Parse(ev)
				var want map[string]any
				if err := json.Unmarshal(schema.AppendDocument(nil, ev), &want); err != nil {
					t.Fatal(err)
				}
				if ev.Timestamp.IsZero() { // @timestamp is the receive time
					ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got["@timestamp"]))
					if err != nil || ts.Before(sent.Add(-time.Second)) || ts.After(done.Add(time.Second)) {
						t.Errorf("%s: @timestamp %v, not the receive time", c.Name, got["@timestamp"])
					}
					delete(got, "@timestamp")
					delete(want, "@timestamp")
				}
				if !reflect.DeepEqual(got, want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					t.Errorf("%s: line %q\nindexed: %s\n   want: %s", c.Name, c.Line, g, w)
				}
			}
		})
	}
}
