//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The fault kinds.
const (
	osKill      = "opensearch-kill" // SIGKILL of the JVM, down a while, started again on its data
	os429       = "opensearch-429"  // restarted with a write pool of 1 thread and a queue of 1, then with defaults
	replicaKill = "replica-sigkill" // SIGKILL of one replica, started again on its ports and buffer
	replicaTerm = "replica-sigterm" // SIGTERM (drain, flush, exit 0), started again
	diskFill    = "disk-fill"       // the replica's buffer tmpfs filled to ENOSPC and kept full, then freed
)

const (
	recoverMax = 10 * time.Second        // throughput must be back this long after a fault clears
	rateWindow = 2 * time.Second         // throughput is measured over windows this long
	minGap     = recoverMax + rateWindow // quiet time after each fault, at least
)

var kinds = []string{osKill, os429, replicaKill, replicaTerm, diskFill}

// fault is one injected fault and what was measured about it.
type fault struct {
	n       int
	kind    string
	rep     *replica // nil: OpenSearch
	planned time.Duration
	start   time.Time // injected
	cleared time.Time // OpenSearch healthy again / replica ready again / filler deleted
	notes   []string

	// throughput
	recovery  time.Duration
	recovered bool
	minRate   float64
	hasRate   bool

	// replica faults
	killed *incarnation
	killAt time.Time

	// filled in by verify
	unreadBound             int64 // SIGKILL: the most TCP messages the process can have left unread
	tcpWritten, tcpReceived int64 // SIGKILL: written to the killed process, counted received by it
	tcpOpen                 int   // SIGKILL: connections open at the kill
	udpBound                int64
	udpBoundSet             bool
	tcpLost                 int64              // TCP sequence numbers lost in connections this SIGKILL cut
	udpDown                 int64              // UDP datagrams sent to the target while it was stopped, missing
	udpKill                 int64              // UDP datagrams sent to the target ≤ 2 s before its SIGKILL, missing
	udpOther                int64              // other UDP datagrams sent during the fault, missing
	tcpUnexpl               int64              // TCP sequence numbers lost without a stated cause, written during the fault
	dropsDuring             map[string]float64 // drops counted during the fault, by reason (report)
}

func (f *fault) target() string {
	if f.rep == nil {
		return "OpenSearch"
	}
	return "replica " + f.rep.name
}

func (f *fault) note(format string, args ...any) {
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// params are the random ranges of the fault lengths.
type params struct {
	warmUp                 time.Duration
	osDownMin, osDownMax   time.Duration
	holdMin, holdMax       time.Duration // 429 phase
	repDownMin, repDownMax time.Duration
	fillMin, fillMax       time.Duration
	gapExtraMax            time.Duration
}

func (s *soak) params() params {
	if s.opt.duration < 10*time.Minute {
		// Short runs (CI: 3 minutes): short faults, so that all five kinds fit.
		return params{warmUp: 15 * time.Second, osDownMin: 3 * time.Second, osDownMax: 10 * time.Second,
			holdMin: 10 * time.Second, holdMax: 15 * time.Second, repDownMin: time.Second, repDownMax: 3 * time.Second,
			fillMin: 8 * time.Second, fillMax: 15 * time.Second, gapExtraMax: 3 * time.Second}
	}
	return params{warmUp: 30 * time.Second, osDownMin: 5 * time.Second, osDownMax: 30 * time.Second,
		holdMin: 20 * time.Second, holdMax: 40 * time.Second, repDownMin: time.Second, repDownMax: 5 * time.Second,
		fillMin: 10 * time.Second, fillMax: 40 * time.Second, gapExtraMax: 20 * time.Second}
}

func (s *soak) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	d := lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
	return d.Round(100 * time.Millisecond)
}

// typicalLength estimates how long a fault of this kind takes from
// injection to clearing, with its longest random length.
func (s *soak) typicalLength(kind string, p params) time.Duration {
	// One OpenSearch start: under load it takes 2–3 times the first (idle) one.
	start := max(s.slowestStart, s.nodeStartTook*5/2) + 2*time.Second
	switch kind {
	case osKill:
		return p.osDownMax + start
	case os429:
		return 2*(3*time.Second+start) + p.holdMax
	case replicaKill:
		return p.repDownMax + 2*time.Second
	case replicaTerm:
		return p.repDownMax + 4*time.Second
	case diskFill:
		return p.fillMax + time.Second
	}
	return time.Minute
}

