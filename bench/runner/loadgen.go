package main

// bench/loadgen as the benches run it: to completion (throughput, queue,
// OpenSearch) or in the background while OpenSearch or a replica is stopped
// (outage, rolling).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

type loadResult struct {
	Sent        int64   `json:"sent"`
	FirstSendNS int64   `json:"first_send_ns"`
	LastSendNS  int64   `json:"last_send_ns"`
	ElapsedS    float64 `json:"elapsed_s"`
	SendCPUS    float64 `json:"send_cpu_s"`
	TotalCPUS   float64 `json:"total_cpu_s"`
	Errors      int64   `json:"errors"`
	FirstErr    string  `json:"first_error"`
	MeanLen     float64 `json:"mean_len"` // -vary: mean message length without framing
}

// tcpRFC3164 is one TCP connection of RFC3164 messages, the load of every
// bench but the throughput scenarios.
var tcpRFC3164 = Scenario{Proto: "tcp", Conns: 1, Format: "rfc3164"}

// loadgenArgs are loadgen's arguments for count messages of sc to port, or
// rate messages per second for duration when rate > 0.
func loadgenArgs(sc Scenario, port int, run string, count int64, rate float64, duration time.Duration) []string {
	args := []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-proto", sc.Proto, "-conns", strconv.Itoa(sc.Conns),
		"-format", sc.Format, "-run-id", run, "-json"}
	if sc.Vary {
		args = append(args, "-vary")
	}
	if sc.Size > 0 {
		args = append(args, "-size", strconv.Itoa(sc.Size))
	}
	if sc.Timeout > 0 {
		args = append(args, "-timeout", sc.Timeout.String())
	}
	if rate > 0 {
		return append(args, "-rate", fmt.Sprint(rate), "-duration", duration.String())
	}
	return append(args, "-count", strconv.FormatInt(count, 10))
}

// loadgen sends count messages of sc (fixed-rate scenarios: at their rate,
// when count is what that rate gives; their warm-up is sent at once) and
// returns loadgen's report.
func (r *Runner) loadgen(sc Scenario, port int, runID string, count int64) (loadResult, error) {
	var rate float64
	if sc.Rate > 0 && count == sc.fixedCount() {
		rate = sc.Rate
	}
	cmd := exec.Command(r.LoadgenBin, loadgenArgs(sc, port, runID, count, rate, sc.Duration)...)
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

// asyncLoadgen is loadgen running in the background.
type asyncLoadgen struct {
	*proc
	stdout, stderr bytes.Buffer
}

// startLoadgenAsync streams o.messages RFC3164 messages over one TCP
// connection to port, at o.rate per second (0: as fast as possible).
func (r *Runner) startLoadgenAsync(port int, run string, o streamOpts) (*asyncLoadgen, error) {
	var d time.Duration
	if o.rate > 0 {
		d = time.Duration(float64(o.messages) / o.rate * float64(time.Second))
		if int64(o.rate*d.Seconds()) != o.messages {
			return nil, fmt.Errorf("-messages %d at -rate %.0f: not a whole number of 10 ms ticks; pick a rate that divides it", o.messages, o.rate)
		}
	}
	a := &asyncLoadgen{}
	cmd := exec.Command(r.LoadgenBin, loadgenArgs(tcpRFC3164, port, run, o.messages, o.rate, d)...)
	cmd.Stdout, cmd.Stderr = &a.stdout, &a.stderr
	p, err := spawn("loadgen", cmd, func() error { return nil })
	a.proc = p
	return a, err
}

// finished says whether loadgen has exited, and when.
func (a *asyncLoadgen) finished() (bool, time.Time) {
	if a.alive() {
		return false, time.Time{}
	}
	return true, a.end
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

// streamOpts is the numbered stream of outage and rolling, and how long
// they wait for it.
type streamOpts struct {
	messages  int64
	rate      float64
	stall     time.Duration
	settleCap time.Duration
	reachCap  time.Duration
}

// settleState is what settle knows at one poll.
type settleState struct {
	now     time.Time
	last    int64         // the count
	changed bool          // it changed at this poll, or answered for the first time
	first   bool          // it answered for the first time
	quiet   time.Duration // since it last changed (since settle began until then)
	done    bool          // loadgen has exited,
	end     time.Time     // then
}

// settle polls count every second from start until decide returns a
// verdict, and returns that and the last count.
func settle(lg *asyncLoadgen, start time.Time, count func() (int64, error), decide func(settleState) string) (string, int64) {
	s := settleState{last: -1}
	lastChange := start
	for {
		s.now = time.Now()
		s.changed, s.first = false, false
		if c, err := count(); err == nil && c != s.last {
			s.changed, s.first = true, s.last < 0
			if !s.first {
				lastChange = s.now
			}
			s.last = c
		}
		s.done, s.end = lg.finished()
		s.quiet = s.now.Sub(lastChange)
		if v := decide(s); v != "" {
			return v, s.last
		}
		time.Sleep(time.Second)
	}
}
