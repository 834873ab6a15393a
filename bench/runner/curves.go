package main

// bench/curves.sh ("runner curves"): how the cost grows with the work.
// Two series of points, each point a run of the throughput bench (runOne:
// the shipper started on the sink, a warm-up, loadgen, the sink's stats,
// the shipper's /proc CPU time) repeated for every shipper and round:
//
//   - connections: TCP, RFC3164, 150-byte messages over 1, 8, 64, 512
//     connections;
//   - size: TCP, RFC3164, one connection, messages of 100 B, 1 KiB, 8 KiB.
//
// Per point and shipper the medians over the rounds: msgs/s, CPU-s per
// 1,000,000 messages (and per GB of syslog), peak RSS, delivered and lost.
// Sending is bounded by -timeout (loadgen -timeout) and the wait for the
// sink by -stall and -timeout, so a shipper that does not take everything
// costs a bounded time and counts what it lost. The report is table.md
// (latest-curves.md) and two hand-written SVG charts, curves-connections.svg
// and curves-size.svg, each with two panels (msgs/s and CPU-s per 1M
// against the x axis, log scale, one line per shipper).

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	seriesConns = "connections"
	seriesSize  = "size"
	// defaultMsgSize is loadgen's message size without -size (MessageSize
	// in bench/loadgen), the size of every other table.
	defaultMsgSize = 150
)

// curvePoint is one x of one series.
type curvePoint struct {
	Series   string `json:"series"`
	Conns    int    `json:"conns"`
	Size     int    `json:"size"` // message bytes without framing (loadgen -size)
	Messages int64  `json:"messages"`
}

// x is the point's place on its series' axis.
func (p curvePoint) x() float64 {
	if p.Series == seriesConns {
		return float64(p.Conns)
	}
	return float64(p.Size)
}

// name is the point's scenario name in the results: conns-64, size-8192.
func (p curvePoint) name() string {
	if p.Series == seriesConns {
		return fmt.Sprintf("conns-%d", p.Conns)
	}
	return fmt.Sprintf("size-%d", p.Size)
}

// planCurves lists the points: the connection counts at baseSize bytes,
// then the sizes over one connection; messages per run, largeMessages for
// messages larger than largeOver bytes.
func planCurves(conns, sizes []int, baseSize int, messages, largeMessages int64, largeOver int) ([]curvePoint, error) {
	if messages <= 0 || largeMessages <= 0 {
		return nil, fmt.Errorf("messages %d / %d: want > 0", messages, largeMessages)
	}
	count := func(size int) int64 {
		if size > largeOver {
			return largeMessages
		}
		return messages
	}
	if baseSize == 0 {
		baseSize = defaultMsgSize
	}
	var pts []curvePoint
	seen := map[string]bool{}
	add := func(p curvePoint) error {
		if seen[p.name()] {
			return fmt.Errorf("%s twice", p.name())
		}
		seen[p.name()] = true
		pts = append(pts, p)
		return nil
	}
	for _, c := range conns {
		if c < 1 || c > 1024 {
			return nil, fmt.Errorf("connections %d: want 1..1024 (loadgen's bound)", c)
		}
		if err := add(curvePoint{Series: seriesConns, Conns: c, Size: baseSize, Messages: count(baseSize)}); err != nil {
			return nil, err
		}
	}
	for _, s := range sizes {
		if s < 80 || s > 64<<10 {
			return nil, fmt.Errorf("size %d: want 80..65536 bytes (an RFC3164 header and run=… seq=… take ~75)", s)
		}
		if err := add(curvePoint{Series: seriesSize, Conns: 1, Size: s, Messages: count(s)}); err != nil {
			return nil, err
		}
	}
	// Each series in the order of its axis.
	sort.SliceStable(pts, func(i, j int) bool {
		return pts[i].Series == pts[j].Series && pts[i].x() < pts[j].x()
	})
	return pts, nil
}

