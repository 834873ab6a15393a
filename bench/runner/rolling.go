package main

// The rolling-update measurement behind bench/rolling.sh ("runner rolling
// ..."): test/e2e's TestRollingUpdateBehindLoadBalancer with the REAL peers
// as the forwarding senders instead of Go imitations. For each sender
// (rsyslog, syslog-ng) and each drain setting (on: logshipper's default
// shutdown.drain_timeout; off: LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=0):
//
//	bench/loadgen -> the peer's TCP input on 127.0.0.1
//	              -> the peer's TCP forwarding output (rsyslog omfwd, syslog-ng network())
//	              -> nginx stream (proxy_half_close, proxy_next_upstream, as in the e2e test)
//	              -> logshipper replicas A and B (memory buffer, same index)
//	              -> a real OpenSearch node
//
// A numbered stream at a fixed rate; replica A is restarted (SIGTERM, wait
// for its exit, start again on the same ports) once the replicas together
// have received a third of it, B at two thirds. Then wait until the index
// count settles, stop everything, fetch every document and count the
// sequence numbers exactly (scrollSeqs of outage.go).

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/nginxstream"
)

type rollingOpts struct {
	osNode
	streamOpts
	nginx      string // nginx binary (testenv/nginx.sh path)
	drainOn    string // LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT for "on" ("" = logshipper's default)
	timeReopen string // syslog-ng time-reopen() ("" = its default, 60 s)
	noFlowCtl  bool   // syslog-ng without flags(flow-control) (its default)
	exitCap    time.Duration
}

// RollingRestart is one replica's restart.
type RollingRestart struct {
	Replica      string  `json:"replica"`
	AtReceived   int64   `json:"at_received"`   // the replicas' received total at the SIGTERM
	AtS          float64 `json:"at_s"`          // first message sent -> SIGTERM
	ExitS        float64 `json:"exit_s"`        // SIGTERM -> exit
	ReadyS       float64 `json:"ready_s"`       // SIGTERM -> ready again (/readyz 200)
	Received     int64   `json:"received"`      // its shutdown line
	Lost         int64   `json:"lost"`          // its shutdown line
	DrainConns   int64   `json:"drain_conns"`   // connections open at the drain's start (-1: no drain line)
	DrainClosed  int64   `json:"drain_closed"`  // closed by the sender during the drain
	DrainCut     int64   `json:"drain_cut"`     // cut at the drain's end
	ExitStatus   string  `json:"exit_status"`   // "0" or the error
	ShutdownLine string  `json:"shutdown_line"` // raw
}

// RollingResult is one (sender, drain) run.
type RollingResult struct {
	Sender      string           `json:"sender"`
	Drain       string           `json:"drain"` // "on (5s)" / "off (0)"
	Queue       string           `json:"sender_settings"`
	Index       string           `json:"index"`
	RunID       string           `json:"run_id"`
	Messages    int64            `json:"messages"`
	Sent        int64            `json:"sent"` // loadgen's count; -1 if it had to be killed
	SenderDoneS float64          `json:"sender_done_s"`
	Restarts    []RollingRestart `json:"restarts"`
	Settled     string           `json:"settled"`
	LastDocS    float64          `json:"last_doc_s"` // first message sent -> last change of _count
	seqResult
	MissingRanges int    `json:"missing_ranges"`
	Missing       string `json:"missing"`
	// What all four logshipper processes received and said they lost.
	ReplicasReceived int64 `json:"replicas_received"`
	ReplicasLost     int64 `json:"replicas_lost"`
	// The sender's own view: reconnect-related lines of its log, counted.
	PeerReconnects string   `json:"peer_reconnects"`
	PeerLines      []string `json:"peer_lines"` // the first few such lines
	PeerStats      string   `json:"peer_stats"`
	// nginx's view: client connections accepted, refused upstream connects.
	LBConns          int     `json:"lb_client_connections"`
	LBConnectFailure int     `json:"lb_connect_failures"`
	TookS            float64 `json:"took_s"`
	Error            string  `json:"error,omitempty"`
}