// runSchedule injects faults one at a time: every kind once in a random
// order, then again in another random order, and so on, each followed by
// quiet time (at least minGap) to measure the recovery. The first round
// always runs whole (a short run sends a little longer rather than skip a
// kind); after it, a kind whose longest length and quiet time no longer
// fit before the deadline is skipped, and when none fits, it returns. A
// fault already running is always finished and cleared.
func (s *soak) runSchedule(ctx context.Context, deadline time.Time) error {
	p := s.params()
	if err := sleepUntil(ctx, s.sendStart.Add(p.warmUp)); err != nil {
		return err
	}
	var bag []string
	round := 0
	for {
		if len(bag) == 0 {
			bag = append([]string(nil), s.opt.kinds...)
			s.rng.Shuffle(len(bag), func(i, j int) { bag[i], bag[j] = bag[j], bag[i] })
			round++
		}
		picked := -1
		for i, k := range bag {
			if round == 1 || time.Now().Add(s.typicalLength(k, p)+minGap).Before(deadline) {
				picked = i
				break
			}
		}
		if picked < 0 {
			return nil
		}
		kind := bag[picked]
		bag = append(bag[:picked], bag[picked+1:]...)
		// Both replicas run before a fault (one may have crashed: that
		// is a failure already recorded).
		for _, r := range s.reps {
			if !r.running() {
				if err := r.launch(ctx); err != nil {
					return err
				}
			}
		}
		f := &fault{n: len(s.faults) + 1, kind: kind}
		s.mu.Lock()
		s.faults = append(s.faults, f)
		s.mu.Unlock()
		var err error
		switch kind {
		case osKill:
			err = s.injectOSKill(ctx, f, s.between(p.osDownMin, p.osDownMax))
		case os429:
			err = s.injectOS429(ctx, f, s.between(p.holdMin, p.holdMax))
		case replicaKill:
			f.rep = s.reps[s.rng.IntN(2)]
			err = s.injectReplicaKill(ctx, f, s.between(p.repDownMin, p.repDownMax))
		case replicaTerm:
			f.rep = s.reps[s.rng.IntN(2)]
			err = s.injectReplicaTerm(ctx, f, s.between(p.repDownMin, p.repDownMax))
		case diskFill:
			f.rep = s.reps[s.rng.IntN(2)]
			err = s.injectDiskFill(ctx, f, s.between(p.fillMin, p.fillMax))
		}
		if err != nil {
			return fmt.Errorf("fault %d (%s): %v", f.n, kind, err)
		}
		gap := minGap + s.between(0, p.gapExtraMax)
		s.logf("fault %d %s on %s cleared after %s; quiet for %s", f.n, kind, f.target(),
			f.cleared.Sub(f.start).Round(100*time.Millisecond), gap)
		if err := sleepFor(ctx, gap); err != nil {
			return err
		}
	}
}

func (s *soak) rel(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(s.sendStart)
	if d < 0 {
		return fmtDur(d)
	}
	return "+" + fmtDur(d)
}

// injectOSKill: SIGKILL of the OpenSearch JVM (no flush, no clean
// shutdown), down for `down`, then started again on the same data.
func (s *soak) injectOSKill(ctx context.Context, f *fault, down time.Duration) error {
	f.planned = down
	f.start = time.Now()
	pid, err := s.node.kill(ctx)
	if err != nil {
		return err
	}
	s.logf("fault %d: OpenSearch pid %d SIGKILLed; down for %s", f.n, pid, down)
	f.note("JVM (pid %d) SIGKILLed, down %s", pid, down)
	if err := sleepFor(ctx, down); err != nil { // the outage itself
		return err
	}
	took, up, err := s.restartNode(ctx)
	if err != nil {
		return err
	}
	f.cleared = time.Now()
	f.note("started again on its data in %s, index %s yellow %s later", took.Round(100*time.Millisecond), s.index, f.cleared.Sub(up).Round(100*time.Millisecond))
	return nil
}

