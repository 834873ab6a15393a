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
	"flag"
	"fmt"
	"log"
	"strings"
	"time"
)

type outageOpts struct {
	osNode
	streamOpts
	stopAt int64
	down   time.Duration
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
	ReceivedAtUp int64 `json:"received_at_up,omitempty"`
	seqResult
	AfterStop     int64  `json:"arrived_after_stop"` // documents that arrived during the shipper's SIGTERM
	MissingRanges int    `json:"missing_ranges"`
	Missing       string `json:"missing"` // the first missing ranges
	Stats         string `json:"shipper_stats"`
	LoadAvg       string `json:"loadavg"`
	Error         string `json:"error,omitempty"`
}

// outageMain is "runner outage [flags]" (see bench/outage.sh).
func outageMain(args []string) int {
	fs := flag.NewFlagSet("outage", flag.ExitOnError)
	cf := addCommonFlags(fs, "bench/.bin", false, "also write OUT/latest-outage.md")
	shippers := fs.String("shippers", "logshipper,logshipper-disk,rsyslog,syslog-ng", "comma-separated: logshipper, logshipper-disk, rsyslog, syslog-ng")
	var o outageOpts
	fs.StringVar(&o.script, "os-script", "testenv/opensearch.sh", "testenv/opensearch.sh")
	fs.StringVar(&o.port, "os-port", "19270", "port of the OpenSearch node (already started by the caller)")
	fs.StringVar(&o.data, "os-data", "", "its data directory (for opensearch.sh stop/start)")
	fs.Int64Var(&o.messages, "messages", 200000, "messages per shipper")
	fs.Float64Var(&o.rate, "rate", 10000, "send rate, messages per second (0: as fast as possible)")
	fs.Int64Var(&o.stopAt, "stop-at", 50000, "stop OpenSearch once _count reaches this")
	fs.DurationVar(&o.down, "down", 30*time.Second, "keep OpenSearch down this long (then start it: add its start-up time)")
	fs.DurationVar(&o.stall, "stall", 75*time.Second, "done when _count has not changed for this long after OpenSearch is back and the sender finished (> syslog-ng's time-reopen 60 s, rsyslog's resumeInterval 30 s)")
	fs.DurationVar(&o.settleCap, "settle-cap", 3*time.Minute, "at most this long after OpenSearch is back")
	fs.DurationVar(&o.reachCap, "reach-cap", 2*time.Minute, "at most this long to reach -stop-at")
	_ = fs.Parse(args)
	if o.data == "" {
		log.Print("outage: -os-data is required")
		return 2
	}
	o.url = "http://127.0.0.1:" + o.port
	r, err := cf.newRunner("-outage")
	if err != nil {
		log.Print(err)
		return 1
	}
	var list []*shipper
	for _, n := range splitList(*shippers) {
		sh, err := r.outageShipperByName(n)
		if err != nil {
			log.Print(err)
			return 2
		}
		list = append(list, sh)
	}
	return r.osBench("outage", o.osNode, *cf.out, *cf.latest, func(env []string, record func(any)) string {
		start := time.Now()
		var results []OutageResult
		for i, sh := range list {
			res := r.outageRun(o, sh, i+1)
			results = append(results, res)
			record(res)
			log.Printf("outage %-16s delivered %d  lost %d  duplicated %d  docs %d  %s", sh.name, res.Distinct, res.Lost, res.Duplicated, res.Docs, res.Error)
			if strings.HasPrefix(res.Error, "fatal: ") {
				break // OpenSearch would not come back: the other shippers cannot run
			}
		}
		return outageMarkdown(o, env, results, time.Since(start))
	})
}

// osBench is frame for a bench against the OpenSearch node (outage,
// rolling): it checks the node first, and logs errors and returns an exit
// status.
func (r *Runner) osBench(kind string, node osNode, out string, latest bool, bench func(env []string, record func(any)) string) int {
	err := node.check()
	if err == nil {
		err = r.frame(kind, false, abs(out), latest, func(env []string, record func(any)) (string, error) {
			log.Printf("%s: results in %s", kind, r.OutDir)
			return bench(env, record), nil
		})
	}
	if err != nil {
		log.Printf("%s: %v", kind, err)
		return 1
	}
	return 0
}

