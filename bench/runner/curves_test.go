package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

func TestPlanCurves(t *testing.T) {
	pts, err := planCurves([]int{64, 1, 512, 8}, []int{8192, 100, 1024}, 0, 1_000_000, 250_000, 1024)
	if err != nil {
		t.Fatal(err)
	}
	want := []curvePoint{
		{seriesConns, 1, 150, 1_000_000}, {seriesConns, 8, 150, 1_000_000}, {seriesConns, 64, 150, 1_000_000}, {seriesConns, 512, 150, 1_000_000},
		{seriesSize, 1, 100, 1_000_000}, {seriesSize, 1, 1024, 1_000_000}, {seriesSize, 1, 8192, 250_000},
	}
	if len(pts) != len(want) {
		t.Fatalf("%d points: %+v", len(pts), pts)
	}
	for i := range want {
		if pts[i] != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, pts[i], want[i])
		}
	}
	if pts[3].name() != "conns-512" || pts[6].name() != "size-8192" || pts[3].x() != 512 || pts[6].x() != 8192 {
		t.Errorf("names/x: %s %v %s %v", pts[3].name(), pts[3].x(), pts[6].name(), pts[6].x())
	}
	for _, bad := range []struct {
		conns, sizes []int
		m            int64
	}{
		{[]int{0}, nil, 1}, {[]int{2000}, nil, 1}, {nil, []int{10}, 1}, {nil, []int{1 << 20}, 1},
		{[]int{8, 8}, nil, 1}, {[]int{1}, nil, 0},
	} {
		if _, err := planCurves(bad.conns, bad.sizes, 0, bad.m, 1, 1024); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

type circle struct{ cx, cy float64 }

// svgCircles decodes the SVG with encoding/xml (failing on malformed XML)
// and returns, per series (data-name), its circles in document order.
func svgCircles(t *testing.T, svg []byte) map[string][]circle {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	out := map[string][]circle{}
	series, depth, root := "", 0, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				root = e.Name.Local == "svg" && e.Name.Space == "http://www.w3.org/2000/svg"
			}
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			if e.Name.Local == "g" && attr["class"] == "series" {
				series = attr["data-name"]
			}
			if e.Name.Local == "circle" && series != "" {
				cx, err1 := strconv.ParseFloat(attr["cx"], 64)
				cy, err2 := strconv.ParseFloat(attr["cy"], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("circle %v", e.Attr)
				}
				out[series] = append(out[series], circle{cx, cy})
			}
		case xml.EndElement:
			depth--
			if e.Name.Local == "g" {
				series = ""
			}
		}
	}
	if !root {
		t.Fatal("root element is not an SVG <svg>")
	}
	return out
}

