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
// opensearch.go), with -queue the queue-tier bench (queue.go); "runner
// outage", "runner rolling" and "runner curves" are outage.go, rolling.go
// and curves.go. Use the
// scripts bench/run.sh, os.sh, queue.sh, outage.sh and rolling.sh rather
// than calling it directly: they build the binaries and install the peers.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario is one row group of the table.
type Scenario struct {
	Name   string
	Proto  string
	Conns  int
	Format string
	// Rate > 0: sent at this many messages per second for Duration (UDP
	// and steady scenarios) instead of as fast as the shipper reads.
	Rate     float64
	Duration time.Duration
	// Vary: varied content (loadgen -vary: a pool of distinct messages)
	// instead of copies of one message that differ in their sequence number.
	Vary bool
	// Size: loadgen -size (0: its 150 bytes). Timeout: loadgen -timeout,
	// giving up on a shipper that stops reading (0: never).
	Size    int
	Timeout time.Duration
}

func (s Scenario) title(messages int64) string {
	f := s.Format
	if s.Vary {
		f += " varied (pool of distinct messages)"
	}
	if s.Proto == "udp" {
		return fmt.Sprintf("UDP, %s, %.0f msgs/s for %s (%d messages)", f, s.Rate, s.Duration, s.fixedCount())
	}
	c := "1 connection"
	if s.Conns > 1 {
		c = fmt.Sprintf("%d connections", s.Conns)
	}
	if s.Rate > 0 {
		return fmt.Sprintf("TCP, %s, %s, steady %.0f msgs/s for %s (%d messages)", c, f, s.Rate, s.Duration, s.fixedCount())
	}
	return fmt.Sprintf("TCP, %s, %s, %d messages", c, f, messages)
}

// fixedCount is the number of messages a fixed-rate scenario sends.
func (s Scenario) fixedCount() int64 { return int64(s.Rate * s.Duration.Seconds()) }

// loadFormats are the message formats of bench/loadgen a scenario names.
var loadFormats = []string{"rfc3164", "rfc5424", "raw", "octet"}

// knownScenarios are tcp1-, tcp8-, steady8- and udp- with each format, and
// the same with "-varied" appended (tcp1-rfc3164-varied, ...): varied
// content. tcp1- and tcp8- send as fast as the shipper reads (its
// saturated cost); steady8- sends at steadyRate over 8 connections, the
// load most sites run at, where batches are smaller and wake-ups more
// frequent per message (its cost below saturation).
func knownScenarios(udpRate float64, udpDur time.Duration, steadyRate float64, steadyDur time.Duration) map[string]Scenario {
	m := map[string]Scenario{}
	for _, f := range loadFormats {
		for _, s := range []Scenario{
			{Name: "tcp1-" + f, Proto: "tcp", Conns: 1, Format: f},
			{Name: "tcp8-" + f, Proto: "tcp", Conns: 8, Format: f},
			{Name: "steady8-" + f, Proto: "tcp", Conns: 8, Format: f, Rate: steadyRate, Duration: steadyDur},
			{Name: "udp-" + f, Proto: "udp", Conns: 1, Format: f, Rate: udpRate, Duration: udpDur},
		} {
			m[s.Name] = s
			s.Name += "-varied"
			s.Vary = true
			m[s.Name] = s
		}
	}
	return m
}

// steadyScenario reads steady<N>-<format>[-varied] for any N connections
// (steady8- is in knownScenarios): steady200-rfc3164 with -steady-rate
// 2000 is 200 senders of 10 messages per second each, the many quiet
// devices of a real site, where every read brings a message or two.
func steadyScenario(name string, rate float64, dur time.Duration) (Scenario, bool) {
	rest, ok := strings.CutPrefix(name, "steady")
	digits, rest, ok2 := strings.Cut(rest, "-")
	conns, err := strconv.Atoi(digits)
	if !ok || !ok2 || err != nil || conns < 1 {
		return Scenario{}, false
	}
	f, vary := strings.CutSuffix(rest, "-varied")
	if !slices.Contains(loadFormats, f) {
		return Scenario{}, false
	}
	return Scenario{Name: name, Proto: "tcp", Conns: conns, Format: f, Rate: rate, Duration: dur, Vary: vary}, true
}

