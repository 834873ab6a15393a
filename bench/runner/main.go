// Command runner drives the throughput bench of bench/run.sh: for each
// scenario, round and shipper (logshipper, rsyslog, syslog-ng, one at a
// time) it starts the shipper pointed at bench/sink, sends the messages with
// bench/loadgen, waits until the sink has them all (or stops making
// progress), and records msgs/s, the shipper's CPU seconds per million
// messages (utime+stime of the process, all threads, from /proc/PID/stat),
// its peak RSS (VmHWM), lost and duplicated messages. It prints one
// markdown table per scenario with the medians over the rounds and writes
// the raw results as JSON lines and CSV.
//
// With -opensearch URL it runs the OpenSearch comparison instead (see
// opensearch.go), with -queue the queue-tier bench (queue.go). Use
// bench/run.sh, bench/os.sh and bench/queue.sh rather than calling it
// directly: they build the binaries and install the peers.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scenario is one row group of the table.
type Scenario struct {
	Name     string
	Proto    string
	Conns    int
	Format   string
	Rate     float64       // UDP: messages per second
	Duration time.Duration // UDP: for this long
}

func (s Scenario) title(messages int64) string {
	if s.Proto == "udp" {
		return fmt.Sprintf("UDP, %s, %.0f msgs/s for %s (%d messages)", s.Format, s.Rate, s.Duration, int64(s.Rate*s.Duration.Seconds()))
	}
	c := "1 connection"
	if s.Conns > 1 {
		c = fmt.Sprintf("%d connections", s.Conns)
	}
	return fmt.Sprintf("TCP, %s, %s, %d messages", c, s.Format, messages)
}

func knownScenarios(udpRate float64, udpDur time.Duration) map[string]Scenario {
	m := map[string]Scenario{}
	for _, f := range []string{"rfc3164", "rfc5424", "raw", "octet"} {
		m["tcp1-"+f] = Scenario{Name: "tcp1-" + f, Proto: "tcp", Conns: 1, Format: f}
		m["tcp8-"+f] = Scenario{Name: "tcp8-" + f, Proto: "tcp", Conns: 8, Format: f}
		m["udp-"+f] = Scenario{Name: "udp-" + f, Proto: "udp", Conns: 1, Format: f, Rate: udpRate, Duration: udpDur}
	}
	return m
}

