package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/testes"
)

// stopAsync runs Stop in the background; the channel yields its error.
func stopAsync(s *Server) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		done <- s.Stop(ctx)
	}()
	return done
}

// awaitEndOfStream reads from c until the server's FIN (or, for TLS, the
// error the missing close_notify gives) arrives, as a sender watching its
// socket would.
func awaitEndOfStream(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("sender saw no end of stream within %s", waitLimit)
	}
	if n != 0 || err == nil {
		t.Fatalf("sender read %d bytes (%v), want the end of the stream", n, err)
	}
	c.SetReadDeadline(time.Time{})
}

func numbered(prefix string, from, to int) (string, []string) {
	var b strings.Builder
	var want []string
	for i := from; i < to; i++ {
		m := fmt.Sprintf("<13>%s %03d", prefix, i)
		b.WriteString(m + "\n")
		want = append(want, m)
	}
	return b.String(), want
}

// The rolling-update case: the server tells the sender the stream ends
// and keeps reading; the sender writes what it was writing, closes, and
// every message arrives, including those written after the FIN.
func TestDrainReadsUntilSenderCloses(t *testing.T) {
	logs := &syncBuffer{}
	sk := newSink()
	cfg := testConfig(logs)
	cfg.DrainTimeout = time.Hour // only the sender's close may end it
	s, tcp, _ := start(t, cfg, sk)
	c := dialTCP(t, tcp)
	before, want := numbered("before", 0, 50)
	write(t, c, before)
	sk.waitN(t, 50)

	stopped := stopAsync(s)
	awaitEndOfStream(t, c)
	if s.Ready() {
		t.Error("still ready while draining")
	}
	after, more := numbered("after-fin", 0, 50)
	write(t, c, after+"<13>last, no newline")
	want = append(append(want, more...), "<13>last, no newline")
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while the sender still had its connection open", err)
	default:
	}
	c.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := raws(sk.snapshot()); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("delivered %d messages, want %d in order:\n got %q\nwant %q", len(got), len(want), got, want)
	}
	if n := s.drainStats.closedBySender.Load(); n != 1 {
		t.Errorf("closed_by_sender = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "every sender closed its connection") {
		t.Errorf("no drain line in the log:\n%s", logs.String())
	}
}

// A sender that ignores the FIN is cut at the drain timeout; what it wrote
// before is delivered and the cut is logged.
func TestDrainEndsAtTimeout(t *testing.T) {
	logs := &syncBuffer{}
	sk := newSink()
	cfg := testConfig(logs)
	cfg.DrainTimeout = 50 * time.Millisecond
	s, tcp, _ := start(t, cfg, sk)
	c := dialTCP(t, tcp)
	msgs, want := numbered("m", 0, 20)
	write(t, c, msgs)
	sk.waitN(t, 20)

	if err := <-stopAsync(s); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := raws(sk.snapshot()); len(got) != len(want) {
		t.Errorf("delivered %d, want %d", len(got), len(want))
	}
	if s.openConns() != 0 {
		t.Errorf("%d connections open after Stop", s.openConns())
	}
	if !strings.Contains(logs.String(), `"cut":1`) {
		t.Errorf("the cut connection is not in the log:\n%s", logs.String())
	}
}

// UDP keeps being read while TCP senders drain: a load balancer may still
// send datagrams this way.
func TestDrainReadsUDP(t *testing.T) {
	sk := newSink()
	cfg := testConfig(nil)
	cfg.DrainTimeout = time.Hour
	s, tcp, udp := start(t, cfg, sk)
	c := dialTCP(t, tcp)
	write(t, c, "<13>tcp\n")
	sk.waitN(t, 1)

	stopped := stopAsync(s)
	awaitEndOfStream(t, c)
	u, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Write([]byte("<13>udp during the drain")); err != nil {
		t.Fatal(err)
	}
	sk.waitN(t, 2)
	c.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// Without open connections there is nothing to drain: Stop does not wait
// for the drain timeout.
func TestNoConnectionsNoDrain(t *testing.T) {
	sk := newSink()
	cfg := testConfig(nil)
	cfg.DrainTimeout = time.Hour
	s, _, _ := start(t, cfg, sk)
	if err := <-stopAsync(s); err != nil { // would take an hour if it drained
		t.Fatalf("Stop: %v", err)
	}
}

// A TLS sender sees the end of the stream too (a FIN without close_notify)
// and what it writes until it closes is delivered.
func TestDrainTLS(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(nil, ca)
	cfg.DrainTimeout = time.Hour
	sk := newSink()
	s, err := New(cfg, sk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := mustDialTLS(t, s, ca)
	write(t, c, "<13>before\n")
	sk.waitN(t, 1)

	stopped := stopAsync(s)
	awaitEndOfStream(t, c)
	write(t, c, "<13>after\n")
	c.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := raws(sk.snapshot()); strings.Join(got, "|") != "<13>before|<13>after" {
		t.Errorf("delivered %q", got)
	}
}

// Stop's context bounds the drain: a grace period shorter than the drain
// timeout wins.
func TestDrainBoundedByStopContext(t *testing.T) {
	sk := newSink()
	cfg := testConfig(nil)
	cfg.DrainTimeout = time.Hour
	s, tcp, _ := start(t, cfg, sk)
	c := dialTCP(t, tcp)
	write(t, c, "<13>x\n")
	sk.waitN(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.openConns() != 0 {
		t.Errorf("%d connections open after Stop", s.openConns())
	}
}

func TestDrainTimeoutConfig(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
		err      string
	}{
		{0, DefaultDrainTimeout, ""},
		{-1, NoDrain, ""},
		{-time.Hour, NoDrain, ""},
		{time.Microsecond, 0, "shutdown.drain_timeout: 1µs is too short"},
		{30 * time.Second, 30 * time.Second, ""},
	} {
		cfg := Config{DrainTimeout: tc.in}
		err := checkDrain(&cfg)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.DrainTimeout != tc.want {
			t.Errorf("%v: got %v, %v; want %v", tc.in, cfg.DrainTimeout, err, tc.want)
		}
	}
}
