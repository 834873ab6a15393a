package main

// The outage comparison behind bench/outage.sh ("runner outage ..."): the
// outage test of test/e2e (TestElasticsearchOutageMidStream) run on every
// shipper with its default queue settings. For each shipper, one at a time:
// start it pointed at a real OpenSearch node, stream N numbered RFC3164
// messages over one TCP connection with bench/loadgen at a fixed rate, stop
// OpenSearch once a given number is indexed (_count), keep it down, start it
// again on the same data, wait (bounded) for the sender and until the count
// stops changing, then fetch every document (scroll) and count the
// sequence numbers: delivered (distinct), lost, duplicated.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type outageOpts struct {
	osURL, osScript, osPort, osData string
	messages                        int64
	rate                            float64
	stopAt                          int64
	down                            time.Duration
	stall                           time.Duration
	settleCap                       time.Duration
	reachCap                        time.Duration
}

// OutageResult is one shipper's run.
type OutageResult struct {
	Shipper  string `json:"shipper"`
	Queue    string `json:"queue_settings"`
	Index    string `json:"index"`
	RunID    string `json:"run_id"`
	Messages int64  `json:"messages"`
	// Sent is loadgen's count; -1 when it had to be killed (still blocked).
	Sent          int64   `json:"sent"`
	IndexedAtStop int64   `json:"indexed_at_stop"` // _count when OpenSearch was stopped
	StopAfterS    float64 `json:"stop_after_s"`    // first message sent -> OpenSearch stopped
	DownS         float64 `json:"down_s"`          // stop began -> healthy again
	RestartS      float64 `json:"restart_s"`       // opensearch.sh start alone
	// SenderDoneS: first message sent -> loadgen exited (-1: never).
	SenderDoneS float64 `json:"sender_done_s"`
	// SenderDoneAfterUpS: OpenSearch healthy again -> loadgen exited (<0:
	// it finished while OpenSearch was down).
	SenderDoneAfterUpS float64 `json:"sender_done_after_up_s"`
	// LastDocAfterUpS: OpenSearch healthy again -> last change of _count.
	LastDocAfterUpS float64 `json:"last_doc_after_up_s"`
	Settled         string  `json:"settled"` // all | stall | cap | exited
	// ReceivedAtUp: logshipper only, events it had read when OpenSearch was
	// healthy again (the rest still in the kernel's socket buffers).
	ReceivedAtUp  int64  `json:"received_at_up,omitempty"`
	Docs          int64  `json:"docs"` // documents fetched
	Distinct      int64  `json:"distinct"`
	Lost          int64  `json:"lost"`
	Duplicated    int64  `json:"duplicated"`
	NoSeq         int64  `json:"no_seq"`             // documents without this run's seq=
	AfterStop     int64  `json:"arrived_after_stop"` // documents that arrived during the shipper's SIGTERM
	MissingRanges int    `json:"missing_ranges"`
	Missing       string `json:"missing"` // the first missing ranges
	Stats         string `json:"shipper_stats"`
	LoadAvg       string `json:"loadavg"`
	Error         string `json:"error,omitempty"`
}

type outageShipper struct {
	name, queue, index string
	// start returns the process and, for logshipper, its /metrics URL.
	start func(r *Runner, work string, port int, esURL, index string) (*proc, string, error)
	// stats summarises the shipper's own counters (before it is stopped).
	stats func(r *Runner, work, metricsURL string) string
}

