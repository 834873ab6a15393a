package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/logshipper/logshipper/pipeline"
)

// deadURL is an address where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func delivered(t *testing.T, res []pipeline.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != pipeline.Delivered {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
}

// TestFailoverOnDialError: a URL that cannot be connected to hands the call
// to the next one; later calls pass it over; when none can be connected to,
// the call fails naming them.
func TestFailoverOnDialError(t *testing.T) {
	es := newFakeES(t, answerBulk(201))
	dead := deadURL(t)
	cfg := testConfig(dead)
	cfg.URLs = []string{dead, es.URL}
	o := newTestOutput(t, cfg)
	for range 4 {
		res, err := o.WriteBatch(context.Background(), testEvents(2))
		delivered(t, res, err)
	}
	if n := len(es.bulks()); n != 4 {
		t.Errorf("%d bulk requests reached the live node, want 4", n)
	}

	cfg.URLs = []string{dead, deadURL(t)}
	o = newTestOutput(t, cfg)
	_, err := o.WriteBatch(context.Background(), testEvents(1))
	if err == nil || !strings.Contains(err.Error(), "none of the 2 URLs could be connected to") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
}

// TestRoundRobin: requests alternate over the URLs.
func TestRoundRobin(t *testing.T) {
	a, b := newFakeES(t, answerBulk(201)), newFakeES(t, answerBulk(201))
	cfg := testConfig(a.URL)
	cfg.URLs = []string{a.URL, b.URL + "/"} // a trailing slash is fine
	o := newTestOutput(t, cfg)
	for range 6 {
		res, err := o.WriteBatch(context.Background(), testEvents(1))
		delivered(t, res, err)
	}
	if na, nb := len(a.bulks()), len(b.bulks()); na != 3 || nb != 3 {
		t.Errorf("requests per URL: %d and %d, want 3 and 3", na, nb)
	}
	for _, r := range b.bulks() {
		if r.Path != "/_bulk" {
			t.Errorf("path %q", r.Path)
		}
	}
}

// TestNoFailoverAfterAnswer: an answer, even a 503, ends the call; the
// pipeline retries, the output does not.
func TestNoFailoverAfterAnswer(t *testing.T) {
	bad := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		w.WriteHeader(503)
		io.WriteString(w, `{"error":{"type":"unavailable","reason":"down"},"status":503}`)
	})
	good := newFakeES(t, answerBulk(201))
	cfg := testConfig(bad.URL)
	cfg.URLs = []string{bad.URL, good.URL}
	o := newTestOutput(t, cfg)
	var errs int
	for range 2 {
		if _, err := o.WriteBatch(context.Background(), testEvents(1)); err != nil {
			errs++
			var ee *elastic.Error
			if !errors.As(err, &ee) || ee.Status != 503 {
				t.Errorf("err = %v", err)
			}
		}
	}
	if errs != 1 || len(bad.requests()) != 1 || len(good.requests()) != 1 {
		t.Errorf("%d errors, %d + %d requests; want 1 error, one request each", errs, len(bad.requests()), len(good.requests()))
	}
}

// TestConnectionReuse: bodies are read to the end and closed, so one
// keep-alive connection serves every request, answers 2xx or not.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	var calls atomic.Int32
	h := answerBulk(201, 400, 429)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if calls.Add(1)%3 == 0 {
			w.WriteHeader(503)
			io.WriteString(w, `{"error":{"type":"x","reason":"`+strings.Repeat("y", 10000)+`"},"status":503}`)
			return
		}
		h(w, &seenRequest{Path: r.URL.Path, Body: b})
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	o := newTestOutput(t, testConfig(srv.URL))
	for range 9 {
		o.WriteBatch(context.Background(), testEvents(50))
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 9 requests, want 1", n)
	}
}

// TestEarlyAnswer: Elasticsearch (or a proxy) may answer before it has read
// the body (413). The transport may go on reading the body after Do
// returned, until it closes it; the buffer must not serve the next batch
// before that (go test -race finds the overlap otherwise). The server here
// answers at once and then reads the body slowly.
func TestEarlyAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetReadBuffer(4096)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				body := `{"error":{"type":"too_large","reason":"too large"},"status":413}`
				fmt.Fprintf(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				buf := make([]byte, 4096)
				for {
					if _, err := br.Read(buf); err != nil {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
	}()
	o := newTestOutput(t, testConfig("http://"+ln.Addr().String()))
	// Small socket buffers on both ends: the body cannot vanish into them.
	o.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetWriteBuffer(4096)
		}
		return c, err
	}
	evs := testEvents(2000)
	for range 5 {
		if _, err := o.WriteBatch(context.Background(), evs); err == nil || !strings.Contains(err.Error(), "HTTP 413") {
			t.Errorf("err = %v", err)
		}
	}
}

