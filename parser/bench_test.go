package parser

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

func benchParse(b *testing.B, line string) {
	p := New(Options{})
	ev := event.Event{Raw: []byte(line), Received: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	n := 0
	start := processCPU()
	for b.Loop() {
		p.Parse(&ev)
		n++
	}
	// Process CPU time per message: robust to a loaded machine, and what
	// the project's CPU budget per message is stated in.
	if cpu := processCPU() - start; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

func BenchmarkParseRFC3164(b *testing.B) {
	benchParse(b, `<86>Nov 26 11:59:58 web01.example.com sshd[28743]: Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2: RSA SHA256:Xq1wYz0abcdefghij`)
}

func BenchmarkParseRFC5424(b *testing.B) {
	benchParse(b, `<165>1 2026-11-26T11:59:58.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`)
}

func BenchmarkParseRFC5424NoSD(b *testing.B) {
	benchParse(b, `<165>1 2026-11-26T11:59:58.003+01:00 web01.example.com sshd 28743 - - Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2: RSA SHA256:Xq1wY`)
}

func BenchmarkParseCiscoIOS(b *testing.B) {
	benchParse(b, `<189>1234: host1: *Nov 26 11:59:58.123 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up`)
}

func BenchmarkParseRaw(b *testing.B) {
	benchParse(b, `test`)
}
