package main

// The Runner every bench shares, its common flags and small helpers.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// logshipperDesc says which logshipper was measured (set by the scripts).
var logshipperDesc string

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
	RunCap                             time.Duration // the longest wait for the sink after sending (0: 10 min)

	sinkURL  string
	sinkProc *proc
	results  []Result
	runSeq   int
}

// commonFlags are the flags of every bench.
type commonFlags struct {
	bench, binDir, out, lsDesc *string
	latest                     *bool
}

func addCommonFlags(fs *flag.FlagSet, binDir string, latest bool, latestHelp string) commonFlags {
	return commonFlags{
		bench:  fs.String("bench-dir", "bench", "the bench/ directory (peers/ configs, .peers/ unpacked peers)"),
		binDir: fs.String("bin-dir", binDir, "directory holding the logshipper, loadgen (and sink) binaries"),
		out:    fs.String("out", "bench/results", "results directory (a timestamped sub-directory is made)"),
		lsDesc: fs.String("logshipper-desc", "", "what logshipper binary this is (commit), for the table header"),
		latest: fs.Bool("latest", latest, latestHelp),
	}
}

// newRunner is the Runner of the flags' binaries and peers, with its
// results in a new OUT/<time><suffix>/ and its work/ folder.
func (f commonFlags) newRunner(suffix string) (*Runner, error) {
	logshipperDesc = *f.lsDesc
	r := &Runner{
		LogshipperBin: abs(filepath.Join(*f.binDir, "logshipper")),
		LoadgenBin:    abs(filepath.Join(*f.binDir, "loadgen")),
		SinkBin:       abs(filepath.Join(*f.binDir, "sink")),
		PeersDir:      abs(filepath.Join(*f.bench, ".peers")),
		ConfDir:       abs(filepath.Join(*f.bench, "peers")),
	}
	r.OutDir = abs(filepath.Join(*f.out, time.Now().UTC().Format("20060102-150405")+suffix))
	r.WorkDir = filepath.Join(r.OutDir, "work")
	return r, os.MkdirAll(r.WorkDir, 0o755)
}

func (r *Runner) runCap() time.Duration {
	if r.RunCap > 0 {
		return r.RunCap
	}
	return 10 * time.Minute
}

// workDir makes the work directory of one run.
func (r *Runner) workDir(format string, args ...any) (string, error) {
	work := filepath.Join(r.WorkDir, fmt.Sprintf(format, args...))
	return work, os.MkdirAll(work, 0o755)
}

// startOn starts a shipper with start on a free port and waits until it
// accepts TCP (stopping it, with grace, if it does not).
func startOn(grace time.Duration, start func(port int) (*proc, string, error)) (p *proc, port int, metricsURL string, err error) {
	if port, err = freePort(); err != nil {
		return nil, 0, "", err
	}
	if p, metricsURL, err = start(port); err != nil {
		return nil, 0, "", err
	}
	if err = waitTCP(port, 20*time.Second, p.alive); err != nil {
		p.stop(grace)
		return nil, 0, "", err
	}
	return p, port, metricsURL, nil
}

// newRunID is short (it is inside every message, which should stay ~150
// bytes) and unique per run: the results files map it to the run.
func newRunID(prefix string, seq int) string {
	return fmt.Sprintf("%s%s%d", prefix, strconv.FormatInt(time.Now().UnixNano()/1e6%(36*36*36*36), 36), seq%10)
}

// rotated is xs starting at round-1: the order rotates each round so a
// noisy neighbour does not always hit the same one.
func rotated[T any](xs []T, round int) []T {
	out := make([]T, 0, len(xs))
	for i := range xs {
		out = append(out, xs[(i+round-1)%len(xs)])
	}
	return out
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
