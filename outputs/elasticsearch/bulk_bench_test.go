package elasticsearch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/olivere/elastic/v7"
	"github.com/rs/zerolog"
)

// The WriteBatch benchmarks send to a fake Elasticsearch ("sink") that
// answers every _bulk with errors:false and one item per document. The sink
// runs in a child process (this test binary, re-run as
// TestHelperBulkSink), so that cpu-ns/doc, B/op and allocs/op are the
// client's alone: getrusage(RUSAGE_SELF) and the Go allocator do not see the
// sink's work. The "inproc" variants keep the sink in this process, as the
// first measurement did; their CPU includes the sink's side of loopback HTTP.

const envBulkSink = "LOGSHIPPER_TEST_BULK_SINK"

// bulkSinkHandler answers _bulk with errors:false and as many items as the
// body holds documents (gzip aware); anything else with {}.
func bulkSinkHandler() http.Handler {
	var mu sync.Mutex
	answers := map[int][]byte{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			io.WriteString(w, `{}`)
			return
		}
		n := bytes.Count(b, []byte("\n")) / 2
		mu.Lock()
		resp, ok := answers[n]
		if !ok {
			items := strings.TrimSuffix(strings.Repeat(`{"index":{"status":201}},`, n), ",")
			resp = []byte(`{"errors":false,"items":[` + items + `]}`)
			answers[n] = resp
		}
		mu.Unlock()
		w.Write(resp)
	})
}

// TestHelperBulkSink is the child process of startBulkSink, not a test.
func TestHelperBulkSink(t *testing.T) {
	if os.Getenv(envBulkSink) != "1" {
		t.Skip("helper process for the WriteBatch benchmarks")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("http://" + ln.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent went away: stop
		os.Exit(0)
	}()
	http.Serve(ln, bulkSinkHandler())
	os.Exit(0)
}

// startBulkSink starts the sink in a child process and returns its URL.
func startBulkSink(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBulkSink$", "-test.timeout=0", "-test.count=1")
	cmd.Env = append(os.Environ(), envBulkSink+"=1", "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the child exits when its stdin closes
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		b.Fatalf("bulk sink did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(line)
}

// BenchmarkWriteBatch measures the whole output path per batch of 1000
// varied ~150-byte RFC3164 events: encoding, body building, gzip (when
// on), HTTP on loopback and judging the response. sink=process: the
// numbers are the client's alone; sink=inproc: they include the sink.
func BenchmarkWriteBatch(b *testing.B) {
	evs := realisticEvents(1000)
	procURL := startBulkSink(b)
	for _, gz := range []bool{false, true} {
		for _, sink := range []string{"process", "inproc"} {
			name := map[bool]string{false: "plain", true: "gzip"}[gz] + "/sink=" + sink
			b.Run(name, func(b *testing.B) {
				var url string
				if sink == "process" {
					url = procURL
				} else {
					srv := httptest.NewServer(bulkSinkHandler())
					defer srv.Close()
					url = srv.URL
				}
				cfg := testConfig(url)
				cfg.Gzip = gz
				o, err := New(context.Background(), cfg, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				defer o.Close(context.Background())
				perDoc(b, len(evs), func() {
					if _, err := o.WriteBatch(context.Background(), evs); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkBulkBody/*/build is the body WriteBatch sends: action line,
// document encoded in place, newline, into a reused buffer (compare with
// BenchmarkBulkBody/*/olivere in gzip_test.go, which starts from documents
// already encoded).
func BenchmarkBulkBodyBuild(b *testing.B) {
	evs := realisticEvents(1000)
	for _, schema := range []string{SchemaNameLogstash, SchemaNameECS} {
		b.Run(schema, func(b *testing.B) {
			cfg := testConfig("http://127.0.0.1:9")
			cfg.Schema = schema
			cfg.Index = "syslog-msg-%{+yyyy.MM.dd}"
			o, err := New(context.Background(), cfg, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close(context.Background())
			bt := o.batches.Get().(*batch)
			perDoc(b, len(evs), func() { o.build(bt, evs) })
			b.SetBytes(int64(len(bt.body)))
		})
	}
}

// bulkResponse is a filtered _bulk answer for n items where failed(i) says
// which status item i gets.
func bulkResponse(n int, status func(i int) int) []byte {
	var sb strings.Builder
	errs := false
	for i := range n {
		if status(i) >= 300 {
			errs = true
		}
	}
	fmt.Fprintf(&sb, `{"errors":%t,"items":[`, errs)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		switch st := status(i); {
		case st < 300:
			fmt.Fprintf(&sb, `{"index":{"status":%d}}`, st)
		case st == 429:
			sb.WriteString(`{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=437, max_coordinating_and_primary_bytes=107374182]"}}}`)
		default:
			fmt.Fprintf(&sb, `{"index":{"status":%d,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [message] of type [long] in document with id 'reluGaIBpbuI4GgJKl1d'. Preview of field's value: 'x'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}}`, st)
		}
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkBulkResponse: reading a 1000-item answer, the way WriteBatch
// does (scan) and the way olivere did (encoding/json into its
// BulkResponse), for a batch that went through, one with one rejected
// document, and one that Elasticsearch pushed back entirely (429).
func BenchmarkBulkResponse(b *testing.B) {
	cases := []struct {
		name   string
		status func(int) int
	}{
		{"errors-false", func(int) int { return 201 }},
		{"errors-true-1-rejected", func(i int) int { return map[bool]int{true: 400, false: 201}[i == 500] }},
		{"errors-true-all-429", func(int) int { return 429 }},
	}
	for _, c := range cases {
		body := bulkResponse(1000, c.status)
		b.Run(c.name+"/scan", func(b *testing.B) {
			var failures []itemFailure
			b.SetBytes(int64(len(body)))
			perDoc(b, 1000, func() {
				a, err := parseBulkResponse(body, failures)
				if err != nil || a.items != 1000 {
					b.Fatal(a.items, err)
				}
				failures = a.failures[:0]
			})
		})
		b.Run(c.name+"/olivere-decode", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			perDoc(b, 1000, func() {
				var r elastic.BulkResponse
				if err := json.Unmarshal(body, &r); err != nil || len(r.Items) != 1000 {
					b.Fatal(err)
				}
			})
		})
	}
}