// Result is one shipper's run of one scenario round.
type Result struct {
	Scenario string `json:"scenario"`
	Shipper  string `json:"shipper"`
	Round    int    `json:"round"`
	RunID    string `json:"run_id"`
	delivery
	RateMsgs   float64 `json:"msgs_per_s"` // delivered / (last doc in sink - first send)
	SendS      float64 `json:"send_s"`
	TotalS     float64 `json:"total_s"`
	CPUS       float64 `json:"cpu_s"`
	CPUPer1M   float64 `json:"cpu_s_per_1m"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Threads    int64   `json:"threads"`
	LoadgenCPU float64 `json:"loadgen_cpu_s"`
	// Varied scenarios: loadgen's mean message length without framing.
	MeanMsgLen float64 `json:"mean_msg_len,omitempty"`
	SinkCPU    float64 `json:"sink_cpu_s"`
	// The shipper's threads during the run (procSched): seconds runnable
	// but waiting for a CPU, context switches given up and taken; and
	// logshipper's garbage collections (go_gc_duration_seconds_count).
	RunQueueWaitS float64 `json:"run_queue_wait_s"`
	VoluntaryCS   int64   `json:"voluntary_cs"`
	InvoluntaryCS int64   `json:"involuntary_cs"`
	GCCycles      float64 `json:"gc_cycles,omitempty"`
	// Machine-wide UDP receive-buffer drops during the run (/proc/net/snmp).
	UDPKernelDrops int64 `json:"udp_kernel_drops"`
	// logshipper only: its own counters from /metrics after the run.
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	LoadAvg  string             `json:"loadavg"`
	Error    string             `json:"error,omitempty"`
	Finished time.Time          `json:"finished"`
}

func main() {
	log.SetFlags(log.Ltime)
	if len(os.Args) > 1 && os.Args[1] == "outage" {
		os.Exit(outageMain(os.Args[2:])) // bench/outage.sh, see outage.go
	}
	if len(os.Args) > 1 && os.Args[1] == "rolling" {
		os.Exit(rollingMain(os.Args[2:])) // bench/rolling.sh, see rolling.go
	}
	if len(os.Args) > 1 && os.Args[1] == "curves" {
		os.Exit(curvesMain(os.Args[2:])) // bench/curves.sh, see curves.go
	}
	cf := addCommonFlags(flag.CommandLine, "bench/.bin", true, "also copy the table to OUT/latest.md (latest-opensearch.md)")
	rounds := flag.Int("rounds", 3, "rounds per scenario and shipper")
	messages := flag.Int64("messages", 1_000_000, "messages per TCP run")
	warmup := flag.Int64("warmup", 2000, "messages sent (and awaited) before each measured run")
	shippers := flag.String("shippers", "logshipper,rsyslog,syslog-ng", "comma-separated shippers")
	scen := flag.String("scenarios", "tcp1-rfc3164,tcp1-rfc5424,tcp1-raw,tcp8-rfc3164,steady8-rfc3164,udp-rfc3164", "comma-separated scenarios: tcp1-|tcp8-|steady8-|udp- + rfc3164|rfc5424|raw|octet, optionally + -varied (varied content: loadgen -vary); steady<N>- for N connections at -steady-rate")
	udpRate := flag.Float64("udp-rate", 100_000, "UDP scenarios: messages per second")
	udpDur := flag.Duration("udp-duration", 10*time.Second, "UDP scenarios: duration")
	steadyRate := flag.Float64("steady-rate", 100_000, "steady<N>- scenarios: messages per second (over the N connections together)")
	steadyDur := flag.Duration("steady-duration", 10*time.Second, "steady<N>- scenarios: duration")
	stall := flag.Duration("stall", 20*time.Second, "TCP: give up waiting when the sink got nothing new for this long (the rest counts as lost)")
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

	r, err := cf.newRunner("")
	if err != nil {
		log.Fatal(err)
	}
	r.Rounds, r.Messages, r.Warmup = *rounds, *messages, *warmup
	r.Shippers, r.Stall, r.StallUDP = splitList(*shippers), *stall, 4*time.Second
	if *confDir != "" {
		r.ConfDir = abs(*confDir)
	}
	outRoot := abs(*cf.out)
	switch {
	case *queueSpec != "":
		q := &queueSetup{RunCap: *queueCap, RedisMaxLen: *queueMaxLen, PartitionKey: *queueKey, BrokersDesc: *queueDesc}
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
		err = r.runQueue(q, outRoot, *cf.latest)
	case *osURL != "":
		err = r.runOpenSearch(osNode{url: strings.TrimSuffix(*osURL, "/")}, *osPID, *osWorkers, *osBatch, outRoot, *cf.latest)
	default:
		known := knownScenarios(*udpRate, *udpDur, *steadyRate, *steadyDur)
		for _, n := range splitList(*scen) {
			s, ok := known[n]
			if !ok {
				s, ok = steadyScenario(n, *steadyRate, *steadyDur)
			}
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
		err = r.run(outRoot, *cf.latest)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run is the throughput bench; its report is table.md (latest.md).
func (r *Runner) run(outRoot string, latest bool) error {
	return r.frame("", true, outRoot, latest, func(env []string, record func(any)) (string, error) {
		log.Printf("results in %s; sink at %s", r.OutDir, r.sinkURL)
		start := time.Now()
		for _, sc := range r.Scenarios {
			for round := 1; round <= r.Rounds; round++ {
				for _, name := range rotated(r.Shippers, round) {
					sh, _ := r.shipperByName(name)
					res := r.runOne(sc, sh, round)
					r.results = append(r.results, res)
					record(res)
					if res.Error != "" {
						log.Printf("%-13s %-10s round %d: ERROR %s", sc.Name, name, round, res.Error)
					}
					log.Printf("%-13s %-10s round %d: %9.0f msgs/s  cpu %6.2f s/1M  rss %6.1f MiB  lost %d  dup %d  (send %.2fs, total %.2fs)",
						sc.Name, name, round, res.RateMsgs, res.CPUPer1M, res.PeakRSSMiB, res.Lost, res.Duplicates, res.SendS, res.TotalS)
				}
			}
		}
		return r.markdown(env, time.Since(start)), r.writeCSV(filepath.Join(r.OutDir, "results.csv"))
	})
}

func (r *Runner) runOne(sc Scenario, sh *shipper, round int) (res Result) {
	r.runSeq++
	runID := newRunID("b", r.runSeq)
	res = Result{Scenario: sc.Name, Shipper: sh.name, Round: round, RunID: runID, LoadAvg: loadavg()}
	defer func() { res.Finished = time.Now().UTC() }()
	count := r.Messages
	if sc.Rate > 0 {
		count = sc.fixedCount()
	}
	res.Messages = count
	work, err := r.workDir("%03d-%s-%s-r%d", r.runSeq, sc.Name, sh.name, round)
	if err != nil {
		res.Error = err.Error()
		return
	}
	p, port, metricsURL, err := startOn(15*time.Second, func(port int) (*proc, string, error) {
		return sh.start(work, port, r.sinkURL, sc.Proto == "udp")
	})
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer p.stop(15 * time.Second)
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
	// Read before cpu0: serving /metrics costs the shipper CPU that is not
	// the run's.
	gc0 := sumPrefix(scrapeMetrics(metricsURL, "go_gc_duration_seconds_count"), "go_gc_duration_seconds_count")
	sched0 := procSched(p.pid)
	udp0 := udpRcvbufErrors()
	cpu0, err := procCPU(p.pid)
	if err != nil {
		res.Error = err.Error()
		return
	}
	sinkCPU0, _ := procCPU(r.sinkProc.pid)
	lr, lerr := r.loadgen(sc, port, runID, count)
	if lerr != nil && lr.Sent == 0 {
		res.Error = lerr.Error()
		return
	}
	res.Sent = lr.Sent
	res.SendS = lr.ElapsedS
	res.LoadgenCPU = lr.SendCPUS
	res.MeanMsgLen = lr.MeanLen
	stall := r.Stall
	if sc.Proto == "udp" {
		stall = r.StallUDP
	}
	st, werr := r.waitDelivered(runID, lr.Sent, stall, r.runCap(), p.alive)
	cpu1, cerr := procCPU(p.pid)
	sinkCPU1, _ := procCPU(r.sinkProc.pid)
	sched := procSched(p.pid).sub(sched0)
	res.RunQueueWaitS, res.VoluntaryCS, res.InvoluntaryCS = sched.WaitS, sched.Voluntary, sched.Involuntary
	res.UDPKernelDrops = udpRcvbufErrors() - udp0
	if werr == nil {
		st = r.lateDuplicates(runID, lr.Sent, st)
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
	res.set(st, lr.Sent)
	res.TotalS, res.RateMsgs = e2e(st, lr.FirstSendNS)
	if metricsURL != "" {
		res.Metrics = scrapeMetrics(metricsURL, "logshipper_events_")
		res.GCCycles = sumPrefix(scrapeMetrics(metricsURL, "go_gc_duration_seconds_count"), "go_gc_duration_seconds_count") - gc0
	}
	if werr != nil && sc.Proto != "udp" {
		res.Error = werr.Error()
	}
	if lerr != nil {
		res.Error = strings.TrimSpace(res.Error + " " + lerr.Error())
	}
	return res
}

func (r *Runner) markdown(env []string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Throughput into the bench sink\n\n")
	writeList(&b, env)
	fmt.Fprintf(&b, "- rounds: %d (medians shown; lost and dup are summed over the rounds), bench took %s\n",
		r.Rounds, took.Round(time.Second))
	fmt.Fprintf(&b, "- msgs/s = messages delivered / (last document in the sink - first message sent); CPU = utime+stime of the shipper process (all threads) from the first message sent to the last document in the sink, per 1,000,000 messages; RSS = VmHWM (peak, includes start-up and warm-up)\n\n")
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "### %s\n\n", sc.title(r.Messages))
		if sc.Vary {
			fmt.Fprintf(&b, "Varied content (loadgen -vary): %s.\n\n", r.variedNote(sc.Name))
		}
		udp, fixed := sc.Proto == "udp", sc.Rate > 0
		if udp {
			fmt.Fprintf(&b, "| shipper | msgs/s | CPU-s per 1M | peak RSS MiB | lost | lost %% | dup | kernel rcvbuf drops | own drop counter | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		} else {
			fmt.Fprintf(&b, "| shipper | msgs/s | CPU-s per 1M | peak RSS MiB | lost | dup | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|\n")
		}
		type agg struct{ rate, cpu float64 }
		aggs := map[string]agg{}
		for _, name := range r.Shippers {
			col, t := columns{}, tally{}
			var kdrops, msgs int64
			dropped := "n/a"
			var droppedSum float64
			haveDropped := false
			for _, res := range r.results {
				if res.Scenario != sc.Name || res.Shipper != name {
					continue
				}
				t.add(res.Error, res.Lost, res.Duplicates)
				col.add("rate", res.RateMsgs)
				col.add("cpu", res.CPUPer1M)
				col.add("rss", res.PeakRSSMiB)
				kdrops += res.UDPKernelDrops
				msgs += res.Messages
				if s, ok := res.dropped(); ok {
					droppedSum += s
					haveDropped = true
				}
			}
			if haveDropped {
				dropped = fmt.Sprintf("%.0f", droppedSum)
			}
			rate, cpu, rss := col.median("rate"), col.median("cpu"), col.median("rss")
			aggs[name] = agg{rate, cpu}
			if udp {
				pct := 0.0
				if msgs > 0 {
					pct = 100 * float64(t.lost) / float64(msgs)
				}
				fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.1f | %d | %.3f | %d | %d | %s | %d/%d |\n",
					name, rate, cpu, rss, t.lost, pct, t.dup, kdrops, dropped, t.ok, t.n)
			} else {
				fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.1f | %d | %d | %d/%d |\n",
					name, rate, cpu, rss, t.lost, t.dup, t.ok, t.n)
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
			if fixed {
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
		r.writeRounds(&b, sc.Name)
		fmt.Fprintln(&b)
	}
	var errs []string
	for _, res := range r.results {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("- %s %s round %d: %s", res.Scenario, res.Shipper, res.Round, res.Error))
		}
	}
	writeErrors(&b, "", errs)
	return b.String()
}

// writeRounds lists each shipper's rounds of a scenario: its CPU-s per
// 1M beside the sink's in the same round. The sink does the same work per
// document in every round of a shipper, so its figure shows how fast the
// machine was then: a round of about a second (logshipper at a million
// msgs/s) falls wholly into a stretch where the shared machine runs slow,
// and the sink's figure rises with the shipper's.
func (r *Runner) writeRounds(b *strings.Builder, scenario string) {
	fmt.Fprintf(b, "\nRounds in run order (shipper CPU-s per 1M / the sink's CPU-s per 1M in the same round):\n\n")
	for _, name := range r.Shippers {
		var parts []string
		for _, res := range r.results {
			if res.Scenario != scenario || res.Shipper != name || res.Delivered == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%.2f / %.2f", res.CPUPer1M, res.SinkCPU/float64(res.Delivered)*1e6))
		}
		if len(parts) > 0 {
			fmt.Fprintf(b, "- %s: %s\n", name, strings.Join(parts, ", "))
		}
	}
}

// variedNote describes the varied messages of scenario name as loadgen
// reported them.
func (r *Runner) variedNote(name string) string {
	var lens []float64
	for _, res := range r.results {
		if res.Scenario == name && res.MeanMsgLen > 0 {
			lens = append(lens, res.MeanMsgLen)
		}
	}
	note := "every message from a pool of distinct messages (hosts, programs, pids, timestamps, priorities, lengths, text, structured data), cycled through"
	if len(lens) > 0 {
		lo, hi := lens[0], lens[0]
		for _, l := range lens {
			lo, hi = min(lo, l), max(hi, l)
		}
		if hi-lo < 0.05 {
			note += fmt.Sprintf("; mean message length %.1f B without framing", lo)
		} else {
			note += fmt.Sprintf("; mean message length %.1f-%.1f B without framing", lo, hi)
		}
	}
	return note
}

// dropped is logshipper's own drop counter (all reasons), if it has one.
func (res Result) dropped() (float64, bool) {
	var s float64
	have := false
	for k, v := range res.Metrics {
		if strings.HasPrefix(k, "logshipper_events_dropped_total") {
			s += v
			have = true
		}
	}
	return s, have
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
		"udp_kernel_drops", "logshipper_dropped", "loadavg", "error", "mean_msg_len"})
	for _, r := range r.results {
		dropped, meanLen := "", ""
		if r.MeanMsgLen > 0 {
			meanLen = fmt.Sprintf("%.1f", r.MeanMsgLen)
		}
		if r.Metrics != nil {
			s, _ := r.dropped()
			dropped = fmt.Sprintf("%.0f", s)
		}
		_ = w.Write([]string{r.Scenario, r.Shipper, strconv.Itoa(r.Round), r.RunID, fmt.Sprint(r.Messages), fmt.Sprint(r.Sent),
			fmt.Sprint(r.Delivered), fmt.Sprint(r.Docs), fmt.Sprint(r.Lost), fmt.Sprint(r.Duplicates),
			fmt.Sprintf("%.0f", r.RateMsgs), fmt.Sprintf("%.3f", r.SendS), fmt.Sprintf("%.3f", r.TotalS), fmt.Sprintf("%.2f", r.CPUS),
			fmt.Sprintf("%.3f", r.CPUPer1M), fmt.Sprintf("%.1f", r.PeakRSSMiB), fmt.Sprint(r.Threads), fmt.Sprintf("%.3f", r.LoadgenCPU),
			fmt.Sprintf("%.2f", r.SinkCPU), fmt.Sprint(r.UDPKernelDrops), dropped, r.LoadAvg, r.Error, meanLen})
	}
	w.Flush()
	return w.Error()
}
