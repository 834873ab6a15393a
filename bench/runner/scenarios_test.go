package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVariedScenarios: every scenario has a varied twin that passes -vary
// to loadgen and says so in its title; the plain ones do not.
func TestVariedScenarios(t *testing.T) {
	known := knownScenarios(100000, 10*time.Second, 50000, 4*time.Second)
	for _, name := range []string{"tcp1-rfc3164", "tcp1-rfc5424", "tcp1-raw", "tcp8-rfc3164", "steady8-rfc3164", "udp-rfc3164", "tcp1-octet"} {
		plain, ok := known[name]
		if !ok || plain.Vary {
			t.Fatalf("%s: %+v %v", name, plain, ok)
		}
		varied, ok := known[name+"-varied"]
		if !ok || !varied.Vary || varied.Name != name+"-varied" {
			t.Fatalf("%s-varied: %+v %v", name, varied, ok)
		}
		if varied.Proto != plain.Proto || varied.Conns != plain.Conns || varied.Format != plain.Format || varied.Rate != plain.Rate {
			t.Errorf("%s-varied differs from %s: %+v", name, name, varied)
		}
		if tt := varied.title(1000); !strings.Contains(tt, "varied") {
			t.Errorf("%s-varied: title %q", name, tt)
		}
		if tt := plain.title(1000); strings.Contains(tt, "varied") {
			t.Errorf("%s: title %q", name, tt)
		}
		if args := loadgenArgs(varied, 1234, "b1", 1000, 0, 0); !slices.Contains(args, "-vary") {
			t.Errorf("%s-varied: loadgen %v", name, args)
		}
		if args := loadgenArgs(plain, 1234, "b1", 1000, 0, 0); slices.Contains(args, "-vary") {
			t.Errorf("%s: loadgen %v", name, args)
		}
	}
	if got := known["tcp1-rfc3164"].title(1000000); got != "TCP, 1 connection, rfc3164, 1000000 messages" {
		t.Errorf("plain title changed: %q", got)
	}
	if got := known["tcp8-rfc3164-varied"].title(1000000); got != "TCP, 8 connections, rfc3164 varied (pool of distinct messages), 1000000 messages" {
		t.Errorf("varied title: %q", got)
	}
}

// A steady scenario is TCP over 8 connections at its fixed rate: loadgen
// gets -rate and -duration for the run and a count for the warm-up, and
// the title says what was sent.
func TestSteadyScenario(t *testing.T) {
	sc := knownScenarios(100000, 10*time.Second, 50000, 4*time.Second)["steady8-rfc3164"]
	if sc.Proto != "tcp" || sc.Conns != 8 || sc.fixedCount() != 200000 {
		t.Fatalf("steady8-rfc3164: %+v", sc)
	}
	if got := sc.title(1000000); got != "TCP, 8 connections, rfc3164, steady 50000 msgs/s for 4s (200000 messages)" {
		t.Errorf("title: %q", got)
	}
	args := strings.Join(loadgenArgs(sc, 1234, "b1", sc.fixedCount(), sc.Rate, sc.Duration), " ")
	if !strings.Contains(args, "-proto tcp -conns 8") || !strings.Contains(args, "-rate 50000 -duration 4s") || strings.Contains(args, "-count") {
		t.Errorf("loadgen %s", args)
	}
}

// steady<N>- is any number of connections at the steady rate; other
// names are not scenarios.
func TestSteadyScenarioConnections(t *testing.T) {
	sc, ok := steadyScenario("steady200-rfc5424-varied", 2000, 20*time.Second)
	if !ok || sc.Conns != 200 || sc.Format != "rfc5424" || !sc.Vary || sc.Proto != "tcp" || sc.fixedCount() != 40000 {
		t.Fatalf("steady200-rfc5424-varied: %+v %v", sc, ok)
	}
	if got := sc.title(0); got != "TCP, 200 connections, rfc5424 varied (pool of distinct messages), steady 2000 msgs/s for 20s (40000 messages)" {
		t.Errorf("title: %q", got)
	}
	for _, bad := range []string{"steady-rfc3164", "steady0-rfc3164", "steadyx-rfc3164", "steady8-json", "steady8", "tcp200-rfc3164"} {
		if sc, ok := steadyScenario(bad, 2000, time.Second); ok {
			t.Errorf("%q read as %+v", bad, sc)
		}
	}
}

// A curve point's message size and give-up time reach loadgen as flags;
// a scenario without them passes neither.
func TestScenarioSizeAndTimeout(t *testing.T) {
	sc := Scenario{Proto: "tcp", Conns: 64, Format: "rfc3164", Size: 8192, Timeout: 90 * time.Second}
	args := strings.Join(loadgenArgs(sc, 1234, "c1", 1000, 0, 0), " ")
	if !strings.Contains(args, "-size 8192") || !strings.Contains(args, "-timeout 1m30s") {
		t.Errorf("loadgen %s", args)
	}
	args = strings.Join(loadgenArgs(tcpRFC3164, 1234, "c1", 1000, 0, 0), " ")
	if strings.Contains(args, "-size") || strings.Contains(args, "-timeout") {
		t.Errorf("loadgen %s", args)
	}
}
