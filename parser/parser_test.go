package parser

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

// exp is the full set of parser fields a case expects; unset means zero.
type exp struct {
	format event.Format
	pri    int
	ts     string // RFC 3339; "" = zero Timestamp
	tsRaw  string
	host   string
	prog   string
	pid    string
	msgid  string
	ver    int16
	sd     event.StructuredData
	msg    string
	failed bool
	bad    bool // Malformed: RFC 5424 read leniently
}

type unitCase struct {
	name     string
	raw      string
	received string // RFC 3339; "" = testReceived
	want     exp
}

var testReceived = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func runCases(t *testing.T, p *Parser, cases []unitCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := &event.Event{Raw: []byte(c.raw), Received: testReceived}
			if c.received != "" {
				ev.Received = mustTime(t, c.received)
			}
			p.Parse(ev)
			checkEvent(t, ev, c.want)
			checkInvariants(t, ev)
		})
	}
}

func checkEvent(t *testing.T, ev *event.Event, w exp) {
	t.Helper()
	pri := w.pri
	if w.failed {
		pri = event.DefaultPriority
		if w.msg == "" {
			w.msg = string(ev.Raw)
		}
	}
	var wantTS time.Time
	if w.ts != "" {
		wantTS = mustTime(t, w.ts)
	}
	bad := func(field string, got, want any) {
		t.Errorf("raw %q: %s = %#v, want %#v", ev.Raw, field, got, want)
	}
	if ev.Format != w.format {
		bad("Format", ev.Format.String(), w.format.String())
	}
	if int(ev.Priority) != pri {
		bad("Priority", ev.Priority, pri)
	}
	if !ev.Timestamp.Equal(wantTS) || ev.Timestamp.IsZero() != wantTS.IsZero() {
		bad("Timestamp", ev.Timestamp.Format(time.RFC3339Nano), w.ts)
	}
	if ev.TimestampRaw != w.tsRaw {
		bad("TimestampRaw", ev.TimestampRaw, w.tsRaw)
	}
	if ev.Hostname != w.host {
		bad("Hostname", ev.Hostname, w.host)
	}
	if ev.Program != w.prog {
		bad("Program", ev.Program, w.prog)
	}
	if ev.PID != w.pid {
		bad("PID", ev.PID, w.pid)
	}
	if ev.MsgID != w.msgid {
		bad("MsgID", ev.MsgID, w.msgid)
	}
	if ev.Version != w.ver {
		bad("Version", ev.Version, w.ver)
	}
	if !sdEqual(ev.StructuredData, w.sd) {
		bad("StructuredData", ev.StructuredData, w.sd)
	}
	if ev.Malformed != w.bad {
		bad("Malformed", ev.Malformed, w.bad)
	}
	if ev.Message != w.msg {
		bad("Message", ev.Message, w.msg)
	}
	if ev.ParseFailed != w.failed {
		bad("ParseFailed", ev.ParseFailed, w.failed)
	}
}

// sdEqual compares in order: elements, then params, as the sender wrote
// them (repeats merged). An element without params may hold a nil or an
// empty Params.
func sdEqual(a, b event.StructuredData) bool {
	return (a == nil) == (b == nil) && slices.EqualFunc(a, b, func(x, y event.SDElement) bool {
		return x.ID == y.ID && slices.Equal(x.Params, y.Params)
	})
}

// el builds an SDElement from its ID and name, value pairs.
func el(id string, nameValues ...string) event.SDElement {
	e := event.SDElement{ID: id}
	for i := 0; i+1 < len(nameValues); i += 2 {
		e.Params = append(e.Params, event.SDParam{Name: nameValues[i], Value: nameValues[i+1]})
	}
	return e
}

const (
	f5424 = event.FormatRFC5424
	f3164 = event.FormatRFC3164
)

