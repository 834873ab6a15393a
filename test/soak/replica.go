//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// replica is one logshipper of the service: fixed ports, a fixed buffer
// directory on its own tmpfs, started again in the same place after each
// stop. Each process is one incarnation.
type replica struct {
	s                    *soak
	name                 string
	idx                  int
	syslogPort, httpPort int
	mount, bufDir, dlq   string

	mu   sync.Mutex
	cur  *incarnation
	incs []*incarnation
	down []window // from a stop (signal or crash) to ready again
}

type window struct{ from, to time.Time }

// incarnation is one logshipper process of a replica.
type incarnation struct {
	r       *replica
	n       int
	cmd     *exec.Cmd
	logPath string
	started time.Time
	exited  chan struct{}

	mu        sync.Mutex
	ready     time.Time
	how       string // how it ended, set before the signal: SIGKILL, SIGTERM (fault), SIGTERM (end)
	signalled time.Time
	exitErr   error
	exitedAt  time.Time
	samples   []msample
	readiness []readySample
	shutdown  map[string]any
}

func (inc *incarnation) label() string { return fmt.Sprintf("%s#%d", inc.r.name, inc.n) }

func (r *replica) addr() string { return "127.0.0.1:" + strconv.Itoa(r.syslogPort) }

func (r *replica) current() *incarnation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

func (r *replica) running() bool {
	inc := r.current()
	if inc == nil {
		return false
	}
	select {
	case <-inc.exited:
		return false
	default:
		return true
	}
}

// downAt reports whether the replica was stopped (or starting) at t.
func (r *replica) downAt(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.down {
		if !t.Before(w.from) && (w.to.IsZero() || t.Before(w.to)) {
			return true
		}
	}
	return false
}

func (r *replica) markDown(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.down); n > 0 && r.down[n-1].to.IsZero() {
		return
	}
	r.down = append(r.down, window{from: t})
}

func (r *replica) markUp(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.down); n > 0 && r.down[n-1].to.IsZero() {
		r.down[n-1].to = t
	}
}