// Result is one shipper's run of one scenario round.
type Result struct {
	Scenario   string  `json:"scenario"`
	Shipper    string  `json:"shipper"`
	Round      int     `json:"round"`
	RunID      string  `json:"run_id"`
	Messages   int64   `json:"messages"`
	Sent       int64   `json:"sent"`
	Delivered  int64   `json:"delivered"` // unique sequence numbers in the sink
	Docs       int64   `json:"docs"`
	Lost       int64   `json:"lost"`
	Duplicates int64   `json:"duplicates"`
	RateMsgs   float64 `json:"msgs_per_s"` // delivered / (last doc in sink - first send)
	SendS      float64 `json:"send_s"`
	TotalS     float64 `json:"total_s"`
	CPUS       float64 `json:"cpu_s"`
	CPUPer1M   float64 `json:"cpu_s_per_1m"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Threads    int64   `json:"threads"`
	LoadgenCPU float64 `json:"loadgen_cpu_s"`
	SinkCPU    float64 `json:"sink_cpu_s"`
	// Machine-wide UDP receive-buffer drops during the run (/proc/net/snmp).
	UDPKernelDrops int64 `json:"udp_kernel_drops"`
	// logshipper only: its own counters from /metrics after the run.
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	LoadAvg  string             `json:"loadavg"`
	Error    string             `json:"error,omitempty"`
	Finished time.Time          `json:"finished"`
}

// logshipperDesc says which logshipper was measured (set by run.sh).
var logshipperDesc string

// writeLatest: copy the tables to latest.md / latest-opensearch.md.
var writeLatest = true

// Runner holds the settings and state of a bench run.
type Runner struct {
	LogshipperBin, LoadgenBin, SinkBin string
	PeersDir, ConfDir, OutDir, WorkDir string
	Rounds                             int
	Messages                           int64
	Warmup                             int64
	Shippers                           []string
	Scenarios                          []Scenario
	Stall                              time.Duration
	StallUDP                           time.Duration

	sinkURL        string
	sinkProc       *proc
	currentMetrics string
	results        []Result
	raw            *os.File
	runSeq         int
}

func main() {
	log.SetFlags(log.Ltime)
	if len(os.Args) > 1 && os.Args[1] == "outage" {
		os.Exit(outageMain(os.Args[2:])) // bench/outage.sh, see outage.go
	}
	if len(os.Args) > 1 && os.Args[1] == "rolling" {
		os.Exit(rollingMain(os.Args[2:])) // bench/rolling.sh, see rolling.go
	}
	bench := flag.String("bench-dir", "bench", "the bench/ directory (peers/ configs, .peers/ unpacked peers)")
	binDir := flag.String("bin-dir", "bench/.bin", "directory holding logshipper, loadgen and sink binaries")
	out := flag.String("out", "bench/results", "results directory (a timestamped sub-directory is made)")
	rounds := flag.Int("rounds", 3, "rounds per scenario and shipper")
	messages := flag.Int64("messages", 1_000_000, "messages per TCP run")
	warmup := flag.Int64("warmup", 2000, "messages sent (and awaited) before each measured run")
	shippers := flag.String("shippers", "logshipper,rsyslog,syslog-ng", "comma-separated shippers")
	scen := flag.String("scenarios", "tcp1-rfc3164,tcp1-rfc5424,tcp1-raw,tcp8-rfc3164,udp-rfc3164", "comma-separated scenarios: tcp1-|tcp8-|udp- + rfc3164|rfc5424|raw|octet")
	udpRate := flag.Float64("udp-rate", 100_000, "UDP scenarios: messages per second")
	udpDur := flag.Duration("udp-duration", 10*time.Second, "UDP scenarios: duration")
	stall := flag.Duration("stall", 20*time.Second, "TCP: give up waiting when the sink got nothing new for this long (the rest counts as lost)")
	lsDesc := flag.String("logshipper-desc", "", "what logshipper binary this is (commit), for the table header")
	latest := flag.Bool("latest", true, "also copy the table to OUT/latest.md (latest-opensearch.md)")
	confDir := flag.String("peer-conf-dir", "", "directory of rsyslog.conf.in and syslog-ng.conf.in (default BENCH-DIR/peers)")
	osURL := flag.String("opensearch", "", "run the OpenSearch comparison against this URL instead (see bench/os.sh)")
	osPID := flag.Int("opensearch-pid", 0, "with -opensearch: the OpenSearch JVM's pid, for its CPU time")
	osWorkers := flag.Int("direct-workers", 2, "with -opensearch: concurrent bulk requests of the direct loader")
	osBatch := flag.Int("direct-batch", 1000, "with -opensearch: documents per bulk request of the direct loader")
	queueSpec := flag.String("queue", "", "run the queue-tier bench instead (see bench/queue.sh): kafka=127.0.0.1:PORT,redis=redis://127.0.0.1:PORT")
	queuePIDs := flag.String("queue-pids", "", "with -queue: the brokers' pids, for their CPU time: kafka=PID,redis=PID")
	queueConfs := flag.String("queue-configs", "direct,kafka-0,kafka-1,kafka-2,redis-0,redis-1", "with -queue: configs to run (direct, kafka-0, kafka-1, kafka-2, redis-0, redis-1)")
	queueCap := flag.Duration("queue-run-cap", 3*time.Minute, "with -queue: hard cap of one run (start to last document)")
	queueMaxLen := flag.Int64("queue-redis-max-len", 10_000_000, "with -queue: the edge's redis.max_len")
	queueKey := flag.String("queue-partition-key", "none", "with -queue: the edge's kafka.partition_key")
	queueDesc := flag.String("queue-brokers-desc", "", "with -queue: which Kafka and Redis, for the table header")
	flag.Parse()

	r := &Runner{
		LogshipperBin: abs(filepath.Join(*binDir, "logshipper")),
		LoadgenBin:    abs(filepath.Join(*binDir, "loadgen")),
		SinkBin:       abs(filepath.Join(*binDir, "sink")),
		PeersDir:      abs(filepath.Join(*bench, ".peers")),
		ConfDir:       abs(filepath.Join(*bench, "peers")),
		Rounds:        *rounds,
		Messages:      *messages,
		Warmup:        *warmup,
		Shippers:      splitList(*shippers),
		Stall:         *stall,
		StallUDP:      4 * time.Second,
	}
	logshipperDesc = *lsDesc
	writeLatest = *latest
	if *confDir != "" {
		r.ConfDir = abs(*confDir)
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	r.OutDir = abs(filepath.Join(*out, stamp))
	r.WorkDir = filepath.Join(r.OutDir, "work")
	if err := os.MkdirAll(r.WorkDir, 0o755); err != nil {
		log.Fatal(err)
	}
	if *queueSpec != "" {
		q := &queueSetup{RunCap: *queueCap, RedisMaxLen: *queueMaxLen, PartitionKey: *queueKey, BrokersDesc: *queueDesc, OutRoot: abs(*out)}
		var err error
		if q.Kafka, q.Redis, q.KafkaPID, q.RedisPID, err = parseQueueSpec(*queueSpec, *queuePIDs); err != nil {
			log.Fatal(err)
		}
		for _, n := range splitList(*queueConfs) {
			c, ok := queueConfigs[n]
			if !ok {
				log.Fatalf("unknown queue config %q (direct, kafka-0, kafka-1, kafka-2, redis-0, redis-1)", n)
			}
			q.Configs = append(q.Configs, c)
		}
		if err := r.runQueue(q); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *osURL != "" {
		if err := r.runOpenSearch(*osURL, *osPID, *osWorkers, *osBatch, abs(*out)); err != nil {
			log.Fatal(err)
		}
		return
	}
	known := knownScenarios(*udpRate, *udpDur)
	for _, n := range splitList(*scen) {
		s, ok := known[n]
		if !ok {
			log.Fatalf("unknown scenario %q", n)
		}
		r.Scenarios = append(r.Scenarios, s)
	}
	for _, s := range r.Shippers {
		if _, err := r.shipperByName(s); err != nil {
			log.Fatal(err)
		}
	}
	if err := r.run(abs(*out)); err != nil {
		log.Fatal(err)
	}
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (r *Runner) startSink() error {
	pf := filepath.Join(r.WorkDir, "sink.port")
	_ = os.Remove(pf)
	cmd := exec.Command(r.SinkBin, "-addr", "127.0.0.1:0", "-port-file", pf, "-quiet")
	p, err := startProc("sink", cmd, filepath.Join(r.WorkDir, "sink.log"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(pf); err == nil && len(bytes.TrimSpace(b)) > 0 {
			r.sinkURL = "http://127.0.0.1:" + string(bytes.TrimSpace(b))
			r.sinkProc = p
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(time.Second)
	return errors.New("sink did not start")
}

func (r *Runner) run(outRoot string) error {
	var err error
	r.raw, err = os.Create(filepath.Join(r.OutDir, "results.jsonl"))
	if err != nil {
		return err
	}
	defer r.raw.Close()
	if err := r.startSink(); err != nil {
		return err
	}
	defer r.sinkProc.stop(2 * time.Second)
	env := machineInfo(r.PeersDir, r.LogshipperBin)
	log.Printf("results in %s; sink at %s", r.OutDir, r.sinkURL)
	start := time.Now()
	for _, sc := range r.Scenarios {
		for round := 1; round <= r.Rounds; round++ {
			// Rotate the order each round so a noisy neighbour does not
			// always hit the same shipper.
			for i := range r.Shippers {
				name := r.Shippers[(i+round-1)%len(r.Shippers)]
				sh, _ := r.shipperByName(name)
				res := r.runOne(sc, sh, round)
				r.results = append(r.results, res)
				b, _ := json.Marshal(res)
				r.raw.Write(append(b, '\n'))
				if res.Error != "" {
					log.Printf("%-13s %-10s round %d: ERROR %s", sc.Name, name, round, res.Error)
				}
				log.Printf("%-13s %-10s round %d: %9.0f msgs/s  cpu %6.2f s/1M  rss %6.1f MiB  lost %d  dup %d  (send %.2fs, total %.2fs)",
					sc.Name, name, round, res.RateMsgs, res.CPUPer1M, res.PeakRSSMiB, res.Lost, res.Duplicates, res.SendS, res.TotalS)
			}
		}
	}
	md := r.markdown(env, time.Since(start))
	if err := os.WriteFile(filepath.Join(r.OutDir, "table.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if writeLatest {
		_ = os.WriteFile(filepath.Join(outRoot, "latest.md"), []byte(md), 0o644)
	}
	if err := r.writeCSV(filepath.Join(r.OutDir, "results.csv")); err != nil {
		return err
	}
	fmt.Println(md)
	return nil
}

type sinkRun struct {
	Docs       int64  `json:"docs"`
	Unique     int64  `json:"unique"`
	Duplicates int64  `json:"duplicates"`
	LastDocNS  int64  `json:"last_doc_ns"`
	Missing    *int64 `json:"missing"`
}

func (r *Runner) sinkStats(run string, expect int64) (sinkRun, error) {
	resp, err := http.Get(fmt.Sprintf("%s/_sink/stats?run=%s&expect=%d", r.sinkURL, run, expect))
	if err != nil {
		return sinkRun{}, err
	}
	defer resp.Body.Close()
	var st struct {
		Runs map[string]sinkRun `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return sinkRun{}, err
	}
	return st.Runs[run], nil
}