// TestResponseSizeBound: an answer larger than the bound fails the request,
// with and without Content-Length.
func TestResponseSizeBound(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%t", chunked), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				body := `{"errors":false,"items":[{"index":{"status":201}}]}` + strings.Repeat(" ", int(maxResponseBytes(1)))
				if chunked {
					w.(http.Flusher).Flush()
				} else {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				io.WriteString(w, body)
			}))
			defer srv.Close()
			o := newTestOutput(t, testConfig(srv.URL))
			_, err := o.WriteBatch(context.Background(), testEvents(1))
			if err == nil || !strings.Contains(err.Error(), "is larger than the 1064960 bytes allowed for 1 documents") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestRedirectIsAnError(t *testing.T) {
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		w.Header().Set("Location", "/elsewhere/_bulk")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	o := newTestOutput(t, testConfig(es.URL))
	_, err := o.WriteBatch(context.Background(), testEvents(1))
	if err == nil || err.Error() != "elasticsearch: bulk request of 1 documents: "+es.URL+": HTTP 307 Temporary Redirect" {
		t.Errorf("err = %v", err)
	}
	if n := len(es.requests()); n != 1 {
		t.Errorf("%d requests", n)
	}
}

// TestSniff: with sniff on, olivere discovers the nodes and _bulk goes to
// them through olivere; the request and the results are the same.
func TestSniff(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gz), func(t *testing.T) {
			var es *fakeES
			es = newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
				if r.Path == "/_nodes/http" {
					host := strings.TrimPrefix(es.URL, "http://")
					io.WriteString(w, `{"nodes":{"n1":{"name":"n1","http":{"publish_address":"`+host+`"}}}}`)
					return
				}
				answerBulk(201, 400)(w, r)
			})
			cfg := testConfig(es.URL)
			cfg.Sniff = true
			cfg.Gzip = gz
			cfg.Username, cfg.Password = "u", "p"
			o := newTestOutput(t, cfg)
			if _, ok := o.sender.(*olivereSender); !ok {
				t.Fatalf("sender %T", o.sender)
			}
			evs := testEvents(4)
			res, err := o.WriteBatch(context.Background(), evs)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Status != pipeline.Delivered || res[1].Status != pipeline.Rejected || !bytes.Equal(res[1].Document, AppendDocument(nil, evs[1])) {
				t.Errorf("results %+v", res)
			}
			bulks := es.bulks()
			if len(bulks) != 1 {
				t.Fatalf("%d bulk requests", len(bulks))
			}
			b := bulks[0]
			if b.Query != "filter_path=errors%2Citems.%2A.status%2Citems.%2A.error" || b.Header.Get("Content-Type") != "application/x-ndjson" ||
				(b.Header.Get("Content-Encoding") == "gzip") != gz || b.Header.Get("Authorization") == "" {
				t.Errorf("request %q %v", b.Query, b.Header)
			}
			if !bytes.Contains(b.Body, AppendDocument(nil, evs[3])) {
				t.Errorf("body %q", b.Body)
			}
		})
	}
}

// TestTemplateGzip: with gzip on, template bodies are compressed as well.
func TestTemplateGzip(t *testing.T) {
	es := templateES(t, true, nil)
	cfg := testConfig(es.URL)
	cfg.Template.Enabled = true
	cfg.Gzip = true
	o := newTestOutput(t, cfg)
	if err := o.InstallTemplate(context.Background()); err != nil {
		t.Fatal(err)
	}
	put := es.requests()[1]
	if put.Method != http.MethodPut || put.Header.Get("Content-Encoding") != "gzip" || put.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s %v", put.Method, put.Path, put.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(put.Body, &body); err != nil || body["index_patterns"] == nil {
		t.Errorf("template body %q: %v", put.Body, err)
	}
}