func rollingMain(args []string) int {
	fs := flag.NewFlagSet("rolling", flag.ExitOnError)
	cf := addCommonFlags(fs, "bench/.bin/rolling", false, "also write OUT/latest-rolling.md")
	senders := fs.String("senders", "rsyslog,syslog-ng", "comma-separated: rsyslog, syslog-ng")
	drains := fs.String("drain", "on,off", "comma-separated: on (logshipper's drain), off (LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=0)")
	var o rollingOpts
	osPort := fs.String("os-port", "19280", "port of the OpenSearch node (already started by the caller)")
	fs.Int64Var(&o.messages, "messages", 200000, "messages per run")
	fs.Float64Var(&o.rate, "rate", 10000, "send rate, messages per second")
	fs.DurationVar(&o.stall, "stall", 75*time.Second, "after the sender finished: done when _count has not changed for this long (> syslog-ng's default time-reopen 60 s, rsyslog's resumeInterval 30 s)")
	fs.DurationVar(&o.settleCap, "settle-cap", 4*time.Minute, "at most this long after the sender finished")
	fs.DurationVar(&o.reachCap, "reach-cap", 3*time.Minute, "restart a replica anyway if its trigger point is not reached within this long")
	fs.DurationVar(&o.exitCap, "exit-cap", 30*time.Second, "a replica that has not exited this long after SIGTERM is killed (and that is reported)")
	fs.StringVar(&o.nginx, "nginx", "", "nginx binary (bash testenv/nginx.sh path)")
	fs.StringVar(&o.drainOn, "drain-timeout", "", "LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT for the drain-on runs (empty: logshipper's default)")
	fs.StringVar(&o.timeReopen, "syslog-ng-time-reopen", "", "syslog-ng time-reopen() in seconds (empty: its default, 60)")
	fs.BoolVar(&o.noFlowCtl, "syslog-ng-no-flow-control", false, "syslog-ng without flags(flow-control) on the path (its default: a full queue drops)")
	_ = fs.Parse(args)
	stopOnSignal("rolling", "run")
	if o.nginx == "" {
		log.Print("rolling: -nginx is required")
		return 2
	}
	o.url = "http://127.0.0.1:" + *osPort
	if o.rate <= 0 {
		log.Print("rolling: -rate must be > 0 (the restarts are meant to hit a stream in flight)")
		return 2
	}
	r, err := cf.newRunner("-rolling")
	if err != nil {
		log.Print(err)
		return 1
	}
	return r.osBench("rolling", o.osNode, *cf.out, *cf.latest, func(env []string, record func(any)) string {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(o.nginx)))), "VERSIONS")); err == nil {
			env = append(env, "nginx: "+strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n", "; ")), " "))
		}
		start := time.Now()
		var results []RollingResult
		seq := 0
		for _, s := range splitList(*senders) {
			if s != "rsyslog" && s != "syslog-ng" {
				log.Printf("rolling: unknown sender %q (rsyslog, syslog-ng)", s)
				os.Exit(2)
			}
			for _, d := range splitList(*drains) {
				if d != "on" && d != "off" {
					log.Printf("rolling: -drain %q: on or off", d)
					os.Exit(2)
				}
				seq++
				res := r.rollingRun(o, s, d == "on", seq)
				results = append(results, res)
				record(res)
				log.Printf("rolling %-9s drain %-3s sent %d  indexed %d  lost %d  duplicated %d  %s  %s",
					s, d, res.Sent, res.Distinct, res.Lost, res.Duplicated, res.PeerReconnects, res.Error)
			}
		}
		return rollingMarkdown(o, env, results, time.Since(start))
	})
}

// --- the pieces ---------------------------------------------------------------