type loadResult struct {
	Sent        int64   `json:"sent"`
	FirstSendNS int64   `json:"first_send_ns"`
	LastSendNS  int64   `json:"last_send_ns"`
	ElapsedS    float64 `json:"elapsed_s"`
	SendCPUS    float64 `json:"send_cpu_s"`
	TotalCPUS   float64 `json:"total_cpu_s"`
	Errors      int64   `json:"errors"`
	FirstErr    string  `json:"first_error"`
}

func (r *Runner) loadgen(sc Scenario, port int, runID string, count int64) (loadResult, error) {
	args := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-proto", sc.Proto, "-conns", strconv.Itoa(sc.Conns),
		"-format", sc.Format, "-run-id", runID, "-json"}
	if sc.Proto == "udp" && count == int64(sc.Rate*sc.Duration.Seconds()) {
		args = append(args, "-rate", fmt.Sprint(sc.Rate), "-duration", sc.Duration.String())
	} else {
		args = append(args, "-count", strconv.FormatInt(count, 10))
	}
	cmd := exec.Command(r.LoadgenBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var lr loadResult
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &lr); jerr != nil {
		if err == nil {
			err = jerr
		}
		return lr, fmt.Errorf("loadgen: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if lr.Errors > 0 {
		return lr, fmt.Errorf("loadgen: %d errors, first: %s", lr.Errors, lr.FirstErr)
	}
	return lr, nil
}