// injectOS429: OpenSearch restarted with thread_pool.write.size=1 and
// thread_pool.write.queue_size=1 for `hold`, then restarted with its
// defaults. The index has three shards, so each bulk request becomes three
// shard-level tasks on that pool and some of them are rejected: items
// answered 429 (rejected_execution_exception) beside items created, in the
// same response (measured: 307 of 1,000 items of every request). The
// thread pool settings are static in OpenSearch 2.19, hence the restarts;
// their downtime is part of this fault.
func (s *soak) injectOS429(ctx context.Context, f *fault, hold time.Duration) error {
	f.planned = hold
	f.start = time.Now()
	if err := s.node.stop(ctx); err != nil {
		return err
	}
	took, _, err := s.restartNode(ctx, "thread_pool.write.size=1", "thread_pool.write.queue_size=1")
	if err != nil {
		return err
	}
	s.logf("fault %d: OpenSearch restarted with a write pool of 1 thread, queue 1 (in %s); for %s", f.n, took.Round(100*time.Millisecond), hold)
	tinyFrom := time.Now()
	if err := sleepFor(ctx, hold); err != nil { // the fault itself
		return err
	}
	rej, err := s.node.writeRejections(ctx)
	if err != nil {
		f.note("write pool rejections unknown: %v", err)
	}
	tiny := time.Since(tinyFrom)
	retried := s.sumDelta(tinyFrom, time.Now(), func(m msample) float64 { return m.retried })
	f.note("restarted (SIGTERM) with write pool 1 thread / queue 1 in %s; for %s OpenSearch rejected %d shard bulk requests (429), logshipper retried %.0f events",
		took.Round(100*time.Millisecond), tiny.Round(100*time.Millisecond), rej, retried)
	if rej == 0 && err == nil {
		s.warn("fault %d: OpenSearch answered no 429 while its write pool was 1 thread / queue 1", f.n)
	}
	if err := s.node.stop(ctx); err != nil {
		return err
	}
	took, up, err := s.restartNode(ctx)
	if err != nil {
		return err
	}
	f.cleared = time.Now()
	f.note("restarted with defaults in %s, index yellow %s later", took.Round(100*time.Millisecond), f.cleared.Sub(up).Round(100*time.Millisecond))
	return nil
}

// injectReplicaKill: SIGKILL of one replica; started again after `down`.
func (s *soak) injectReplicaKill(ctx context.Context, f *fault, down time.Duration) error {
	f.planned = down
	r := f.rep
	before, _ := r.current().lastSample()
	inc, t, err := r.kill(ctx)
	f.start, f.killed, f.killAt = t, inc, t
	if err != nil {
		return err
	}
	s.logf("fault %d: replica %s SIGKILLed; down for %s", f.n, inc.label(), down)
	f.note("%s SIGKILLed (%.0f TCP connections, %.0f events in its buffer at the last scrape)", inc.label(), before.tcpConns, before.bufferEvents)
	if err := sleepFor(ctx, down); err != nil {
		return err
	}
	if err := r.launch(ctx); err != nil {
		return err
	}
	next := r.current()
	f.cleared = next.ready
	f.note("%s ready %s after the kill%s", next.label(), f.cleared.Sub(t).Round(10*time.Millisecond), bufferOpened(next))
	return nil
}