// outageMain is "runner outage [flags]" (see bench/outage.sh).
func outageMain(args []string) int {
	fs := flag.NewFlagSet("outage", flag.ExitOnError)
	bench := fs.String("bench-dir", "bench", "the bench/ directory")
	binDir := fs.String("bin-dir", "bench/.bin", "directory holding logshipper and loadgen")
	out := fs.String("out", "bench/results", "results directory (a timestamped sub-directory is made)")
	shippers := fs.String("shippers", "logshipper,logshipper-disk,rsyslog,syslog-ng", "comma-separated: logshipper, logshipper-disk, rsyslog, syslog-ng")
	var o outageOpts
	fs.StringVar(&o.osScript, "os-script", "testenv/opensearch.sh", "testenv/opensearch.sh")
	fs.StringVar(&o.osPort, "os-port", "19270", "port of the OpenSearch node (already started by the caller)")
	fs.StringVar(&o.osData, "os-data", "", "its data directory (for opensearch.sh stop/start)")
	fs.Int64Var(&o.messages, "messages", 200000, "messages per shipper")
	fs.Float64Var(&o.rate, "rate", 10000, "send rate, messages per second (0: as fast as possible)")
	fs.Int64Var(&o.stopAt, "stop-at", 50000, "stop OpenSearch once _count reaches this")
	fs.DurationVar(&o.down, "down", 30*time.Second, "keep OpenSearch down this long (then start it: add its start-up time)")
	fs.DurationVar(&o.stall, "stall", 75*time.Second, "done when _count has not changed for this long after OpenSearch is back and the sender finished (> syslog-ng's time-reopen 60 s, rsyslog's resumeInterval 30 s)")
	fs.DurationVar(&o.settleCap, "settle-cap", 3*time.Minute, "at most this long after OpenSearch is back")
	fs.DurationVar(&o.reachCap, "reach-cap", 2*time.Minute, "at most this long to reach -stop-at")
	lsDesc := fs.String("logshipper-desc", "", "what logshipper binary this is, for the header")
	latest := fs.Bool("latest", false, "also write OUT/latest-outage.md")
	_ = fs.Parse(args)
	if o.osData == "" {
		log.Print("outage: -os-data is required")
		return 2
	}
	o.osURL = "http://127.0.0.1:" + o.osPort
	logshipperDesc = *lsDesc

	r, err := newOpenSearchRunner("outage", *binDir, *bench, *out)
	if err != nil {
		log.Print(err)
		return 1
	}
	var list []outageShipper
	for _, n := range splitList(*shippers) {
		sh, err := r.outageShipperByName(n)
		if err != nil {
			log.Print(err)
			return 2
		}
		list = append(list, sh)
	}
	if err := checkOpenSearch("outage", o.osURL); err != nil {
		log.Print(err)
		return 1
	}
	raw, err := os.Create(filepath.Join(r.OutDir, "outage.jsonl"))
	if err != nil {
		log.Print(err)
		return 1
	}
	defer raw.Close()
	env := machineInfo(r.PeersDir, r.LogshipperBin)
	log.Printf("outage: results in %s", r.OutDir)
	start := time.Now()
	var results []OutageResult
	for i, sh := range list {
		res := r.outageRun(o, sh, i+1)
		results = append(results, res)
		b, _ := json.Marshal(res)
		raw.Write(append(b, '\n'))
		log.Printf("outage %-16s delivered %d  lost %d  duplicated %d  docs %d  %s", sh.name, res.Distinct, res.Lost, res.Duplicated, res.Docs, res.Error)
		if strings.HasPrefix(res.Error, "fatal: ") {
			break // OpenSearch would not come back: the other shippers cannot run
		}
	}
	return r.report("outage", *out, *latest, outageMarkdown(o, env, results, time.Since(start)))
}

// newOpenSearchRunner is the Runner of a bench against a real OpenSearch
// (outage, rolling): binaries from binDir, peers under bench, results in a
// new out/<time>-<kind>/ with its work/ folder.
func newOpenSearchRunner(kind, binDir, bench, out string) (*Runner, error) {
	r := &Runner{
		LogshipperBin: abs(filepath.Join(binDir, "logshipper")),
		LoadgenBin:    abs(filepath.Join(binDir, "loadgen")),
		PeersDir:      abs(filepath.Join(bench, ".peers")),
		ConfDir:       abs(filepath.Join(bench, "peers")),
	}
	r.OutDir = abs(filepath.Join(out, time.Now().UTC().Format("20060102-150405")+"-"+kind))
	r.WorkDir = filepath.Join(r.OutDir, "work")
	if err := os.MkdirAll(r.WorkDir, 0o755); err != nil {
		return nil, err
	}
	return r, nil
}

// checkOpenSearch fails when OpenSearch at osURL does not answer.
func checkOpenSearch(kind, osURL string) error {
	if code, b, err := osDo("GET", osURL+"/", nil); err != nil || code != 200 {
		return fmt.Errorf("%s: OpenSearch at %s does not answer: %v %s", kind, osURL, err, b)
	}
	return nil
}

// report writes md to OUT/<time>-<kind>/<kind>.md (and OUT/latest-<kind>.md
// if latest) and prints it.
func (r *Runner) report(kind, out string, latest bool, md string) int {
	if err := os.WriteFile(filepath.Join(r.OutDir, kind+".md"), []byte(md), 0o644); err != nil {
		log.Print(err)
		return 1
	}
	if latest {
		_ = os.WriteFile(filepath.Join(abs(out), "latest-"+kind+".md"), []byte(md), 0o644)
	}
	fmt.Println(md)
	return 0
}

