//go:build linux

// Command soak is logshipper's chaos soak (issue 8): rsyslog-shaped senders
// over TCP and UDP into two logshipper replicas with disk buffers on small
// tmpfs mounts, indexing into a real OpenSearch node; on a seeded random
// schedule OpenSearch is SIGKILLed and restarted, or restarted with a write
// thread pool so small that it answers 429; a replica is SIGKILLed or
// SIGTERMed and started again; a replica's buffer disk fills up and is
// freed. At the end it checks that no sequence number was indexed twice,
// that every missing one has a stated cause, that memory, goroutines and
// open files stayed flat, that throughput came back within 10 s of every
// fault clearing, and that the replicas' shutdown lines add up; it writes a
// Markdown report and exits non-zero on any failure.
//
//	go run ./test/soak -duration 3m -seed 42 -report bench/results/latest-soak.md
//
// It must run as root (it mounts tmpfs). See test/soak/README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	duration   time.Duration
	seed       uint64
	report     string
	tcpSenders int
	tcpRate    int
	udpSenders int
	udpRate    int
	tmpfsSize  string
	keep       bool
	binary     string
	kinds      []string
}

// soak is one run: the processes it started, what it observed, what failed.
type soak struct {
	opt   options
	root  string // repository root
	work  string // temporary directory of this run
	logs  string // work/logs: replica logs, kept on failure
	bin   string
	index string
	node  *node
	reps  []*replica
	tcp   []*tcpSender
	udp   []*udpSender
	rng   *mrand.Rand
	samp  *sampler

	t0                 time.Time // program start
	sendStart, sendEnd time.Time
	nodeStartTook      time.Duration // the first OpenSearch start
	slowestStart       time.Duration // the slowest OpenSearch start so far

	// results of verify
	totalDocs       int64
	dups            []string
	streams         []*streamResult
	res             []*resResult
	shut            []*shutdownResult
	dropsBy         map[string]float64
	udpOtherMissing int64
	udpCountedDrops float64

	mu       sync.Mutex
	faults   []*fault
	failures []string
	warnings []string

	cleanOnce sync.Once
	cleanups  []func()
}

func main() { os.Exit(run()) }