func TestWriteSVG(t *testing.T) {
	aggs := []curveAgg{}
	pts, _ := planCurves([]int{1, 8, 64, 512}, []int{100, 1024, 8192}, 0, 1000, 1000, 1024)
	rates := map[string][]float64{"logshipper": {500e3, 600e3, 550e3, 90e3}, "rsyslog": {100e3, 120e3, 110e3, 0}}
	cpus := map[string][]float64{"logshipper": {1.4, 1.5, 2.3, 4}, "rsyslog": {9, 9.5, 10, 0}}
	for i, pt := range pts[:4] {
		for _, sh := range []string{"logshipper", "rsyslog"} {
			aggs = append(aggs, curveAgg{pt: pt, shipper: sh, rate: rates[sh][i], cpu1M: cpus[sh][i], lost: float64(i), sent: 1000})
		}
	}
	var buf bytes.Buffer
	f := curvesFigure(seriesConns, `2 CPUs <"test"> & co; 2026-12-05`, []string{"logshipper", "rsyslog"}, aggs)
	if err := writeSVG(&buf, f); err != nil {
		t.Fatal(err)
	}
	svg := buf.Bytes()
	for _, want := range []string{"Cost vs connections", "&lt;&#34;test&#34;&gt; &amp; co", "messages per second", "CPU-seconds per 1,000,000 messages",
		"TCP connections (log scale)", ">512<", ">logshipper<", ">rsyslog<", "(lost 0.3%)"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	got := svgCircles(t, svg)
	// Per series, the rate panel's circles then the CPU panel's; the
	// zero (failed) rsyslog point is left out.
	check := func(name string, ys []float64, cs []circle) {
		t.Helper()
		if len(cs) != len(ys) {
			t.Fatalf("%s: %d circles for %d values", name, len(cs), len(ys))
		}
		for i := 1; i < len(cs); i++ {
			if cs[i].cx <= cs[i-1].cx {
				t.Errorf("%s: x not increasing: %v", name, cs)
			}
			// Higher value, higher on the page (smaller y), and equal
			// values equal.
			switch {
			case ys[i] > ys[i-1] && !(cs[i].cy < cs[i-1].cy),
				ys[i] < ys[i-1] && !(cs[i].cy > cs[i-1].cy):
				t.Errorf("%s: point %d at y=%.1f for %v after y=%.1f for %v", name, i, cs[i].cy, ys[i], cs[i-1].cy, ys[i-1])
			}
		}
		// Log scale: 1, 8, 64, 512 evenly spaced.
		if len(cs) == 4 {
			d1, d2 := cs[1].cx-cs[0].cx, cs[3].cx-cs[2].cx
			if d1-d2 > 0.2 || d2-d1 > 0.2 {
				t.Errorf("%s: not a log x axis: %v", name, cs)
			}
		}
	}
	ls := got["logshipper"]
	if len(ls) != 8 {
		t.Fatalf("logshipper: %d circles", len(ls))
	}
	check("logshipper rate", rates["logshipper"], ls[:4])
	check("logshipper cpu", cpus["logshipper"], ls[4:])
	rs := got["rsyslog"]
	if len(rs) != 6 {
		t.Fatalf("rsyslog: %d circles", len(rs))
	}
	check("rsyslog rate", rates["rsyslog"][:3], rs[:3])
	check("rsyslog cpu", cpus["rsyslog"][:3], rs[3:])
	// Both series in one panel share the y scale: 500k sits above 100k.
	if !(ls[0].cy < rs[0].cy) || ls[0].cx != rs[0].cx {
		t.Errorf("shared scale: logshipper %v rsyslog %v", ls[0], rs[0])
	}
	// The size series: log scales on both axes, still monotonic.
	sizeAggs := []curveAgg{}
	srates, scpus := []float64{500e3, 200e3, 20e3}, []float64{1.5, 5, 40}
	for i, pt := range pts[4:] {
		sizeAggs = append(sizeAggs, curveAgg{pt: pt, shipper: "logshipper", rate: srates[i], cpu1M: scpus[i], sent: 1000})
	}
	buf.Reset()
	if err := writeSVG(&buf, curvesFigure(seriesSize, "t", []string{"logshipper"}, sizeAggs)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ">8 KiB<") || !strings.Contains(buf.String(), "messages per second (log scale)") {
		t.Error("size chart: no 8 KiB tick or log-scale label")
	}
	sc := svgCircles(t, buf.Bytes())["logshipper"]
	if len(sc) != 6 {
		t.Fatalf("size: %d circles", len(sc))
	}
	check("size rate", srates, sc[:3])
	check("size cpu", scpus, sc[3:])
	if err := writeSVG(&buf, svgFigure{}); err == nil {
		t.Error("a figure without panels written")
	}
}

func TestNiceCeil(t *testing.T) {
	for _, c := range [][2]float64{{0.9, 1}, {1, 1}, {1.1, 1.5}, {2.2, 2.5}, {3, 3}, {6.5, 8}, {9, 10}, {672000, 800000}, {120000, 150000}, {0, 1}} {
		if got := niceCeil(c[0]); got != c[1] {
			t.Errorf("niceCeil(%v) = %v, want %v", c[0], got, c[1])
		}
	}
}

// TestCurvesMarkdown: medians per point and shipper, a run that failed
// before sending shows dashes, and every table row has its header's cells.
func TestCurvesMarkdown(t *testing.T) {
	pts, _ := planCurves([]int{64}, []int{8192}, 0, 1000, 500, 1024)
	var all []CurveResult
	for round, rate := range []float64{100, 300, 200} {
		for _, pt := range pts {
			res := Result{Shipper: "logshipper", Round: round + 1, RateMsgs: rate, CPUPer1M: rate / 100}
			res.Messages, res.Sent, res.Delivered = pt.Messages, pt.Messages, pt.Messages
			all = append(all, CurveResult{curvePoint: pt, Result: res, CPUPerGB: 1})
			bad := Result{Shipper: "syslog-ng", Round: round + 1, Error: "warm-up: stalled"}
			bad.Messages = pt.Messages
			all = append(all, CurveResult{curvePoint: pt, Result: bad})
		}
	}
	md := curvesMarkdown([]string{"date: x"}, 3, 0, 0, aggregateCurves(pts, []string{"logshipper", "syslog-ng"}, all), 0, all)
	for _, want := range []string{"| 64 | logshipper | 200 | 2.00 |", "| 64 | syslog-ng | – |", "| 8 KiB | 500 | logshipper | 200 |", "0/3 |", "Runs with errors"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	cells := 0
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "| connections") || strings.HasPrefix(l, "| size"):
			cells = strings.Count(l, "|")
		case strings.HasPrefix(l, "| "):
			if strings.Count(l, "|") != cells {
				t.Errorf("row %q: %d cells, header %d", l, strings.Count(l, "|"), cells)
			}
		}
	}
}
