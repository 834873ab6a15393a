package syslog

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/testes"
)

// countSink discards events, closing done at the target count.
type countSink struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func (s *countSink) Put(_ context.Context, evs ...*event.Event) error {
	if n := s.n.Add(int64(len(evs))); n >= s.target && n-int64(len(evs)) < s.target {
		close(s.done)
	}
	return nil
}

func (s *countSink) TryPut(evs ...*event.Event) (int, error) {
	return len(evs), s.Put(context.Background(), evs...)
}

func (s *countSink) Commit(context.Context) error { return nil }

func (s *countSink) CommitSoon() buffer.Mark { return 0 }

func (s *countSink) WaitCommitted(context.Context, buffer.Mark) error { return nil }

const benchBody = "<134>1 2024-05-01T12:34:56.789Z web-01 nginx 4242 ACCESS - 10.0.0.1 GET /api/v1/items?page=3 HTTP/1.1 200 5123 0.012 \"Mozilla/5.0\""

// BenchmarkTCPIngest measures loopback TCP → framing → event → sink, with
// a no-op parser: the input's own cost, not the grammar's. One op is one
// message of about 150 bytes.
func BenchmarkTCPIngest(b *testing.B) {
	for _, tc := range []struct {
		name  string
		conns int
		octet bool
	}{{"lf/1conn", 1, false}, {"octet/1conn", 1, true}, {"lf/4conns", 4, false}} {
		b.Run(tc.name, func(b *testing.B) { benchTCP(b, tc.conns, tc.octet) })
	}
}

// BenchmarkTLSIngest is BenchmarkTCPIngest over TLS (RFC 5425, octet
// counting): the cost of decryption on top.
func BenchmarkTLSIngest(b *testing.B) {
	b.Run("octet/1conn", func(b *testing.B) { benchConn(b, 1, true, true) })
}

func benchTCP(b *testing.B, conns int, octet bool) { benchConn(b, conns, octet, false) }

func benchConn(b *testing.B, conns int, octet, useTLS bool) {
	var block []byte
	for i := range 1000 {
		m := fmt.Sprintf("%s %06d", benchBody, i)
		if octet {
			block = fmt.Appendf(block, "%d %s", len(m), m)
		} else {
			block = append(block, m+"\n"...)
		}
	}
	msgSize := len(block) / 1000
	sk := &countSink{target: int64(b.N), done: make(chan struct{})}
	cfg := Config{Listen: "127.0.0.1:0", Logger: zerolog.Nop()}
	var ca *testes.CA
	if useTLS {
		ca = testes.NewCA(b, "bench")
		srv := ca.Server("server")
		cfg.TLS = TLSConfig{Listen: "127.0.0.1:0", CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	}
	s, err := New(cfg, sk)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(context.Background())
	addr, _ := s.Addr()
	cs := make([]net.Conn, conns)
	for i := range cs {
		if useTLS {
			cs[i], err = dialTLS(b, s, ca)
		} else {
			cs[i], err = net.Dial("tcp", addr.String())
		}
		if err != nil {
			b.Fatal(err)
		}
		defer cs[i].Close()
	}

	b.SetBytes(int64(msgSize))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range cs {
		n := b.N / conns
		if i == 0 {
			n += b.N % conns
		}
		wg.Go(func() {
			for n > 0 {
				k := min(n, 1000)
				if _, err := c.Write(block[:k*msgSize]); err != nil {
					b.Error(err)
					return
				}
				n -= k
			}
		})
	}
	wg.Wait()
	<-sk.done
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