// waitDelivered polls the sink until it has expect unique messages of run,
// or nothing new arrived for stall (after sending ended), or hardCap.
func (r *Runner) waitDelivered(run string, expect int64, stall, hardCap time.Duration, alive func() bool) (sinkRun, error) {
	start := time.Now()
	last := int64(-1)
	lastChange := time.Now()
	for {
		st, err := r.sinkStats(run, expect)
		if err != nil {
			return st, err
		}
		if st.Unique >= expect {
			return st, nil
		}
		if st.Docs != last {
			last, lastChange = st.Docs, time.Now()
		}
		if time.Since(lastChange) > stall {
			return st, fmt.Errorf("stalled at %d of %d for %s", st.Unique, expect, stall)
		}
		if time.Since(start) > hardCap {
			return st, fmt.Errorf("timeout after %s at %d of %d", hardCap, st.Unique, expect)
		}
		if alive != nil && !alive() {
			return st, fmt.Errorf("shipper exited at %d of %d", st.Unique, expect)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *Runner) runOne(sc Scenario, sh *shipper, round int) (res Result) {
	r.runSeq++
	// Short (it is inside every message, which should stay ~150 bytes) and
	// unique per run: results.jsonl maps it to scenario, shipper and round.
	runID := fmt.Sprintf("b%s%d", strconv.FormatInt(time.Now().UnixNano()/1e6%(36*36*36*36), 36), r.runSeq%10)
	res = Result{Scenario: sc.Name, Shipper: sh.name, Round: round, RunID: runID, LoadAvg: loadavg()}
	defer func() { res.Finished = time.Now().UTC() }()
	count := r.Messages
	if sc.Proto == "udp" {
		count = int64(sc.Rate * sc.Duration.Seconds())
	}
	res.Messages = count
	work := filepath.Join(r.WorkDir, fmt.Sprintf("%03d-%s-%s-r%d", r.runSeq, sc.Name, sh.name, round))
	if err := os.MkdirAll(work, 0o755); err != nil {
		res.Error = err.Error()
		return
	}
	port, err := freePort()
	if err != nil {
		res.Error = err.Error()
		return
	}
	p, err := sh.start(r, work, port, r.sinkURL, sc.Proto == "udp")
	if err != nil {
		res.Error = err.Error()
		return
	}
	metricsURL := r.currentMetrics
	defer p.stop(15 * time.Second)
	if err := waitTCP(port, 20*time.Second, p.alive); err != nil {
		res.Error = err.Error()
		return
	}
	if sc.Proto == "udp" {
		time.Sleep(300 * time.Millisecond) // UDP socket bound with the TCP one, but be sure
	}
	// Warm-up: the shipper connects to the sink, installs its template,
	// and the sink's per-run counters are proven to work.
	if r.Warmup > 0 {
		warmSc := sc
		warmSc.Proto = "tcp"
		if _, err := r.loadgen(warmSc, port, runID+"w", r.Warmup); err != nil {
			res.Error = "warm-up: " + err.Error()
			return
		}
		if _, err := r.waitDelivered(runID+"w", r.Warmup, 30*time.Second, 60*time.Second, p.alive); err != nil {
			res.Error = "warm-up: " + err.Error()
			return
		}
	}
	cpu0, err := procCPU(p.pid)
	if err != nil {
		res.Error = err.Error()
		return
	}
	var sinkCPU0 float64
	if r.sinkProc != nil {
		sinkCPU0, _ = procCPU(r.sinkProc.pid)
	}
	udp0 := udpRcvbufErrors()
	lr, lerr := r.loadgen(sc, port, runID, count)
	if lerr != nil && lr.Sent == 0 {
		res.Error = lerr.Error()
		return
	}
	res.Sent = lr.Sent
	res.SendS = lr.ElapsedS
	res.LoadgenCPU = lr.SendCPUS
	stall := r.Stall
	if sc.Proto == "udp" {
		stall = r.StallUDP
	}
	hardCap := 10 * time.Minute
	st, werr := r.waitDelivered(runID, lr.Sent, stall, hardCap, p.alive)
	cpu1, cerr := procCPU(p.pid)
	var sinkCPU1 float64
	if r.sinkProc != nil {
		sinkCPU1, _ = procCPU(r.sinkProc.pid)
	}
	res.UDPKernelDrops = udpRcvbufErrors() - udp0
	if werr == nil {
		// Late duplicates (a resent batch) would show up now.
		time.Sleep(300 * time.Millisecond)
		if st2, err := r.sinkStats(runID, lr.Sent); err == nil {
			st = st2
		}
	}
	status := procStatus(p.pid, "VmHWM", "Threads")
	res.PeakRSSMiB = float64(status["VmHWM"]) / 1024
	res.Threads = status["Threads"]
	if cerr == nil {
		res.CPUS = cpu1 - cpu0
		if lr.Sent > 0 {
			res.CPUPer1M = res.CPUS / float64(lr.Sent) * 1e6
		}
	}
	res.SinkCPU = sinkCPU1 - sinkCPU0
	res.Docs = st.Docs
	res.Delivered = st.Unique
	res.Duplicates = st.Duplicates
	res.Lost = res.Messages - st.Unique
	if st.Missing != nil {
		res.Lost = *st.Missing + (res.Messages - lr.Sent)
	}
	if st.LastDocNS > lr.FirstSendNS && st.Unique > 0 {
		res.TotalS = float64(st.LastDocNS-lr.FirstSendNS) / 1e9
		res.RateMsgs = float64(st.Unique) / res.TotalS
	}
	if metricsURL != "" {
		res.Metrics = scrapeMetrics(metricsURL, "logshipper_events_")
	}
	if werr != nil && sc.Proto != "udp" {
		res.Error = werr.Error()
	}
	if lerr != nil {
		res.Error = strings.TrimSpace(res.Error + " " + lerr.Error())
	}
	return res
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

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *Runner) markdown(env []string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Throughput into the bench sink\n\n")
	for _, e := range env {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	fmt.Fprintf(&b, "- rounds: %d (medians shown; lost and dup are summed over the rounds), bench took %s\n",
		r.Rounds, took.Round(time.Second))
	fmt.Fprintf(&b, "- msgs/s = messages delivered / (last document in the sink - first message sent); CPU = utime+stime of the shipper process (all threads) from the first message sent to the last document in the sink, per 1,000,000 messages; RSS = VmHWM (peak, includes start-up and warm-up)\n\n")
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "### %s\n\n", sc.title(r.Messages))
		udp := sc.Proto == "udp"
		if udp {
			fmt.Fprintf(&b, "| shipper | msgs/s | CPU-s per 1M | peak RSS MiB | lost | lost %% | dup | kernel rcvbuf drops | own drop counter | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		} else {
			fmt.Fprintf(&b, "| shipper | msgs/s | CPU-s per 1M | peak RSS MiB | lost | dup | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|\n")
		}
		type agg struct{ rate, cpu float64 }
		aggs := map[string]agg{}
		for _, name := range r.Shippers {
			var rate, cpu, rss []float64
			var lost, dup, kdrops, msgs int64
			ok, n := 0, 0
			dropped := "n/a"
			var droppedSum float64
			haveDropped := false
			for _, res := range r.results {
				if res.Scenario != sc.Name || res.Shipper != name {
					continue
				}
				n++
				if res.Error == "" {
					ok++
				}
				if res.RateMsgs > 0 {
					rate = append(rate, res.RateMsgs)
				}
				if res.CPUPer1M > 0 {
					cpu = append(cpu, res.CPUPer1M)
				}
				if res.PeakRSSMiB > 0 {
					rss = append(rss, res.PeakRSSMiB)
				}
				lost += res.Lost
				dup += res.Duplicates
				kdrops += res.UDPKernelDrops
				msgs += res.Messages
				for k, v := range res.Metrics {
					if strings.HasPrefix(k, "logshipper_events_dropped_total") {
						droppedSum += v
						haveDropped = true
					}
				}
			}
			if haveDropped {
				dropped = fmt.Sprintf("%.0f", droppedSum)
			}
			aggs[name] = agg{median(rate), median(cpu)}
			if udp {
				pct := 0.0
				if msgs > 0 {
					pct = 100 * float64(lost) / float64(msgs)
				}
				fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.1f | %d | %.3f | %d | %d | %s | %d/%d |\n",
					name, median(rate), median(cpu), median(rss), lost, pct, dup, kdrops, dropped, ok, n)
			} else {
				fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.1f | %d | %d | %d/%d |\n",
					name, median(rate), median(cpu), median(rss), lost, dup, ok, n)
			}
		}
		for _, ours := range []string{"logshipper", "logshipper-disk"} {
			ls, ok := aggs[ours]
			if !ok {
				continue
			}
			bestRate, bestCPU := 0.0, 0.0
			bestRateName, bestCPUName := "", ""
			for name, a := range aggs {
				if strings.HasPrefix(name, "logshipper") {
					continue
				}
				if a.rate > bestRate {
					bestRate, bestRateName = a.rate, name
				}
				if a.cpu > 0 && (bestCPU == 0 || a.cpu < bestCPU) {
					bestCPU, bestCPUName = a.cpu, name
				}
			}
			if udp {
				// The send rate is fixed: compare loss (above) and CPU only.
				if bestCPU > 0 && ls.cpu > 0 {
					fmt.Fprintf(&b, "\n%s vs the better peer: %.2fx the CPU per message of %s (msgs/s is the delivered rate at a fixed send rate; compare lost).\n",
						ours, ls.cpu/bestCPU, bestCPUName)
				}
			} else if bestRate > 0 && bestCPU > 0 && ls.cpu > 0 {
				fmt.Fprintf(&b, "\n%s vs the better peer: %.2fx the msgs/s of %s, %.2fx the CPU per message of %s.\n",
					ours, ls.rate/bestRate, bestRateName, ls.cpu/bestCPU, bestCPUName)
			}
		}
		fmt.Fprintln(&b)
	}
	var errs []string
	for _, res := range r.results {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("- %s %s round %d: %s", res.Scenario, res.Shipper, res.Round, res.Error))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "Runs with errors:\n\n%s\n", strings.Join(errs, "\n"))
	}
	return b.String()
}

