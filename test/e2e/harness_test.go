// Package e2e runs the logshipper binary against the real OpenSearch node
// of testenv/ and checks, by counting documents, that every message sent
// was indexed exactly once.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/testes"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "logshipper-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "logshipper")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/logshipper")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot build logshipper:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shipper is one running logshipper process.
type shipper struct {
	t        *testing.T
	cmd      *exec.Cmd
	addr     string // syslog host:port, TCP and UDP
	httpAddr string
	index    string
	es       string
	dlq      string
	logs     *syncBuffer
	exited   chan struct{}
	exitErr  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort finds a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// uniqueIndex names an index for one test and deletes it afterwards.
func uniqueIndex(t *testing.T, es string) string {
	name := "e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	t.Cleanup(func() { esDo(t, es, "DELETE", "/"+name+"*", "") })
	return name
}

func esURL(t *testing.T) string { return testes.URL(t) }

// startShipper runs logshipper with env added to a test default set and
// waits until /readyz says ready.
func startShipper(t *testing.T, index string, env ...string) *shipper {
	t.Helper()
	return startShipperAt(t, testes.URL(t), index, env...)
}

// startShipperAt is startShipper against a given Elasticsearch URL.
func startShipperAt(t *testing.T, es, index string, env ...string) *shipper {
	t.Helper()
	return launch(t, es, index, "/readyz", env...)
}

// launch starts logshipper and waits until readyPath answers 200: /readyz
// needs Elasticsearch, /healthz only the process (for tests that start
// logshipper while Elasticsearch is down).
func launch(t *testing.T, es, index, readyPath string, env ...string) *shipper {
	t.Helper()
	return launchPorts(t, es, index, readyPath, freePort(t), freePort(t), env...)
}

// launchOn starts logshipper on given syslog (TCP and UDP) and HTTP ports
// and waits for /readyz: a replica started again in the same place, as a
// rolling update does behind a load balancer.
func launchOn(t *testing.T, es, index string, syslogPort, httpPort int, env ...string) *shipper {
	t.Helper()
	return launchPorts(t, es, index, "/readyz", syslogPort, httpPort, env...)
}

func launchPorts(t *testing.T, es, index, readyPath string, syslogPort, httpPort int, env ...string) *shipper {
	t.Helper()
	s := &shipper{
		t:        t,
		addr:     fmt.Sprintf("127.0.0.1:%d", syslogPort),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort),
		index:    index,
		es:       es,
		dlq:      filepath.Join(t.TempDir(), "dead-letter.ndjson"),
		logs:     &syncBuffer{},
		exited:   make(chan struct{}),
	}
	s.cmd = exec.Command(binary)
	s.cmd.Env = append(os.Environ(),
		"LOGSHIPPER_LISTEN="+s.addr,
		"LOGSHIPPER_HTTP_LISTEN="+s.httpAddr,
		"LOGSHIPPER_ELASTICSEARCH_URLS="+es,
		"LOGSHIPPER_ELASTICSEARCH_INDEX="+index,
		"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_NAME="+index,
		"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_REPLICAS=0",
		"LOGSHIPPER_DEAD_LETTER_PATH="+s.dlq,
		"LOGSHIPPER_LOG_STATS_INTERVAL=1s",
	)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exitErr = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("logshipper output:\n%s", tail(s.logs.String(), 40))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.httpAddr + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("logshipper exited during start: %v\n%s", s.exitErr, s.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("logshipper not ready after 30s\n%s", s.logs.String())
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// metric reads one sample from /metrics: name with labels as printed,
// e.g. `logshipper_events_received_total{transport="tcp"}`; the test fails
// when it is not there.
func (s *shipper) metric(name string) float64 {
	s.t.Helper()
	v, ok := s.sample(name)
	if !ok {
		s.t.Fatalf("metric %s not found", name)
	}
	return v
}

// metricOr is metric, or def when the sample is not (yet) exported.
func (s *shipper) metricOr(name string, def float64) float64 {
	s.t.Helper()
	if v, ok := s.sample(name); ok {
		return v
	}
	return def
}

func (s *shipper) sample(name string) (float64, bool) {
	s.t.Helper()
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimSpace(line[len(name):]), 64)
			return v, true
		}
	}
	return 0, false
}

// stopAndCheckNoSecrets stops each shipper and fails the test if any of
// secrets is in its log or its /metrics.
func stopAndCheckNoSecrets(t *testing.T, shippers []*shipper, secrets ...string) {
	t.Helper()
	for _, s := range shippers {
		metricsText := ""
		if resp, err := http.Get("http://" + s.httpAddr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metricsText = string(b)
		}
		s.stop()
		for _, secret := range secrets {
			if strings.Contains(s.logs.String(), secret) || strings.Contains(metricsText, secret) {
				t.Errorf("a secret is in the log or /metrics:\n%s", tail(s.logs.String(), 20))
			}
		}
	}
}

// waitSettled waits until logshipper has indexed or dead-lettered want
// events and its queue is empty.
func (s *shipper) waitSettled(want int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done := s.metric("logshipper_events_indexed_total") + s.metric("logshipper_events_failed_total")
		if int(done) >= want && s.metric("logshipper_queue_events") == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s: %v of %d events settled\n%s", timeout, done, want, tail(s.logs.String(), 20))
		}
		time.Sleep(200 * time.Millisecond) // polling an external process; nothing to wait on
	}
}

// stop sends SIGTERM and waits for the exit.
func (s *shipper) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.t.Fatal("logshipper did not exit 30s after SIGTERM")
	}
	if s.exitErr != nil {
		s.t.Fatalf("logshipper exit: %v\n%s", s.exitErr, tail(s.logs.String(), 20))
	}
	testes.CheckLogLines(s.t, s.logs.String())
}

func esDo(t testing.TB, es, method, path, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, es+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// count refreshes the index pattern and returns _count, optionally for a query.
func count(t *testing.T, es, index, query string) int {
	t.Helper()
	esDo(t, es, "POST", "/"+index+"*/_refresh", "")
	body := ""
	if query != "" {
		body = `{"query":` + query + `}`
	}
	code, b := esDo(t, es, "POST", "/"+index+"*/_count", body)
	if code != 200 {
		t.Fatalf("_count: %d %s", code, b)
	}
	var r struct{ Count int }
	json.Unmarshal(b, &r)
	return r.Count
}

// search returns the _source of the first hits for a query.
func search(t *testing.T, es, index, query string, size int) []map[string]any {
	t.Helper()
	esDo(t, es, "POST", "/"+index+"*/_refresh", "")
	code, b := esDo(t, es, "POST", "/"+index+"*/_search", fmt.Sprintf(`{"size":%d,"query":%s}`, size, query))
	if code != 200 {
		t.Fatalf("_search: %d %s", code, b)
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, h := range r.Hits.Hits {
		out = append(out, h.Source)
	}
	return out
}

// sendTCP writes data over one TCP connection and closes it.
func sendTCP(t *testing.T, addr string, data []byte) {
	t.Helper()
	sendTCPFrom(t, "", addr, data)
}

// sendTCPFrom is sendTCP from the local address from ("" for any; every
// 127.0.0.0/8 address is this host's on Linux).
func sendTCPFrom(t *testing.T, from, addr string, data []byte) {
	t.Helper()
	var d net.Dialer
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