func (r *Runner) outageShipperByName(name string) (*shipper, error) {
	sh := &shipper{name: name, index: "outage-" + name}
	switch name {
	case "logshipper", "logshipper-disk":
		if name == "logshipper" {
			sh.index = "outage-logshipper-memory"
		}
		sh.queue, sh.stats = r.logshipperQueueDesc(name == "logshipper-disk"), logshipperStats
		sh.start = func(work string, port int, esURL string, _ bool) (*proc, string, error) {
			env := []string{"LOGSHIPPER_ELASTICSEARCH_INDEX=" + sh.index}
			if name == "logshipper-disk" {
				env = append(env, diskEnv(work)...)
			}
			return r.startLogshipper(work, port, esURL, env...)
		}
	case "rsyslog":
		sh.queue = "defaults: main queue FixedArray 100,000 msgs (2 workers); action queue Direct; `action.resumeRetryCount` 0; `action.resumeInterval` 30 s"
		sh.start = func(work string, port int, esURL string, _ bool) (*proc, string, error) {
			p, err := r.startRsyslog(work, "rsyslog-outage.conf.in", map[string]string{
				"WORKDIR": work, "ESPORT": esPort(esURL), "PORT": fmt.Sprint(port), "INDEX": sh.index,
			})
			return p, "", err
		}
		sh.stats = func(work, _ string) string {
			return rsyslogStats(work,
				impstat{"to_opensearch", "action: processed %s, failed %s, suspended %s times (%s s), resumed %s", []string{"processed", "failed", "suspended", "suspended.duration", "resumed"}},
				impstat{"main Q", "main queue: enqueued %s, max size %s, full %s, discarded %s+%s", []string{"enqueued", "maxqsize", "full", "discarded.full", "discarded.nf"}},
				impstat{"omelasticsearch", "omelasticsearch: submitted %s, failed.httprequests %s, failed.checkConn %s", []string{"submitted", "failed.httprequests", "failed.checkConn"}})
		}
	case "syslog-ng":
		sh.queue = "defaults: `log-fifo-size(10000)` per worker, `workers(4)` and `batch-lines(100)` (the SCL's), no `flags(flow-control)`, no disk-buffer, `time-reopen(60)`"
		sh.start = func(work string, port int, esURL string, _ bool) (*proc, string, error) {
			p, err := r.startSyslogNG(work, "syslog-ng-outage.conf.in", true, map[string]string{
				"ESPORT": esPort(esURL), "PORT": fmt.Sprint(port), "INDEX": sh.index,
			})
			return p, "", err
		}
		sh.stats = func(work, _ string) string { return r.syslogNGStats(work) }
	default:
		return nil, fmt.Errorf("unknown shipper %q (logshipper, logshipper-disk, rsyslog, syslog-ng)", name)
	}
	return sh, nil
}

// --- one shipper ------------------------------------------------------------------

func (r *Runner) outageRun(o outageOpts, sh *shipper, seq int) (res OutageResult) {
	res = OutageResult{Shipper: sh.name, Queue: sh.queue, Index: sh.index, Messages: o.messages, Sent: -1,
		SenderDoneS: -1, LoadAvg: loadavg()}
	res.RunID = newRunID("o", seq)
	logf := func(format string, args ...any) {
		log.Printf("outage %-16s "+format, append([]any{sh.name}, args...)...)
	}

	if !o.healthy() {
		logf("OpenSearch not healthy before the run; starting it")
		_ = o.run("stop")
		if err := o.run("start"); err != nil || !o.healthy() {
			res.Error = fmt.Sprintf("fatal: OpenSearch not up before the run: %v", err)
			return
		}
	}
	if err := o.reset(sh.index); err != nil {
		res.Error = err.Error()
		return
	}
	work, err := r.workDir("%d-%s", seq, sh.name)
	if err != nil {
		res.Error = err.Error()
		return
	}
	p, port, metricsURL, err := startOn(20*time.Second, func(port int) (*proc, string, error) {
		return sh.start(work, port, o.url, false)
	})
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer p.stop(20 * time.Second)
	if metricsURL != "" { // logshipper: ready when OpenSearch answers it
		waitReady(metricsURL, 100, 100*time.Millisecond)
	} else {
		time.Sleep(time.Second) // the peers connect on the first message
	}

	lg, err := r.startLoadgenAsync(port, res.RunID, o.streamOpts)
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
		c, _ = o.refreshCount(sh.index)
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
	if err := o.run("stop"); err != nil {
		logf("%v", err)
	}
	time.Sleep(o.down)
	tStart := time.Now()
	err = o.run("start")
	if err != nil {
		logf("%v; trying once more", err)
		_ = o.run("stop")
		err = o.run("start")
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
		res.ReceivedAtUp = received(metricsURL)
	}

	// 3. the sender, then until nothing changes
	var last int64
	res.Settled, last = settle(lg, tUp, func() (int64, error) { return o.count(sh.index) }, func(s settleState) string {
		if s.changed && !s.first {
			res.LastDocAfterUpS = s.now.Sub(tUp).Seconds()
		}
		quiet := s.quiet
		if s.done && s.end.After(tUp) && s.now.Sub(s.end) < quiet {
			quiet = s.now.Sub(s.end)
		}
		switch {
		case s.done && s.last >= o.messages && quiet >= 10*time.Second:
			return "all"
		case s.done && quiet >= o.stall:
			return "stall"
		case s.now.Sub(tUp) >= o.settleCap:
			return "cap"
		case !p.alive() && quiet >= 10*time.Second:
			return "exited"
		}
		return ""
	})
	if end, sent, done := lg.finish(); done {
		res.SenderDoneS = end.Sub(t0).Seconds()
		res.SenderDoneAfterUpS = end.Sub(tUp).Seconds()
		res.Sent = sent
	}
	logf("settled (%s): _count %d, sender done: %v", res.Settled, last, res.SenderDoneS >= 0)

	// 4. count
	res.Stats = sh.stats(work, metricsURL)
	before, _ := o.count(sh.index)
	if err := o.refresh(sh.index); err == nil {
		before, _ = o.count(sh.index)
	}
	p.stop(20 * time.Second)
	ranges, err := o.countRun(sh.index, res.RunID, o.messages, &res.seqResult)
	if err != nil {
		res.Error = strings.TrimSpace(res.Error + " " + err.Error())
		return
	}
	res.AfterStop = res.Docs - before
	res.MissingRanges, res.Missing = len(ranges), formatRanges(ranges, 3, false)
	return res
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
	writeList(&b, env)
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