func run() int {
	var opt options
	flag.DurationVar(&opt.duration, "duration", 3*time.Minute, "how long the senders send (faults are injected during this time)")
	flag.Uint64Var(&opt.seed, "seed", 0, "seed of the fault schedule (0: a random one, printed first)")
	flag.StringVar(&opt.report, "report", "bench/results/latest-soak.md", "where the Markdown report goes (relative to the repository root)")
	flag.IntVar(&opt.tcpSenders, "tcp-senders", 4, "rsyslog-shaped TCP senders")
	flag.IntVar(&opt.tcpRate, "tcp-rate", 500, "messages per second of each TCP sender")
	flag.IntVar(&opt.udpSenders, "udp-senders", 2, "UDP senders")
	flag.IntVar(&opt.udpRate, "udp-rate", 150, "datagrams per second of each UDP sender")
	flag.StringVar(&opt.tmpfsSize, "tmpfs-size", "64m", "size of each replica's buffer tmpfs")
	flag.StringVar(&opt.binary, "logshipper", "", "run this logshipper binary instead of building ./cmd/logshipper from the working tree")
	flag.BoolVar(&opt.keep, "keep", false, "keep the work directory (logs, OpenSearch data) even when the run passes")
	faults := flag.String("faults", strings.Join(kinds, ","), "the fault kinds to inject, comma-separated")
	flag.Parse()
	for _, k := range strings.Split(*faults, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !slices.Contains(kinds, k) {
			fmt.Fprintf(os.Stderr, "soak: -faults: unknown kind %q (kinds: %s)\n", k, strings.Join(kinds, ", "))
			return 2
		}
		opt.kinds = append(opt.kinds, k)
	}
	if opt.seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		opt.seed = binary.LittleEndian.Uint64(b[:])>>1 | 1
	}
	if opt.duration < time.Minute {
		fmt.Fprintln(os.Stderr, "soak: -duration must be at least 1m")
		return 2
	}
	fmt.Printf("soak: seed %d (reproduce: make soak DURATION=%s SEED=%d)\n", opt.seed, opt.duration, opt.seed)
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "soak: FAIL: must run as root: it mounts a tmpfs per replica to fill the buffer disk (CI runs as root); run it with sudo")
		return 2
	}

	s := &soak{opt: opt, t0: time.Now(), index: "soak", rng: mrand.New(mrand.NewPCG(opt.seed, opt.seed^0x9e3779b97f4a7c15))}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Bounded: the whole run, set-up and checks included.
	ctx, cancel := context.WithTimeout(ctx, opt.duration+20*time.Minute)
	defer cancel()

	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return s.main(ctx)
	}()
	interrupted := ctx.Err() != nil
	if err != nil {
		s.fail("%v", err)
	}
	s.cleanup()

	passed := len(s.failures) == 0
	if interrupted && ctx.Err() == context.Canceled {
		// Ctrl-C: no report (it would replace the last real one).
		s.removeWork(false)
		fmt.Fprintln(os.Stderr, "soak: interrupted; everything it started is stopped and unmounted")
		return 130
	}
	if s.sendStart.IsZero() {
		// Set-up failed: nothing to report beyond the reason.
		fmt.Fprintf(os.Stderr, "soak: FAIL: %s\n", strings.Join(s.failures, "; "))
		s.removeWork(false)
		return 1
	}
	path := opt.report
	if !filepath.IsAbs(path) {
		path = filepath.Join(s.root, path)
	}
	if werr := s.writeReport(path); werr != nil {
		fmt.Fprintf(os.Stderr, "soak: writing the report: %v\n", werr)
		passed = false
	} else {
		fmt.Printf("soak: report written to %s\n", path)
	}
	s.removeWork(passed)
	switch {
	case interrupted && ctx.Err() == context.DeadlineExceeded:
		fmt.Fprintln(os.Stderr, "soak: FAIL: the run exceeded its time bound")
		return 1
	case !passed:
		fmt.Fprintf(os.Stderr, "soak: FAIL (seed %d):\n  - %s\n", opt.seed, strings.Join(s.failures, "\n  - "))
		return 1
	}
	fmt.Printf("soak: PASS (seed %d, %s)\n", opt.seed, opt.duration)
	return 0
}

