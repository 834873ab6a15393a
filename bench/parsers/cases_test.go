package parsers

import "time"

// want is what a correct parse gives, per logshipper's spec (package
// parser's documentation): zero values mean "absent".
type want struct {
	pri     int
	ts      string // RFC 3339; "" = no header time
	host    string
	prog    string
	pid     string
	msgid   string
	sd      map[string]map[string]string
	msg     string
	failed  bool
	comment string
}

type tcase struct {
	name     string
	raw      string
	received time.Time // zero: defaultReceived
	want     want
}

var defaultReceived = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// cases are the shapes the issue names. Where RFC 3164 leaves room
// (tag without a colon, Cisco mnemonics), the expectation is rsyslog's
// pmrfc3164 behaviour as package parser documents it.
var cases = []tcase{
	{name: "rfc5424-ex1-bom",
		raw:  "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
		want: want{pri: 34, ts: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "su", msgid: "ID47", msg: "'su root' failed for lonvick on /dev/pts/8"}},
	{name: "rfc5424-ex2-offset",
		raw:  "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
		want: want{pri: 165, ts: "2003-08-24T12:14:15.000003Z", host: "192.0.2.1", prog: "myproc", pid: "8710", msg: "%% It's time to make the do-nuts."}},
	{name: "rfc5424-ex3-sd",
		raw: "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...",
		want: want{pri: 165, ts: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "evntslog", msgid: "ID47",
			sd:  map[string]map[string]string{"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
			msg: "An application event log entry..."}},
	{name: "rfc5424-ex4-two-sd-no-msg",
		raw: `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
		want: want{pri: 165, ts: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "evntslog", msgid: "ID47",
			sd: map[string]map[string]string{"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}, "examplePriority@32473": {"class": "high"}}}},
	{name: "rfc5424-sd-escapes",
		raw: `<13>1 2024-01-05T12:34:56Z host app - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="keep\n"] msg`,
		want: want{pri: 13, ts: "2024-01-05T12:34:56Z", host: "host", prog: "app",
			sd: map[string]map[string]string{"x@1": {"a": `q"uote`, "b": `back\slash`, "c": "br]acket", "d": `keep\n`}}, msg: "msg"}},
	{name: "rfc5424-all-nil",
		raw:  "<13>1 - - - - - -",
		want: want{pri: 13}},
	{name: "junos-rfc5424",
		raw: `<165>1 2024-01-05T12:34:56.789+01:00 fw01 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.1" source-port="51234" destination-address="192.0.2.1" destination-port="443" service-name="junos-https"] session created 10.0.0.1/51234->192.0.2.1/443 junos-https`,
		want: want{pri: 165, ts: "2024-01-05T11:34:56.789Z", host: "fw01", prog: "RT_FLOW", msgid: "RT_FLOW_SESSION_CREATE",
			sd:  map[string]map[string]string{"junos@2636.1.1.1.2.129": {"source-address": "10.0.0.1", "source-port": "51234", "destination-address": "192.0.2.1", "destination-port": "443", "service-name": "junos-https"}},
			msg: "session created 10.0.0.1/51234->192.0.2.1/443 junos-https"}},
	{name: "nxlog-rfc5424",
		raw: `<14>1 2024-01-05T12:34:56.123456+01:00 WIN-HOST Microsoft-Windows-Security-Auditing 4624 - [NXLOG@14506 EventReceivedTime="2024-01-05 12:34:57" SourceModuleName="eventlog"] An account was successfully logged on.`,
		want: want{pri: 14, ts: "2024-01-05T11:34:56.123456Z", host: "WIN-HOST", prog: "Microsoft-Windows-Security-Auditing", pid: "4624",
			sd:  map[string]map[string]string{"NXLOG@14506": {"EventReceivedTime": "2024-01-05 12:34:57", "SourceModuleName": "eventlog"}},
			msg: "An account was successfully logged on."}},
	{name: "nxlog-rfc5424-windows-path",
		raw: `<14>1 2024-01-05T12:34:56Z WIN-HOST Service_Control_Manager 7036 - [NXLOG@14506 ImagePath="C:\Windows\system32\svchost.exe"] The service entered the running state.`,
		want: want{pri: 14, ts: "2024-01-05T12:34:56Z", host: "WIN-HOST", prog: "Service_Control_Manager", pid: "7036",
			sd:  map[string]map[string]string{"NXLOG@14506": {"ImagePath": `C:\Windows\system32\svchost.exe`}},
			msg: "The service entered the running state."}},
	{name: "rfc5424-nanoseconds",
		raw:  "<13>1 2024-01-05T12:34:56.123456789Z host app - - - x",
		want: want{pri: 13, ts: "2024-01-05T12:34:56.123456789Z", host: "host", prog: "app", msg: "x"}},
	{name: "rfc5424-app-name-over-48",
		raw:  "<13>1 - host Microsoft-Windows-Security-Auditing-Extra-Long-Name - - - x",
		want: want{pri: 13, host: "host", prog: "Microsoft-Windows-Security-Auditing-Extra-Long-Name", msg: "x"}},
	{name: "rfc5424-unescaped-bracket-in-value",
		raw:  `<13>1 - host app - - [x a="[1]"] m`,
		want: want{pri: 13, host: "host", prog: "app", sd: map[string]map[string]string{"x": {"a": "[1]"}}, msg: "m"}},
	{name: "rfc3164-ex1",
		raw:  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
		want: want{pri: 34, ts: "2026-10-11T22:14:15Z", host: "mymachine", prog: "su", msg: "'su root' failed for lonvick on /dev/pts/8"}},
	{name: "rfc3164-iso8601",
		raw:  "<34>2003-10-11T22:14:15.003Z mymachine.example.com app: msg here",
		want: want{pri: 34, ts: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", prog: "app", msg: "msg here"}},
	{name: "cisco-ios-origin-host", received: at("2026-03-01T00:00:05Z"),
		raw:  "<189>123: host1: *Mar  1 00:00:00.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)",
		want: want{pri: 189, ts: "2026-03-01T00:00:00.123Z", host: "host1", prog: "%SYS-5-CONFIG_I", msg: "Configured from console by vty0 (10.0.0.1)"}},
	{name: "cisco-ios-utc", received: at("2026-03-01T00:00:05Z"),
		raw:  "<189>1234: Mar  1 00:00:00.123 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up",
		want: want{pri: 189, ts: "2026-03-01T00:00:00.123Z", prog: "%LINK-3-UPDOWN", msg: "Interface GigabitEthernet0/1, changed state to up"}},
	{name: "cisco-asa-no-ts",
		raw:  "<166>%ASA-6-302013: Built outbound TCP connection 123 for outside:192.0.2.1/443 (192.0.2.1/443) to inside:10.0.0.5/51234 (198.51.100.7/51234)",
		want: want{pri: 166, prog: "%ASA-6-302013", msg: "Built outbound TCP connection 123 for outside:192.0.2.1/443 (192.0.2.1/443) to inside:10.0.0.5/51234 (198.51.100.7/51234)"}},
	{name: "cisco-asa-ts-year", received: at("2024-01-05T12:35:00Z"),
		raw:  "<166>Jan 05 2024 12:34:56: %ASA-6-302013: Built outbound TCP connection 123",
		want: want{pri: 166, ts: "2024-01-05T12:34:56Z", prog: "%ASA-6-302013", msg: "Built outbound TCP connection 123"}},
	{name: "juniper-mgd",
		raw:  "<28>Oct 11 22:14:15 fw01 mgd[123]: UI_COMMIT: User 'admin' requested 'commit' operation",
		want: want{pri: 28, ts: "2026-10-11T22:14:15Z", host: "fw01", prog: "mgd", pid: "123", msg: "UI_COMMIT: User 'admin' requested 'commit' operation"}},
	{name: "fortigate-no-header",
		raw:  `<189>date=2024-01-05 time=12:34:56 devname="FG100" devid="FG100E0000000001" logid="0000000013" type="traffic" subtype="forward"`,
		want: want{pri: 189, msg: `date=2024-01-05 time=12:34:56 devname="FG100" devid="FG100E0000000001" logid="0000000013" type="traffic" subtype="forward"`}},
	{name: "linux-sshd",
		raw:  "<86>Nov 26 11:59:58 web01 sshd[1234]: Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2",
		want: want{pri: 86, ts: "2026-11-26T11:59:58Z", host: "web01", prog: "sshd", pid: "1234", msg: "Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2"}},
	{name: "linux-systemd",
		raw:  "<30>Nov 26 11:59:58 web01 systemd[1]: Started Session 42 of user root.",
		want: want{pri: 30, ts: "2026-11-26T11:59:58Z", host: "web01", prog: "systemd", pid: "1", msg: "Started Session 42 of user root."}},
	{name: "linux-kernel",
		raw:  "<6>Nov 26 11:59:58 web01 kernel: [12345.678901] e1000e: eth0 NIC Link is Up",
		want: want{pri: 6, ts: "2026-11-26T11:59:58Z", host: "web01", prog: "kernel", msg: "[12345.678901] e1000e: eth0 NIC Link is Up"}},
	{name: "linux-cron",
		raw:  "<78>Nov 26 11:59:01 web01 CRON[42]: (root) CMD (run-parts /etc/cron.hourly)",
		want: want{pri: 78, ts: "2026-11-26T11:59:01Z", host: "web01", prog: "CRON", pid: "42", msg: "(root) CMD (run-parts /etc/cron.hourly)"}},
	{name: "linux-postfix-slash",
		raw:  "<22>Nov 26 11:59:58 mail01 postfix/smtpd[99]: connect from unknown[192.0.2.5]",
		want: want{pri: 22, ts: "2026-11-26T11:59:58Z", host: "mail01", prog: "postfix/smtpd", pid: "99", msg: "connect from unknown[192.0.2.5]"}},
	{name: "nxlog-rfc3164", received: at("2024-01-05T12:35:00Z"),
		raw:  "<14>Jan  5 12:34:56 WIN-HOST Microsoft-Windows-Security-Auditing[4624]: An account was logged on.",
		want: want{pri: 14, ts: "2024-01-05T12:34:56Z", host: "WIN-HOST", prog: "Microsoft-Windows-Security-Auditing", pid: "4624", msg: "An account was logged on."}},
	{name: "nxlog-tabs", received: at("2024-01-05T12:35:00Z"),
		raw:  "<14>Jan  5 12:34:56 WIN-HOST MSWinEventLog\t1\tSecurity\t4624\tFri Jan 05 12:34:56 2024",
		want: want{pri: 14, ts: "2024-01-05T12:34:56Z", host: "WIN-HOST", msg: "MSWinEventLog\t1\tSecurity\t4624\tFri Jan 05 12:34:56 2024"}}, // no ": ": no program (Logstash)
	{name: "pri-only",
		raw:  "<13>",
		want: want{pri: 13}},
	{name: "empty-msg",
		raw:  "<13>Oct 11 22:14:15 host app: ",
		want: want{pri: 13, ts: "2026-10-11T22:14:15Z", host: "host", prog: "app"}},
	{name: "no-hostname",
		raw:  "<78>Nov 26 11:59:02 myprog[153]: blah",
		want: want{pri: 78, ts: "2026-11-26T11:59:02Z", prog: "myprog", pid: "153", msg: "blah"}},
	{name: "tag-without-colon",
		raw:  "<13>Nov 26 11:59:02 host app hello world",
		want: want{pri: 13, ts: "2026-11-26T11:59:02Z", host: "host", msg: "app hello world"}}, // Logstash: the program needs ": "
	{name: "year-dec31-received-jan1", received: at("2027-01-01T00:00:01Z"),
		raw:  "<13>Dec 31 23:59:59 host app: last second",
		want: want{pri: 13, ts: "2026-12-31T23:59:59Z", host: "host", prog: "app", msg: "last second"}},
	{name: "year-jan1-received-dec31", received: at("2026-12-31T23:59:59Z"),
		raw:  "<13>Jan  1 00:00:01 host app: first second",
		want: want{pri: 13, ts: "2027-01-01T00:00:01Z", host: "host", prog: "app", msg: "first second"}},
	{name: "invalid-utf8",
		raw:  "<13>Nov 26 11:59:58 host app: caf\xe9 \xff",
		want: want{pri: 13, ts: "2026-11-26T11:59:58Z", host: "host", prog: "app", msg: "caf\xe9 \xff"}},
	{name: "pri-192", raw: "<192>Oct 11 22:14:15 host app: msg", want: want{pri: 13, failed: true, msg: "<192>Oct 11 22:14:15 host app: msg"}},
	{name: "pri-999", raw: "<999>Oct 11 22:14:15 host app: msg", want: want{pri: 13, failed: true, msg: "<999>Oct 11 22:14:15 host app: msg"}},
	{name: "pri-negative", raw: "<-1>Oct 11 22:14:15 host app: msg", want: want{pri: 13, failed: true, msg: "<-1>Oct 11 22:14:15 host app: msg"}},
	{name: "pri-empty", raw: "<>Oct 11 22:14:15 host app: msg", want: want{pri: 13, failed: true, msg: "<>Oct 11 22:14:15 host app: msg"}},
	{name: "pri-leading-zero", raw: "<013>Oct 11 22:14:15 host app: msg", want: want{pri: 13, failed: true, msg: "<013>Oct 11 22:14:15 host app: msg"}},
	{name: "not-syslog", raw: "test", want: want{pri: 13, failed: true, msg: "test"}},
	{name: "not-syslog-spaces", raw: "  two  spaces  ", want: want{pri: 13, failed: true, msg: "  two  spaces  "}},
}