// CurveResult is one shipper's run of one point in one round.
type CurveResult struct {
	curvePoint
	Result
	CPUPerGB float64 `json:"cpu_s_per_gb"` // CPU-s per 1e9 bytes of framed syslog sent
}

// curveAgg is one point's row for one shipper: medians over the rounds.
type curveAgg struct {
	pt                                   curvePoint
	shipper                              string
	rate, cpu1M, cpuGB, rss, secs, deliv float64
	lost, sent                           float64
	measured                             int // runs that got as far as sending the messages
	t                                    tally
}

func curvesMain(args []string) int {
	fs := flag.NewFlagSet("curves", flag.ExitOnError)
	cf := addCommonFlags(fs, "bench/.bin", true, "also copy the table and the SVGs to OUT/latest-curves.md, OUT/curves-*.svg")
	rounds := fs.Int("rounds", 3, "rounds per point and shipper")
	shippers := fs.String("shippers", "logshipper,rsyslog", "comma-separated shippers (logshipper, logshipper-disk, rsyslog, syslog-ng)")
	conns := fs.String("conns", "1,8,64,512", "connection counts of the connections series (150-byte messages); none: no such series")
	sizes := fs.String("sizes", "100,1024,8192", "message sizes (bytes, without the LF) of the size series (one connection); none: no such series")
	messages := fs.Int64("messages", 1_000_000, "messages per run")
	largeMessages := fs.Int64("large-messages", 250_000, "messages per run of messages larger than -large-over bytes")
	largeOver := fs.Int("large-over", 1024, "see -large-messages")
	warmup := fs.Int64("warmup", 2000, "messages sent (and awaited) before each measured run")
	stall := fs.Duration("stall", 20*time.Second, "stop waiting when the sink got nothing new for this long (the rest counts as lost)")
	timeout := fs.Duration("timeout", 60*time.Second, "loadgen gives up sending after this long (what was written counts as sent), and the wait for the sink after sending ends after this long")
	confDir := fs.String("peer-conf-dir", "", "directory of rsyslog.conf.in and syslog-ng.conf.in (default BENCH-DIR/peers)")
	_ = fs.Parse(args)

	var cs, ss []int
	for _, l := range []struct {
		s   string
		out *[]int
	}{{*conns, &cs}, {*sizes, &ss}} {
		if l.s == "none" {
			continue
		}
		for _, x := range splitList(l.s) {
			n, err := strconv.Atoi(x)
			if err != nil {
				log.Printf("curves: %q: %v", x, err)
				return 2
			}
			*l.out = append(*l.out, n)
		}
	}
	pts, err := planCurves(cs, ss, 0, *messages, *largeMessages, *largeOver)
	if err == nil && len(pts) == 0 {
		err = fmt.Errorf("no points: -conns and -sizes are both none")
	}
	if err != nil {
		log.Printf("curves: %v", err)
		return 2
	}
	r, err := cf.newRunner("-curves")
	if err != nil {
		log.Print(err)
		return 1
	}
	r.Rounds, r.Warmup, r.Shippers = *rounds, *warmup, splitList(*shippers)
	r.Stall, r.StallUDP, r.RunCap = *stall, 4*time.Second, *timeout
	if *confDir != "" {
		r.ConfDir = abs(*confDir)
	}
	for _, s := range r.Shippers {
		if _, err := r.shipperByName(s); err != nil {
			log.Print(err)
			return 2
		}
	}
	if err := r.runCurves(pts, *timeout, abs(*cf.out), *cf.latest); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

// runCurves runs every point, round and shipper and writes the report.
func (r *Runner) runCurves(pts []curvePoint, timeout time.Duration, outRoot string, latest bool) error {
	return r.frame("curves", true, outRoot, latest, func(env []string, record func(any)) (string, error) {
		log.Printf("results in %s; sink at %s", r.OutDir, r.sinkURL)
		start := time.Now()
		var all []CurveResult
		for _, pt := range pts {
			r.Messages = pt.Messages
			sc := Scenario{Name: pt.name(), Proto: "tcp", Conns: pt.Conns, Format: "rfc3164", Size: pt.Size, Timeout: timeout}
			for round := 1; round <= r.Rounds; round++ {
				for _, name := range rotated(r.Shippers, round) {
					sh, _ := r.shipperByName(name)
					res := r.runOne(sc, sh, round)
					cr := CurveResult{curvePoint: pt, Result: res}
					if res.Sent > 0 && res.CPUS > 0 {
						cr.CPUPerGB = res.CPUS / (float64(res.Sent) * float64(pt.Size+1)) * 1e9
					}
					r.results = append(r.results, res)
					all = append(all, cr)
					record(cr)
					if res.Error != "" {
						log.Printf("%-11s %-10s round %d: ERROR %s", sc.Name, name, round, res.Error)
					}
					log.Printf("%-11s %-10s round %d: %9.0f msgs/s  cpu %6.2f s/1M %6.2f s/GB  rss %6.1f MiB  delivered %d of %d  (send %.2fs, total %.2fs)",
						sc.Name, name, round, res.RateMsgs, res.CPUPer1M, cr.CPUPerGB, res.PeakRSSMiB, res.Delivered, res.Messages, res.SendS, res.TotalS)
				}
			}
		}
		aggs := aggregateCurves(pts, r.Shippers, all)
		md := curvesMarkdown(env, r.Rounds, timeout, r.Stall, aggs, time.Since(start), all)
		title := curvesTitle(env, r.Rounds)
		for _, s := range []string{seriesConns, seriesSize} {
			if !hasSeries(pts, s) {
				continue
			}
			var buf bytes.Buffer
			if err := writeSVG(&buf, curvesFigure(s, title, r.Shippers, aggs)); err != nil {
				return "", err
			}
			name := "curves-" + s + ".svg"
			if err := os.WriteFile(filepath.Join(r.OutDir, name), buf.Bytes(), 0o644); err != nil {
				return "", err
			}
			if latest {
				if err := os.WriteFile(filepath.Join(outRoot, name), buf.Bytes(), 0o644); err != nil {
					return "", err
				}
			}
		}
		return md, r.writeCSV(filepath.Join(r.OutDir, "results.csv"))
	})
}

func hasSeries(pts []curvePoint, series string) bool {
	for _, p := range pts {
		if p.Series == series {
			return true
		}
	}
	return false
}

// aggregateCurves is one row per point and shipper, in the points' order.
func aggregateCurves(pts []curvePoint, shippers []string, all []CurveResult) []curveAgg {
	var out []curveAgg
	for _, pt := range pts {
		for _, name := range shippers {
			a := curveAgg{pt: pt, shipper: name}
			col := columns{}
			var lost, sent []float64
			for _, res := range all {
				if res.curvePoint != pt || res.Shipper != name {
					continue
				}
				a.t.add(res.Error, res.Lost, res.Duplicates)
				col.add("rate", res.RateMsgs)
				col.add("cpu", res.CPUPer1M)
				col.add("gb", res.CPUPerGB)
				col.add("rss", res.PeakRSSMiB)
				col.add("secs", res.TotalS)
				col.add("deliv", float64(res.Delivered))
				if res.Sent == 0 {
					continue // failed before sending (e.g. at the warm-up): nothing measured
				}
				a.measured++
				lost = append(lost, float64(res.Lost))
				sent = append(sent, float64(res.Sent))
			}
			a.rate, a.cpu1M, a.cpuGB, a.rss = col.median("rate"), col.median("cpu"), col.median("gb"), col.median("rss")
			a.secs, a.deliv, a.lost, a.sent = col.median("secs"), col.median("deliv"), median(lost), median(sent)
			out = append(out, a)
		}
	}
	return out
}

func sizeLabel(b int) string {
	switch {
	case b >= 1024 && b%1024 == 0:
		return fmt.Sprintf("%d KiB", b/1024)
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// fmtRate writes 514730 as 515k.
func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func curvesMarkdown(env []string, rounds int, timeout, stall time.Duration, aggs []curveAgg, took time.Duration, all []CurveResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## How the cost grows with the work (bench/curves.sh)\n\n")
	writeList(&b, env)
	fmt.Fprintf(&b, "- rounds: %d (medians shown; lost is the median per run), bench took %s\n", rounds, took.Round(time.Second))
	fmt.Fprintf(&b, "- TCP, RFC3164, into the bench sink; each run bounded: loadgen gives up writing after %s (what it wrote counts as sent, the rest as lost), the wait for the sink ends after %s more or %s without a new document\n", timeout, timeout, stall)
	fmt.Fprintf(&b, "- msgs/s = messages delivered / (last document in the sink - first message sent); CPU = utime+stime of the shipper process (all threads) from the first message sent to the last document in the sink, per 1,000,000 messages sent, and per GB (10^9 bytes) of syslog sent, LF included; RSS = VmHWM (peak, includes start-up and warm-up); time = first message sent to last document\n")
	var charts []string
	for _, s := range []string{seriesConns, seriesSize} {
		for _, a := range aggs {
			if a.pt.Series == s {
				charts = append(charts, fmt.Sprintf("[curves-%s.svg](curves-%s.svg)", s, s))
				break
			}
		}
	}
	fmt.Fprintf(&b, "- charts: %s\n\n", strings.Join(charts, ", "))
	for _, s := range []string{seriesConns, seriesSize} {
		var rows []curveAgg
		for _, a := range aggs {
			if a.pt.Series == s {
				rows = append(rows, a)
			}
		}
		if len(rows) == 0 {
			continue
		}
		if s == seriesConns {
			fmt.Fprintf(&b, "### Connections: TCP, RFC3164, %d-byte messages, %s messages per run\n\n", rows[0].pt.Size, fmtInt(rows[0].pt.Messages))
			fmt.Fprintf(&b, "| connections | shipper | msgs/s | CPU-s per 1M | peak RSS MiB | delivered | lost | time s | rounds ok |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
		} else {
			fmt.Fprintf(&b, "### Message size: TCP, RFC3164, 1 connection\n\n")
			fmt.Fprintf(&b, "| size | messages | shipper | msgs/s | MB/s | CPU-s per 1M | CPU-s per GB | peak RSS MiB | delivered | lost | time s | rounds ok |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		}
		for _, a := range rows {
			if a.measured == 0 {
				lead := fmt.Sprintf("| %d | %s |", a.pt.Conns, a.shipper)
				cells := 7
				if s == seriesSize {
					lead = fmt.Sprintf("| %s | %s | %s |", sizeLabel(a.pt.Size), fmtInt(a.pt.Messages), a.shipper)
					cells = 9
				}
				fmt.Fprintf(&b, "%s%s %d/%d |\n", lead, strings.Repeat(" – |", cells-1), a.t.ok, a.t.n)
				continue
			}
			if s == seriesConns {
				fmt.Fprintf(&b, "| %d | %s | %.0f | %.2f | %.1f | %s | %s | %.1f | %d/%d |\n", a.pt.Conns, a.shipper, a.rate, a.cpu1M, a.rss,
					fmtInt(int64(a.deliv)), fmtInt(int64(a.lost)), a.secs, a.t.ok, a.t.n)
			} else {
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.1f | %.2f | %.2f | %.1f | %s | %s | %.1f | %d/%d |\n", sizeLabel(a.pt.Size), fmtInt(a.pt.Messages), a.shipper,
					a.rate, a.rate*float64(a.pt.Size+1)/1e6, a.cpu1M, a.cpuGB, a.rss, fmtInt(int64(a.deliv)), fmtInt(int64(a.lost)), a.secs, a.t.ok, a.t.n)
			}
		}
		fmt.Fprintln(&b)
		// logshipper against each peer, point by point.
		var ratios []string
		for _, a := range rows {
			if a.shipper != "logshipper" || a.rate <= 0 {
				continue
			}
			for _, p := range rows {
				if p.pt != a.pt || strings.HasPrefix(p.shipper, "logshipper") || p.rate <= 0 || p.cpu1M <= 0 {
					continue
				}
				ratios = append(ratios, fmt.Sprintf("%s: %.1fx the msgs/s of %s at %.2fx its CPU per message", pointLabel(a.pt), a.rate/p.rate, p.shipper, a.cpu1M/p.cpu1M))
			}
		}
		if len(ratios) > 0 {
			fmt.Fprintf(&b, "logshipper vs the peers: %s.\n\n", strings.Join(ratios, "; "))
		}
	}
	var errs []string
	for _, res := range all {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("- %s %s round %d: %s (delivered %s of %s, sent %s)", res.name(), res.Shipper, res.Round, res.Error,
				fmtInt(res.Delivered), fmtInt(res.Messages), fmtInt(res.Sent)))
		}
	}
	writeErrors(&b, "", errs)
	return b.String()
}

func pointLabel(p curvePoint) string {
	if p.Series == seriesConns {
		if p.Conns == 1 {
			return "1 connection"
		}
		return fmt.Sprintf("%d connections", p.Conns)
	}
	return sizeLabel(p.Size)
}

// curvesTitle is the charts' second line: machine, date, commit, rounds.
func curvesTitle(env []string, rounds int) string {
	var parts []string
	for _, l := range env {
		for _, p := range []string{"machine: ", "date: ", "logshipper: "} {
			if strings.HasPrefix(l, p) {
				v := strings.TrimPrefix(l, p)
				if p == "logshipper: " {
					// "commit abc (logshipper dev), go version …": up to the version.
					if i := strings.Index(v, " ("); i >= 0 {
						v = v[:i]
					}
					v = "logshipper " + v
				}
				if p == "machine: " {
					v = strings.Replace(v, " (nproc)", "", 1)
				}
				parts = append(parts, v)
			}
		}
	}
	return fmt.Sprintf("%s; medians of %d round(s)", strings.Join(parts, "; "), rounds)
}

var shipperColors = map[string]string{
	"logshipper": "#1f77b4", "logshipper-disk": "#17becf", "rsyslog": "#ff7f0e", "syslog-ng": "#2ca02c",
}

// curvesFigure is one series' chart: msgs/s and CPU-s per 1M against its x.
func curvesFigure(series, subtitle string, shippers []string, aggs []curveAgg) svgFigure {
	f := svgFigure{Subtitle: subtitle}
	xl := "TCP connections (log scale)"
	f.Title = "Cost vs connections: TCP, RFC3164, 150-byte messages, into the bench sink"
	if series == seriesSize {
		xl = "message size, bytes (log scale)"
		f.Title = "Cost vs message size: TCP, RFC3164, 1 connection, into the bench sink"
	}
	// Over the sizes both grow or shrink by tens of times: log scales.
	logY := series == seriesSize
	yl := ""
	if logY {
		yl = " (log scale)"
	}
	rate := svgPanel{Title: "throughput", XLabel: xl, YLabel: "messages per second" + yl, LogX: true, LogY: logY}
	cpu := svgPanel{Title: "shipper CPU per message", XLabel: xl, YLabel: "CPU-seconds per 1,000,000 messages" + yl, LogX: true, LogY: logY}
	ticks := map[float64]bool{}
	for _, name := range shippers {
		sr := svgSeries{Name: name, Color: shipperColors[name]}
		sc := sr
		for _, a := range aggs {
			if a.pt.Series != series || a.shipper != name {
				continue
			}
			x := a.pt.x()
			if !ticks[x] {
				ticks[x] = true
				lbl := strconv.Itoa(a.pt.Conns)
				if series == seriesSize {
					lbl = sizeLabel(a.pt.Size)
				}
				rate.XTicks = append(rate.XTicks, svgTick{X: x, Label: lbl})
			}
			note := ""
			if a.lost > 0 && a.sent > 0 {
				pct := 100 * a.lost / float64(a.pt.Messages)
				note = fmt.Sprintf(" (lost %.0f%%)", pct)
				if pct < 9.95 {
					note = fmt.Sprintf(" (lost %.1f%%)", pct)
				}
			}
			if a.rate > 0 {
				sr.Points = append(sr.Points, svgPoint{X: x, Y: a.rate, Label: fmtRate(a.rate) + note})
			}
			if a.cpu1M > 0 {
				sc.Points = append(sc.Points, svgPoint{X: x, Y: a.cpu1M, Label: fmt.Sprintf("%.2f", a.cpu1M)})
			}
		}
		rate.Series = append(rate.Series, sr)
		cpu.Series = append(cpu.Series, sc)
	}
	cpu.XTicks = rate.XTicks
	f.Panels = []svgPanel{rate, cpu}
	return f
}

// The SVG writer: line charts, hand-written, standard library only.

type svgPoint struct {
	X, Y  float64
	Label string
}

type svgSeries struct {
	Name, Color string
	Points      []svgPoint
}

type svgTick struct {
	X     float64
	Label string
}

type svgPanel struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	XTicks                []svgTick // none: the points' x values
	Series                []svgSeries
}

type svgFigure struct {
	Title, Subtitle string
	Panels          []svgPanel // side by side
}

const (
	svgPanelW, svgPanelH = 520, 400
	svgTop               = 70 // title, subtitle
	svgLegendH           = 30
	svgMarginL           = 80
	svgMarginR           = 30
	svgMarginT           = 40
	svgMarginB           = 60
)

// niceCeil is the smallest 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k at least v.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// fmtAxis writes a y tick: 500000 as 500k, 2.5 as 2.5.
func fmtAxis(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// writeSVG draws the figure: per panel, axes with ticks and labels, one
// polyline per series with a labelled circle at each point, and a legend.
func writeSVG(w io.Writer, f svgFigure) error {
	n := len(f.Panels)
	if n == 0 {
		return fmt.Errorf("svg: no panels")
	}
	width, height := n*svgPanelW, svgTop+svgPanelH+svgLegendH
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" text-anchor="middle" font-size="16" font-weight="bold">%s</text>`+"\n", width/2, esc(f.Title))
	fmt.Fprintf(&b, `<text x="%d" y="46" text-anchor="middle" font-size="11" fill="#444">%s</text>`+"\n", width/2, esc(f.Subtitle))
	for i, p := range f.Panels {
		writePanel(&b, p, float64(i*svgPanelW), svgTop)
	}
	// Legend: the first panel's series.
	x := 20.0
	ly := float64(svgTop + svgPanelH + 15)
	for _, s := range f.Panels[0].Series {
		fmt.Fprintf(&b, `<g class="legend"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><circle cx="%.1f" cy="%.1f" r="4" fill="%s"/><text x="%.1f" y="%.1f">%s</text></g>`+"\n",
			x, ly, x+30, ly, s.Color, x+15, ly, s.Color, x+38, ly+4, esc(s.Name))
		x += 60 + 8*float64(len(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func writePanel(b *bytes.Buffer, p svgPanel, ox, oy float64) {
	x0, x1 := ox+svgMarginL, ox+svgPanelW-svgMarginR
	y0, y1 := oy+svgMarginT, oy+svgPanelH-svgMarginB // y0 top, y1 bottom
	ticks := p.XTicks
	if len(ticks) == 0 {
		seen := map[float64]bool{}
		for _, s := range p.Series {
			for _, pt := range s.Points {
				if !seen[pt.X] {
					seen[pt.X] = true
					ticks = append(ticks, svgTick{X: pt.X, Label: strconv.FormatFloat(pt.X, 'f', -1, 64)})
				}
			}
		}
		sort.Slice(ticks, func(i, j int) bool { return ticks[i].X < ticks[j].X })
	}
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, t := range ticks {
		xmin, xmax = math.Min(xmin, t.X), math.Max(xmax, t.X)
	}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			xmin, xmax, ymax = math.Min(xmin, pt.X), math.Max(xmax, pt.X), math.Max(ymax, pt.Y)
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 1, 10
	}
	tx := func(v float64) float64 { return v }
	if p.LogX && xmin > 0 {
		tx = math.Log10
	}
	lo, hi := tx(xmin), tx(xmax)
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	ytop := niceCeil(ymax * 1.12)
	px := func(v float64) float64 { return x0 + (tx(v)-lo)/(hi-lo)*(x1-x0) }
	py := func(v float64) float64 { return y1 - v/ytop*(y1-y0) }
	var yticks []float64
	for i := 0; i <= 5; i++ {
		yticks = append(yticks, ytop*float64(i)/5)
	}
	if p.LogY {
		// Decades from below the smallest value to above the largest,
		// ticks at 1, 2 and 5 of each.
		ymin := math.Inf(1)
		for _, s := range p.Series {
			for _, pt := range s.Points {
				if pt.Y > 0 {
					ymin = math.Min(ymin, pt.Y)
				}
			}
		}
		if math.IsInf(ymin, 0) {
			ymin = 1
		}
		dlo, dhi := math.Log10(ymin/1.6), math.Log10(math.Max(ymax, ymin)*1.3)
		if dhi-dlo < 1 {
			dlo, dhi = (dlo+dhi)/2-0.5, (dlo+dhi)/2+0.5
		}
		py = func(v float64) float64 { return y1 - (math.Log10(v)-dlo)/(dhi-dlo)*(y1-y0) }
		yticks = nil
		for k := math.Floor(dlo); k <= math.Ceil(dhi); k++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, k); math.Log10(v) >= dlo && math.Log10(v) <= dhi {
					yticks = append(yticks, v)
				}
			}
		}
	}

	fmt.Fprintf(b, `<g class="panel">`+"\n")
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`+"\n", (x0+x1)/2, y0-14, esc(p.Title))
	// Y grid and ticks.
	for _, v := range yticks {
		y := py(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, esc(fmtAxis(v)))
	}
	for _, t := range ticks {
		x := px(t.X)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x, y0, x, y1)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, y1, x, y1+5)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y1+18, esc(t.Label))
	}
	// Axes and their labels.
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y1, x1, y1)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x0, y1)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y1+40, esc(p.XLabel))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
		ox+18, (y0+y1)/2, ox+18, (y0+y1)/2, esc(p.YLabel))
	// Series: the line, then the points with their labels: above a point
	// that is the highest at its x, below one that is the lowest (so two
	// lines that cross keep their labels apart), else above for the first
	// series, below for the second, ….
	atX := map[float64][]float64{}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			atX[pt.X] = append(atX[pt.X], pt.Y)
		}
	}
	for si, s := range p.Series {
		pts := append([]svgPoint(nil), s.Points...)
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		var coords []string
		for _, pt := range pts {
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", px(pt.X), py(pt.Y)))
		}
		fmt.Fprintf(b, `<g class="series" data-name="%s">`+"\n", esc(s.Name))
		if len(coords) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(coords, " "), s.Color)
		}
		for _, pt := range pts {
			x, y := px(pt.X), py(pt.Y)
			highest, lowest := true, true
			for _, o := range atX[pt.X] {
				highest = highest && o <= pt.Y
				lowest = lowest && o >= pt.Y
			}
			dy := -9.0
			if lowest && !highest || highest == lowest && si%2 == 1 {
				dy = 17
			}
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s: %s</title></circle>`+"\n", x, y, s.Color, esc(s.Name), esc(pt.Label))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="%s">%s</text>`+"\n", x, y+dy, s.Color, esc(pt.Label))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</g>\n")
}
