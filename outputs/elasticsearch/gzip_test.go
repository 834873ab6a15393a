package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/logshipper/logshipper/event"
)

// realisticEvents returns n varied syslog events whose messages are about
// 150 bytes on the wire, from a fixed seed: the input of the gzip
// measurement in README.md.
func realisticEvents(n int) []*event.Event {
	r := rand.New(rand.NewPCG(1, 2))
	ip := func() string {
		return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	users := []string{"root", "deploy", "alice", "bob", "backup", "nagios", "www-data"}
	hosts := make([]string, 40)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("%s-%02d", []string{"web", "db", "app-server", "lb", "cache"}[i%5], i)
	}
	type tmpl struct {
		prio    int
		program string
		msg     func() string
	}
	tmpls := []tmpl{
		{86, "sshd", func() string {
			return fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: RSA SHA256:%x", users[r.IntN(len(users))], ip(), 1024+r.IntN(60000), r.Uint64())
		}},
		{38, "sshd", func() string {
			return fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", users[r.IntN(len(users))], 1000+r.IntN(100))
		}},
		{78, "CRON", func() string {
			return fmt.Sprintf("(%s) CMD (/usr/local/bin/backup.sh --target /var/backups/%d --retain 14 --compress >/dev/null 2>&1)", users[r.IntN(len(users))], r.IntN(10000))
		}},
		{4, "kernel", func() string {
			return fmt.Sprintf("[%d.%06d] UFW BLOCK IN=eth0 OUT= MAC=%012x SRC=%s DST=%s LEN=%d PROTO=TCP SPT=%d DPT=%d", r.IntN(1e6), r.IntN(1e6), r.Uint64()>>16, ip(), ip(), 40+r.IntN(1400), r.IntN(65535), []int{22, 80, 443, 3306}[r.IntN(4)])
		}},
		{190, "nginx", func() string {
			return fmt.Sprintf(`%s - - "GET /api/v1/items/%d?page=%d HTTP/1.1" %d %d %.3f "-" "Mozilla/5.0 (X11; Linux x86_64)"`, ip(), r.IntN(100000), r.IntN(50), []int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(50000), r.Float64())
		}},
		{22, "postfix/smtp", func() string {
			return fmt.Sprintf("%X: to=<user%d@example.com>, relay=mx.example.com[%s]:25, delay=%.1f, status=sent (250 OK)", r.Uint32(), r.IntN(1000), ip(), r.Float64()*5)
		}},
		{30, "systemd", func() string {
			return fmt.Sprintf("Started Session %d of User %s (slice user-%d.slice, scope session-%d.scope).", r.IntN(100000), users[r.IntN(len(users))], 1000+r.IntN(100), r.IntN(100000))
		}},
	}
	evs := make([]*event.Event, n)
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range evs {
		tp := tmpls[r.IntN(len(tmpls))]
		ts := base.Add(time.Duration(i) * 7 * time.Millisecond)
		host := hosts[r.IntN(len(hosts))]
		pid := strconv.Itoa(100 + r.IntN(60000))
		msg := tp.msg()
		raw := fmt.Sprintf("<%d>%s %s %s[%s]: %s", tp.prio, ts.Format(time.Stamp), host, tp.program, pid, msg)
		evs[i] = &event.Event{
			Received: ts, Transport: "udp", SourceIP: ip(), Raw: []byte(raw),
			Format: event.FormatRFC3164, Priority: int16(tp.prio), Timestamp: ts, TimestampRaw: ts.Format(time.Stamp),
			Hostname: host, Program: tp.program, PID: pid, Message: msg,
		}
	}
	return evs
}

func encodeAll(schema Schema, evs []*event.Event) [][]byte {
	docs := make([][]byte, len(evs))
	for i, ev := range evs {
		docs[i] = schema.AppendDocument(nil, ev)
	}
	return docs
}