// startReplica starts (again) a replica and waits until it is ready.
func (r *Runner) startReplica(rp *role, gen int, work, esURL string, env []string) error {
	rp.logPath = filepath.Join(work, fmt.Sprintf("logshipper-%s-%d.log", rp.name, gen))
	if err := r.startRole(work, esURL, rp, env...); err != nil {
		return err
	}
	if err := waitTCP(rp.port, 20*time.Second, rp.p.alive); err != nil {
		return fmt.Errorf("replica %s: %w", rp.name, err)
	}
	if !waitReady(rp.metrics(), 200, 50*time.Millisecond) {
		return fmt.Errorf("replica %s: /readyz not 200 after 10 s", rp.name)
	}
	return nil
}

// jsonLines returns the JSON log lines of a replica's log that contain
// sub.
func jsonLines(path, sub string) []map[string]any {
	var out []map[string]any
	for _, l := range grepLines(path, sub) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func num(m map[string]any, k string) int64 {
	if v, ok := m[k].(float64); ok {
		return int64(v)
	}
	return 0
}

// stopReplica sends SIGTERM, waits for the exit and reads what the
// replica's log says about its drain and shutdown.
func (r *Runner) stopReplica(rp *role, exitCap time.Duration) RollingRestart {
	rr := RollingRestart{Replica: rp.name, DrainConns: -1, ExitStatus: "0"}
	t0 := time.Now()
	killed := rp.p.stop(exitCap)
	rr.ExitS = time.Since(t0).Seconds()
	if killed {
		rr.ExitStatus = fmt.Sprintf("killed after %s", exitCap)
	} else if rp.p.err != nil {
		rr.ExitStatus = rp.p.err.Error()
	}
	for _, m := range jsonLines(rp.logPath, "syslog input draining") {
		rr.DrainConns = num(m, "connections")
	}
	for _, m := range jsonLines(rp.logPath, "syslog input drain") {
		if _, ok := m["cut"]; ok {
			rr.DrainClosed, rr.DrainCut = num(m, "closed_by_sender"), num(m, "cut")
		}
	}
	if rr.DrainConns < 0 { // no drain line: no connection open, or no drain
		rr.DrainClosed, rr.DrainCut = 0, 0
	}
	if ls := jsonLines(rp.logPath, `"shutdown complete"`); len(ls) > 0 {
		m := ls[len(ls)-1]
		rr.Received, rr.Lost = num(m, "received"), num(m, "lost")
		b, _ := json.Marshal(map[string]any{"received": m["received"], "flushed": m["flushed"], "lost": m["lost"], "left_in_buffer": m["left_in_buffer"]})
		rr.ShutdownLine = string(b)
	}
	return rr
}

// startRollingNginx runs the e2e test's balancer (TCP only) in front of the
// replicas.
func startRollingNginx(bin, work string, port int, replicas []*role) (*proc, error) {
	module, err := nginxstream.StreamModule(bin)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var upstreams []string
	for _, rp := range replicas {
		upstreams = append(upstreams, fmt.Sprintf("127.0.0.1:%d", rp.port))
	}
	args, err := nginxstream.Config{Dir: dir, Module: module, Listen: fmt.Sprintf("127.0.0.1:%d", port), Upstreams: upstreams}.Write()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	p, err := startProc("nginx", cmd, filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	// waitTCP's connection is the balancer's first client: round robin
	// sends it to A. A second probe goes to B, so the sender's connection
	// starts on A and A's restart (the first) hits it.
	if err := waitTCP(port, 10*time.Second, p.alive); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("nginx: %v: %s", err, lastLines(string(b), 5))
	}
	if err := waitTCP(port, 2*time.Second, p.alive); err != nil {
		return nil, fmt.Errorf("nginx: %v", err)
	}
	return p, nil
}

var (
	nginxClientRE  = regexp.MustCompile(`client 127\.0\.0\.1:\d+ connected to`)
	nginxConnectRE = regexp.MustCompile(`connect\(\) failed`)
)

func nginxCounts(work string) (int, int) {
	b, _ := os.ReadFile(filepath.Join(work, "nginx", "error.log"))
	return len(nginxClientRE.FindAll(b, -1)), len(nginxConnectRE.FindAll(b, -1))
}

// --- the senders ----------------------------------------------------------------

func (r *Runner) startRollingPeer(o rollingOpts, sender, work string, port, lbPort int) (*proc, string, error) {
	if sender == "rsyslog" {
		p, err := r.startRsyslog(work, "rsyslog-rolling.conf.in", map[string]string{
			"WORKDIR": work, "PORT": fmt.Sprint(port), "LBPORT": fmt.Sprint(lbPort),
		})
		return p, "defaults (peers/rsyslog-rolling.conf.in): `omfwd` protocol tcp, action queue Direct (none: the main queue's worker sends; main queue FixedArray 100,000 msgs in memory), `action.resumeRetryCount` 0, `action.resumeInterval` 30 s", err
	}
	reopen, desc := "", "time-reopen 60 s (default)"
	if o.timeReopen != "" {
		reopen, desc = fmt.Sprintf("time-reopen(%s);", o.timeReopen), fmt.Sprintf("`time-reopen(%s)`", o.timeReopen)
	}
	flags, fdesc := "flags(flow-control);", "plus `flags(flow-control)` on the path so a full queue holds the sender back instead of dropping"
	if o.noFlowCtl {
		flags, fdesc = "", "no `flags(flow-control)` (its default: a message that finds the queue full is dropped)"
	}
	p, err := r.startSyslogNG(work, "syslog-ng-rolling.conf.in", true, map[string]string{
		"PORT": fmt.Sprint(port), "LBPORT": fmt.Sprint(lbPort), "TIMEREOPEN": reopen, "FLOWCONTROL": flags,
	})
	return p, "defaults (peers/syslog-ng-rolling.conf.in): `network()` destination, transport tcp, memory queue `log-fifo-size(10000)`, " + desc + ", " + fdesc, err
}

// peerReconnects counts the sender's own log lines about its forwarding
// connection, and returns the first few of them.
func peerReconnects(sender, work string) (string, []string) {
	var files []string
	var pats []struct{ label, sub string }
	switch sender {
	case "rsyslog":
		// Its own messages, through the default ruleset into this file
		// (stderr, rsyslog.log, repeats some of them).
		files = []string{filepath.Join(work, "rsyslog-internal.log")}
		pats = []struct{ label, sub string }{
			{"CheckConnection: peer closed", "CheckConnection detected that peer closed"},
			{"CheckConnection: broken", "CheckConnection detected broken"},
			{"\"remote server … seems to have closed connection\" (2027)", "seems to have closed connection"},
			{"TCPSendBuf error", "TCPSendBuf error"},
			{"send error", "error sending via tcp"},
			{"action suspended", "' suspended ("},
			{"action resumed", "' resumed ("},
		}
	case "syslog-ng":
		files = []string{filepath.Join(work, "syslog-ng.log")}
		pats = []struct{ label, sub string }{
			{"\"EOF occurred while idle\"", "EOF occurred while idle"},
			{"\"Syslog connection broken\"", "Syslog connection broken"},
			{"destination closed, reopen after time_reopen", "', time_reopen='"},
			{"\"Syslog connection established\"", "Syslog connection established"},
			{"connect failed", "Connection failed"},
			{"I/O error", "I/O error"},
		}
	}
	counts := make([]int, len(pats))
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			hit := false
			for i, p := range pats {
				if strings.Contains(l, p.sub) {
					counts[i]++
					hit = true
				}
			}
			if hit && len(lines) < 8 {
				if len(l) > 400 {
					l = l[:400] + "…"
				}
				lines = append(lines, strings.TrimSpace(l))
			}
		}
	}
	var parts []string
	for i, p := range pats {
		if counts[i] > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", p.label, counts[i]))
		}
	}
	if len(parts) == 0 {
		return "none logged", lines
	}
	return strings.Join(parts, ", "), lines
}