// main sets everything up, runs the senders and the faults, settles and
// checks. Invariant failures are collected with s.fail; an error return
// means the run could not go on.
func (s *soak) main(ctx context.Context) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return fmt.Errorf("run it inside the logshipper module (go env GOMOD: %q, %v)", out, err)
	}
	s.root = filepath.Dir(strings.TrimSpace(string(out)))
	if s.work, err = os.MkdirTemp("", "logshipper-soak-"); err != nil {
		return err
	}
	s.logs = filepath.Join(s.work, "logs")
	if err := os.MkdirAll(s.logs, 0o755); err != nil {
		return err
	}
	s.logf("work directory %s", s.work)

	if s.opt.binary != "" {
		if s.bin, err = filepath.Abs(s.opt.binary); err != nil {
			return err
		}
		s.logf("logshipper: %s", s.bin)
	} else {
		s.bin = filepath.Join(s.work, "logshipper")
		s.logf("building logshipper from the working tree")
		build := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/logshipper")
		build.Dir = s.root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/logshipper: %v\n%s", err, out)
		}
	}

	// OpenSearch, a node of its own.
	s.node = &node{root: s.root, port: freePort(), data: filepath.Join(s.work, "opensearch")}
	s.atCleanup(func() { s.node.stop(context.Background()) })
	took, err := s.node.start(ctx, true)
	if err != nil {
		return err
	}
	s.nodeStartTook = took
	s.sawStart(took)
	s.logf("OpenSearch up on %s in %s", s.node.url(), took.Round(100*time.Millisecond))

	// Two replicas, each with its disk buffer on a tmpfs of its own.
	for i, name := range []string{"A", "B"} {
		r := &replica{s: s, name: name, idx: i, syslogPort: freePort(), httpPort: freePort(),
			mount: filepath.Join(s.work, "buffer-"+name)}
		r.bufDir = filepath.Join(r.mount, "buffer")
		r.dlq = filepath.Join(s.work, "dead-letter-"+name+".ndjson")
		if err := os.MkdirAll(r.mount, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount("tmpfs", r.mount, "tmpfs", 0, "size="+s.opt.tmpfsSize); err != nil {
			return fmt.Errorf("mount -t tmpfs -o size=%s tmpfs %s: %v", s.opt.tmpfsSize, r.mount, err)
		}
		s.atCleanup(func() { unmount(r.mount) })
		s.reps = append(s.reps, r)
	}
	for _, r := range s.reps {
		s.atCleanup(r.killForCleanup)
		if err := r.launch(ctx); err != nil {
			return err
		}
	}
	s.logf("replicas ready: A syslog 127.0.0.1:%d http :%d, B syslog 127.0.0.1:%d http :%d",
		s.reps[0].syslogPort, s.reps[0].httpPort, s.reps[1].syslogPort, s.reps[1].httpPort)

	// Samplers, then the senders.
	s.samp = newSampler(s)
	sampCtx, stopSampling := context.WithCancel(ctx)
	var sampWG sync.WaitGroup
	s.samp.start(sampCtx, &sampWG)
	defer func() { stopSampling(); sampWG.Wait() }()

	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	var sendWG sync.WaitGroup
	s.sendStart = time.Now()
	for i := range s.opt.tcpSenders {
		t := &tcpSender{s: s, name: fmt.Sprintf("t%d", i), rate: s.opt.tcpRate, primary: i % 2}
		s.tcp = append(s.tcp, t)
		sendWG.Add(1)
		go func() { defer sendWG.Done(); t.run(sendCtx) }()
	}
	for i := range s.opt.udpSenders {
		u := &udpSender{s: s, name: fmt.Sprintf("u%d", i+1), rate: s.opt.udpRate, primary: i % 2}
		s.udp = append(s.udp, u)
		sendWG.Add(1)
		go func() { defer sendWG.Done(); u.run(sendCtx) }()
	}
	s.logf("senders started: %d TCP × %d msgs/s, %d UDP × %d datagrams/s (%d msgs/s offered) for %s",
		s.opt.tcpSenders, s.opt.tcpRate, s.opt.udpSenders, s.opt.udpRate, s.offered(), s.opt.duration)

	// The faults, one at a time, until the end of the sending time.
	deadline := s.sendStart.Add(s.opt.duration)
	if err := s.runSchedule(ctx, deadline); err != nil {
		return err
	}
	if err := sleepUntil(ctx, deadline); err != nil {
		return err
	}

	// The end: stop the senders, make sure no fault is left, settle, stop
	// the replicas, check.
	stopSending()
	s.sendEnd = time.Now()
	if err := waitGroup(ctx, &sendWG, 2*time.Minute); err != nil {
		return fmt.Errorf("senders did not stop: %v", err)
	}
	s.logf("senders stopped: %d TCP messages, %d UDP datagrams sent", s.tcpSent(), s.udpSent())
	for _, r := range s.reps {
		if !r.running() {
			s.logf("replica %s is not running; starting it for the settling", r.name)
			if err := r.launch(ctx); err != nil {
				return err
			}
		}
	}
	if err := s.settle(ctx, 3*time.Minute); err != nil {
		s.fail("%v", err)
	}
	stopSampling()
	sampWG.Wait()
	for _, r := range s.reps {
		r.terminate(ctx, "SIGTERM (end)")
	}
	s.dumpSamples()
	return s.verify(ctx)
}

