package main

// logshipper as every bench starts it (defaults but for its addresses,
// the dead-letter file and what a bench sets), its /metrics and /readyz,
// and what it says about itself.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// role is one logshipper process: its syslog and HTTP ports, log and
// dead-letter file.
type role struct {
	name           string
	port, httpPort int
	logPath, dlq   string
	p              *proc
}

func (ro *role) metrics() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", ro.httpPort)
}

// startRole starts r.LogshipperBin in work as ro (on a free HTTP port if
// ro.httpPort is 0), sending to esURL, with env on top of its defaults.
func (r *Runner) startRole(work, esURL string, ro *role, env ...string) error {
	if ro.httpPort == 0 {
		var err error
		if ro.httpPort, err = freePort(); err != nil {
			return err
		}
	}
	cmd := exec.Command(r.LogshipperBin)
	cmd.Dir = work
	// Defaults otherwise: the bench measures what a user gets.
	cmd.Env = append(cleanEnv(),
		"LOGSHIPPER_ELASTICSEARCH_URLS="+esURL,
		fmt.Sprintf("LOGSHIPPER_LISTEN=127.0.0.1:%d", ro.port),
		fmt.Sprintf("LOGSHIPPER_HTTP_LISTEN=127.0.0.1:%d", ro.httpPort),
		"LOGSHIPPER_DEAD_LETTER_PATH="+ro.dlq,
	)
	cmd.Env = append(cmd.Env, env...)
	p, err := startProc(ro.name, cmd, ro.logPath)
	if err == nil {
		ro.p = p
	}
	return err
}

// startLogshipper is the one logshipper of a run (work/logshipper.log);
// it returns the process and its /metrics URL.
func (r *Runner) startLogshipper(work string, port int, esURL string, env ...string) (*proc, string, error) {
	ro := &role{name: "logshipper", port: port, logPath: filepath.Join(work, "logshipper.log"), dlq: filepath.Join(work, "dead-letter.ndjson")}
	err := r.startRole(work, esURL, ro, env...)
	return ro.p, ro.metrics(), err
}

// diskEnv is logshipper with the disk buffer (buffer.type disk, default
// fsync policy) in the run's work directory: what durability costs.
func diskEnv(work string) []string {
	return []string{"LOGSHIPPER_BUFFER_TYPE=disk", "LOGSHIPPER_BUFFER_PATH=" + filepath.Join(work, "buffer")}
}

// cleanEnv is the environment without LOGSHIPPER_* settings of the caller.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LOGSHIPPER_") {
			env = append(env, e)
		}
	}
	return env
}

// ready says whether the /readyz beside metricsURL answers 200
// (logshipper: its output is reachable).
func ready(metricsURL string) bool {
	resp, err := http.Get(strings.Replace(metricsURL, "/metrics", "/readyz", 1))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// waitReady asks ready up to tries times, every interval.
func waitReady(metricsURL string, tries int, every time.Duration) bool {
	for i := 0; i < tries; i++ {
		if ready(metricsURL) {
			return true
		}
		time.Sleep(every)
	}
	return false
}

func scrapeMetrics(url, prefix string) map[string]float64 {
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// sumPrefix sums the lines of one metric (all label sets).
func sumPrefix(m map[string]float64, name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// counter is sumPrefix of one metric read from url.
func counter(url, name string) (float64, error) {
	m := scrapeMetrics(url, name)
	if m == nil {
		return 0, fmt.Errorf("%s: no answer", url)
	}
	return sumPrefix(m, name), nil
}

// received is logshipper_events_received_total at url (0 if it does not answer).
func received(metricsURL string) int64 {
	v, _ := counter(metricsURL, "logshipper_events_received_total")
	return int64(v)
}

// logshipperQueueDesc describes the measured binary's defaults (from its
// --help, so the table follows the code).
func (r *Runner) logshipperQueueDesc(disk bool) string {
	b, _ := exec.Command(r.LogshipperBin, "--help").CombinedOutput()
	help := string(b)
	def := func(key string) string {
		m := regexp.MustCompile(`--` + regexp.QuoteMeta(key) + `\s.*\(default "?([^")]*)"?\)`).FindStringSubmatch(help)
		if m == nil {
			return "?"
		}
		return m[1]
	}
	mib := func(s string) string {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return s
		}
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if disk {
		return fmt.Sprintf("defaults + `LOGSHIPPER_BUFFER_TYPE=disk`: write-ahead log up to %s, fsync `%s`", mib(def("buffer.max_bytes")), def("buffer.fsync"))
	}
	return fmt.Sprintf("defaults: memory queue %s events / %s, batches of %s, %s workers, retry until delivered (backoff up to %s)",
		def("pipeline.queue_size"), mib(def("pipeline.queue_bytes")), def("pipeline.batch_count"), def("pipeline.workers"), def("pipeline.retry_max"))
}

// logshipperStats summarises its own counters (before it is stopped).
func logshipperStats(_, metricsURL string) string {
	m := scrapeMetrics(metricsURL, "logshipper_")
	if len(m) == 0 {
		return ""
	}
	var dropped float64
	var reasons []string
	for k, v := range m {
		if strings.HasPrefix(k, "logshipper_events_dropped_total") && v > 0 {
			dropped += v
			reasons = append(reasons, fmt.Sprintf("%s %.0f", strings.TrimPrefix(k, "logshipper_events_dropped_total"), v))
		}
	}
	sort.Strings(reasons)
	s := fmt.Sprintf("its metrics: received %.0f, indexed %.0f, retried %.0f, dropped %.0f",
		sumPrefix(m, "logshipper_events_received_total"), m["logshipper_events_indexed_total"],
		m["logshipper_events_retried_total"], dropped)
	if len(reasons) > 0 {
		s += " (" + strings.Join(reasons, ", ") + ")"
	}
	if v, ok := m["logshipper_events_already_indexed_total"]; ok && v > 0 {
		s += fmt.Sprintf(", already indexed (409) %.0f", v)
	}
	return s
}