func (r *Runner) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"scenario", "shipper", "round", "run_id", "messages", "sent", "delivered", "docs", "lost", "duplicates",
		"msgs_per_s", "send_s", "total_s", "cpu_s", "cpu_s_per_1m", "peak_rss_mib", "threads", "loadgen_cpu_s", "sink_cpu_s",
		"udp_kernel_drops", "logshipper_dropped", "loadavg", "error"})
	for _, r := range r.results {
		dropped := ""
		if r.Metrics != nil {
			var s float64
			for k, v := range r.Metrics {
				if strings.HasPrefix(k, "logshipper_events_dropped_total") {
					s += v
				}
			}
			dropped = fmt.Sprintf("%.0f", s)
		}
		_ = w.Write([]string{r.Scenario, r.Shipper, strconv.Itoa(r.Round), r.RunID, fmt.Sprint(r.Messages), fmt.Sprint(r.Sent),
			fmt.Sprint(r.Delivered), fmt.Sprint(r.Docs), fmt.Sprint(r.Lost), fmt.Sprint(r.Duplicates),
			fmt.Sprintf("%.0f", r.RateMsgs), fmt.Sprintf("%.3f", r.SendS), fmt.Sprintf("%.3f", r.TotalS), fmt.Sprintf("%.2f", r.CPUS),
			fmt.Sprintf("%.3f", r.CPUPer1M), fmt.Sprintf("%.1f", r.PeakRSSMiB), fmt.Sprint(r.Threads), fmt.Sprintf("%.3f", r.LoadgenCPU),
			fmt.Sprintf("%.2f", r.SinkCPU), fmt.Sprint(r.UDPKernelDrops), dropped, r.LoadAvg, r.Error})
	}
	w.Flush()
	return w.Error()
}