// dumpSamples writes every scrape as CSV into the logs directory (kept
// when the run fails), for a closer look than the report gives.
func (s *soak) dumpSamples() {
	var b strings.Builder
	b.WriteString("process,t_s,indexed,received_tcp,received_udp,dropped,retried,buffer_events,queue_events,tcp_connections,disk_fault,rss_bytes,goroutines,open_fds\n")
	for _, r := range s.reps {
		for _, inc := range r.incs {
			inc.mu.Lock()
			for _, m := range inc.samples {
				fmt.Fprintf(&b, "%s,%.1f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n", inc.label(), m.t.Sub(s.sendStart).Seconds(),
					m.indexed, m.receivedTCP, m.receivedUDP, m.dropped, m.retried, m.bufferEvents, m.queueEvents, m.tcpConns, m.diskFault, m.rss, m.goroutines, m.fds)
			}
			inc.mu.Unlock()
		}
	}
	os.WriteFile(filepath.Join(s.logs, "metrics.csv"), []byte(b.String()), 0o644)
	b.Reset()
	b.WriteString("t_s,documents\n")
	for _, c := range s.samp.countSamples() {
		fmt.Fprintf(&b, "%.1f,%d\n", c.t.Sub(s.sendStart).Seconds(), c.n)
	}
	os.WriteFile(filepath.Join(s.logs, "count.csv"), []byte(b.String()), 0o644)
}

func (s *soak) offered() int { return s.opt.tcpSenders*s.opt.tcpRate + s.opt.udpSenders*s.opt.udpRate }

func (s *soak) logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", fmtDur(time.Since(s.t0)), fmt.Sprintf(format, args...))
}

// fail records an invariant failure; the run goes on and fails at the end.
func (s *soak) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	s.logf("FAIL: %s", msg)
}

// warn records something worth reading in the report that does not fail the run.
func (s *soak) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.warnings = append(s.warnings, msg)
	s.mu.Unlock()
	s.logf("note: %s", msg)
}

// atCleanup registers f to run at the end, last registered first, also
// after a failure or an interrupt.
func (s *soak) atCleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

func (s *soak) cleanup() {
	s.cleanOnce.Do(func() {
		s.mu.Lock()
		fs := s.cleanups
		s.mu.Unlock()
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
	})
}

// removeWork deletes the work directory; after a failure it keeps the logs
// (replicas, OpenSearch) but not OpenSearch's data.
func (s *soak) removeWork(passed bool) {
	if s.work == "" {
		return
	}
	if s.opt.keep {
		fmt.Printf("soak: work directory kept: %s\n", s.work)
		return
	}
	if passed {
		os.RemoveAll(s.work)
		return
	}
	if s.node != nil {
		os.RemoveAll(filepath.Join(s.node.data, "data"))
	}
	fmt.Printf("soak: logs kept in %s (replicas: logs/, OpenSearch: opensearch/node.log)\n", s.work)
}

// unmount detaches a tmpfs, lazily if something still holds it.
func unmount(dir string) {
	if err := syscall.Unmount(dir, 0); err != nil {
		if err2 := syscall.Unmount(dir, syscall.MNT_DETACH); err2 != nil && !errors.Is(err2, syscall.EINVAL) {
			fmt.Fprintf(os.Stderr, "soak: umount %s: %v\n", dir, err2)
		}
	}
}

// sleepFor waits d or until ctx ends: the length of a fault or a pause,
// not synchronisation.
func sleepFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepUntil(ctx context.Context, t time.Time) error { return sleepFor(ctx, time.Until(t)) }

func waitGroup(ctx context.Context, wg *sync.WaitGroup, timeout time.Duration) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
}

// fmtDur prints a duration as m:ss.s or h:mm:ss.
func fmtDur(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if d >= time.Hour {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return fmt.Sprintf("%s%d:%04.1f", sign, int(d.Minutes()), d.Seconds()-float64(int(d.Minutes())*60))
}

func (s *soak) tcpSent() (n int64) {
	for _, t := range s.tcp {
		n += t.sent()
	}
	return n
}

func (s *soak) udpSent() (n int64) {
	for _, u := range s.udp {
		n += u.sent()
	}
	return n
}
