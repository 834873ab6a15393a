package parsers

import (
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"gopkg.in/mcuadros/go-syslog.v2/format"

	"github.com/logshipper/logshipper/event"
)

// Typical lines, about 150 bytes each.
var (
	line3164     = []byte(`<86>Nov 26 11:59:58 web01.example.com sshd[28743]: Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2: RSA SHA256:Xq1wYz0abcdefghij`)
	line5424     = []byte(`<165>1 2026-11-26T11:59:58.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`)
	line5424NoSD = []byte(`<165>1 2026-11-26T11:59:58.003Z web01.example.com sshd 28743 - - Accepted publickey for deploy from 192.0.2.10 port 52344 ssh2: RSA SHA256:Xq1wY`)
)

// loop runs f b.N times and reports, besides ns/op, the process CPU time
// per op (cpu-ns/op: includes GC work on other threads, excludes time spent
// waiting for a core).
func loop(b *testing.B, line []byte, f func()) {
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	n := 0
	start := processCPU()
	for b.Loop() {
		f()
		n++
	}
	if cpu := processCPU() - start; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

func benchLines(b *testing.B, line []byte, is5424 bool) {
	b.Run("logshipper", func(b *testing.B) {
		ev := event.Event{Raw: line, Received: defaultReceived}
		loop(b, line, func() { ours.Parse(&ev) })
		if ev.ParseFailed || ev.Message == "" {
			b.Fatalf("bad parse: %+v", ev)
		}
	})
	b.Run("leodido", func(b *testing.B) {
		var parse func([]byte) (any, error)
		if is5424 {
			m := rfc5424.NewMachine(rfc5424.WithBestEffort())
			parse = func(l []byte) (any, error) { return m.Parse(l) }
		} else {
			m := rfc3164.NewMachine(leodido3164Options(2026)...)
			parse = func(l []byte) (any, error) { return m.Parse(l) }
		}
		loop(b, line, func() {
			if _, err := parse(line); err != nil {
				b.Fatal(err)
			}
		})
	})
	if !is5424 {
		// The per-message year logshipper needs means a machine per
		// message (WithYear is fixed at construction).
		b.Run("leodido-machine-per-message", func(b *testing.B) {
			loop(b, line, func() {
				if _, err := rfc3164.NewMachine(leodido3164Options(2026)...).Parse(line); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("mcuadros-v2", func(b *testing.B) {
		f := &format.Automatic{}
		loop(b, line, func() {
			p := f.GetParser(line)
			p.Location(time.UTC)
			if err := p.Parse(); err != nil {
				b.Fatal(err)
			}
			_ = p.Dump() // the only way to read the fields
		})
	})
}

func BenchmarkRFC3164(b *testing.B)     { benchLines(b, line3164, false) }
func BenchmarkRFC5424(b *testing.B)     { benchLines(b, line5424, true) }
func BenchmarkRFC5424NoSD(b *testing.B) { benchLines(b, line5424NoSD, true) }
