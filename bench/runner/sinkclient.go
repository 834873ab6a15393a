package main

// bench/sink as the throughput and queue benches use it: started once,
// asked how much of a run it has.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func (r *Runner) startSink() error {
	pf := filepath.Join(r.WorkDir, "sink.port")
	_ = os.Remove(pf)
	// SINK_FLAGS adds the sink's own flags, e.g. -full-responses (answer
	// every bulk item in full, as Elasticsearch does without filter_path).
	args := append([]string{"-addr", "127.0.0.1:0", "-port-file", pf, "-quiet"}, strings.Fields(os.Getenv("SINK_FLAGS"))...)
	cmd := exec.Command(r.SinkBin, args...)
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

// lateDuplicates asks the sink again after a moment: a resent batch would
// show up now.
func (r *Runner) lateDuplicates(run string, sent int64, st sinkRun) sinkRun {
	time.Sleep(300 * time.Millisecond)
	if st2, err := r.sinkStats(run, sent); err == nil {
		return st2
	}
	return st
}

// delivery is what the sink has of a run.
type delivery struct {
	Messages   int64 `json:"messages"`
	Sent       int64 `json:"sent"`
	Delivered  int64 `json:"delivered"` // unique sequence numbers in the sink
	Docs       int64 `json:"docs"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
}

// set fills d from the sink's stats of a run of which sent were sent.
func (d *delivery) set(st sinkRun, sent int64) {
	d.Docs = st.Docs
	d.Delivered = st.Unique
	d.Duplicates = st.Duplicates
	d.Lost = d.Messages - st.Unique
	if st.Missing != nil {
		d.Lost = *st.Missing + (d.Messages - sent)
	}
}

// e2e is the time from the first message sent to the last document in the
// sink, and the rate of unique messages over it (0, 0 when unknown).
func e2e(st sinkRun, firstSendNS int64) (seconds, rate float64) {
	if st.LastDocNS > firstSendNS && st.Unique > 0 {
		seconds = float64(st.LastDocNS-firstSendNS) / 1e9
		return seconds, float64(st.Unique) / seconds
	}
	return 0, 0
}