// --- one run ----------------------------------------------------------------------

func (r *Runner) rollingRun(o rollingOpts, sender string, drain bool, seq int) (res RollingResult) {
	t00 := time.Now()
	dname := "off"
	if drain {
		dname = "on"
	}
	res = RollingResult{Sender: sender, Messages: o.messages, Sent: -1, SenderDoneS: -1,
		Index: fmt.Sprintf("rolling-%s-drain-%s", sender, dname)}
	defer func() { res.TookS = time.Since(t00).Seconds() }()
	res.RunID = newRunID("r", seq)
	var extra []string
	if drain {
		res.Drain = "on (default 5s)"
		if o.drainOn != "" {
			extra = append(extra, "LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT="+o.drainOn)
			res.Drain = "on (" + o.drainOn + ")"
		}
	} else {
		res.Drain = "off (0)"
		extra = append(extra, "LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=0")
	}
	extra = append(extra, "LOGSHIPPER_ELASTICSEARCH_INDEX="+res.Index)
	logf := func(format string, args ...any) {
		log.Printf("rolling %-9s drain %-3s "+format, append([]any{sender, dname}, args...)...)
	}
	if !o.healthy() {
		res.Error = "OpenSearch not healthy before the run"
		return
	}
	if err := o.reset(res.Index); err != nil {
		res.Error = err.Error()
		return
	}
	work, err := r.workDir("%d-%s-drain-%s", seq, sender, dname)
	if err != nil {
		res.Error = err.Error()
		return
	}
	ports, err := freePorts(6)
	if err != nil {
		res.Error = err.Error()
		return
	}
	replicas := []*role{
		{name: "A", port: ports[0], httpPort: ports[1], dlq: filepath.Join(work, "dead-letter-A.ndjson")},
		{name: "B", port: ports[2], httpPort: ports[3], dlq: filepath.Join(work, "dead-letter-B.ndjson")},
	}
	lbPort, peerPort := ports[4], ports[5]
	var finished []RollingRestart // shutdown of every process, restarts and final
	defer func() {
		for _, rp := range replicas {
			if rp.p != nil {
				rp.p.stop(20 * time.Second)
			}
		}
	}()
	for _, rp := range replicas {
		if err := r.startReplica(rp, 1, work, o.url, extra); err != nil {
			res.Error = err.Error()
			return
		}
	}
	lb, err := startRollingNginx(o.nginx, work, lbPort, replicas)
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer lb.stop(5 * time.Second)
	peer, desc, err := r.startRollingPeer(o, sender, work, peerPort, lbPort)
	res.Queue = desc
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer peer.stop(20 * time.Second)
	if err := waitTCP(peerPort, 20*time.Second, peer.alive); err != nil {
		res.Error = err.Error()
		return
	}
	time.Sleep(time.Second)

	lg, err := r.startLoadgenAsync(peerPort, res.RunID, o.streamOpts)
	if err != nil {
		res.Error = err.Error()
		return
	}
	defer lg.kill()
	t0 := time.Now()
	logf("streaming %d messages at %.0f/s (run %s) via nginx :%d to replicas A :%d and B :%d", o.messages, o.rate, res.RunID, lbPort, replicas[0].port, replicas[1].port)

	// The rolling update: A after a third, B after two thirds of the
	// messages have reached the replicas.
	var receivedBefore int64 // by processes that have exited
	total := func() int64 {
		return receivedBefore + received(replicas[0].metrics()) + received(replicas[1].metrics())
	}
	for i, rp := range replicas {
		at := o.messages * int64(i+1) / 3
		for total() < at && time.Since(t0) < o.reachCap && peer.alive() {
			time.Sleep(20 * time.Millisecond)
		}
		got := total()
		if got < at {
			res.Error = strings.TrimSpace(res.Error + fmt.Sprintf(" replica %s restarted at %d received (< %d: not reached within %s).", rp.name, got, at, o.reachCap))
		}
		tStop := time.Now()
		rr := r.stopReplica(rp, o.exitCap)
		rr.AtReceived, rr.AtS = got, tStop.Sub(t0).Seconds()
		receivedBefore += rr.Received
		if err := r.startReplica(rp, 2, work, o.url, extra); err != nil {
			res.Error = strings.TrimSpace(res.Error + " restart " + rp.name + ": " + err.Error())
			res.Restarts = append(res.Restarts, rr)
			return
		}
		rr.ReadyS = time.Since(tStop).Seconds()
		logf("replica %s: SIGTERM at %d received (%.1f s), exited %s after %.2f s (drain: %d connections, %d closed by the sender, %d cut; shutdown %s), ready again after %.2f s",
			rp.name, got, rr.AtS, rr.ExitStatus, rr.ExitS, rr.DrainConns, rr.DrainClosed, rr.DrainCut, rr.ShutdownLine, rr.ReadyS)
		res.Restarts = append(res.Restarts, rr)
		finished = append(finished, rr)
	}

	// Settle: the sender done, then until _count stops changing.
	tSettle := time.Now()
	var last int64
	res.Settled, last = settle(lg, tSettle, func() (int64, error) { return o.refreshCount(res.Index) }, func(s settleState) string {
		if s.changed {
			res.LastDocS = s.now.Sub(t0).Seconds()
		}
		quiet := s.quiet
		if s.done && s.now.Sub(s.end) < quiet {
			quiet = s.now.Sub(s.end)
		}
		if !s.done {
			tSettle = s.now
		}
		switch {
		case s.done && s.last >= o.messages && quiet >= 5*time.Second:
			return "all"
		case s.done && quiet >= o.stall:
			return "stall"
		case s.now.Sub(tSettle) >= o.settleCap || (!s.done && s.now.Sub(t0) > o.settleCap+time.Duration(float64(o.messages)/o.rate*float64(time.Second))):
			return "cap"
		}
		return ""
	})
	if end, sent, done := lg.finish(); done {
		res.SenderDoneS = end.Sub(t0).Seconds()
		res.Sent = sent
	}
	logf("settled (%s): _count %d, sender done after %.1f s", res.Settled, last, res.SenderDoneS)

	// Stop: the sender first (its stats before), then the replicas (their
	// shutdown lines), then count.
	if sender == "syslog-ng" {
		res.PeerStats = r.syslogNGStats(work)
	}
	peer.stop(20 * time.Second)
	if sender == "rsyslog" {
		res.PeerStats = rsyslogStats(work,
			impstat{"fwd", "action: processed %s, failed %s, suspended %s, resumed %s", []string{"processed", "failed", "suspended", "resumed"}},
			impstat{"main Q", "main queue: enqueued %s, discarded %s+%s", []string{"enqueued", "discarded.full", "discarded.nf"}})
	}
	res.PeerReconnects, res.PeerLines = peerReconnects(sender, work)
	time.Sleep(time.Second)
	for _, rp := range replicas {
		rr := r.stopReplica(rp, o.exitCap)
		rp.p = nil
		finished = append(finished, rr)
	}
	lb.stop(5 * time.Second)
	res.LBConns, res.LBConnectFailure = nginxCounts(work)
	for _, rr := range finished {
		res.ReplicasReceived += rr.Received
		res.ReplicasLost += rr.Lost
	}
	ranges, err := o.countRun(res.Index, res.RunID, o.messages, &res.seqResult)
	if err != nil {
		res.Error = strings.TrimSpace(res.Error + " " + err.Error())
		return
	}
	res.MissingRanges, res.Missing = len(ranges), formatRanges(ranges, 6, true)
	return res
}