// machineInfo describes where and what ran, for the table's header.
func machineInfo(peersDir, logshipperBin string) []string {
	var out []string
	out = append(out, "date: "+time.Now().UTC().Format("2006-01-02 15:04 MST"))
	cpuModel := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i >= 0 {
					cpuModel = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	nproc := strings.TrimSpace(cmdOut("nproc"))
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.Split(string(b), "\n")[0])[1]
		if kb, err := strconv.ParseFloat(mem, 64); err == nil {
			mem = fmt.Sprintf("%.0f GiB", kb/1024/1024)
		}
	}
	out = append(out, fmt.Sprintf("machine: %s CPUs (nproc), %s, %s RAM, kernel %s", nproc, cpuModel, mem, strings.TrimSpace(cmdOut("uname", "-r"))))
	desc := logshipperDesc
	if desc == "" {
		desc = "commit " + strings.TrimSpace(cmdOut("git", "rev-parse", "--short", "HEAD"))
	}
	out = append(out, fmt.Sprintf("logshipper: %s (%s), %s, default settings", desc, strings.TrimSpace(cmdOut(logshipperBin, "--version")), strings.TrimSpace(cmdOut("go", "version"))))
	if b, err := os.ReadFile(filepath.Join(peersDir, "VERSIONS")); err == nil {
		v := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(string(b)), "Package: ", ""), " Version: ", " ")
		out = append(out, "peers (Debian 12 packages): "+strings.ReplaceAll(v, "\n", ", "))
	}
	out = append(out, "load average at start: "+loadavg()+" (the machine is shared: other jobs may run at the same time)")
	return out
}

func cmdOut(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return string(b)
}