func (r *Runner) outageShipperByName(name string) (outageShipper, error) {
	switch name {
	case "logshipper":
		return outageShipper{name: name, index: "outage-logshipper-memory", queue: r.logshipperQueueDesc(false),
			start: func(r *Runner, work string, port int, esURL, index string) (*proc, string, error) {
				return r.startLogshipperOutage(work, port, esURL, index, nil)
			}, stats: logshipperOutageStats}, nil
	case "logshipper-disk":
		return outageShipper{name: name, index: "outage-logshipper-disk", queue: r.logshipperQueueDesc(true),
			start: func(r *Runner, work string, port int, esURL, index string) (*proc, string, error) {
				return r.startLogshipperOutage(work, port, esURL, index, []string{
					"LOGSHIPPER_BUFFER_TYPE=disk", "LOGSHIPPER_BUFFER_PATH=" + filepath.Join(work, "buffer")})
			}, stats: logshipperOutageStats}, nil
	case "rsyslog":
		return outageShipper{name: name, index: "outage-rsyslog",
			queue: "defaults: main queue FixedArray 100,000 msgs (2 workers); action queue Direct; `action.resumeRetryCount` 0; `action.resumeInterval` 30 s",
			start: startRsyslogOutage, stats: rsyslogOutageStats}, nil
	case "syslog-ng":
		return outageShipper{name: name, index: "outage-syslog-ng",
			queue: "defaults: `log-fifo-size(10000)` per worker, `workers(4)` and `batch-lines(100)` (the SCL's), no `flags(flow-control)`, no disk-buffer, `time-reopen(60)`",
			start: startSyslogNGOutage, stats: syslogNGOutageStats}, nil
	}
	return outageShipper{}, fmt.Errorf("unknown shipper %q (logshipper, logshipper-disk, rsyslog, syslog-ng)", name)
}

// logshipperQueueDesc describes the measured binary's defaults (from its
// --help, so the table follows the code).
func (r *Runner) logshipperQueueDesc(disk bool) string {
	help := cmdOutAll(r.LogshipperBin, "--help")
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
	s := fmt.Sprintf("defaults: memory queue %s events / %s, batches of %s, %s workers, retry until delivered (backoff up to %s)",
		def("pipeline.queue_size"), mib(def("pipeline.queue_bytes")), def("pipeline.batch_count"), def("pipeline.workers"), def("pipeline.retry_max"))
	if disk {
		s = fmt.Sprintf("defaults + `LOGSHIPPER_BUFFER_TYPE=disk`: write-ahead log up to %s, fsync `%s`", mib(def("buffer.max_bytes")), def("buffer.fsync"))
	}
	return s
}

// cmdOutAll is stdout+stderr of a command, whatever its exit status.
func cmdOutAll(name string, args ...string) string {
	b, _ := exec.Command(name, args...).CombinedOutput()
	return string(b)
}

func (r *Runner) startLogshipperOutage(work string, port int, esURL, index string, extra []string) (*proc, string, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(r.LogshipperBin)
	cmd.Dir = work
	cmd.Env = append(cleanEnv(),
		"LOGSHIPPER_ELASTICSEARCH_URLS="+esURL,
		"LOGSHIPPER_ELASTICSEARCH_INDEX="+index,
		fmt.Sprintf("LOGSHIPPER_LISTEN=127.0.0.1:%d", port),
		fmt.Sprintf("LOGSHIPPER_HTTP_LISTEN=127.0.0.1:%d", httpPort),
		"LOGSHIPPER_DEAD_LETTER_PATH="+filepath.Join(work, "dead-letter.ndjson"),
	)
	cmd.Env = append(cmd.Env, extra...)
	p, err := startProc("logshipper", cmd, filepath.Join(work, "logshipper.log"))
	return p, fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort), err
}

var placeholderRE = regexp.MustCompile(`@[A-Z]+@`)

func fillOutageConf(in, out string, vars map[string]string) error {
	if err := fillTemplate(in, out, vars); err != nil {
		return err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if m := placeholderRE.Find(b); m != nil {
		return fmt.Errorf("%s: placeholder %s not filled", in, m)
	}
	return nil
}

func startRsyslogOutage(r *Runner, work string, port int, esURL, index string) (*proc, string, error) {
	_, esPort := hostPort(esURL)
	p, err := r.startRsyslogConf(work, "rsyslog-outage.conf.in", map[string]string{
		"WORKDIR": work, "ESPORT": esPort, "PORT": fmt.Sprint(port), "INDEX": index,
	})
	return p, "", err
}

func startSyslogNGOutage(r *Runner, work string, port int, esURL, index string) (*proc, string, error) {
	_, esPort := hostPort(esURL)
	p, err := r.startSyslogNGConf(work, "syslog-ng-outage.conf.in", map[string]string{
		"ESPORT": esPort, "PORT": fmt.Sprint(port), "INDEX": index,
	})
	return p, "", err
}

// startRsyslogConf runs the unpacked rsyslogd in the foreground on the
// template confIn (in r.ConfDir) filled with vars, logging to
// work/rsyslog.log.
func (r *Runner) startRsyslogConf(work, confIn string, vars map[string]string) (*proc, error) {
	root := filepath.Join(r.PeersDir, "rsyslog")
	bin := filepath.Join(root, "usr/sbin/rsyslogd")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("rsyslog not unpacked (run bench/peers/install.sh): %w", err)
	}
	conf := filepath.Join(work, "rsyslog.conf")
	if err := fillOutageConf(filepath.Join(r.ConfDir, confIn), conf, vars); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-n", "-f", conf, "-M", filepath.Join(root, "usr/lib/x86_64-linux-gnu/rsyslog"), "-i", filepath.Join(work, "rsyslogd.pid"))
	cmd.Dir = work
	cmd.Env = cleanEnv()
	return startProc("rsyslog", cmd, filepath.Join(work, "rsyslog.log"))
}

