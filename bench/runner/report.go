package main

// What every bench writes: results as JSON lines, the markdown report
// (OUT/<time>/<file>, and OUT/latest-*.md for a full default run), the
// header describing the machine, and the numbers' formats.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// jsonl is a results file, one JSON object a line.
type jsonl struct{ f *os.File }

func (r *Runner) createJSONL(name string) (*jsonl, error) {
	f, err := os.Create(filepath.Join(r.OutDir, name))
	return &jsonl{f}, err
}

func (j *jsonl) add(v any) {
	b, _ := json.Marshal(v)
	j.f.Write(append(b, '\n'))
}

func (j *jsonl) Close() error { return j.f.Close() }

// frame runs a bench: it opens the results file OUT/<time>/<name>.jsonl
// (results.jsonl for the benches into the sink, which it starts and
// stops), gives the bench the report's header lines and a function that
// records a result, and writes the report it returns to <name>.md
// (table.md) and, if latest, to outRoot/latest-<name>.md, and prints it.
func (r *Runner) frame(name string, sink bool, outRoot string, latest bool, bench func(env []string, record func(any)) (string, error)) error {
	jsonlName, mdName, latestName := name+".jsonl", name+".md", "latest-"+name+".md"
	if sink {
		jsonlName, mdName = "results.jsonl", "table.md"
	}
	if name == "" {
		latestName = "latest.md"
	}
	raw, err := r.createJSONL(jsonlName)
	if err != nil {
		return err
	}
	defer raw.Close()
	if sink {
		if err := r.startSink(); err != nil {
			return err
		}
		defer r.sinkProc.stop(2 * time.Second)
	}
	md, err := bench(machineInfo(r.PeersDir, r.LogshipperBin), raw.add)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.OutDir, mdName), []byte(md), 0o644); err != nil {
		return err
	}
	if latest {
		_ = os.WriteFile(filepath.Join(outRoot, latestName), []byte(md), 0o644)
	}
	fmt.Println(md)
	return nil
}

// writeList writes each line as a markdown list item.
func writeList(b *strings.Builder, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", l)
	}
}

// writeErrors writes the "Runs with errors" section (after lead) if errs
// is not empty.
func writeErrors(b *strings.Builder, lead string, errs []string) {
	if len(errs) > 0 {
		fmt.Fprintf(b, "%sRuns with errors:\n\n%s\n", lead, strings.Join(errs, "\n"))
	}
}

// machineInfo describes where and what ran, for the table's header.
func machineInfo(peersDir, logshipperBin string) []string {
	var out []string
	out = append(out, "date: "+time.Now().UTC().Format("2006-01-02 15:04 MST"))
	cpuModel := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i >= 0 {
					cpuModel = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	nproc := strings.TrimSpace(cmdOut("nproc"))
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.Split(string(b), "\n")[0])[1]
		if kb, err := strconv.ParseFloat(mem, 64); err == nil {
			mem = fmt.Sprintf("%.0f GiB", kb/1024/1024)
		}
	}
	out = append(out, fmt.Sprintf("machine: %s CPUs (nproc), %s, %s RAM, kernel %s", nproc, cpuModel, mem, strings.TrimSpace(cmdOut("uname", "-r"))))
	desc := logshipperDesc
	if desc == "" {
		desc = "commit " + strings.TrimSpace(cmdOut("git", "rev-parse", "--short", "HEAD"))
	}
	out = append(out, fmt.Sprintf("logshipper: %s (%s), %s, default settings", desc, strings.TrimSpace(cmdOut(logshipperBin, "--version")), strings.TrimSpace(cmdOut("go", "version"))))
	if b, err := os.ReadFile(filepath.Join(peersDir, "VERSIONS")); err == nil {
		v := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(string(b)), "Package: ", ""), " Version: ", " ")
		out = append(out, "peers (Debian 12 packages): "+strings.ReplaceAll(v, "\n", ", "))
	}
	out = append(out, "load average at start: "+loadavg()+" (the machine is shared: other jobs may run at the same time)")
	if f := os.Getenv("SINK_FLAGS"); f != "" {
		out = append(out, "sink flags: "+f)
	}
	return out
}

func cmdOut(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return string(b)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// formatRanges lists the first max ranges of missing sequence numbers,
// "12–40, 77, …", with each range's length if withLen.
func formatRanges(ranges [][2]int64, max int, withLen bool) string {
	var rs []string
	for i, rg := range ranges {
		if i == max {
			rs = append(rs, "…")
			break
		}
		switch {
		case rg[0] == rg[1]:
			rs = append(rs, fmtInt(rg[0]))
		case withLen:
			rs = append(rs, fmt.Sprintf("%s–%s (%d)", fmtInt(rg[0]), fmtInt(rg[1]), rg[1]-rg[0]+1))
		default:
			rs = append(rs, fmtInt(rg[0])+"–"+fmtInt(rg[1]))
		}
	}
	return strings.Join(rs, ", ")
}

// fmtInt writes 1234567 as 1,234,567.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// columns collects the values of a table's columns over the rounds; only
// positive values count (0 is "not measured"), and the table shows their
// median.
type columns map[string][]float64

func (c columns) add(name string, v float64) {
	if v > 0 {
		c[name] = append(c[name], v)
	}
}

func (c columns) median(name string) float64 { return median(c[name]) }

// tally counts the runs of a table row, those without error, and their
// lost and duplicated messages.
type tally struct {
	n, ok     int
	lost, dup int64
}

func (t *tally) add(err string, lost, dup int64) {
	t.n++
	if err == "" {
		t.ok++
	}
	t.lost += lost
	t.dup += dup
}