// olivereBody builds the bulk body exactly as olivere's BulkService.Do
// does (BulkIndexRequest.Source for each item, then one strings.Builder).
func olivereBody(index string, docs [][]byte) string {
	reqs := make([]elastic.BulkableRequest, len(docs))
	size := 0
	for i, d := range docs {
		reqs[i] = elastic.NewBulkIndexRequest().Index(index).Doc(json.RawMessage(d)).UseEasyJSON(true)
		lines, _ := reqs[i].Source()
		for _, l := range lines {
			size += len(l) + 1
		}
	}
	var buf strings.Builder
	buf.Grow(size)
	for _, r := range reqs {
		lines, _ := r.Source()
		for _, l := range lines {
			buf.WriteString(l)
			buf.WriteByte('\n')
		}
	}
	return buf.String()
}

// olivereGzip compresses as olivere's Request.setBodyGzip does: a new
// gzip.Writer at the default level for every request.
func olivereGzip(body string) []byte {
	buf := new(bytes.Buffer)
	w := gzip.NewWriter(buf)
	w.Write([]byte(body))
	w.Close()
	return buf.Bytes()
}

// TestGzipMeasurementInput keeps the benchmark honest: the messages are
// about 150 bytes and the body is what the output sends.
func TestGzipMeasurementInput(t *testing.T) {
	evs := realisticEvents(1000)
	raw := 0
	for _, ev := range evs {
		raw += len(ev.Raw)
	}
	if avg := raw / len(evs); avg < 130 || avg > 170 {
		t.Errorf("average message %d bytes, want about 150", avg)
	}
	docs := encodeAll(SchemaLogstash, evs)
	body := olivereBody("syslog-msg-2026.11.26", docs)
	if n := strings.Count(body, "\n"); n != 2000 {
		t.Errorf("%d lines", n)
	}
	zipped := olivereGzip(body)
	t.Logf("1000 docs: messages avg %d B, body %d B (%d B/doc), gzip %d B, ratio %.2f",
		raw/len(evs), len(body), len(body)/len(evs), len(zipped), float64(len(body))/float64(len(zipped)))
}

// perDoc runs the benchmark loop body and reports wall and process-CPU
// nanoseconds per document (run with -cpu 1 so that GC is in the loop's
// CPU time rather than on another core).
func perDoc(b *testing.B, docs int, body func()) {
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		body()
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*docs), "ns/doc")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*docs), "cpu-ns/doc")
	}
}

// BenchmarkBulkBody: building a 1000-document body, olivere's way and the
// direct append a replacement could use (issue 3).
func BenchmarkBulkBody(b *testing.B) {
	evs := realisticEvents(1000)
	const index = "syslog-msg-2026.11.26"
	for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
		docs := encodeAll(schema, evs)
		b.Run(schema.String()+"/olivere", func(b *testing.B) {
			b.SetBytes(int64(len(olivereBody(index, docs))))
			perDoc(b, len(docs), func() { olivereBody(index, docs) })
		})
		b.Run(schema.String()+"/encode+append", func(b *testing.B) {
			var buf []byte
			perDoc(b, len(evs), func() {
				buf = buf[:0]
				for _, ev := range evs {
					buf = append(buf, `{"index":{"_index":"`+index+`"}}`+"\n"...)
					buf = schema.AppendDocument(buf, ev)
					buf = append(buf, '\n')
				}
			})
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkGzip: compressing a 1000-document body, as olivere does it
// (SetGzip(true)) and, for comparison, with a reused writer and BestSpeed.
func BenchmarkGzip(b *testing.B) {
	evs := realisticEvents(1000)
	for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
		body := olivereBody("syslog-msg-2026.11.26", encodeAll(schema, evs))
		ratio := float64(len(body)) / float64(len(olivereGzip(body)))
		b.Run(schema.String()+"/olivere-default-level", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			perDoc(b, len(evs), func() { olivereGzip(body) })
			b.ReportMetric(ratio, "ratio")
		})
		for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed, 2, 3, gzip.HuffmanOnly} {
			var out bytes.Buffer
			w, _ := gzip.NewWriterLevel(&out, level)
			w.Write([]byte(body))
			w.Close()
			lratio := float64(len(body)) / float64(out.Len())
			b.Run(fmt.Sprintf("%s/reused-writer-level%d", schema, level), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				perDoc(b, len(evs), func() {
					out.Reset()
					w.Reset(&out)
					w.Write([]byte(body))
					w.Close()
				})
				b.ReportMetric(lratio, "ratio")
			})
		}
	}
}