// startSyslogNGConf runs the unpacked syslog-ng in the foreground on the
// template confIn (in r.ConfDir) filled with vars plus SCLDIR, logging to
// work/syslog-ng.log.
func (r *Runner) startSyslogNGConf(work, confIn string, vars map[string]string) (*proc, error) {
	root := filepath.Join(r.PeersDir, "syslog-ng")
	bin := filepath.Join(root, "usr/sbin/syslog-ng")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("syslog-ng not unpacked (run bench/peers/install.sh): %w", err)
	}
	modDirs, _ := filepath.Glob(filepath.Join(root, "usr/lib/syslog-ng/3.*"))
	if len(modDirs) == 0 {
		return nil, fmt.Errorf("syslog-ng: no module directory under %s/usr/lib/syslog-ng", root)
	}
	vars["SCLDIR"] = filepath.Join(root, "etc/syslog-ng") + ":" + filepath.Join(root, "usr/share/syslog-ng/include")
	conf := filepath.Join(work, "syslog-ng.conf")
	if err := fillOutageConf(filepath.Join(r.ConfDir, confIn), conf, vars); err != nil {
		return nil, err
	}
	// -e: its own messages (errors, suspensions) to stderr, i.e. the log file.
	cmd := exec.Command(bin, "-F", "-e", "-f", conf, "--module-path="+modDirs[0],
		"-R", filepath.Join(work, "syslog-ng.persist"), "-p", filepath.Join(work, "syslog-ng.pid"),
		"-c", filepath.Join(work, "syslog-ng.ctl"))
	cmd.Dir = work
	cmd.Env = append(cleanEnv(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"))
	return startProc("syslog-ng", cmd, filepath.Join(work, "syslog-ng.log"))
}

// --- the shippers' own counters -------------------------------------------

func logshipperOutageStats(_ *Runner, _, metricsURL string) string {
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

func sumPrefix(m map[string]float64, prefix string) float64 {
	var s float64
	for k, v := range m {
		if k == prefix || strings.HasPrefix(k, prefix+"{") {
			s += v
		}
	}
	return s
}

// rsyslogOutageStats reads the last impstats values of the action, the
// main queue and omelasticsearch.
// readImpstats reads work/impstats.log, rsyslog's counters
// ("Thu Nov 26 20:41:00 2026: NAME: origin=... k=v k=v"), and returns the
// last values per counter set NAME.
func readImpstats(work string) map[string]map[string]string {
	f, err := os.Open(filepath.Join(work, "impstats.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	last := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, ": ")
		if i < 0 {
			continue
		}
		rest := line[i+2:]
		j := strings.Index(rest, ": origin=")
		if j < 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(rest[j+2:]) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		last[rest[:j]] = kv
	}
	return last
}

func rsyslogOutageStats(_ *Runner, work, _ string) string {
	last := readImpstats(work)
	var parts []string
	if a, ok := last["to_opensearch"]; ok {
		parts = append(parts, fmt.Sprintf("action: processed %s, failed %s, suspended %s times (%s s), resumed %s",
			a["processed"], a["failed"], a["suspended"], a["suspended.duration"], a["resumed"]))
	}
	if q, ok := last["main Q"]; ok {
		parts = append(parts, fmt.Sprintf("main queue: enqueued %s, max size %s, full %s, discarded %s+%s",
			q["enqueued"], q["maxqsize"], q["full"], q["discarded.full"], q["discarded.nf"]))
	}
	if e, ok := last["omelasticsearch"]; ok {
		parts = append(parts, fmt.Sprintf("omelasticsearch: submitted %s, failed.httprequests %s, failed.checkConn %s",
			e["submitted"], e["failed.httprequests"], e["failed.checkConn"]))
	}
	return strings.Join(parts, "; ")
}

// syslogNGOutageStats sums syslog-ng-ctl stats of the destination.
func syslogNGOutageStats(r *Runner, work, _ string) string {
	root := filepath.Join(r.PeersDir, "syslog-ng")
	cmd := exec.Command(filepath.Join(root, "usr/sbin/syslog-ng-ctl"), "stats", "-c", filepath.Join(work, "syslog-ng.ctl"))
	cmd.Env = append(cleanEnv(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"))
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	_ = os.WriteFile(filepath.Join(work, "syslog-ng-stats.csv"), b, 0o644)
	// SourceName;SourceId;SourceInstance;State;Type;Number
	sum := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ";")
		if len(f) != 6 || !strings.HasPrefix(f[0], "dst.") {
			continue
		}
		n, _ := strconv.ParseInt(f[5], 10, 64)
		sum[f[4]] += n
	}
	if len(sum) == 0 {
		return ""
	}
	return fmt.Sprintf("destination: processed %d, written %d, dropped %d, queued %d", sum["processed"], sum["written"], sum["dropped"], sum["queued"])
}

// --- OpenSearch -------------------------------------------------------------

func (o outageOpts) script(verb string) error {
	out, err := exec.Command("bash", o.osScript, verb, "--port", o.osPort, "--data", o.osData).CombinedOutput()
	if err != nil {
		return fmt.Errorf("opensearch.sh %s: %v: %s", verb, err, lastLines(string(out), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func (o outageOpts) healthy() bool {
	code, _, err := osDo("GET", o.osURL+"/_cluster/health?wait_for_status=yellow&timeout=30s", nil)
	return err == nil && code == 200
}

// count is _count of index (0 when it does not exist yet).
func (o outageOpts) count(index string) (int64, error) {
	code, b, err := osDo("GET", o.osURL+"/"+index+"/_count", nil)
	if err != nil {
		return 0, err
	}
	if code == 404 {
		return 0, nil
	}
	if code != 200 {
		return 0, fmt.Errorf("_count: %d %.200s", code, b)
	}
	var c struct {
		Count int64 `json:"count"`
	}
	err = json.Unmarshal(b, &c)
	return c.Count, err
}

// reset deletes the index and logshipper's index templates, so every
// shipper starts from the same empty node.
func (o outageOpts) reset(index string) error {
	code, b, err := osDo("DELETE", o.osURL+"/"+index, nil)
	if err != nil || (code != 200 && code != 404) {
		return fmt.Errorf("DELETE /%s: %v %d %.200s", index, err, code, b)
	}
	for _, api := range []string{"_index_template", "_template"} {
		code, b, err := osDo("GET", o.osURL+"/"+api, nil)
		if err != nil || code != 200 {
			continue
		}
		var names []string
		if api == "_index_template" {
			var t struct {
				IndexTemplates []struct {
					Name string `json:"name"`
				} `json:"index_templates"`
			}
			_ = json.Unmarshal(b, &t)
			for _, x := range t.IndexTemplates {
				names = append(names, x.Name)
			}
		} else {
			var t map[string]json.RawMessage
			_ = json.Unmarshal(b, &t)
			for n := range t {
				names = append(names, n)
			}
		}
		for _, n := range names {
			_, _, _ = osDo("DELETE", o.osURL+"/"+api+"/"+n, nil)
		}
	}
	return nil
}

type seqCount struct {
	docs, distinct, dup, noSeq int64
	ranges                     [][2]int64 // missing, inclusive
}

// scrollSeqs fetches every document of index (its message field only) and
// counts the sequence numbers of run.
func (o outageOpts) scrollSeqs(index, run string, n int64) (seqCount, error) {
	var sc seqCount
	if _, _, err := osDo("POST", o.osURL+"/"+index+"/_refresh", nil); err != nil {
		return sc, err
	}
	seen := make([]uint8, n)
	marker := []byte("run=" + run + " seq=")
	code, b, err := osDo("POST", o.osURL+"/"+index+"/_search?scroll=2m",
		[]byte(`{"size":10000,"_source":["message"],"sort":["_doc"],"query":{"match_all":{}}}`))
	if err != nil {
		return sc, err
	}
	if code == 404 {
		b, code = []byte(`{"hits":{"hits":[]}}`), 200
	}
	var scrollID string
	for {
		if code != 200 {
			return sc, fmt.Errorf("scroll: %d %.300s", code, b)
		}
		var page struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					Source struct {
						Message string `json:"message"`
					} `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return sc, err
		}
		scrollID = page.ScrollID
		if len(page.Hits.Hits) == 0 {
			break
		}
		for _, h := range page.Hits.Hits {
			sc.docs++
			m := []byte(h.Source.Message)
			i := bytes.Index(m, marker)
			if i < 0 {
				sc.noSeq++
				continue
			}
			d := m[i+len(marker):]
			var seq int64
			k := 0
			for k < len(d) && k < 9 && d[k] >= '0' && d[k] <= '9' {
				seq = seq*10 + int64(d[k]-'0')
				k++
			}
			if k == 0 || seq >= n {
				sc.noSeq++
				continue
			}
			if seen[seq] < 255 {
				seen[seq]++
			}
		}
		code, b, err = osDo("POST", o.osURL+"/_search/scroll", []byte(`{"scroll":"2m","scroll_id":"`+scrollID+`"}`))
		if err != nil {
			return sc, err
		}
	}
	if scrollID != "" {
		_, _, _ = osDo("DELETE", o.osURL+"/_search/scroll", []byte(`{"scroll_id":"`+scrollID+`"}`))
	}
	start := int64(-1)
	for i := int64(0); i < n; i++ {
		if seen[i] > 0 {
			sc.distinct++
			if start >= 0 {
				sc.ranges = append(sc.ranges, [2]int64{start, i - 1})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		sc.ranges = append(sc.ranges, [2]int64{start, n - 1})
	}
	sc.dup = sc.docs - sc.noSeq - sc.distinct
	return sc, nil
}

// --- the sender ----------------------------------------------------------------

type asyncLoadgen struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	mu     sync.Mutex
	end    time.Time
	err    error
}

func (r *Runner) startLoadgenAsync(port int, run string, o outageOpts) (*asyncLoadgen, error) {
	args := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-proto", "tcp", "-conns", "1",
		"-format", "rfc3164", "-run-id", run, "-json"}
	if o.rate > 0 {
		d := time.Duration(float64(o.messages) / o.rate * float64(time.Second))
		if int64(o.rate*d.Seconds()) != o.messages {
			return nil, fmt.Errorf("-messages %d at -rate %.0f: not a whole number of 10 ms ticks; pick a rate that divides it", o.messages, o.rate)
		}
		args = append(args, "-rate", fmt.Sprint(o.rate), "-duration", d.String())
	} else {
		args = append(args, "-count", fmt.Sprint(o.messages))
	}
	a := &asyncLoadgen{cmd: exec.Command(r.LoadgenBin, args...), done: make(chan struct{})}
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		err := a.cmd.Wait()
		a.mu.Lock()
		a.err, a.end = err, time.Now()
		a.mu.Unlock()
		close(a.done)
	}()
	return a, nil
}

func (a *asyncLoadgen) finished() (bool, time.Time) {
	select {
	case <-a.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		return true, a.end
	default:
		return false, time.Time{}
	}
}

// finish ends the load generator: if it has finished, it reports when and
// how many messages it sent (0 when its report cannot be read); if not, it
// is killed and done is false.
func (a *asyncLoadgen) finish() (end time.Time, sent int64, done bool) {
	done, end = a.finished()
	if !done {
		a.kill()
		return end, 0, false
	}
	var lr loadResult
	if err := json.Unmarshal(bytes.TrimSpace(a.stdout.Bytes()), &lr); err == nil {
		sent = lr.Sent
	}
	return end, sent, true
}

func (a *asyncLoadgen) kill() {
	if ok, _ := a.finished(); ok {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.done
}

// --- one shipper ------------------------------------------------------------------

func (r *Runner) outageRun(o outageOpts, sh outageShipper, seq int) (res OutageResult) {
	res = OutageResult{Shipper: sh.name, Queue: sh.queue, Index: sh.index, Messages: o.messages, Sent: -1,
		SenderDoneS: -1, LoadAvg: loadavg()}
	res.RunID = fmt.Sprintf("o%s%d", strconv.FormatInt(time.Now().UnixNano()/1e6%(36*36*36*36), 36), seq%10)
	logf := func(format string, args ...any) {
		log.Printf("outage %-16s "+format, append([]any{sh.name}, args...)...)
	}

	if !o.healthy() {
		logf("OpenSearch not healthy before the run; starting it")
		_ = o.script("stop")
		if err := o.script("start"); err != nil || !o.healthy() {
			res.Error = fmt.Sprintf("fatal: OpenSearch not up before the run: %v", err)
			return
		}
	}
	if err := o.reset(sh.index); err != nil {
		res.Error = err.Error()
		return
	}
	work := filepath.Join(r.WorkDir, fmt.Sprintf("%d-%s", seq, sh.name))
	if err := os.MkdirAll(work, 0o755); err != nil {
		res.Error = err.Error()
		return
	}
	port, err := freePort()
	if err != nil {
		res.Error = err.Error()
		return
	}
	p, metricsURL, err := sh.start(r, work, port, o.osURL, sh.index)
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer p.stop(20 * time.Second)
	if err := waitTCP(port, 20*time.Second, p.alive); err != nil {
		res.Error = err.Error()
		return
	}
	if metricsURL != "" { // logshipper: ready when OpenSearch answers it
		ready := strings.Replace(metricsURL, "/metrics", "/readyz", 1)
		for i := 0; i < 100; i++ {
			if resp, err := http.Get(ready); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	} else {
		time.Sleep(time.Second) // the peers connect on the first message
	}

	lg, err := r.startLoadgenAsync(port, res.RunID, o)
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer lg.kill()
	t0 := time.Now() // loadgen pre-generates for well under a second first
	logf("streaming %d messages at %.0f/s (run %s)", o.messages, o.rate, res.RunID)

	// 1. until stop-at documents are indexed
	var c int64
	for {
		// A refresh first: _count sees what the last refresh made visible,
		// and the default refresh interval (1 s) is a 10,000-30,000
		// documents step at these rates.
		_, _, _ = osDo("POST", o.osURL+"/"+sh.index+"/_refresh", nil)
		c, _ = o.count(sh.index)
		if c >= o.stopAt {
			break
		}
		if time.Since(t0) > o.reachCap || !p.alive() {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c == 0 {
		res.Error = fmt.Sprintf("nothing indexed within %s (shipper alive: %v); see %s", o.reachCap, p.alive(), work)
		return
	}
	if c < o.stopAt {
		res.Error = fmt.Sprintf("only %d indexed within %s; OpenSearch stopped anyway", c, o.reachCap)
	}

	// 2. the outage
	tStop := time.Now()
	res.IndexedAtStop = c
	res.StopAfterS = tStop.Sub(t0).Seconds()
	logf("%d indexed after %.1f s: stopping OpenSearch for %s", c, res.StopAfterS, o.down)
	if err := o.script("stop"); err != nil {
		logf("%v", err)
	}
	time.Sleep(o.down)
	tStart := time.Now()
	err = o.script("start")
	if err != nil {
		logf("%v; trying once more", err)
		_ = o.script("stop")
		err = o.script("start")
	}
	if err != nil {
		res.Error = "fatal: OpenSearch did not come back: " + err.Error()
		return
	}
	tUp := time.Now()
	res.RestartS = tUp.Sub(tStart).Seconds()
	res.DownS = tUp.Sub(tStop).Seconds()
	logf("OpenSearch back after %.1f s (start-up %.1f s)", res.DownS, res.RestartS)
	if metricsURL != "" {
		m := scrapeMetrics(metricsURL, "logshipper_events_received_total")
		res.ReceivedAtUp = int64(sumPrefix(m, "logshipper_events_received_total"))
	}

	// 3. the sender, then until nothing changes
	last, lastChange := int64(-1), tUp
	for {
		now := time.Now()
		if c, err := o.count(sh.index); err == nil && c != last {
			if last >= 0 {
				lastChange = now
				res.LastDocAfterUpS = now.Sub(tUp).Seconds()
			}
			last = c
		}
		done, end := lg.finished()
		quiet := now.Sub(lastChange)
		if done && end.After(tUp) && now.Sub(end) < quiet {
			quiet = now.Sub(end)
		}
		switch {
		case done && last >= o.messages && quiet >= 10*time.Second:
			res.Settled = "all"
		case done && quiet >= o.stall:
			res.Settled = "stall"
		case now.Sub(tUp) >= o.settleCap:
			res.Settled = "cap"
		case !p.alive() && quiet >= 10*time.Second:
			res.Settled = "exited"
		}
		if res.Settled != "" {
			break
		}
		time.Sleep(time.Second)
	}
	if end, sent, done := lg.finish(); done {
		res.SenderDoneS = end.Sub(t0).Seconds()
		res.SenderDoneAfterUpS = end.Sub(tUp).Seconds()
		res.Sent = sent
	}
	logf("settled (%s): _count %d, sender done: %v", res.Settled, last, res.SenderDoneS >= 0)

	// 4. count
	res.Stats = sh.stats(r, work, metricsURL)
	before, _ := o.count(sh.index)
	if _, _, err := osDo("POST", o.osURL+"/"+sh.index+"/_refresh", nil); err == nil {
		before, _ = o.count(sh.index)
	}
	p.stop(20 * time.Second)
	sc, err := o.scrollSeqs(sh.index, res.RunID, o.messages)
	if err != nil {
		res.Error = strings.TrimSpace(res.Error + " count: " + err.Error())
		return
	}
	res.Docs, res.Distinct, res.Duplicated, res.NoSeq = sc.docs, sc.distinct, sc.dup, sc.noSeq
	res.Lost = o.messages - sc.distinct
	res.AfterStop = sc.docs - before
	res.MissingRanges = len(sc.ranges)
	res.Missing = formatRanges(sc.ranges, 3, false)
	return res
}

// formatRanges lists the first max ranges of missing sequence numbers,
// "12–40, 77, …", with each range's length if withLen.
func formatRanges(ranges [][2]int64, max int, withLen bool) string {
	var rs []string
	for i, rg := range ranges {
		if i == max {
			rs = append(rs, "…")
			break
		}
		switch {
		case rg[0] == rg[1]:
			rs = append(rs, fmtInt(rg[0]))
		case withLen:
			rs = append(rs, fmt.Sprintf("%s–%s (%d)", fmtInt(rg[0]), fmtInt(rg[1]), rg[1]-rg[0]+1))
		default:
			rs = append(rs, fmtInt(rg[0])+"–"+fmtInt(rg[1]))
		}
	}
	return strings.Join(rs, ", ")
}

// fmtInt writes 1234567 as 1,234,567.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (res OutageResult) notes(o outageOpts) string {
	var n []string
	if res.Error != "" {
		n = append(n, "**"+res.Error+"**")
	}
	n = append(n, fmt.Sprintf("OpenSearch stopped at %s indexed (%.1f s into the stream), back after %.0f s",
		fmtInt(res.IndexedAtStop), res.StopAfterS, res.DownS))
	switch {
	case res.SenderDoneS < 0:
		n = append(n, fmt.Sprintf("sender still blocked %.0f s after OpenSearch was back (killed)", o.settleCap.Seconds()))
	case res.SenderDoneAfterUpS > 0:
		n = append(n, fmt.Sprintf("sender held back (TCP back-pressure), finished %.0f s after OpenSearch was back", res.SenderDoneAfterUpS))
	default:
		n = append(n, fmt.Sprintf("sender's last write returned during the outage (%.1f s)", res.SenderDoneS))
	}
	switch {
	case res.ReceivedAtUp >= res.Messages:
		n = append(n, fmt.Sprintf("it had read all %s when OpenSearch was back", fmtInt(res.ReceivedAtUp)))
	case res.ReceivedAtUp > 0:
		n = append(n, fmt.Sprintf("it had read %s when OpenSearch was back, the rest waited in the TCP socket buffers", fmtInt(res.ReceivedAtUp)))
	}
	if res.LastDocAfterUpS > 0 {
		n = append(n, fmt.Sprintf("last document %.0f s after OpenSearch was back", res.LastDocAfterUpS))
	} else {
		n = append(n, "nothing more indexed after OpenSearch was back")
	}
	if res.MissingRanges > 0 {
		n = append(n, fmt.Sprintf("missing seq %s (%d range(s))", res.Missing, res.MissingRanges))
	}
	if res.AfterStop > 0 {
		n = append(n, fmt.Sprintf("%s documents arrived during its SIGTERM", fmtInt(res.AfterStop)))
	}
	if res.NoSeq > 0 {
		n = append(n, fmt.Sprintf("%d documents without a sequence number", res.NoSeq))
	}
	if res.Settled == "cap" {
		n = append(n, fmt.Sprintf("still changing %.0f s after OpenSearch was back (stopped waiting)", o.settleCap.Seconds()))
	}
	if res.Stats != "" {
		n = append(n, res.Stats)
	}
	return strings.Join(n, "; ")
}

func outageMarkdown(o outageOpts, env []string, results []OutageResult, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Outage: OpenSearch stopped in the middle of a stream (`bench/outage.sh`)\n\n")
	for _, e := range env {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	rate := "as fast as possible"
	if o.rate > 0 {
		rate = fmt.Sprintf("at %s msgs/s", fmtInt(int64(o.rate)))
	}
	fmt.Fprintf(&b, "- per shipper, one at a time: %s numbered RFC3164 messages over one TCP connection %s (bench/loadgen) into a real OpenSearch 2.19 node (testenv/opensearch.sh, 1 GiB heap); "+
		"once `_count` reached %s, OpenSearch stopped (SIGTERM), kept down %s, started again on the same data; "+
		"then wait for the sender and until `_count` has not changed for %s (or everything arrived; at most %s after OpenSearch was back), stop the shipper, "+
		"fetch every document (scroll) and count the `seq=` of this run: delivered = distinct, lost = %s − distinct, duplicated = documents − distinct\n",
		fmtInt(o.messages), rate, fmtInt(o.stopAt), o.down, o.stall, o.settleCap, fmtInt(o.messages))
	fmt.Fprintf(&b, "- run took %s\n\n", took.Round(time.Second))
	fmt.Fprintf(&b, "| shipper | queue settings used | delivered | lost | duplicated | notes |\n|---|---|---:|---:|---:|---|\n")
	for _, res := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", res.Shipper, res.Queue, fmtInt(res.Distinct), fmtInt(res.Lost), fmtInt(res.Duplicated), res.notes(o))
	}
	return b.String()
}