// launch starts a new incarnation on the replica's ports and buffer and
// waits until /readyz answers 200.
func (r *replica) launch(ctx context.Context) error {
	r.mu.Lock()
	n := len(r.incs) + 1
	r.mu.Unlock()
	inc := &incarnation{r: r, n: n, exited: make(chan struct{}),
		logPath: filepath.Join(r.s.logs, fmt.Sprintf("replica-%s-%d.log", r.name, n))}
	f, err := os.Create(inc.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(r.s.bin)
	cmd.Env = append(os.Environ(),
		"LOGSHIPPER_LISTEN="+r.addr(),
		"LOGSHIPPER_HTTP_LISTEN=127.0.0.1:"+strconv.Itoa(r.httpPort),
		"LOGSHIPPER_ELASTICSEARCH_URLS="+r.s.node.url(),
		"LOGSHIPPER_ELASTICSEARCH_INDEX="+r.s.index,
		"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_NAME="+r.s.index,
		"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_REPLICAS=0",
		// Three primary shards: a bulk request becomes three shard-level
		// tasks, so the 429 phase's write pool of one thread rejects some
		// items of a request and not others, as a busy cluster does.
		"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_SHARDS=3",
		"LOGSHIPPER_DEAD_LETTER_PATH="+r.dlq,
		"LOGSHIPPER_LOG_STATS_INTERVAL=1s",
		"LOGSHIPPER_BUFFER_TYPE=disk",
		"LOGSHIPPER_BUFFER_PATH="+r.bufDir,
	)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group (a Ctrl-C reaches the soak only, which stops
	// it); killed if the soak dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	inc.cmd = cmd
	inc.started = time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting replica %s: %v", r.name, err)
	}
	go func() {
		err := cmd.Wait()
		f.Close()
		inc.mu.Lock()
		inc.exitErr, inc.exitedAt = err, time.Now()
		how := inc.how
		inc.mu.Unlock()
		close(inc.exited)
		if how == "" {
			r.markDown(inc.exitedAt)
			r.s.fail("replica %s exited by itself (%v); last log lines:\n%s", inc.label(), err, tailLines(readFile(inc.logPath), 15))
		}
	}()
	r.mu.Lock()
	r.cur = inc
	r.incs = append(r.incs, inc)
	r.mu.Unlock()

	deadline := time.Now().Add(90 * time.Second)
	for {
		code, _, _ := httpGet(ctx, "http://127.0.0.1:"+strconv.Itoa(r.httpPort)+"/readyz", 4*time.Second)
		if code == 200 {
			now := time.Now()
			inc.mu.Lock()
			inc.ready = now
			inc.mu.Unlock()
			r.markUp(now)
			return nil
		}
		select {
		case <-inc.exited:
			return fmt.Errorf("replica %s exited during start: %v\n%s", inc.label(), inc.exitErr, tailLines(readFile(inc.logPath), 30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling another process
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s not ready 90s after its start\n%s", inc.label(), tailLines(readFile(inc.logPath), 30))
		}
	}
}

// kill SIGKILLs the current incarnation and waits for its exit.
func (r *replica) kill(ctx context.Context) (*incarnation, time.Time, error) {
	inc := r.current()
	t := time.Now()
	inc.mu.Lock()
	inc.how, inc.signalled = "SIGKILL", t
	inc.mu.Unlock()
	r.markDown(t)
	if err := syscall.Kill(inc.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return inc, t, err
	}
	select {
	case <-inc.exited:
		return inc, t, nil
	case <-ctx.Done():
		return inc, t, ctx.Err()
	case <-time.After(10 * time.Second):
		return inc, t, fmt.Errorf("replica %s still running 10s after SIGKILL", inc.label())
	}
}

// terminate SIGTERMs the current incarnation, waits for its exit (the
// grace period is 10 s; after 30 s it is SIGKILLed and that is a failure),
// checks the exit status and reads its shutdown line.
func (r *replica) terminate(ctx context.Context, how string) *incarnation {
	inc := r.current()
	if inc == nil {
		return nil
	}
	select {
	case <-inc.exited:
		return inc
	default:
	}
	t := time.Now()
	inc.mu.Lock()
	inc.how, inc.signalled = how, t
	inc.mu.Unlock()
	r.markDown(t)
	syscall.Kill(inc.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-inc.exited:
	case <-ctx.Done():
		return inc
	case <-time.After(30 * time.Second):
		r.s.fail("replica %s still running 30s after SIGTERM (grace period 10s); SIGKILLed", inc.label())
		syscall.Kill(inc.cmd.Process.Pid, syscall.SIGKILL)
		<-inc.exited
	}
	if inc.exitErr != nil {
		r.s.fail("replica %s exited with %v after SIGTERM; last log lines:\n%s", inc.label(), inc.exitErr, tailLines(readFile(inc.logPath), 15))
	}
	line := shutdownLine(readFile(inc.logPath))
	if line == nil {
		r.s.fail("replica %s wrote no \"shutdown complete\" line", inc.label())
	}
	inc.mu.Lock()
	inc.shutdown = line
	inc.mu.Unlock()
	return inc
}

// killForCleanup stops whatever incarnation still runs, at the end.
func (r *replica) killForCleanup() {
	inc := r.current()
	if inc == nil {
		return
	}
	select {
	case <-inc.exited:
		return
	default:
	}
	inc.mu.Lock()
	if inc.how == "" {
		inc.how = "SIGKILL (cleanup)"
	}
	inc.mu.Unlock()
	syscall.Kill(inc.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-inc.exited:
	case <-time.After(10 * time.Second):
	}
}

// msample is one scrape of a replica's /metrics.
type msample struct {
	t                                       time.Time
	indexed, received, retried, dropped     float64
	receivedTCP, receivedUDP                float64
	already                                 float64 // logshipper_events_already_indexed_total (409s), part of indexed
	droppedBy                               map[string]float64
	bufferEvents, queueEvents, tcpConns     float64
	diskFault                               float64 // logshipper_disk_fault{component="buffer"}; -1 when absent
	rss, goroutines, fds                    float64
	hasBuffer, hasRSS, hasGoroutines, hasFD bool
}

type readySample struct {
	t    time.Time
	code int // 0: no answer
	body string
}

func (inc *incarnation) scrape(ctx context.Context) (msample, error) {
	code, b, err := httpGet(ctx, "http://127.0.0.1:"+strconv.Itoa(inc.r.httpPort)+"/metrics", 2*time.Second)
	if err != nil {
		return msample{}, err
	}
	if code != 200 {
		return msample{}, fmt.Errorf("/metrics: %d", code)
	}
	m := parseMetrics(b)
	s := msample{t: time.Now(), droppedBy: map[string]float64{}, diskFault: -1}
	s.indexed = m["logshipper_events_indexed_total"]
	for k, v := range m {
		switch {
		case strings.HasPrefix(k, "logshipper_events_received_total{"):
			s.received += v
			if strings.Contains(k, `"udp"`) {
				s.receivedUDP += v
			} else {
				s.receivedTCP += v // tcp and tls
			}
		case strings.HasPrefix(k, "logshipper_events_dropped_total{"):
			s.dropped += v
			reason := strings.TrimSuffix(strings.TrimPrefix(k, `logshipper_events_dropped_total{reason="`), `"}`)
			s.droppedBy[reason] = v
		case strings.HasPrefix(k, "logshipper_disk_fault{") && strings.Contains(k, `component="buffer"`):
			s.diskFault = v
		}
	}
	s.retried = m["logshipper_events_retried_total"]
	s.already = m["logshipper_events_already_indexed_total"]
	s.bufferEvents, s.hasBuffer = m["logshipper_buffer_events"]
	s.queueEvents = m["logshipper_queue_events"]
	s.tcpConns = m["logshipper_tcp_connections"]
	s.rss, s.hasRSS = m["process_resident_memory_bytes"]
	s.goroutines, s.hasGoroutines = m["go_goroutines"]
	s.fds, s.hasFD = m["process_open_fds"]
	return s, nil
}

// parseMetrics reads the Prometheus text format: name{labels} → value.
func parseMetrics(b []byte) map[string]float64 {
	m := make(map[string]float64, 128)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

func (inc *incarnation) addSample(s msample) {
	inc.mu.Lock()
	inc.samples = append(inc.samples, s)
	inc.mu.Unlock()
}

func (inc *incarnation) addReady(s readySample) {
	inc.mu.Lock()
	inc.readiness = append(inc.readiness, s)
	inc.mu.Unlock()
}

// lastSample is the incarnation's last successful scrape (ok false: none).
func (inc *incarnation) lastSample() (msample, bool) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if len(inc.samples) == 0 {
		return msample{}, false
	}
	return inc.samples[len(inc.samples)-1], true
}

// sampleAt is the last scrape at or before t.
func (inc *incarnation) sampleAt(t time.Time) (msample, bool) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	var out msample
	ok := false
	for _, s := range inc.samples {
		if s.t.After(t) {
			break
		}
		out, ok = s, true
	}
	return out, ok
}

func httpGet(ctx context.Context, url string, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// shutdownLine is the JSON "shutdown complete" line of a replica's log.
func shutdownLine(logs string) map[string]any {
	var out map[string]any
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"shutdown complete"`) {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				out = m
			}
		}
	}
	return out
}

// logLines returns the incarnation's log lines containing any of subs.
func (inc *incarnation) logLines(subs ...string) []string {
	var out []string
	for _, line := range strings.Split(readFile(inc.logPath), "\n") {
		for _, s := range subs {
			if strings.Contains(line, s) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}
