package kafka

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/parser"
	"github.com/logshipper/logshipper/pipeline"
)

// syslogEvents are n parsed RFC 3164 events as an edge receives them: a
// mix of sshd, cron, kernel firewall, systemd and postfix lines from 200
// hosts, with varying pids, users, addresses and ports, and IDs as the
// pipeline makes them. Lines are 151 bytes on average, their logstash
// documents 386.
func syslogEvents(n int) []*event.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{"admin", "root", "oracle", "test", "ubuntu", "deploy", "git", "postgres", "jenkins", "alice"}
	var prefix [8]byte
	crand.Read(prefix[:])
	p := parser.New(parser.Options{})
	at := time.Date(2026, 10, 11, 22, 14, 15, 0, time.UTC)
	evs := make([]*event.Event, n)
	for i := range evs {
		host := rng.IntN(200)
		name := fmt.Sprintf("srv-%03d.dc%d.example.net", host, host%3+1)
		ts := at.Add(time.Duration(i) * 3 * time.Millisecond).Format(time.Stamp)
		var line string
		switch k := rng.IntN(10); {
		case k < 4:
			line = fmt.Sprintf("<38>%s %s sshd[%d]: Failed password for invalid user %s from 203.0.113.%d port %d ssh2",
				ts, name, 1000+rng.IntN(60000), users[rng.IntN(len(users))], rng.IntN(256), 1024+rng.IntN(64000))
		case k < 5:
			line = fmt.Sprintf("<86>%s %s sshd[%d]: Accepted publickey for %s from 198.51.100.%d port %d ssh2: ED25519 SHA256:%s",
				ts, name, 1000+rng.IntN(60000), users[rng.IntN(len(users))], rng.IntN(256), 1024+rng.IntN(64000), randomB64(rng, 32))
		case k < 6:
			line = fmt.Sprintf("<78>%s %s CRON[%d]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)", ts, name, 1000+rng.IntN(60000))
		case k < 8:
			line = fmt.Sprintf("<4>%s %s kernel: [%d.%06d] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:%02x:%02x:%02x SRC=203.0.113.%d DST=10.0.%d.%d LEN=60 TOS=0x00 PREC=0x00 TTL=%d ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0",
				ts, name, rng.IntN(9000000), rng.IntN(1000000), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), host/250, host%250,
				40+rng.IntN(200), rng.IntN(65536), 1024+rng.IntN(64000), []int{22, 23, 80, 443, 3389, 5900, 8080}[rng.IntN(7)])
		case k < 9:
			line = fmt.Sprintf("<30>%s %s systemd[1]: Started Session %d of User %s.", ts, name, rng.IntN(100000), users[rng.IntN(len(users))])
		default:
			line = fmt.Sprintf("<22>%s %s postfix/smtpd[%d]: connect from unknown[192.0.2.%d]", ts, name, 1000+rng.IntN(60000), rng.IntN(256))
		}
		var id [16]byte
		copy(id[:8], prefix[:])
		binary.BigEndian.PutUint64(id[8:], uint64(i+1))
		ev := &event.Event{ID: base64.RawURLEncoding.EncodeToString(id[:]), Received: at, Transport: "udp",
			SourceIP: fmt.Sprintf("10.1.%d.%d", host/250, host%250), Raw: []byte(line)}
		p.Parse(ev)
		evs[i] = ev
	}
	return evs
}

func randomB64(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// processCPU is the CPU time (user + system) this process has used: on a
// busy 2-core box it measures cost where wall time measures contention.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// batchSizes counts what the client sent: bytes before and after
// compression.
type batchSizes struct{ raw, sent atomic.Int64 }

func (s *batchSizes) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	s.raw.Add(int64(m.UncompressedBytes))
	s.sent.Add(int64(m.CompressedBytes))
}

// measuredOutput is the output with a client that also counts batch sizes.
func measuredOutput(t testing.TB, cfg kafkaconn.Config) (*Output, *batchSizes) {
	o := newTestOutput(t, cfg, nil)
	sizes := new(batchSizes)
	cl, err := kgo.NewClient(append(slices.Clone(o.opts), kgo.WithHooks(sizes))...)
	if err != nil {
		t.Fatal(err)
	}
	o.client.Close()
	o.client = cl
	return o, sizes
}

// BenchmarkProduce sends batches of 1000 events to the real broker per
// codec, as WriteBatch does (documents encoded, records built, acks=all):
// MB/s of documents, the client's compression ratio, process CPU.
func BenchmarkProduce(b *testing.B) {
	evs := syslogEvents(20000)
	for _, codec := range kafkaconn.Compressions {
		b.Run(codec, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Compression = codec
			createTopic(b, cfg, 4)
			o, sizes := measuredOutput(b, cfg)
			ctx := context.Background()
			var docBytes int64
			for _, ev := range evs[:1000] {
				docBytes += int64(len(elasticsearch.SchemaLogstash.AppendDocument(nil, ev)))
			}
			b.SetBytes(docBytes)
			b.ReportAllocs()
			cpu := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				from := (i * 1000) % len(evs)
				res, err := o.WriteBatch(ctx, evs[from:from+1000])
				if err != nil || res[0].Status != pipeline.Delivered {
					b.Fatalf("%v %+v", err, res[0])
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*1000), "cpu-ns/rec")
			if s := sizes.sent.Load(); s > 0 {
				b.ReportMetric(float64(sizes.raw.Load())/float64(s), "ratio")
			}
			deleteTopic(b, cfg)
		})
	}
}

