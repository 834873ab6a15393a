//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// observe summarises what the replicas showed during a fault: readiness,
// the disk fault gauge, drops, reading.
func (s *soak) observe(f *fault) []string {
	if f.cleared.IsZero() {
		return nil
	}
	var out []string
	reps := s.reps
	if f.rep != nil {
		reps = []*replica{f.rep}
	}
	// Drops counted during the fault (every replica: UDP fails over).
	drops := map[string]float64{}
	for _, r := range s.reps {
		for _, inc := range r.incs {
			a, okA := inc.sampleAt(f.start)
			b, okB := inc.sampleAt(f.cleared.Add(recoverMax))
			if !okB {
				continue
			}
			if !okA {
				a = msample{droppedBy: map[string]float64{}}
			}
			for k, v := range b.droppedBy {
				if d := v - a.droppedBy[k]; d > 0 {
					drops[k] += d
				}
			}
		}
	}
	f.dropsDuring = drops
	// When each replica indexed again after the clearing (its
	// logshipper_events_indexed_total grew): the retry backoff shows here.
	if f.rep == nil || f.kind == diskFill {
		var again []string
		for _, r := range s.reps {
			for _, inc := range r.incs {
				base, ok := inc.sampleAt(f.cleared)
				if !ok {
					continue
				}
				inc.mu.Lock()
				for _, m := range inc.samples {
					if m.t.After(f.cleared) && m.indexed > base.indexed {
						again = append(again, fmt.Sprintf("%s ≤%s", inc.label(), m.t.Sub(f.cleared).Round(100*time.Millisecond)))
						break
					}
				}
				inc.mu.Unlock()
			}
		}
		if len(again) > 0 {
			out = append(out, "indexing again after the clearing: "+strings.Join(again, ", "))
		}
	}
	if len(drops) > 0 {
		var ks []string
		for k, v := range drops {
			ks = append(ks, fmt.Sprintf("%s %.0f", k, v))
		}
		sort.Strings(ks)
		out = append(out, "drops counted: "+strings.Join(ks, ", "))
	}
	if f.kind != diskFill {
		return out
	}
	// A full disk: /readyz, the gauge, and whether the replica kept reading.
	for _, r := range reps {
		inc := r.current()
		for _, i := range r.incs {
			if !i.started.After(f.start) && (i.exitedAt.IsZero() || i.exitedAt.After(f.start)) {
				inc = i
			}
		}
		inc.mu.Lock()
		n503, nAll, reason := 0, 0, ""
		for _, rs := range inc.readiness {
			if rs.t.Before(f.start) || rs.t.After(f.cleared) {
				continue
			}
			nAll++
			if rs.code == 503 {
				n503++
				if reason == "" {
					reason = rs.body
				}
			}
		}
		gauge := -1.0
		var recvFrom, recvTo float64
		haveFrom := false
		for _, m := range inc.samples {
			if m.t.Before(f.start) {
				recvFrom, haveFrom = m.received, true
				continue
			}
			if m.t.After(f.cleared) {
				break
			}
			gauge = math.Max(gauge, m.diskFault)
			recvTo = m.received
		}
		inc.mu.Unlock()
		if reason != "" {
			out = append(out, fmt.Sprintf("/readyz 503 in %d of %d probes (%q)", n503, nAll, reason))
		} else {
			out = append(out, fmt.Sprintf("/readyz 503 in 0 of %d probes", nAll))
		}
		switch gauge {
		case -1:
			out = append(out, "no logshipper_disk_fault gauge")
		default:
			out = append(out, fmt.Sprintf("logshipper_disk_fault{component=\"buffer\"} max %.0f", gauge))
		}
		if haveFrom && recvTo >= recvFrom {
			out = append(out, fmt.Sprintf("%s received %.0f events while its disk was full", inc.label(), recvTo-recvFrom))
		}
		for _, l := range inc.logLines(`"level":"warn"`, `"level":"error"`) {
			if strings.Contains(l, "space") || strings.Contains(l, "disk") || strings.Contains(l, "buffer") {
				out = append(out, "log: "+trimLog(l))
				break
			}
		}
	}
	return out
}

