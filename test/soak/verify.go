//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// killGrace: bytes a sender wrote just before closing a connection may
// still sit unread in the replica's socket buffer a moment later; a
// SIGKILL this soon after the sender's close still counts as cutting them.
const killGrace = 2 * time.Second

// udpKillWindow: UDP datagrams sent to a replica this long before its
// SIGKILL count as possibly unread in its socket buffer.
const udpKillWindow = 2 * time.Second

// Resource flatness: the largest sample of the last third of the window is
// at most flatFactor × the largest of the first third plus a slack. The
// RSS slack is twice what one full in-memory queue may hold
// (pipeline.queue_bytes 16 MiB of messages plus ~0.4 KiB of bookkeeping
// for each of up to 32768 events; twice because the Go runtime lets the
// heap grow to twice the live data before it collects, GOGC=100): the
// replay after an outage in the last third may fill it when nothing in
// the first third did, and the runtime gives memory back to the kernel
// slowly. Goroutines and open files: a few connections and their
// goroutines more or less (senders move between replicas).
const flatFactor = 1.25

var flatSlack = map[string]float64{"rss": 64 << 20, "goroutines": 20, "fds": 10}

// streamResult is what the index holds of one sender's sequence numbers.
type streamResult struct {
	name, proto string
	sent        int64
	docs        int64 // documents of this sender (logsource prefix)
	wellFormed  int64
	missing     []int64
	causes      map[string]int64
	unexplained int64
	details     []string
}

type resResult struct {
	rep, metric               string
	firstMax, lastMax, allMax float64
	firstN, lastN             int
	quiet                     bool // only samples outside faults
	limit                     float64
	flat                      bool
	skipped                   string
}

type shutdownResult struct {
	inc      *incarnation
	fields   map[string]float64
	missing  []string
	lhs      float64 // received + recovered
	rhs      float64 // indexed + dead_lettered + left_in_buffer + lost
	checked  bool
	udpDrops float64 // UDP datagrams the process counted as dropped, at its last scrape
}