// --- the table --------------------------------------------------------------------

func (res RollingResult) notes() string {
	var n []string
	if res.Error != "" {
		n = append(n, "**"+res.Error+"**")
	}
	for _, rr := range res.Restarts {
		d := "no drain line (no connection open, or drain off)"
		if rr.DrainConns >= 0 {
			d = fmt.Sprintf("drain: %d connection(s), %d closed by the sender, %d cut", rr.DrainConns, rr.DrainClosed, rr.DrainCut)
		}
		n = append(n, fmt.Sprintf("%s: SIGTERM at %s received (%.1f s), exit %s after %.2f s, %s, ready again after %.2f s",
			rr.Replica, fmtInt(rr.AtReceived), rr.AtS, rr.ExitStatus, rr.ExitS, d, rr.ReadyS))
	}
	if res.MissingRanges > 0 {
		n = append(n, fmt.Sprintf("missing seq %s (%d range(s))", res.Missing, res.MissingRanges))
	}
	n = append(n, fmt.Sprintf("the 4 logshipper processes received %s, their shutdown lines said lost %d", fmtInt(res.ReplicasReceived), res.ReplicasLost))
	n = append(n, fmt.Sprintf("nginx: %d client connection(s), %d refused upstream connect(s)", res.LBConns, res.LBConnectFailure))
	if res.SenderDoneS >= 0 {
		n = append(n, fmt.Sprintf("loadgen done after %.1f s, last document after %.1f s (settled: %s)", res.SenderDoneS, res.LastDocS, res.Settled))
	} else {
		n = append(n, fmt.Sprintf("loadgen still blocked at the end (killed; settled: %s)", res.Settled))
	}
	if res.NoSeq > 0 {
		n = append(n, fmt.Sprintf("%d documents without a sequence number", res.NoSeq))
	}
	if res.PeerStats != "" {
		n = append(n, "sender's counters: "+res.PeerStats)
	}
	return strings.Join(n, "; ")
}