func trimLog(l string) string {
	if len(l) > 240 {
		return l[:240] + "…"
	}
	return l
}

func (s *soak) writeReport(path string) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	passed := len(s.failures) == 0

	commit := "unknown"
	if out, err := exec.Command("git", "-C", s.root, "describe", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	kernel := "?"
	if out, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(out))
	}
	sendFor := s.sendEnd.Sub(s.sendStart)
	if s.sendEnd.IsZero() {
		sendFor = time.Since(s.sendStart)
	}

	w("# Chaos soak\n\n")
	w("`go run ./test/soak -duration %s -seed %d` (`make soak DURATION=%s SEED=%d`), %s UTC, commit `%s`, %d CPUs, kernel %s.\n\n",
		s.opt.duration, s.opt.seed, s.opt.duration, s.opt.seed, s.t0.UTC().Format("2006-01-02 15:04"), commit, runtime.NumCPU(), kernel)
	if len(s.opt.kinds) != len(kinds) {
		w("Fault kinds limited to: %s.\n\n", strings.Join(s.opt.kinds, ", "))
	}
	if passed {
		w("**Result: PASS**: every invariant held.\n\n")
	} else {
		w("**Result: FAIL**\n\n")
		for _, f := range s.failures {
			w("- %s\n", mdLine(f))
		}
		w("\n")
	}

	w("## Set-up\n\n")
	w("- OpenSearch 2.19 from `testenv/opensearch.sh` on 127.0.0.1 (first start %s), index `%s`.\n", s.nodeStartTook.Round(100*time.Millisecond), s.index)
	bin := "built from the working tree"
	if s.opt.binary != "" {
		bin = "(`" + s.opt.binary + "`, not built from the working tree)"
	}
	w("- Two logshipper replicas %s, `buffer.type: disk`, each buffer on its own %s tmpfs, every other setting default.\n", bin, s.opt.tmpfsSize)
	w("- Senders: %d TCP × %d msgs/s (rsyslog omfwd-shaped: one connection, recv(MSG_PEEK) before every write, failed writes retried on a new connection, failover to the other replica, back to the primary after %s) and %d UDP × %d datagrams/s: **%d msgs/s offered**.\n",
		s.opt.tcpSenders, s.opt.tcpRate, resumeAfter, s.opt.udpSenders, s.opt.udpRate, s.offered())
	w("- Sent for %s; faults one at a time, each followed by at least %s of quiet.\n\n", sendFor.Round(time.Second), minGap)

	w("## Faults\n\n")
	w("Times are from the senders' start. *Length*: injection to cleared (OpenSearch healthy / replica ready on `/readyz` / filler deleted). *Recovery*: from cleared to the end of the first %s window in which the replicas indexed new documents (`indexed` − `already_indexed`, summed over both) at ≥ half the offered rate (%s is the floor; limit %s). *Low*: the lowest %s-window rate during the fault.\n\n",
		rateWindow, rateWindow, recoverMax, rateWindow)
	w("| # | at | fault | target | length | recovery | low | what happened | lost (cause) |\n|---:|---|---|---|---:|---:|---:|---|---|\n")
	for _, f := range s.faults {
		rec := "-"
		if f.recovered {
			rec = f.recovery.Round(100 * time.Millisecond).String()
			if f.recovery > recoverMax {
				rec = "**" + rec + "**"
			}
		} else if !f.cleared.IsZero() {
			rec = "**never**"
		}
		low := "-"
		if f.hasRate {
			low = fmt.Sprintf("%.0f/s", f.minRate)
		}
		length := "-"
		if !f.cleared.IsZero() {
			length = f.cleared.Sub(f.start).Round(100 * time.Millisecond).String()
		}
		what := append(append([]string(nil), f.notes...), s.observe(f)...)
		w("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.n, s.rel(f.start), f.kind, f.target(), length, rec, low,
			mdCell(strings.Join(what, "; ")), mdCell(lostText(f)))
	}
	if len(s.faults) == 0 {
		w("| | | none injected | | | | | | |\n")
	}
	kindsRun := map[string]int{}
	for _, f := range s.faults {
		kindsRun[f.kind]++
	}
	var missingKinds []string
	for _, k := range s.opt.kinds {
		if kindsRun[k] == 0 {
			missingKinds = append(missingKinds, k)
		}
	}
	if len(missingKinds) > 0 {
		w("\nNot injected in this run (did not fit): %s.\n", strings.Join(missingKinds, ", "))
	}

	w("\n## Messages\n\n")
	w("Each message carries `<sender>-<sequence number>` as its hostname (`logsource`, a keyword). *Twice*: a terms aggregation with `min_doc_count: 2` over the whole index. *Missing*: every number below what the sender sent, found by counting ranges.\n\n")
	w("| sender | sent | indexed | twice | missing | stated cause | no stated cause |\n|---|---:|---:|---:|---:|---|---:|\n")
	var tot struct{ sent, docs, miss, unex int64 }
	for _, sr := range s.streams {
		var causes []string
		for k, v := range sr.causes {
			causes = append(causes, fmt.Sprintf("%d %s", v, k))
		}
		sort.Strings(causes)
		twice := 0
		for _, d := range s.dups {
			if strings.HasPrefix(d, sr.name+"-") {
				twice++
			}
		}
		unex := fmt.Sprint(sr.unexplained)
		if sr.proto == "udp" {
			unex = "(UDP: see below)"
		} else if sr.unexplained > 0 {
			unex = fmt.Sprintf("**%d**", sr.unexplained)
		}
		w("| %s (%s) | %d | %d | %d | %d | %s | %s |\n", sr.name, sr.proto, sr.sent, sr.wellFormed, twice, len(sr.missing), mdCell(strings.Join(causes, "; ")), unex)
		tot.sent += sr.sent
		tot.docs += sr.wellFormed
		tot.miss += int64(len(sr.missing))
		tot.unex += sr.unexplained
	}
	w("| **all** | %d | %d | %d | %d | | %d TCP |\n\n", tot.sent, tot.docs, len(s.dups), tot.miss, tot.unex)
	w("Documents in the index: %d.\n\n", s.totalDocs)
	for _, sr := range s.streams {
		if len(sr.details) > 0 {
			w("- %s, no stated cause: %s\n", sr.name, mdLine(strings.Join(sr.details, "; ")))
		}
	}
	var drops []string
	for k, v := range s.dropsBy {
		if v > 0 {
			drops = append(drops, fmt.Sprintf("%s %.0f", k, v))
		}
	}
	sort.Strings(drops)
	w("UDP: %d missing datagrams had no cause of their own (not sent to a stopped replica, not just before a SIGKILL); the replicas counted %.0f dropped events in all (`logshipper_events_dropped_total`, every reason, every process at its last scrape: %s).\n\n",
		s.udpOtherMissing, s.udpCountedDrops, orNone(strings.Join(drops, ", ")))
	for _, t := range s.tcp {
		w("- %s: %d connections, %d reconnects after the replica's FIN, %d failed writes (retried), %d failovers%s\n",
			t.name, len(t.conns()), t.reconnects, t.writeErrors, t.failovers, firstErrs(t.firstErrors))
	}
	for _, u := range s.udp {
		w("- %s: %d sends refused (ICMP port unreachable: re-sent to the other replica), %d failovers\n", u.name, u.refused, u.failovers)
	}

	w("\n## Throughput\n\n")
	counts := s.samp.countSamples()
	if len(counts) > 1 {
		first, last := counts[0], counts[len(counts)-1]
		w("OpenSearch's count went from %d to %d in %s of sampling (%.0f docs/s on average; %d msgs/s offered).\n",
			first.n, last.n, last.t.Sub(first.t).Round(time.Second), float64(last.n-first.n)/last.t.Sub(first.t).Seconds(), s.offered())
	}

	from, to := s.resourceWindow()
	w("\n## Resources\n\n")
	w("Sampled every second from each replica's `/metrics` (`process_resident_memory_bytes`, `go_goroutines`, `process_open_fds`), across its processes. Window %s–%s (from the fifth minute; for runs under 10 minutes from 40%% of the duration) cut in thirds; *flat*: the largest sample of the last third ≤ %.2f × the largest of the first third + slack (RSS 64 MiB: twice one full in-memory queue, as the Go heap grows to twice its live data; goroutines 20; open files 10).\n\n",
		s.rel(from), s.rel(to), flatFactor)
	w("| replica | metric | first third max | last third max | limit | window max | samples | flat |\n|---|---|---:|---:|---:|---:|---|---|\n")
	for _, r := range s.res {
		samples := fmt.Sprintf("%d / %d", r.firstN, r.lastN)
		flat := "yes"
		if !r.flat {
			flat = "**no**"
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.rep, r.metric, fmtRes(r.metric, r.firstMax), fmtRes(r.metric, r.lastMax),
			fmtRes(r.metric, r.limit), fmtRes(r.metric, r.allMax), samples, flat)
	}

	w("\n## Shutdown lines\n\n")
	w("Every SIGTERMed process's `shutdown complete` line: received + recovered = indexed + dead_lettered + left_in_buffer + lost. A field not in the line counts 0 and is listed; the sum is checked only when all are there. *lost* may only be UDP datagrams the process read and dropped (counted: `queue_full`, `buffer_full`, `disk_full`, `disk_error`).\n\n")
	w("| process | why | received | recovered | indexed | dead_lettered | left_in_buffer | lost | UDP drops counted | adds up |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, sr := range s.shut {
		cell := func(k string) string {
			for _, m := range sr.missing {
				if m == k {
					return "(absent)"
				}
			}
			return fmt.Sprintf("%.0f", sr.fields[k])
		}
		check := "yes"
		switch {
		case !sr.checked:
			check = "not checked: " + strings.Join(sr.missing, ", ") + " absent"
		case sr.lhs != sr.rhs:
			check = fmt.Sprintf("**no**: %.0f ≠ %.0f", sr.lhs, sr.rhs)
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %s |\n", sr.inc.label(), sr.inc.how, cell("received"), cell("recovered"), cell("indexed"),
			cell("dead_lettered"), cell("left_in_buffer"), cell("lost"), sr.udpDrops, check)
	}

	w("\n## Processes\n\n| process | started | ready | ended | how |\n|---|---|---|---|---|\n")
	for _, r := range s.reps {
		for _, inc := range r.incs {
			how := inc.how
			if how == "" {
				how = "exited by itself"
			}
			if inc.exitErr != nil {
				how += " (" + inc.exitErr.Error() + ")"
			}
			w("| %s | %s | %s | %s | %s |\n", inc.label(), s.rel(inc.started), s.rel(inc.ready), s.rel(inc.exitedAt), how)
		}
	}
	if len(s.warnings) > 0 {
		w("\n## Notes\n\n")
		for _, n := range s.warnings {
			w("- %s\n", mdLine(n))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func lostText(f *fault) string {
	var parts []string
	if f.tcpLost > 0 {
		parts = append(parts, fmt.Sprintf("TCP %d (unread when SIGKILLed; at most %d could be)", f.tcpLost, f.unreadBound))
	}
	if f.udpDown > 0 {
		parts = append(parts, fmt.Sprintf("UDP %d (sent while stopped)", f.udpDown))
	}
	if f.udpKill > 0 {
		parts = append(parts, fmt.Sprintf("UDP %d (unread when SIGKILLed)", f.udpKill))
	}
	if f.udpOther > 0 {
		parts = append(parts, fmt.Sprintf("UDP %d (other: compare the drops counted)", f.udpOther))
	}
	if f.tcpUnexpl > 0 {
		parts = append(parts, fmt.Sprintf("**TCP %d with no stated cause**", f.tcpUnexpl))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func firstErrs(e []string) string {
	if len(e) == 0 {
		return ""
	}
	return " (first: " + strings.Join(e, "; ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// mdCell makes text safe inside a table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

func mdLine(s string) string { return strings.ReplaceAll(s, "\n", " ⏎ ") }