// settle waits until both replicas have nothing left in their buffers and
// queues and no connection open, and OpenSearch's count stops changing.
func (s *soak) settle(ctx context.Context, timeout time.Duration) error {
	t0 := time.Now()
	deadline := t0.Add(timeout)
	last := int64(-1)
	for {
		settled, why := true, ""
		for _, r := range s.reps {
			inc := r.current()
			m, err := inc.scrape(ctx)
			switch {
			case err != nil:
				settled, why = false, fmt.Sprintf("replica %s: %v", inc.label(), err)
			case !m.hasBuffer:
				return fmt.Errorf("replica %s has no logshipper_buffer_events metric: not running with the disk buffer?", inc.label())
			case m.bufferEvents != 0 || m.queueEvents != 0 || m.tcpConns != 0:
				settled, why = false, fmt.Sprintf("replica %s: %v events in the buffer, %v queued, %v TCP connections", inc.label(), m.bufferEvents, m.queueEvents, m.tcpConns)
			}
		}
		if settled {
			if err := s.node.refresh(ctx, s.index); err == nil {
				n, err := s.node.count(ctx, s.index, "")
				if err == nil && n == last {
					s.logf("settled in %s: %d documents", time.Since(t0).Round(100*time.Millisecond), n)
					return nil
				}
				last = n
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not settled %s after the senders stopped: %s (documents %d)", timeout, why, last)
		}
		if err := sleepFor(ctx, time.Second); err != nil { // polling other processes
			return err
		}
	}
}

// verify checks the invariants; failures go to s.fail.
func (s *soak) verify(ctx context.Context) error {
	s.logf("checking the index")
	if err := s.node.refresh(ctx, s.index); err != nil {
		return err
	}
	total, err := s.node.count(ctx, s.index, "")
	if err != nil {
		return err
	}
	s.totalDocs = total

	// 1. No sequence number twice.
	var dr struct {
		Aggregations struct {
			Dups struct {
				Buckets []struct {
					Key      string
					DocCount int64 `json:"doc_count"`
				}
			}
		}
	}
	if err := s.node.search(ctx, "/"+s.index+"/_search",
		`{"size":0,"aggs":{"dups":{"terms":{"field":"logsource","min_doc_count":2,"size":50}}}}`, &dr); err != nil {
		return err
	}
	for _, b := range dr.Aggregations.Dups.Buckets {
		s.dups = append(s.dups, fmt.Sprintf("%s×%d", b.Key, b.DocCount))
	}
	if len(s.dups) > 0 {
		s.fail("sequence numbers indexed more than once: %s", strings.Join(s.dups, " "))
	}

	// 2. Every missing sequence number has a cause.
	var wellFormed int64
	var cands []candidate
	for _, t := range s.tcp {
		sr, err := s.stream(ctx, t.name, "tcp", t.sent())
		if err != nil {
			return err
		}
		cands = append(cands, s.attributeTCP(t, sr)...)
		s.streams = append(s.streams, sr)
		wellFormed += sr.wellFormed
	}
	s.boundKills(cands)
	for _, sr := range s.streams {
		if sr.unexplained > 0 {
			s.fail("TCP sender %s: %d sequence numbers missing without a stated cause: %s", sr.name, sr.unexplained, strings.Join(sr.details, "; "))
		}
	}
	for _, u := range s.udp {
		sr, err := s.stream(ctx, u.name, "udp", u.sent())
		if err != nil {
			return err
		}
		s.attributeUDP(u, sr)
		s.streams = append(s.streams, sr)
		wellFormed += sr.wellFormed
	}
	if other := total - wellFormed; other != 0 {
		s.fail("%d documents whose logsource is not a sequence number of a sender (corrupted or cut messages)", other)
	}
	s.udpAccounting()

	// 3. Resources flat.
	s.resources()
	// 4. Throughput back within 10 s of every fault clearing.
	s.recoveries()
	// 5. Shutdown lines add up.
	s.shutdowns()
	return nil
}

// stream counts one sender's documents and finds its missing numbers.
func (s *soak) stream(ctx context.Context, name, proto string, sent int64) (*streamResult, error) {
	sr := &streamResult{name: name, proto: proto, sent: sent, causes: map[string]int64{}}
	var err error
	if sr.docs, err = s.node.count(ctx, s.index, fmt.Sprintf(`{"prefix":{"logsource":%q}}`, name+"-")); err != nil {
		return nil, err
	}
	if sr.wellFormed, err = s.node.count(ctx, s.index, fmt.Sprintf(`{"regexp":{"logsource":"%s-[0-9]{8}"}}`, name)); err != nil {
		return nil, err
	}
	var find func(lo, hi int64) error
	find = func(lo, hi int64) error {
		if lo >= hi {
			return nil
		}
		n, err := s.node.count(ctx, s.index, fmt.Sprintf(`{"range":{"logsource":{"gte":%q,"lt":%q}}}`, seqKey(name, lo), seqKey(name, hi)))
		if err != nil {
			return err
		}
		switch {
		case n == hi-lo:
			return nil
		case n == 0:
			for i := lo; i < hi; i++ {
				sr.missing = append(sr.missing, i)
			}
			return nil
		case hi-lo <= 5000:
			var r struct {
				Aggregations struct {
					S struct {
						Buckets []struct{ Key string }
					}
				}
			}
			if err := s.node.search(ctx, "/"+s.index+"/_search", fmt.Sprintf(
				`{"size":0,"query":{"range":{"logsource":{"gte":%q,"lt":%q}}},"aggs":{"s":{"terms":{"field":"logsource","size":%d}}}}`,
				seqKey(name, lo), seqKey(name, hi), hi-lo), &r); err != nil {
				return err
			}
			seen := make(map[string]bool, len(r.Aggregations.S.Buckets))
			for _, b := range r.Aggregations.S.Buckets {
				seen[b.Key] = true
			}
			for i := lo; i < hi; i++ {
				if !seen[seqKey(name, i)] {
					sr.missing = append(sr.missing, i)
				}
			}
			return nil
		}
		mid := lo + (hi-lo)/2
		if err := find(lo, mid); err != nil {
			return err
		}
		return find(mid, hi)
	}
	if err := find(0, sent); err != nil {
		return nil, err
	}
	return sr, nil
}

func seqKey(name string, seq int64) string { return fmt.Sprintf("%s-%08d", name, seq) }

// candidate is a run of missing TCP sequence numbers that a SIGKILL may
// explain, pending the check of boundKills.
type candidate struct {
	sr   *streamResult
	f    *fault
	n    int64
	desc string
}

// attributeTCP: a missing TCP sequence number may be explained when it was
// written on a connection to a replica that was SIGKILLed while that
// connection was open (or within killGrace of the sender closing it), and
// everything written after it on that connection is missing too: the
// unread tail of the connection, in the killed replica's socket buffers or
// read but not yet committed. Those are returned as candidates for
// boundKills; anything else is unexplained.
func (s *soak) attributeTCP(t *tcpSender, sr *streamResult) []candidate {
	if len(sr.missing) == 0 {
		return nil
	}
	var cands []candidate
	recs := t.conns()
	miss := sr.missing // sorted
	covered := int64(0)
	for _, c := range recs {
		if c.first < 0 {
			continue
		}
		lo := sort.Search(len(miss), func(i int) bool { return miss[i] >= c.first })
		hi := sort.Search(len(miss), func(i int) bool { return miss[i] > c.last })
		n := int64(hi - lo)
		if n == 0 {
			continue
		}
		covered += n
		var kill *fault
		for _, f := range s.faults {
			if f.kind == replicaKill && f.rep.idx == c.replica && f.killed != nil && f.killed.n == c.incarnation &&
				!f.killAt.Before(c.opened) && (c.closed.IsZero() || !f.killAt.After(c.closed.Add(killGrace))) {
				kill = f
				break
			}
		}
		suffix := miss[lo] == c.last-n+1 // n numbers, the last being c.last: the connection's tail
		desc := fmt.Sprintf("%s %s on a connection to %s#%d (opened %s, closed %s: %s; it carried %d–%d)",
			t.name, rangeText(miss[lo:hi]), s.reps[c.replica].name, c.incarnation, s.rel(c.opened), s.rel(c.closed), c.end, c.first, c.last)
		if kill != nil && suffix {
			cands = append(cands, candidate{sr: sr, f: kill, n: n, desc: desc})
			continue
		}
		if kill != nil {
			desc += fmt.Sprintf("; replica SIGKILLed at %s but these are not the connection's tail", s.rel(kill.killAt))
		}
		s.unexplainedTCP(sr, n, desc, c.closed)
	}
	if rest := int64(len(miss)) - covered; rest > 0 {
		sr.unexplained += rest
		sr.details = append(sr.details, fmt.Sprintf("%d never written on any connection (a harness bug)", rest))
	}
	return cands
}

func (s *soak) unexplainedTCP(sr *streamResult, n int64, desc string, at time.Time) {
	sr.unexplained += n
	if len(sr.details) < 10 {
		sr.details = append(sr.details, desc)
	}
	if at.IsZero() {
		at = s.sendEnd
	}
	if f := s.faultAt(at); f != nil {
		f.tcpUnexpl += n
	}
}

// readBufferMessages: what a replica may have read from one connection and
// counted as received but not yet committed when it is killed: one read
// buffer (at most max_message_size + 8 KiB = 72 KiB) of messages of at
// least 64 bytes.
const readBufferMessages = (64<<10 + 8<<10) / 64

// boundKills checks, per SIGKILL, that the losses its candidates claim are
// possible: a killed process can have left unread (or read and not
// committed) at most what was written to it minus what it had counted as
// received at its last scrape before the kill, plus one read buffer per
// open connection. Everything it counted as received was on its disk.
// Within the bound the candidates are explained; beyond it none of them
// is (the process lost messages it had read).
func (s *soak) boundKills(cands []candidate) {
	for _, f := range s.faults {
		if f.kind != replicaKill || f.killed == nil {
			continue
		}
		var claimed int64
		for _, c := range cands {
			if c.f == f {
				claimed += c.n
			}
		}
		var written int64
		open := 0
		for _, t := range s.tcp {
			for _, c := range t.conns() {
				if c.replica != f.rep.idx || c.incarnation != f.killed.n {
					continue
				}
				if c.first >= 0 {
					written += c.last - c.first + 1
				}
				if !c.opened.After(f.killAt) && (c.closed.IsZero() || !c.closed.Before(f.killAt)) {
					open++
				}
			}
		}
		var received float64
		if m, ok := f.killed.sampleAt(f.killAt); ok {
			received = m.receivedTCP
		}
		f.unreadBound = written - int64(received) + int64(open*readBufferMessages)
		f.tcpWritten, f.tcpReceived, f.tcpOpen = written, int64(received), open
		ok := claimed <= f.unreadBound
		for _, c := range cands {
			if c.f != f {
				continue
			}
			if ok {
				f.tcpLost += c.n
				c.sr.causes[fmt.Sprintf("unread by replica %s when SIGKILLed (fault %d)", f.rep.name, f.n)] += c.n
				continue
			}
			s.unexplainedTCP(c.sr, c.n, c.desc+fmt.Sprintf("; %d lost at the SIGKILL of %s, more than it could have left unread (%d written to it, %d counted as received at its last scrape, %d connections open: at most %d)",
				claimed, f.killed.label(), written, int64(received), open, f.unreadBound), f.killAt)
		}
	}
}

// faultAt is the fault whose window (injection to cleared + recoverMax)
// holds t.
func (s *soak) faultAt(t time.Time) *fault {
	for _, f := range s.faults {
		end := f.cleared
		if end.IsZero() {
			end = s.sendEnd
		}
		if !t.Before(f.start) && !t.After(end.Add(recoverMax)) {
			return f
		}
	}
	return nil
}

// attributeUDP sorts the missing datagrams by cause: sent to a replica
// while it was stopped (signal to ready again), sent to it at most
// udpKillWindow before its SIGKILL (unread in its socket buffer), or
// other (compared in udpAccounting with the drops the replicas counted).
func (s *soak) attributeUDP(u *udpSender, sr *streamResult) {
	u.mu.Lock()
	target := append([]uint8(nil), u.target...)
	at := append([]int64(nil), u.at...)
	u.mu.Unlock()
	for _, seq := range sr.missing {
		if seq >= int64(len(target)) {
			continue
		}
		r := s.reps[target[seq]]
		t := s.sendStart.Add(time.Duration(at[seq]))
		if r.downAt(t) {
			sr.causes[fmt.Sprintf("sent to replica %s while it was stopped", r.name)]++
			for _, f := range s.faults {
				if f.rep == r && !t.Before(f.start) && !t.After(f.cleared) {
					f.udpDown++
					break
				}
			}
			continue
		}
		var kill *fault
		for _, f := range s.faults {
			if f.kind == replicaKill && f.rep == r && !t.After(f.killAt) && t.After(f.killAt.Add(-udpKillWindow)) {
				kill = f
				break
			}
		}
		if kill != nil && kill.udpKill < s.udpUnreadBound(kill) {
			kill.udpKill++
			sr.causes[fmt.Sprintf("unread by replica %s when SIGKILLed", r.name)]++
			continue
		}
		sr.causes["other (see the replicas' drop counters)"]++
		if f := s.faultAt(t); f != nil {
			f.udpOther++
		}
	}
}

// udpUnreadBound: the killed process can have left unread at most the
// datagrams sent to it (by every UDP sender) minus those it had counted as
// received at its last scrape.
func (s *soak) udpUnreadBound(f *fault) int64 {
	if f.udpBoundSet {
		return f.udpBound
	}
	var sent int64
	from := f.killed.started
	for _, u := range s.udp {
		u.mu.Lock()
		for i, tg := range u.target {
			t := s.sendStart.Add(time.Duration(u.at[i]))
			if int(tg) == f.rep.idx && !t.Before(from) && !t.After(f.killAt) {
				sent++
			}
		}
		u.mu.Unlock()
	}
	var received float64
	if m, ok := f.killed.sampleAt(f.killAt); ok {
		received = m.receivedUDP
	}
	f.udpBound, f.udpBoundSet = max(0, sent-int64(received)), true
	return f.udpBound
}

// udpAccounting compares the UDP losses with no other cause with the
// drops the replicas counted (every reason, summed over every process at
// its last scrape). UDP loss does not fail the run; an excess is reported.
func (s *soak) udpAccounting() {
	var other int64
	for _, sr := range s.streams {
		if sr.proto == "udp" {
			other += sr.causes["other (see the replicas' drop counters)"]
		}
	}
	s.dropsBy = map[string]float64{}
	for _, r := range s.reps {
		for _, inc := range r.incs {
			if m, ok := inc.lastSample(); ok {
				for k, v := range m.droppedBy {
					s.dropsBy[k] += v
				}
			}
		}
	}
	var counted float64
	for _, v := range s.dropsBy {
		counted += v
	}
	s.udpOtherMissing, s.udpCountedDrops = other, counted
	if float64(other) > counted {
		s.warn("UDP: %d datagrams missing with no stated cause, the replicas counted %.0f drops in all: %.0f lost without a count",
			other, counted, float64(other)-counted)
	}
}

// created is how many new documents the replicas had indexed by t in
// all: logshipper_events_indexed_total minus the 409s of re-sent events
// (logshipper_events_already_indexed_total), summed over every process,
// interpolated between its scrapes (a process counts 0 before its first
// scrape and its last scrape after it).
func (s *soak) created(t time.Time) float64 {
	var sum float64
	for _, r := range s.reps {
		for _, inc := range r.incs {
			inc.mu.Lock()
			ms := inc.samples
			i := sort.Search(len(ms), func(i int) bool { return ms[i].t.After(t) })
			switch {
			case i == 0:
			case i == len(ms):
				sum += ms[i-1].indexed - ms[i-1].already
			default:
				a, b := ms[i-1], ms[i]
				va, vb := a.indexed-a.already, b.indexed-b.already
				sum += va + (vb-va)*float64(t.Sub(a.t))/float64(b.t.Sub(a.t))
			}
			inc.mu.Unlock()
		}
	}
	return sum
}

// rateAt is the replicas' indexing rate (new documents per second) over
// the rateWindow ending at t.
func (s *soak) rateAt(t time.Time) float64 {
	return (s.created(t) - s.created(t.Add(-rateWindow))) / rateWindow.Seconds()
}

// recoveries measures, for every fault, the time from its clearing until
// the end of the first rateWindow (wholly after the clearing, stepped by
// 250 ms) in which the replicas indexed new documents at least at half the
// offered rate; more than recoverMax fails the run. The replicas' own
// counters of what OpenSearch confirmed are used rather than OpenSearch's
// _count: right after a restart OpenSearch is busy with the backlog and
// its _refresh and _count answer late, while indexing goes on.
func (s *soak) recoveries() {
	half := float64(s.offered()) / 2
	const step = 250 * time.Millisecond
	for _, f := range s.faults {
		if f.cleared.IsZero() {
			continue
		}
		f.minRate, f.hasRate = math.Inf(1), false
		first := f.start.Add(rateWindow)
		if first.After(f.cleared) {
			first = f.cleared
		}
		for t := first; !t.After(f.cleared); t = t.Add(step) {
			f.minRate, f.hasRate = math.Min(f.minRate, s.rateAt(t)), true
		}
		for t := f.cleared.Add(rateWindow); !t.After(f.cleared.Add(time.Minute)); t = t.Add(step) {
			if s.rateAt(t) >= half {
				f.recovery, f.recovered = t.Sub(f.cleared), true
				break
			}
		}
		switch {
		case !f.recovered:
			s.fail("fault %d (%s on %s): throughput not back to half the offered rate (%.0f msgs/s) within a minute of the fault clearing",
				f.n, f.kind, f.target(), half)
		case f.recovery > recoverMax:
			s.fail("fault %d (%s on %s): throughput back to half the offered rate only %s after the fault cleared (limit %s)",
				f.n, f.kind, f.target(), f.recovery.Round(100*time.Millisecond), recoverMax)
		}
	}
}

// resourceWindow is where resources must be flat: from the fifth minute
// (runs under 10 minutes: from 40% of the duration) to the senders' stop.
func (s *soak) resourceWindow() (time.Time, time.Time) {
	from := s.sendStart.Add(5 * time.Minute)
	if s.opt.duration < 10*time.Minute {
		from = s.sendStart.Add(s.opt.duration * 4 / 10)
	}
	return from, s.sendEnd
}

// resources checks RSS, goroutines and open files per replica, across its
// processes: the largest sample of the last third of the window at most
// flatFactor × the largest of the first third + a slack. Faults happen in
// every third, so peaks are compared with peaks; across processes,
// because a replica that comes back bigger after each restart (a growing
// replay) is as much a leak as one that grows while it runs.
func (s *soak) resources() {
	from, to := s.resourceWindow()
	third := to.Sub(from) / 3
	for _, r := range s.reps {
		var all []msample
		for _, inc := range r.incs {
			inc.mu.Lock()
			for _, m := range inc.samples {
				if !m.t.Before(from) && !m.t.After(to) {
					all = append(all, m)
				}
			}
			inc.mu.Unlock()
		}
		for _, metric := range []string{"rss", "goroutines", "fds"} {
			get := func(m msample) (float64, bool) {
				switch metric {
				case "rss":
					return m.rss, m.hasRSS
				case "goroutines":
					return m.goroutines, m.hasGoroutines
				}
				return m.fds, m.hasFD
			}
			pick := func(lo, hi time.Time) (float64, int) {
				mx, n := 0.0, 0
				for _, m := range all {
					if v, ok := get(m); ok && !m.t.Before(lo) && !m.t.After(hi) {
						mx, n = math.Max(mx, v), n+1
					}
				}
				return mx, n
			}
			res := &resResult{rep: r.name, metric: metric}
			res.allMax, _ = pick(from, to)
			res.firstMax, res.firstN = pick(from, from.Add(third))
			res.lastMax, res.lastN = pick(to.Add(-third), to)
			res.limit = flatFactor*res.firstMax + flatSlack[metric]
			switch {
			case res.firstN == 0 || res.lastN == 0:
				s.fail("replica %s: no %s samples in the first or last third of %s–%s", r.name, metric, s.rel(from), s.rel(to))
			case res.lastMax > res.limit:
				s.fail("replica %s: %s grew: largest %s in the last third of the window (from %s), %s in the first third (limit %s)",
					r.name, metric, fmtRes(metric, res.lastMax), s.rel(to.Add(-third)), fmtRes(metric, res.firstMax), fmtRes(metric, res.limit))
			default:
				res.flat = true
			}
			s.res = append(s.res, res)
		}
	}
}

func fmtRes(metric string, v float64) string {
	if metric == "rss" {
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.0f", v)
}

// udpDropReasons are the drop reasons of UDP datagrams logshipper had
// read (udp_kernel ones it never saw; shutdown and dead_letter are not
// UDP's).
var udpDropReasons = []string{"queue_full", "buffer_full", "disk_full", "disk_error"}

// shutdownFields are the terms of: received + recovered = indexed +
// dead_lettered + left_in_buffer + lost.
var shutdownFields = []string{"received", "recovered", "indexed", "dead_lettered", "left_in_buffer", "lost"}

// shutdowns checks every shutdown line (each SIGTERMed process): when all
// fields are there they must add up; a missing field counts 0 and is
// reported, not failed (yet).
func (s *soak) shutdowns() {
	for _, r := range s.reps {
		for _, inc := range r.incs {
			if inc.shutdown == nil {
				continue
			}
			sr := &shutdownResult{inc: inc, fields: map[string]float64{}}
			for _, k := range shutdownFields {
				v, ok := inc.shutdown[k].(float64)
				if !ok {
					sr.missing = append(sr.missing, k)
				}
				sr.fields[k] = v
			}
			f := sr.fields
			sr.lhs = f["received"] + f["recovered"]
			sr.rhs = f["indexed"] + f["dead_lettered"] + f["left_in_buffer"] + f["lost"]
			if len(sr.missing) == 0 {
				sr.checked = true
				if sr.lhs != sr.rhs {
					s.fail("replica %s's shutdown line does not add up: received %.0f + recovered %.0f = %.0f, indexed %.0f + dead_lettered %.0f + left_in_buffer %.0f + lost %.0f = %.0f",
						inc.label(), f["received"], f["recovered"], sr.lhs, f["indexed"], f["dead_lettered"], f["left_in_buffer"], f["lost"], sr.rhs)
				}
			}
			// lost may hold UDP datagrams read and then dropped (full
			// queue, buffer or disk), never more: with a disk buffer no
			// TCP event is lost at a SIGTERM.
			if m, ok := inc.lastSample(); ok {
				for _, reason := range udpDropReasons {
					sr.udpDrops += m.droppedBy[reason]
				}
			}
			if f["lost"] > sr.udpDrops {
				s.fail("replica %s's shutdown line says lost=%.0f, but it had counted only %.0f UDP datagrams dropped (%s) at its last scrape: events lost at the shutdown",
					inc.label(), f["lost"], sr.udpDrops, strings.Join(udpDropReasons, ", "))
			}
			s.shut = append(s.shut, sr)
		}
	}
}

// rangeText prints sorted numbers as compact ranges: "3-7 12 40-41".
func rangeText(nums []int64) string {
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(nums[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", nums[i], nums[j]))
		}
		if len(parts) == 8 {
			parts = append(parts, "…")
			break
		}
		i = j + 1
	}
	return strings.Join(parts, " ")
}