// TestRFC5424 covers RFC 5424 §6.5 examples 1-4 and the grammar's edges.
// "malformed:" cases break the grammar (a strict parser rejects them) and
// are read leniently, flagged Malformed; "not RFC 5424:" cases fall back to
// RFC 3164.
func TestRFC5424(t *testing.T) {
	sdEx := el("exampleSDID@32473", "iut", "3", "eventSource", "Application", "eventID", "1011")
	runCases(t, New(Options{}), []unitCase{
		{"example 1", "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8", "",
			exp{format: f5424, pri: 34, ver: 1, ts: "2003-10-11T22:14:15.003Z", tsRaw: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "su", msgid: "ID47", msg: "'su root' failed for lonvick on /dev/pts/8"}},
		{"example 2", "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.", "",
			exp{format: f5424, pri: 165, ver: 1, ts: "2003-08-24T12:14:15.000003Z", tsRaw: "2003-08-24T05:14:15.000003-07:00", host: "192.0.2.1", prog: "myproc", pid: "8710", msg: "%% It's time to make the do-nuts."}},
		{"example 3", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...", "",
			exp{format: f5424, pri: 165, ver: 1, ts: "2003-10-11T22:14:15.003Z", tsRaw: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "evntslog", msgid: "ID47", sd: event.StructuredData{sdEx}, msg: "An application event log entry..."}},
		{"example 4", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`, "",
			exp{format: f5424, pri: 165, ver: 1, ts: "2003-10-11T22:14:15.003Z", tsRaw: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "evntslog", msgid: "ID47",
				sd: event.StructuredData{sdEx, el("examplePriority@32473", "class", "high")}}},
		{"all nil", "<13>1 - - - - - -", "", exp{format: f5424, pri: 13, ver: 1}},
		{"nil with empty msg", "<13>1 - - - - - - ", "", exp{format: f5424, pri: 13, ver: 1}},
		{"BOM only", "<13>1 - - - - - - \xEF\xBB\xBF", "", exp{format: f5424, pri: 13, ver: 1}},
		{"BOM kept inside msg", "<13>1 - - - - - - a\xEF\xBB\xBF", "", exp{format: f5424, pri: 13, ver: 1, msg: "a\xEF\xBB\xBF"}},
		{"escapes", `<13>1 - h a - - [id p1="a\"b" p2="c\\d" p3="e\]f" p4="g\h" p5="i\\\"j" p6=""] m`, "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", msg: "m",
				sd: event.StructuredData{el("id", "p1", `a"b`, "p2", `c\d`, "p3", "e]f", "p4", `g\h`, "p5", `i\"j`, "p6", "")}}}, // \h: invalid, read as 6.3.3 says
		{"element without params", "<13>1 - h a - - [origin] m", "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("origin")}, msg: "m"}},
		{"malformed: repeated SD-ID merges", `<13>1 - h a - - [x a="1"][x b="2"] m`, "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "a", "1", "b", "2")}, msg: "m", bad: true}},
		{"malformed: repeated SD-ID merges into the first, last value wins", `<13>1 - h a - - [x a="1" b="2"][y c="3"][x a="4" d="5"][y] m`, "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "a", "4", "b", "2", "d", "5"), el("y", "c", "3")}, msg: "m", bad: true}},
		{"repeated param name (allowed), last value wins at the first place", `<13>1 - h a - - [x k="1" j="0" k="2" k="3"] m`, "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "k", "3", "j", "0")}, msg: "m"}},
		{"message order, not sorted", `<13>1 - h a - - [z@1 b="1" a="2"][a@1 y="3"] m`, "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("z@1", "b", "1", "a", "2"), el("a@1", "y", "3")}, msg: "m"}},
		{"malformed: unescaped ] in value", `<13>1 - h a - - [x a="[1]"] m`, "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "a", "[1]")}, msg: "m", bad: true}},
		{"malformed: 9 fraction digits (RFC 5424 allows 6)", "<13>1 2024-01-05T12:34:56.123456789+05:30 h a p m - x", "",
			exp{format: f5424, pri: 13, ver: 1, ts: "2024-01-05T07:04:56.123456789Z", tsRaw: "2024-01-05T12:34:56.123456789+05:30", host: "h", prog: "a", pid: "p", msgid: "m", msg: "x", bad: true}},
		{"6 fraction digits", "<13>1 2024-01-05T12:34:56.123456+05:30 h a p m - x", "",
			exp{format: f5424, pri: 13, ver: 1, ts: "2024-01-05T07:04:56.123456Z", tsRaw: "2024-01-05T12:34:56.123456+05:30", host: "h", prog: "a", pid: "p", msgid: "m", msg: "x"}},
		{"malformed: APP-NAME over 48, kept whole", "<13>1 - h Microsoft-Windows-Security-Auditing-Extra-Long-Name - - - x", "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "Microsoft-Windows-Security-Auditing-Extra-Long-Name", msg: "x", bad: true}},
		{"malformed: SD-ID over 32", "<13>1 - h a - - [abcdefghilmnopqrstuvzabcdefghilmX] x", "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("abcdefghilmnopqrstuvzabcdefghilmX")}, msg: "x", bad: true}},
		{"leap second", "<13>1 2016-12-31T23:59:60Z h a - - - x", "",
			exp{format: f5424, pri: 13, ver: 1, ts: "2017-01-01T00:00:00Z", tsRaw: "2016-12-31T23:59:60Z", host: "h", prog: "a", msg: "x"}},
		{"msg keeps newlines and tabs", "<13>1 - h a - - - line1\nline2\tx", "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", msg: "line1\nline2\tx"}},
		// Malformed: the header is kept, what is not structured data stays in MSG.
		{"malformed: SD not closed", `<13>1 - h a - - [x a="1" m`, "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", msg: `[x a="1" m`, bad: true}},
		{"malformed: text right after SD", `<13>1 - h a - - [x a="1"]m`, "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "a", "1")}, msg: "m", bad: true}},
		{"malformed: no SD, line ends", "<13>1 2024-01-05T12:34:56Z host app - -", "", exp{format: f5424, pri: 13, ver: 1, ts: "2024-01-05T12:34:56Z", tsRaw: "2024-01-05T12:34:56Z", host: "host", prog: "app", bad: true}},
		{"malformed: line ends in the header", "<13>1 2024-01-05T12:34:56Z host app", "", exp{format: f5424, pri: 13, ver: 1, ts: "2024-01-05T12:34:56Z", tsRaw: "2024-01-05T12:34:56Z", host: "host", prog: "app", bad: true}},
		{"malformed: timestamp without zone is local", "<13>1 2024-01-05T12:34:56 host app - - - x", "", exp{format: f5424, pri: 13, ver: 1, ts: "2024-01-05T12:34:56Z", tsRaw: "2024-01-05T12:34:56", host: "host", prog: "app", msg: "x", bad: true}},
		{"malformed: Feb 30 keeps its text, no time", "<13>1 2024-02-30T12:34:56Z host app - - - x", "", exp{format: f5424, pri: 13, ver: 1, tsRaw: "2024-02-30T12:34:56Z", host: "host", prog: "app", msg: "x", bad: true}},
		{"malformed: param without quotes", "<13>1 - h a - - [x a=1] m", "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{el("x", "a", "1")}, msg: "m", bad: true}},
		{"malformed: space after '=' (RFC 5424 6.5 as printed)", `<13>1 - h a - - [exampleSDID@32473 iut="3" eventSource= "Application" eventID="1011"] m`, "",
			exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", sd: event.StructuredData{sdEx}, msg: "m", bad: true}},
		{"malformed: param without a value", "<13>1 - h a - - [incorrect x] m", "", exp{format: f5424, pri: 13, ver: 1, host: "h", prog: "a", msg: "[incorrect x] m", bad: true}},
		{"malformed: non-ASCII hostname", "<13>1 - hôte a - - - m", "", exp{format: f5424, pri: 13, ver: 1, host: "hôte", prog: "a", msg: "m", bad: true}},
		{"malformed: empty SD field (patterns-core syslog_spec.rb 'matches host name')", "<174>1 2016-12-31T23:59:60-04:00 resolver.se prg00000[1234] - -  info: client 10.23.53.22#63252", "",
			exp{format: f5424, pri: 174, ver: 1, ts: "2017-01-01T04:00:00Z", tsRaw: "2016-12-31T23:59:60-04:00", host: "resolver.se", prog: "prg00000[1234]", msg: "info: client 10.23.53.22#63252", bad: true}},
		{"leap second: the next second (RFC 3339 allows :60)", "<13>1 2016-12-31T23:59:60Z h a - - - m", "",
			exp{format: f5424, pri: 13, ver: 1, ts: "2017-01-01T00:00:00Z", tsRaw: "2016-12-31T23:59:60Z", host: "h", prog: "a", msg: "m"}},
		{"not RFC 5424: double space before the timestamp", "<13>1  - h a - - - m", "", exp{format: f3164, pri: 13, msg: "1  - h a - - - m"}},
		{"not RFC 5424: no date after the version", "<13>1 failed login for root", "", exp{format: f3164, pri: 13, msg: "1 failed login for root"}},
		{"version 2 is still RFC 5424 grammar", "<13>2 - h a - - - m", "", exp{format: f5424, pri: 13, ver: 2, host: "h", prog: "a", msg: "m"}},
	})
}

// TestRFC3164 covers RFC 3164 §5.4's examples and the real-world shapes.
func TestRFC3164(t *testing.T) {
	runCases(t, New(Options{}), []unitCase{
		{"5.4 example 1", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", "",
			exp{format: f3164, pri: 34, ts: "2026-10-11T22:14:15Z", tsRaw: "Oct 11 22:14:15", host: "mymachine", prog: "su", msg: "'su root' failed for lonvick on /dev/pts/8"}},
		{"5.4 example 2 (no PRI)", "Use the BFG!", "", exp{failed: true}},
		{"5.4 example 3 (rsyslog reading)", "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.", "",
			exp{format: f3164, pri: 165, ts: "2026-08-24T05:34:00Z", tsRaw: "Aug 24 05:34:00", host: "CST", msg: "1987 mymachine myproc[10]: %% It's time to make the do-nuts."}},
		{"5.4 example 4 (year first)", "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!", "",
			exp{format: f3164, pri: 0, ts: "1990-10-22T10:52:01Z", tsRaw: "1990 Oct 22 10:52:01", host: "TZ-6", msg: "scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"}},
		{"single-digit day, two spaces", "<13>Feb  5 17:32:18 10.0.0.99 app: Use the BFG!", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "10.0.0.99", prog: "app", msg: "Use the BFG!"}},
		{"single-digit day, one space", "<13>Feb 5 17:32:18 host app: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb 5 17:32:18", host: "host", prog: "app", msg: "x"}},
		{"zero-padded day, lower-case month", "<13>feb 05 17:32:18 host app: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "feb 05 17:32:18", host: "host", prog: "app", msg: "x"}},
		{"fractional seconds", "<13>Nov 26 11:59:58.123456 host app: x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:58.123456Z", tsRaw: "Nov 26 11:59:58.123456", host: "host", prog: "app", msg: "x"}},
		{"ISO 8601 with offset", "<13>2024-01-05T12:34:56.5+0100 host app[7]: x", "",
			exp{format: f3164, pri: 13, ts: "2024-01-05T11:34:56.5Z", tsRaw: "2024-01-05T12:34:56.5+0100", host: "host", prog: "app", pid: "7", msg: "x"}},
		{"ISO 8601 without zone is local", "<13>2024-01-05T12:34:56 host app: x", "",
			exp{format: f3164, pri: 13, ts: "2024-01-05T12:34:56Z", tsRaw: "2024-01-05T12:34:56", host: "host", prog: "app", msg: "x"}},
		{"sshd", "<86>Nov 26 11:59:58 web01 sshd[1234]: Accepted publickey for deploy", "",
			exp{format: f3164, pri: 86, ts: "2026-11-26T11:59:58Z", tsRaw: "Nov 26 11:59:58", host: "web01", prog: "sshd", pid: "1234", msg: "Accepted publickey for deploy"}},
		{"systemd", "<30>Nov 26 11:59:58 web01 systemd[1]: Started Session 42 of user root.", "",
			exp{format: f3164, pri: 30, ts: "2026-11-26T11:59:58Z", tsRaw: "Nov 26 11:59:58", host: "web01", prog: "systemd", pid: "1", msg: "Started Session 42 of user root."}},
		{"kernel", "<6>Nov 26 11:59:58 web01 kernel: [12345.678901] eth0: link up", "",
			exp{format: f3164, pri: 6, ts: "2026-11-26T11:59:58Z", tsRaw: "Nov 26 11:59:58", host: "web01", prog: "kernel", msg: "[12345.678901] eth0: link up"}},
		{"CRON", "<78>Nov 26 11:59:01 web01 CRON[42]: (root) CMD (true)", "",
			exp{format: f3164, pri: 78, ts: "2026-11-26T11:59:01Z", tsRaw: "Nov 26 11:59:01", host: "web01", prog: "CRON", pid: "42", msg: "(root) CMD (true)"}},
		{"program with slash", "<22>Nov 26 11:59:58 mail01 postfix/smtpd[99]: connect from unknown[192.0.2.5]", "",
			exp{format: f3164, pri: 22, ts: "2026-11-26T11:59:58Z", tsRaw: "Nov 26 11:59:58", host: "mail01", prog: "postfix/smtpd", pid: "99", msg: "connect from unknown[192.0.2.5]"}},
		{"Juniper", "<28>Oct 11 22:14:15 fw01 mgd[123]: UI_COMMIT: User 'admin' requested 'commit' operation", "",
			exp{format: f3164, pri: 28, ts: "2026-10-11T22:14:15Z", tsRaw: "Oct 11 22:14:15", host: "fw01", prog: "mgd", pid: "123", msg: "UI_COMMIT: User 'admin' requested 'commit' operation"}},
		{"NXLog Windows", "<14>Jan  5 12:34:56 WIN-HOST Microsoft-Windows-Security-Auditing[4624]: An account was logged on.", "2024-01-05T12:35:00Z",
			exp{format: f3164, pri: 14, ts: "2024-01-05T12:34:56Z", tsRaw: "Jan  5 12:34:56", host: "WIN-HOST", prog: "Microsoft-Windows-Security-Auditing", pid: "4624", msg: "An account was logged on."}},
		{"NXLog tab separated: no ': ', no program (Logstash)", "<14>Jan  5 12:34:56 WIN-HOST MSWinEventLog\t1\tSecurity", "2024-01-05T12:35:00Z",
			exp{format: f3164, pri: 14, ts: "2024-01-05T12:34:56Z", tsRaw: "Jan  5 12:34:56", host: "WIN-HOST", msg: "MSWinEventLog\t1\tSecurity"}},
		{"Cisco IOS counter, origin host, unsynced clock", "<189>123: host1: *Mar  1 00:00:00.123: %SYS-5-CONFIG_I: Configured from console", "2026-03-01T00:00:05Z",
			exp{format: f3164, pri: 189, ts: "2026-03-01T00:00:00.123Z", tsRaw: "Mar  1 00:00:00.123", host: "host1", prog: "%SYS-5-CONFIG_I", msg: "Configured from console"}},
		{"Cisco IOS zone", "<189>1234: Mar  1 00:00:00.123 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up", "2026-03-01T00:00:05Z",
			exp{format: f3164, pri: 189, ts: "2026-03-01T00:00:00.123Z", tsRaw: "Mar  1 00:00:00.123 UTC", prog: "%LINK-3-UPDOWN", msg: "Interface Gi0/1, changed state to up"}},
		{"Cisco IOS unknown zone uses Location", "<189>1: Mar  1 00:00:00 XYZ: %LINK-3-UPDOWN: x", "2026-03-01T00:00:05Z",
			exp{format: f3164, pri: 189, ts: "2026-03-01T00:00:00Z", tsRaw: "Mar  1 00:00:00 XYZ", prog: "%LINK-3-UPDOWN", msg: "x"}},
		{"unknown zone without Cisco prefix is a tag", "<13>Nov 26 11:59:02 CRON: x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", prog: "CRON", msg: "x"}},
		{"Cisco IOS counter disabled", "<189>: .Mar 1 18:46:11.123: %SYS-5-CONFIG_I: x", "2026-03-01T18:46:12Z",
			exp{format: f3164, pri: 189, ts: "2026-03-01T18:46:11.123Z", tsRaw: "Mar 1 18:46:11.123", prog: "%SYS-5-CONFIG_I", msg: "x"}},
		{"Cisco IOS no timestamps", "<189>123: %SYS-5-CONFIG_I: x", "",
			exp{format: f3164, pri: 189, prog: "%SYS-5-CONFIG_I", msg: "x"}},
		{"Cisco year before time", "<189>Mar 1 2024 18:46:11: %SYS-5-CONFIG_I: x", "",
			exp{format: f3164, pri: 189, ts: "2024-03-01T18:46:11Z", tsRaw: "Mar 1 2024 18:46:11", prog: "%SYS-5-CONFIG_I", msg: "x"}},
		{"ASA without timestamp", "<166>%ASA-6-302013: Built outbound TCP connection", "",
			exp{format: f3164, pri: 166, prog: "%ASA-6-302013", msg: "Built outbound TCP connection"}},
		{"ASA with timestamp", "<166>Jan 05 2024 12:34:56: %ASA-6-302013: Built", "",
			exp{format: f3164, pri: 166, ts: "2024-01-05T12:34:56Z", tsRaw: "Jan 05 2024 12:34:56", prog: "%ASA-6-302013", msg: "Built"}},
		{"ASA device-id", "<166>Jan 05 2024 12:34:56 asa01 : %ASA-6-302013: Built", "",
			exp{format: f3164, pri: 166, ts: "2024-01-05T12:34:56Z", tsRaw: "Jan 05 2024 12:34:56", host: "asa01", msg: ": %ASA-6-302013: Built"}},
		{"FortiGate: no header", `<189>date=2024-01-05 time=12:34:56 devname="FG100"`, "",
			exp{format: f3164, pri: 189, msg: `date=2024-01-05 time=12:34:56 devname="FG100"`}},
		{"headerless JSON", `<13> {"a":1}`, "", exp{format: f3164, pri: 13, msg: ` {"a":1}`}},
		{"PRI only", "<13>", "", exp{format: f3164, pri: 13}},
		{"PRI 0 and 191", "<0>x", "", exp{format: f3164, pri: 0, msg: "x"}},
		{"PRI 191", "<191>x", "", exp{format: f3164, pri: 191, msg: "x"}},
		{"empty message: no space after the colon, no program (Logstash)", "<13>Oct 11 22:14:15 host app:", "",
			exp{format: f3164, pri: 13, ts: "2026-10-11T22:14:15Z", tsRaw: "Oct 11 22:14:15", host: "host", msg: "app:"}},
		{"empty message after the program", "<13>Oct 11 22:14:15 host app: ", "",
			exp{format: f3164, pri: 13, ts: "2026-10-11T22:14:15Z", tsRaw: "Oct 11 22:14:15", host: "host", prog: "app"}},
		{"timestamp only", "<13>Oct 11 22:14:15", "", exp{format: f3164, pri: 13, ts: "2026-10-11T22:14:15Z", tsRaw: "Oct 11 22:14:15"}},
		{"no hostname", "<78>Nov 26 11:59:02 myprog[153]: blah", "",
			exp{format: f3164, pri: 78, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", prog: "myprog", pid: "153", msg: "blah"}},
		{"tag without colon", "<13>Nov 26 11:59:02 host app hello", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: "app hello"}},
		{"tag without colon, with pid", "<13>Nov 26 11:59:02 host app[9] hello", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: "app[9] hello"}},
		{"colon glued to message", "<13>Nov 26 11:59:02 host app:hello", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: "app:hello"}},
		{"only one space after tag is dropped", "<13>Nov 26 11:59:02 host app:  two", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", prog: "app", msg: " two"}},
		{"issue 9: a word after the hostname is not a program (Logstash's spec)", "<164>Oct 26 15:19:25 1.2.3.4 a sample message", "",
			exp{format: f3164, pri: 164, ts: "2026-10-26T15:19:25Z", tsRaw: "Oct 26 15:19:25", host: "1.2.3.4", msg: "a sample message"}},
		{"issue 9: brackets without POSINT: no program (SYSLOGPROG)", "<13>Feb  5 17:32:18 host monit[2340:0]: subsvc[12345]: started", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", msg: "monit[2340:0]: subsvc[12345]: started"}},
		{"issue 9: a colon inside the program (Juniper)", "<13>Feb  5 17:32:18 host OX-XXX-CONTEUDO:rpd[6589]: some text", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", prog: "OX-XXX-CONTEUDO:rpd", pid: "6589", msg: "some text"}},
		{"the longest program that ends in ': '", "<13>Feb  5 17:32:18 host a:b:: x: y", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", prog: "a:b:", msg: "x: y"}},
		{"pid 0 is no POSINT: no program", "<13>Feb  5 17:32:18 host prog[0]: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", msg: "prog[0]: x"}},
		{"non-numeric pid: no program", "<13>Feb  5 17:32:18 host prog[abc]: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", msg: "prog[abc]: x"}},
		{"issue 9: two spaces before the program", "<13>Feb  5 17:32:18 host  prog[7]: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", prog: "prog", pid: "7", msg: "x"}},
		{"two spaces and no program: the message keeps one", "<13>Feb  5 17:32:18 host  two words", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host", msg: " two words"}},
		{"issue 9: space after the PRI, no stamp", "<15> openvpn[2499]: PTHREAD support initialized", "",
			exp{format: f3164, pri: 15, prog: "openvpn", pid: "2499", msg: "PTHREAD support initialized"}},
		{"no stamp, no program: the text as sent", "<15> just text", "", exp{format: f3164, pri: 15, msg: " just text"}},
		{"issue 9: hh:mm:ss. without digits", "<13>Feb  5 17:32:18. host prog: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18.", host: "host", prog: "prog", msg: "x"}},
		{"comma before the fraction", "<13>Feb  5 17:32:18,250 host prog: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18.25Z", tsRaw: "Feb  5 17:32:18,250", host: "host", prog: "prog", msg: "x"}},
		{"ISO 8601 with a space for the T (TIMESTAMP_ISO8601)", "<13>2024-02-05 17:32:18+01:00 host prog: x", "",
			exp{format: f3164, pri: 13, ts: "2024-02-05T16:32:18Z", tsRaw: "2024-02-05 17:32:18+01:00", host: "host", prog: "prog", msg: "x"}},
		{"hostname with a trailing dot", "<13>Feb  5 17:32:18 host.example.com. prog: x", "2026-02-05T18:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-02-05T17:32:18Z", tsRaw: "Feb  5 17:32:18", host: "host.example.com.", prog: "prog", msg: "x"}},
		{"full month name (Logstash's MONTH)", "<13>January  5 17:32:18 host prog: x", "2026-12-04T10:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-01-05T17:32:18Z", tsRaw: "January  5 17:32:18", host: "host", prog: "prog", msg: "x"}},
		{"German month (Logstash's grok takes it, its date filter does not)", "<13>Okt 26 15:19:25 host prog: x", "2026-12-04T10:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-10-26T15:19:25Z", tsRaw: "Okt 26 15:19:25", host: "host", prog: "prog", msg: "x"}},
		{"März", "<13>März  3 01:02:03 host prog: x", "2026-12-04T10:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-03-03T01:02:03Z", tsRaw: "März  3 01:02:03", host: "host", prog: "prog", msg: "x"}},
		{"Dezember in upper case", "<13>DEZEMBER 24 18:00:00 host prog: x", "2026-12-25T10:00:00Z",
			exp{format: f3164, pri: 13, ts: "2026-12-24T18:00:00Z", tsRaw: "DEZEMBER 24 18:00:00", host: "host", prog: "prog", msg: "x"}},
		{"Sept is no month (Logstash neither)", "<13>Sept 26 15:19:25 host prog: x", "", exp{format: f3164, pri: 13, msg: "Sept 26 15:19:25 host prog: x"}},
		{"empty tag", "<13>Nov 26 11:59:02 host : x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: ": x"}},
		{"unclosed pid", "<13>Nov 26 11:59:02 host app[12: x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: "app[12: x"}},
		{"hostname ending in a dash (Logstash's HOSTNAME)", "<13>Nov 26 11:59:02 app- x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "app-", msg: "x"}},
		{"IPv6 hostname", "<13>Nov 26 11:59:02 fe80::1 app: x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "fe80::1", prog: "app", msg: "x"}},
		{"tag longer than 510 bytes is message", "<13>Nov 26 11:59:02 host " + string(make([]byte, 0)) + longWord + " x", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:02Z", tsRaw: "Nov 26 11:59:02", host: "host", msg: longWord + " x"}},
		{"no timestamp: plain text", "<13>hello world", "", exp{format: f3164, pri: 13, msg: "hello world"}},
		{"no timestamp: tag", "<13>app[7]: hello", "", exp{format: f3164, pri: 13, prog: "app", pid: "7", msg: "hello"}},
		{"no timestamp: numeric tag is text", "<13>12: hello", "", exp{format: f3164, pri: 13, msg: "12: hello"}},
		{"no timestamp: time is text", "<13>12:34:56 hello", "", exp{format: f3164, pri: 13, msg: "12:34:56 hello"}},
		{"no timestamp: no hostname", "<13>host app: hello", "", exp{format: f3164, pri: 13, msg: "host app: hello"}},
		{"bad time is no timestamp", "<13>Oct 11 25:14:15 host app: x", "", exp{format: f3164, pri: 13, msg: "Oct 11 25:14:15 host app: x"}},
		{"Feb 30 is no timestamp", "<13>Feb 30 12:00:00 host app: x", "", exp{format: f3164, pri: 13, msg: "Feb 30 12:00:00 host app: x"}},
		{"timestamp glued to text is no timestamp", "<13>Oct 11 22:14:15x host app: x", "", exp{format: f3164, pri: 13, msg: "Oct 11 22:14:15x host app: x"}},
		{"invalid UTF-8 kept", "<13>Nov 26 11:59:58 host app: caf\xe9", "",
			exp{format: f3164, pri: 13, ts: "2026-11-26T11:59:58Z", tsRaw: "Nov 26 11:59:58", host: "host", prog: "app", msg: "caf\xe9"}},
		{"version-looking start falls to RFC 3164", "<13>1 hello", "", exp{format: f3164, pri: 13, msg: "1 hello"}},
	})
}

var longWord = string(func() []byte {
	b := make([]byte, 600)
	for i := range b {
		b[i] = 'w'
	}
	return b
}())

// TestParseFailure: no valid PRI means a failed parse with Raw kept exactly.
func TestParseFailure(t *testing.T) {
	for _, raw := range []string{
		"", "test", "  two  spaces  ", "\xff\xfe\x00", " <13>Oct 11 22:14:15 host app: x", "Oct 11 22:14:15 host app: x",
		"<", "<>", "<>x", "<13", "<13 x", "<-1>x", "<+1>x", "<1a>x", "<192>x", "<999>x", "<1000>x", "<013>x", "<00>x", "<0013>x",
		"<13>\n", // only the PRI check matters; "\n" is message text
	} {
		t.Run(raw, func(t *testing.T) {
			ev := &event.Event{Raw: []byte(raw), Received: testReceived}
			New(Options{}).Parse(ev)
			checkInvariants(t, ev)
			if raw == "<13>\n" {
				if ev.ParseFailed || ev.Message != "\n" {
					t.Fatalf("%+v", ev)
				}
				return
			}
			checkEvent(t, ev, exp{failed: true})
		})
	}
}

// TestReusedEvent: nothing of a previous parse survives in a recycled Event.
func TestReusedEvent(t *testing.T) {
	p := New(Options{})
	ev := &event.Event{Raw: []byte(`<165>1 2003-10-11T22:14:15.003Z h a 1 ID [x a="1"] m`), Received: testReceived}
	p.Parse(ev)
	if ev.StructuredData == nil {
		t.Fatal("setup")
	}
	ev.Raw = []byte("test")
	p.Parse(ev)
	checkEvent(t, ev, exp{failed: true})
	ev.Raw = []byte("<13>x")
	p.Parse(ev)
	checkEvent(t, ev, exp{format: f3164, pri: 13, msg: "x"})
}

// TestConcurrent: one Parser, many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	p := New(Options{Location: time.FixedZone("UTC+2", 2*3600)})
	lines := []string{
		"<34>Oct 11 22:14:15 mymachine su: x",
		`<165>1 2003-10-11T22:14:15.003+07:00 h a - - [x a="1"] m`,
		"<189>1234: Mar  1 00:00:00.123 CET: %LINK-3-UPDOWN: x",
		"test",
	}
	var want [4]event.Event
	for i, l := range lines {
		want[i] = event.Event{Raw: []byte(l), Received: testReceived}
		p.Parse(&want[i])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				i := (g + n) % len(lines)
				ev := event.Event{Raw: []byte(lines[i]), Received: testReceived}
				p.Parse(&ev)
				if ev.Message != want[i].Message || !ev.Timestamp.Equal(want[i].Timestamp) || ev.Program != want[i].Program {
					t.Errorf("line %d: %+v", i, ev)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestSDRepeatsAtScale: with few and with many elements and params (the
// merge switches from pairwise comparison to a map past linearLimit), the
// result is what assigning the params in message order into maps gives,
// in first-occurrence order.
func TestSDRepeatsAtScale(t *testing.T) {
	p := New(Options{})
	for _, n := range []int{1, 2, 5, linearLimit - 1, linearLimit, linearLimit + 1, 3 * linearLimit} {
		// n elements over n/2+1 distinct IDs, each with n params over n/2+1 names.
		var line strings.Builder
		line.WriteString("<13>1 - h a - - ")
		type kv struct{ k, v string }
		var ids []string
		want := map[string][]kv{}
		for e := range n {
			id := fmt.Sprintf("id%d", (e*7)%(n/2+1))
			if _, ok := want[id]; !ok {
				ids = append(ids, id)
				want[id] = []kv{}
			}
			fmt.Fprintf(&line, "[%s", id)
			for q := range n {
				name, value := fmt.Sprintf("p%d", (q*5+e)%(n/2+1)), fmt.Sprintf("%d.%d", e, q)
				fmt.Fprintf(&line, " %s=%q", name, value)
				params, found := want[id], false
				for i := range params {
					if params[i].k == name {
						params[i].v, found = value, true
					}
				}
				if !found {
					want[id] = append(params, kv{name, value})
				}
			}
			line.WriteString("]")
		}
		line.WriteString(" m")
		var sd event.StructuredData
		for _, id := range ids {
			e := event.SDElement{ID: id}
			for _, p := range want[id] {
				e.Params = append(e.Params, event.SDParam{Name: p.k, Value: p.v})
			}
			sd = append(sd, e)
		}
		ev := &event.Event{Raw: []byte(line.String()), Received: testReceived}
		p.Parse(ev)
		if !sdEqual(ev.StructuredData, sd) || ev.Message != "m" {
			t.Fatalf("n=%d: %s\n got %v\nwant %v", n, ev.Raw, ev.StructuredData, sd)
		}
	}
}

// TestSDManyParamsLinear: a line full of distinct param names (or SD-IDs)
// must not cost quadratic time.
func TestSDManyParamsLinear(t *testing.T) {
	var params, elems strings.Builder
	params.WriteString("<13>1 - h a - - [x")
	elems.WriteString("<13>1 - h a - - ")
	for i := 0x1000; params.Len() < 64<<10; i++ {
		fmt.Fprintf(&params, " %x=\"\"", i)
		fmt.Fprintf(&elems, "[%x]", i)
	}
	params.WriteString("] m")
	elems.WriteString(" m")
	p := New(Options{})
	for _, line := range []string{params.String(), elems.String()} {
		ev := &event.Event{Raw: []byte(line), Received: testReceived}
		start := time.Now()
		p.Parse(ev)
		d := time.Since(start)
		t.Logf("%d bytes: %v", len(line), d)
		if d > 50*time.Millisecond {
			t.Errorf("%d-byte line took %v", len(line), d)
		}
		n := len(ev.StructuredData)
		if n == 1 {
			n = len(ev.StructuredData[0].Params)
		}
		if n < 5000 {
			t.Fatalf("only %d parsed", n)
		}
	}
}