// TestMeasureCompression is the one-off measurement behind the default
// kafka.compression (README.md): per codec, 200,000 events through
// WriteBatch by two workers (the pipeline's default) in batches of 1000,
// keyed by sender over 4 partitions; process CPU-seconds per million
// records, wall rate, and the bytes the broker stored; then the CPU an
// indexer spends reading them back (fetch and decompress); 5 rounds,
// medians.
// LOGSHIPPER_KAFKA_MEASURE=1 runs it (it takes minutes).
func TestMeasureCompression(t *testing.T) {
	if os.Getenv("LOGSHIPPER_KAFKA_MEASURE") != "1" {
		t.Skip("set LOGSHIPPER_KAFKA_MEASURE=1 to measure the codecs")
	}
	const n, batch, workers, rounds = 200000, 1000, 2, 5
	evs := syslogEvents(n)
	var docBytes int64
	for _, ev := range evs {
		docBytes += int64(len(elasticsearch.SchemaLogstash.AppendDocument(nil, ev)))
	}
	t.Logf("%d events, documents %.0f bytes on average", n, float64(docBytes)/n)
	type sample struct{ cpu, rate, stored, ratio, read float64 }
	samples := map[string][]sample{}
	for round := range rounds {
		for _, codec := range kafkaconn.Compressions {
			cfg := testConfig(t)
			cfg.Topic = fmt.Sprintf("measure-%s-%d-%s", codec, round, time.Now().Format("150405.000"))
			cfg.Compression = codec
			createTopic(t, cfg, 4)
			o, sizes := measuredOutput(t, cfg)
			// Warm up: metadata, producer ID, connections.
			if _, err := o.WriteBatch(context.Background(), evs[:10]); err != nil {
				t.Fatal(err)
			}
			sizes.raw.Store(0)
			sizes.sent.Store(0)
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Int64
			cpu, begin := processCPU(), time.Now()
			for range workers {
				wg.Go(func() {
					for {
						from := int(next.Add(batch)) - batch
						if from >= n {
							return
						}
						res, err := o.WriteBatch(context.Background(), evs[from:from+batch])
						if err != nil {
							failed.Add(batch)
							continue
						}
						for _, r := range res {
							if r.Status != pipeline.Delivered {
								failed.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			took, used := time.Since(begin), processCPU()-cpu
			if failed.Load() > 0 {
				t.Fatalf("%s: %d records not delivered", codec, failed.Load())
			}
			stored := logSize(t, cfg, 4)
			s := sample{
				cpu:    used.Seconds() * 1e6 / n,
				rate:   n / took.Seconds(),
				stored: float64(stored) / n,
				ratio:  float64(sizes.raw.Load()) / float64(sizes.sent.Load()),
				read:   readCPU(t, cfg, n+10).Seconds() * 1e6 / (n + 10),
			}
			samples[codec] = append(samples[codec], s)
			t.Logf("round %d %-6s cpu %.2f s/M  %7.0f rec/s  stored %6.1f B/rec  client ratio %.2f  read cpu %.2f s/M",
				round+1, codec, s.cpu, s.rate, s.stored, s.ratio, s.read)
			o.Close(context.Background())
			deleteTopic(t, cfg)
		}
	}
	med := func(xs []sample, f func(sample) float64) float64 {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var tab strings.Builder
	fmt.Fprintf(&tab, "\n| codec | produce CPU s / M records | records/s (wall) | broker bytes / record | vs none | client ratio | read-back CPU s / M records |\n|---|---:|---:|---:|---:|---:|---:|\n")
	none := med(samples["none"], func(s sample) float64 { return s.stored })
	for _, codec := range kafkaconn.Compressions {
		xs := samples[codec]
		stored := med(xs, func(s sample) float64 { return s.stored })
		fmt.Fprintf(&tab, "| %s | %.2f | %.0f | %.1f | %.2f | %.2f | %.2f |\n", codec,
			med(xs, func(s sample) float64 { return s.cpu }), med(xs, func(s sample) float64 { return s.rate }),
			stored, stored/none, med(xs, func(s sample) float64 { return s.ratio }), med(xs, func(s sample) float64 { return s.read }))
	}
	t.Log(tab.String())
}

// readCPU is the process CPU a consumer spends fetching the topic's n
// records from its start (what an indexer pays to decompress).
func readCPU(t testing.TB, cfg kafkaconn.Config, n int) time.Duration {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cpu := processCPU()
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", got, n)
		}
		got += fs.NumRecords()
	}
	return processCPU() - cpu
}

// logSize is the bytes the broker holds for the topic (DescribeLogDirs).
func logSize(t testing.TB, cfg kafkaconn.Config, partitions int32) int64 {
	t.Helper()
	cl := adminClient(t, cfg)
	req := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic = cfg.Topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var size int64
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			t.Fatalf("describe log dirs: %v", shard.Err)
		}
		for _, d := range shard.Resp.(*kmsg.DescribeLogDirsResponse).Dirs {
			for _, tp := range d.Topics {
				for _, p := range tp.Partitions {
					size += p.Size
				}
			}
		}
	}
	return size
}

func deleteTopic(t testing.TB, cfg kafkaconn.Config) {
	t.Helper()
	cl := adminClient(t, cfg)
	req := kmsg.NewPtrDeleteTopicsRequest()
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr(cfg.Topic)
	req.Topics = append(req.Topics, dt)
	req.TopicNames = append(req.TopicNames, cfg.Topic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err == nil && len(resp.Topics) > 0 {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Logf("delete topic %s: %v", cfg.Topic, err)
	}
}
