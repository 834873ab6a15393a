package buffer

import (
	"context"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/diskio"
)

// benchEvent is a typical 150-byte syslog line as an input hands it over.
func benchEvent() *event.Event {
	return &event.Event{
		Received:  time.Now(),
		Transport: "tcp",
		SourceIP:  "192.0.2.10",
		Raw:       []byte(`<13>Mar  1 12:00:00 web-01 nginx[1234]: 192.0.2.77 - - [01/Mar/2025:12:00:00 +0000] "GET /index.html HTTP/1.1" 200 612 "https://example.com/" "curl/8.5.0"`),
	}
}

// drainAck reads and acknowledges everything appended so far (keeps the
// benchmark's disk use bounded).
func drainAck(b *testing.B, w *WAL) {
	b.Helper()
	ctx := context.Background()
	for {
		if n, _ := w.Stats(); n == 0 {
			return
		}
		es, err := w.Read(ctx, 10000)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend: one event per Append, no Commit: the CPU cost an input
// pays per event (encoding, checksum, lock); the write to the OS happens
// every 256 KiB.
func BenchmarkAppend(b *testing.B) {
	w := openT(b, Options{Dir: b.TempDir(), Fsync: FsyncNever})
	ev := benchEvent()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Raw)))
	b.ResetTimer()
	for i := range b.N {
		if err := w.Append(ctx, ev); err != nil {
			b.Fatal(err)
		}
		if i%100000 == 99999 {
			b.StopTimer()
			drainAck(b, w)
			b.StartTimer()
		}
	}
}

// BenchmarkAppendCommitNever: Append and Commit per event with FsyncNever:
// every event is handed to the OS (one write system call) before the next.
func BenchmarkAppendCommitNever(b *testing.B) {
	w := openT(b, Options{Dir: b.TempDir(), Fsync: FsyncNever})
	ev := benchEvent()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Raw)))
	b.ResetTimer()
	for i := range b.N {
		if err := w.Append(ctx, ev); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		if i%100000 == 99999 {
			b.StopTimer()
			drainAck(b, w)
			b.StartTimer()
		}
	}
}

// BenchmarkAppendCommitBatch1000: 1000 single-event Appends and one Commit
// with FsyncBatch per op, as an input that commits once per read from its
// socket; real fsyncs on the disk under TMPDIR. Reports the fsync time.
func BenchmarkAppendCommitBatch1000(b *testing.B) {
	var (
		inCommit bool // only the fsyncs of Commit count, not the ack file's
		fsyncs   int
		fsyncNs  time.Duration
	)
	timed := func(f diskio.File) error {
		t0 := time.Now()
		err := f.Sync()
		if inCommit {
			fsyncNs += time.Since(t0)
			fsyncs++
		}
		return err
	}
	w := openT(b, Options{Dir: b.TempDir(), syncFile: timed})
	ev := benchEvent()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(1000 * int64(len(ev.Raw)))
	b.ResetTimer()
	for i := range b.N {
		for range 1000 {
			if err := w.Append(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
		inCommit = true
		if err := w.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		inCommit = false
		if i%100 == 99 {
			b.StopTimer()
			drainAck(b, w) // its ack file fsyncs count below too; they are few
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/event")
	// fsyncs per Commit: the segment file, plus the directory when the
	// batch started a segment file.
	b.ReportMetric(float64(fsyncNs.Microseconds())/1000/float64(b.N), "fsync-ms/commit")
	b.ReportMetric(float64(fsyncs)/float64(b.N), "fsyncs/commit")
	b.ReportMetric(float64(fsyncNs.Nanoseconds())/float64(b.N)/1000, "fsync-ns/event")
}

// BenchmarkAck: the cost of acknowledging one 1000-event batch (the ack
// file written, with two fsyncs under FsyncBatch).
func BenchmarkAck(b *testing.B) {
	for _, policy := range []FsyncPolicy{FsyncBatch, FsyncNever} {
		b.Run(policy.String(), func(b *testing.B) {
			w := openT(b, Options{Dir: b.TempDir(), Fsync: policy})
			ev := benchEvent()
			ctx := context.Background()
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				for range 1000 {
					if err := w.Append(ctx, ev); err != nil {
						b.Fatal(err)
					}
				}
				es, err := w.Read(ctx, 1000)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := w.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead: per event, reading in batches of 1000 and handing out
// events with their IDs (Ack is measured by BenchmarkAck): "file", records
// appended before a restart, read from the page cache, decoded and copied
// out; "memory", a reader close behind the writers, which takes the
// events as they were appended (recent.go).
func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	readAll := func(b *testing.B, w *WAL, n int) {
		for got := 0; got < n; {
			es, err := w.Read(ctx, 1000)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := w.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			got += len(es)
		}
	}
	appendN := func(b *testing.B, w *WAL, n int) {
		for range n {
			if err := w.Append(ctx, benchEvent()); err != nil {
				b.Fatal(err)
			}
		}
	}
	// rounds calls round for chunks of b.N events, the timer stopped: it
	// starts the timer for what it measures.
	rounds := func(b *testing.B, chunk int, round func(n int)) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchEvent().Raw)))
		b.ResetTimer()
		for done := 0; done < b.N; {
			b.StopTimer()
			n := min(chunk, b.N-done)
			round(n)
			done += n
		}
	}
	b.Run("file", func(b *testing.B) {
		opts := Options{Dir: b.TempDir(), Fsync: FsyncNever}
		rounds(b, 100000, func(n int) {
			w := openT(b, opts)
			appendN(b, w, n)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			w = openT(b, opts)
			b.StartTimer()
			readAll(b, w, n)
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("memory", func(b *testing.B) {
		w := openT(b, Options{Dir: b.TempDir(), Fsync: FsyncNever})
		rounds(b, 1000, func(n int) {
			appendN(b, w, n)
			b.StartTimer()
			readAll(b, w, n)
		})
	})
}