func rollingMarkdown(o rollingOpts, env []string, results []RollingResult, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Rolling update with real senders (`bench/rolling.sh`)\n\n")
	writeList(&b, env)
	fmt.Fprintf(&b, "- per run: %s numbered RFC3164 messages at %s msgs/s (bench/loadgen, 1 TCP connection) into the sender's TCP input on 127.0.0.1; "+
		"the sender forwards over TCP to nginx `stream` (as test/e2e/loadbalancer_test.go: both replicas upstream, `proxy_half_close on`, `proxy_next_upstream on`, `max_fails=1 fail_timeout=1s`) "+
		"in front of two logshipper replicas (memory buffer, defaults, same index) indexing into a real OpenSearch 2.19 node; "+
		"replica A restarted (SIGTERM, wait for its exit, start again on the same ports) once the replicas together had received a third of the messages, B at two thirds; "+
		"then wait for the sender and until `_count` has not changed for %s (or all arrived), stop everything, fetch every document (scroll) and count the `seq=` of the run: "+
		"indexed = distinct, lost = sent − distinct, duplicated = documents − distinct\n",
		fmtInt(o.messages), fmtInt(int64(o.rate)), o.stall)
	fmt.Fprintf(&b, "- drain on = logshipper's default `shutdown.drain_timeout` (5 s); off = `LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=0` (connections cut at once: the control)\n")
	fmt.Fprintf(&b, "- run took %s\n\n", took.Round(time.Second))
	fmt.Fprintf(&b, "| sender | drain | sent | indexed | lost | duplicated | sender reconnects (its own log) |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, res := range results {
		sent := fmtInt(res.Sent)
		if res.Sent < 0 {
			sent = "? (killed)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", res.Sender, res.Drain, sent, fmtInt(res.Distinct), fmtInt(res.Lost), fmtInt(res.Duplicated), res.PeerReconnects)
	}
	fmt.Fprintf(&b, "\n### Sender settings\n\n")
	seen := map[string]bool{}
	for _, res := range results {
		if !seen[res.Sender] && res.Queue != "" {
			seen[res.Sender] = true
			fmt.Fprintf(&b, "- **%s**: %s\n", res.Sender, res.Queue)
		}
	}
	fmt.Fprintf(&b, "\n### Details per run\n\n")
	for _, res := range results {
		fmt.Fprintf(&b, "- **%s, drain %s** (index `%s`, run `%s`, %.0f s): %s\n", res.Sender, res.Drain, res.Index, res.RunID, res.TookS, res.notes())
		for _, l := range res.PeerLines {
			fmt.Fprintf(&b, "  - `%s`\n", strings.ReplaceAll(l, "`", "'"))
		}
	}
	return b.String()
}
