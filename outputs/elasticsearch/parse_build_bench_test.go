package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/parser"
)

// BenchmarkParseBuild is the per-message CPU of what logshipper does with
// a line between the socket and the network, in one process: a new Event
// with its own copy of the line (as the input makes it), Parse, the batch
// of 1000 kept alive together (as the pipeline holds it), and the _bulk
// body built from it. The lines are the bench's (bench/loadgen): ~150
// bytes, RFC5424 with one SD element of two params, or RFC3164. Per batch,
// so GC work for what a batch holds is in the numbers (cpu-ns/doc).
func BenchmarkParseBuild(b *testing.B) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const filler = " lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore"
	heads := map[string]string{
		"rfc5424": `<134>1 2026-11-26T12:00:00.000Z bench-host benchapp 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] run=bench seq=`,
		"rfc3164": `<134>Nov 26 12:00:00 bench-host benchapp[4242]: run=bench seq=`,
	}
	for _, format := range []string{"rfc5424", "rfc3164"} {
		b.Run(format, func(b *testing.B) {
			lines := make([][]byte, 1000)
			for i := range lines {
				l := fmt.Sprintf("%s%09d%s", heads[format], i, filler)
				lines[i] = []byte(l[:min(len(l), 150)])
			}
			p := parser.New(parser.Options{})
			o, err := New(context.Background(), testConfig("http://127.0.0.1:9"), zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close(context.Background())
			bt := o.batches.Get().(*batch)
			evs := make([]*event.Event, len(lines))
			perDoc(b, len(lines), func() {
				for i, l := range lines {
					ev := &event.Event{Received: now, Transport: "tcp", SourceIP: "127.0.0.1", Raw: bytes.Clone(l)}
					p.Parse(ev)
					evs[i] = ev
				}
				o.build(bt, evs)
			})
			if evs[0].ParseFailed || (format == "rfc5424" && len(evs[0].StructuredData) != 1) {
				b.Fatalf("bad parse: %+v", evs[0])
			}
		})
	}
}
