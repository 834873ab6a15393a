package parsers

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"
)

// diff lists the fields g gets wrong against w.
func diff(w want, g got) []string {
	if g.panic != "" {
		return []string{"PANIC"}
	}
	var bad []string
	check := func(ok bool, name string) {
		if !ok {
			bad = append(bad, name)
		}
	}
	check(g.failed == w.failed, "failed")
	check(g.pri == w.pri, "pri")
	if w.ts == "" {
		check(g.ts.IsZero(), "ts")
	} else {
		check(g.ts.Equal(at(w.ts)), "ts")
	}
	check(g.host == w.host, "host")
	check(g.prog == w.prog, "prog")
	check(g.pid == w.pid, "pid")
	check(g.msgid == w.msgid, "msgid")
	if g.sdRaw != "" {
		check(false, "sd(string)")
	} else {
		check(sdEqual(g.sd, w.sd), "sd")
	}
	check(g.msg == w.msg, "msg")
	return bad
}

func sdEqual(a, b map[string]map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !maps.Equal(av, bv) {
			return false
		}
	}
	return true
}

func received(c tcase) time.Time {
	if c.received.IsZero() {
		return defaultReceived
	}
	return c.received
}

// TestCorrectness prints, for every case, which fields each contender gets
// wrong (run with -v to see the table), and requires logshipper's parser
// to get every case right.
func TestCorrectness(t *testing.T) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| case |")
	for _, c := range contenders {
		fmt.Fprintf(&sb, " %s |", c.name)
	}
	fmt.Fprintf(&sb, "\n|---|")
	for range contenders {
		fmt.Fprintf(&sb, "---|")
	}
	wrong := make([]int, len(contenders))
	for _, tc := range cases {
		fmt.Fprintf(&sb, "\n| %s |", tc.name)
		for i, c := range contenders {
			bad := diff(tc.want, c.parse([]byte(tc.raw), received(tc)))
			cell := "ok"
			if len(bad) > 0 {
				wrong[i]++
				cell = strings.Join(bad, ", ")
				if i == 0 {
					g := c.parse([]byte(tc.raw), received(tc))
					t.Errorf("%s: %s gets %v wrong: %+v", tc.name, c.name, bad, g)
				}
			}
			fmt.Fprintf(&sb, " %s |", cell)
		}
	}
	fmt.Fprintf(&sb, "\n| **cases wrong (of %d)** |", len(cases))
	for _, n := range wrong {
		fmt.Fprintf(&sb, " **%d** |", n)
	}
	t.Log(sb.String())
}

// TestShowDetails prints each library's fields for the cases it gets wrong
// (-run ShowDetails -v), to read why.
func TestShowDetails(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("only informative; run with -v")
	}
	names := make([]string, 0, len(contenders))
	for _, c := range contenders[1:] {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, c := range contenders[1:] {
		for _, tc := range cases {
			g := c.parse([]byte(tc.raw), received(tc))
			if bad := diff(tc.want, g); len(bad) > 0 {
				t.Logf("%-22s %-28s %v\n    got  pri=%d ts=%v host=%q prog=%q pid=%q msgid=%q sd=%v sdRaw=%q failed=%v panic=%q\n    msg=%q",
					c.name, tc.name, bad, g.pri, g.ts, g.host, g.prog, g.pid, g.msgid, g.sd, g.sdRaw, g.failed, g.panic, g.msg)
			}
		}
	}
}