// injectReplicaTerm: SIGTERM of one replica (it drains its connections,
// flushes and exits 0); started again after `down`.
func (s *soak) injectReplicaTerm(ctx context.Context, f *fault, down time.Duration) error {
	f.planned = down
	r := f.rep
	f.start = time.Now()
	inc := r.terminate(ctx, "SIGTERM (fault)")
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.logf("fault %d: replica %s SIGTERMed, exited after %s; down for %s", f.n, inc.label(), inc.exitedAt.Sub(f.start).Round(10*time.Millisecond), down)
	what := fmt.Sprintf("%s SIGTERMed, exited (%v) after %s", inc.label(), exitText(inc.exitErr), inc.exitedAt.Sub(f.start).Round(10*time.Millisecond))
	if sl := inc.shutdown; sl != nil {
		what += fmt.Sprintf("; shutdown line: received %v, lost %v, left_in_buffer %v", sl["received"], sl["lost"], sl["left_in_buffer"])
	}
	for _, l := range inc.logLines(`drain`) {
		if i := strings.Index(l, `"cut":`); i >= 0 {
			what += "; drain cut " + strings.TrimRight(strings.SplitN(l[i+6:], ",", 2)[0], "}")
			break
		}
	}
	f.note("%s", what)
	if err := sleepFor(ctx, down); err != nil {
		return err
	}
	if err := r.launch(ctx); err != nil {
		return err
	}
	next := r.current()
	f.cleared = next.ready
	f.note("%s ready %s after the SIGTERM%s", next.label(), f.cleared.Sub(f.start).Round(10*time.Millisecond), bufferOpened(next))
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// bufferOpened quotes how many events a new incarnation found in its buffer.
func bufferOpened(inc *incarnation) string {
	for _, l := range inc.logLines(`disk buffer opened`) {
		if i := strings.Index(l, `"events":`); i >= 0 {
			return ", found " + strings.SplitN(l[i+9:], ",", 2)[0] + " events in its buffer"
		}
	}
	return ""
}

// injectDiskFill fills the replica's buffer tmpfs with a filler file until
// ENOSPC and keeps it full for `hold` (every 200 ms the filler takes again
// whatever the buffer freed), then deletes the filler.
func (s *soak) injectDiskFill(ctx context.Context, f *fault, hold time.Duration) error {
	f.planned = hold
	r := f.rep
	path := filepath.Join(r.mount, "filler")
	fl, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer fl.Close()
	f.start = time.Now()
	written, err := fillUp(fl)
	if err != nil {
		return err
	}
	s.logf("fault %d: replica %s's buffer disk filled (filler %d MiB); full for %s", f.n, r.name, written>>20, hold)
	end := time.Now().Add(hold)
	for time.Now().Before(end) {
		if err := sleepFor(ctx, 200*time.Millisecond); err != nil { // the fault itself
			os.Remove(path)
			return err
		}
		n, err := fillUp(fl)
		if err != nil {
			os.Remove(path)
			return err
		}
		written += n
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	f.cleared = time.Now()
	f.note("filler wrote %.1f MiB until ENOSPC, kept the disk full %s, then deleted", float64(written)/(1<<20), hold)
	return nil
}

// fillUp appends zeros until the file system says ENOSPC.
func fillUp(f *os.File) (int64, error) {
	var total int64
	for _, size := range []int{1 << 20, 4 << 10} {
		buf := make([]byte, size)
		for {
			n, err := f.Write(buf)
			total += int64(n)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// sumDelta sums, over both replicas, how much a counter grew between two
// times (counter resets by restarts handled per incarnation).
func (s *soak) sumDelta(from, to time.Time, get func(msample) float64) float64 {
	var sum float64
	for _, r := range s.reps {
		r.mu.Lock()
		incs := append([]*incarnation(nil), r.incs...)
		r.mu.Unlock()
		for _, inc := range incs {
			inc.mu.Lock()
			var first, last *msample
			for i := range inc.samples {
				sm := &inc.samples[i]
				if sm.t.Before(from) {
					first = sm
					continue
				}
				if sm.t.After(to) {
					break
				}
				if first == nil {
					// Started during the window: from zero.
					first = &msample{droppedBy: map[string]float64{}}
				}
				last = sm
			}
			if first != nil && last != nil {
				sum += get(*last) - get(*first)
			}
			inc.mu.Unlock()
		}
	}
	return sum
}

// restartNode starts OpenSearch again on its data, with settings, and
// waits until the index is usable. It returns how long the start took and
// when it returned (before the wait for the index).
func (s *soak) restartNode(ctx context.Context, settings ...string) (took time.Duration, up time.Time, err error) {
	took, err = s.node.start(ctx, false, settings...)
	if err != nil {
		return 0, time.Time{}, err
	}
	s.sawStart(took)
	up = time.Now()
	return took, up, s.node.waitIndex(ctx, s.index)
}

// sawStart remembers the slowest OpenSearch start (under load a start
// takes two to three times as long as the first one).
func (s *soak) sawStart(d time.Duration) { s.slowestStart = max(s.slowestStart, d) }
