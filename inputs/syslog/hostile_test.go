package syslog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/internal/testes"
)

// Hostile input, over plain TCP and TLS alike: no crash, the connection
// kept, the next message intact, every event and problem counted, the log
// not flooded.

// stream is one way of sending to a server started by hostileServer.
type stream struct {
	name     string
	dial     func(t *testing.T) net.Conn
	received prometheus.Counter
}

// hostileServer starts a server with a plain TCP and a TLS listener, logging
// at info into logs, and returns how to connect to either.
func hostileServer(t *testing.T, logs *syncBuffer, change func(*Config)) (*Server, *sink, []stream) {
	t.Helper()
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(logs, ca)
	cfg.Logger = infoConfig(logs).Logger
	if change != nil {
		change(&cfg)
	}
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	return s, sk, []stream{
		{"tcp", func(t *testing.T) net.Conn { return dialTCP(t, tcp) }, s.c.receivedTCP},
		{"tls", func(t *testing.T) net.Conn { return mustDialTLS(t, s, ca) }, s.c.receivedTLS},
	}
}

// sendAsync writes b from another goroutine: large writes would otherwise
// block on socket buffers the server is still draining.
func sendAsync(c net.Conn, b []byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(b)
		errc <- err
	}()
	return errc
}

// reset clears the sink between subtests.
func (s *sink) reset() {
	s.mu.Lock()
	s.events = nil
	s.mu.Unlock()
}

// frames is what the framing rules make of b: what the server must deliver.
func frames(b []byte, maxSize int) (out []string, truncated int) {
	fr := framing.NewReader(bytes.NewReader(b), maxSize)
	for {
		f, tr, err := fr.Next()
		if err != nil {
			return out, truncated
		}
		out = append(out, string(f))
		if tr {
			truncated++
		}
	}
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("frame %d: got %.60q, want %.60q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("got %d frames, want %d", len(got), len(want))
}

// 1 MiB of random bytes (NULs and LFs among them, so thousands of frames,
// most of them binary) from a fixed seed.
func TestBinaryGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 5))
	garbage := make([]byte, 1<<20)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	payload := append(slices.Clone(garbage), "\n<13>valid after the garbage\n"...)
	want, _ := frames(payload, DefaultMaxMessageSize)
	if len(want) == 0 || want[len(want)-1] != "<13>valid after the garbage" {
		t.Fatalf("with this seed the garbage swallows the message after it (an octet count): pick another seed")
	}
	t.Logf("%d bytes of garbage with %d NULs and %d LFs make %d frames", len(garbage),
		bytes.Count(garbage, []byte{0}), bytes.Count(garbage, []byte{'\n'}), len(want)-1)

	logs := &syncBuffer{}
	_, sk, streams := hostileServer(t, logs, nil)
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			sk.reset()
			received := value(st.received)
			c := st.dial(t)
			errc := sendAsync(c, payload)
			evs := sk.waitN(t, len(want))
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got := raws(evs); !slices.Equal(got, want) {
				t.Fatalf("garbage not passed through byte for byte: %s", firstDifference(got, want))
			}
			// Still connected.
			write(t, c, "<13>still connected\n")
			evs = sk.waitN(t, len(want)+1)
			if ev := evs[len(want)]; string(ev.Raw) != "<13>still connected" || ev.Transport != st.name {
				t.Errorf("after the garbage: %+v", ev)
			}
			if d := value(st.received) - received; d != float64(len(want)+1) {
				t.Errorf("received %s +%v, want +%d", st.name, d, len(want)+1)
			}
		})
	}
	if n := logs.lines(); n > 10 {
		t.Errorf("%d log lines:\n%s", n, logs)
	}
}

// Invalid UTF-8 is no reason to alter or drop a message: Raw is what was
// sent, byte for byte (the output replaces invalid sequences when it
// writes JSON, not the input).
func TestInvalidUTF8PassesThrough(t *testing.T) {
	msgs := []string{
		"<13>caf\xe9 in Latin-1",
		"<13>\xff\xfe\xfd",
		"<13>overlong \xc0\xaf",
		"<13>surrogate \xed\xa0\x80",
		"<13>cut short \xe2\x82",
		"\x80\x81 no PRI, not UTF-8",
		"<13>valid UTF-8: für Ü €",
	}
	var payload strings.Builder
	for i, m := range msgs {
		// Octet counting only where the framing recognises it: a count,
		// a space and a PRI.
		if i%2 == 0 || m[0] != '<' {
			payload.WriteString(m + "\n")
		} else {
			payload.WriteString(octet(m))
		}
	}
	_, sk, streams := hostileServer(t, nil, nil)
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			sk.reset()
			write(t, st.dial(t), payload.String())
			evs := sk.waitN(t, len(msgs))
			if got := raws(evs); !slices.Equal(got, msgs) {
				t.Errorf("got %q\nwant %q", got, msgs)
			}
		})
	}
	t.Run("udp", func(t *testing.T) {
		sk := newSink()
		_, _, udp := start(t, testConfig(nil), sk)
		c, err := net.DialUDP("udp", nil, udp)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, m := range msgs {
			write(t, c, m)
		}
		evs := sk.waitN(t, len(msgs))
		got := raws(evs)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(msgs))
		if !slices.Equal(got, want) {
			t.Errorf("got %q\nwant %q", got, want)
		}
	})
}

// Octet counts larger than the maximum, larger than what follows, and ones
// that are not numbers.
func TestHostileOctetCounts(t *testing.T) {
	const maxSize = 1024
	big := "<13>" + strings.Repeat("b", 5000)
	notNumbers := []string{"12x <13>a", "1e3 <13>b", "-5 <13>c", "0 <13>d", "007 <13>e", " 5 <13>f", "5\t<13>g", "+5 <13>h", "0x1F <13>i"}
	tooLong := []string{"1234567890 <13>ten digits", "12345678901234567890 <13>twenty digits"}
	var payload strings.Builder
	payload.WriteString(octet(big))
	payload.WriteString("<13>after the big one\n")
	for _, l := range notNumbers {
		payload.WriteString(l + "\n")
	}
	for _, l := range tooLong {
		payload.WriteString(l + "\n")
	}
	payload.WriteString("<13>valid\n")
	// Last: a count larger than what follows, then the sender closes.
	payload.WriteString("500 <13>only twenty-seven bytes")
	want := append([]string{big[:maxSize], "<13>after the big one"}, notNumbers...)
	want = append(want, tooLong...)
	want = append(want, "<13>valid", "<13>only twenty-seven bytes")

	logs := &syncBuffer{}
	s, sk, streams := hostileServer(t, logs, func(c *Config) { c.MaxMessageSize = maxSize })
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			sk.reset()
			truncated, oversize, bad := value(s.c.truncated), value(s.c.errOversize), value(s.c.errBadOctetCount)
			c := st.dial(t)
			write(t, c, payload.String())
			c.Close()
			evs := sk.waitN(t, len(want))
			if got := raws(evs); !slices.Equal(got, want) {
				t.Fatalf("%s\ngot  %.80q\nwant %.80q", firstDifference(got, want), got, want)
			}
			for i, ev := range evs {
				if ev.Truncated != (i == 0) {
					t.Errorf("event %d %.20q truncated=%v", i, ev.Raw, ev.Truncated)
				}
			}
			for _, m := range []struct {
				what    string
				d, want float64
			}{
				{"truncated", value(s.c.truncated) - truncated, 1},
				{"oversize", value(s.c.errOversize) - oversize, 1},
				{"bad_octet_count", value(s.c.errBadOctetCount) - bad, 2},
			} {
				if m.d != m.want {
					t.Errorf("%s +%v, want +%v", m.what, m.d, m.want)
				}
			}
		})
	}
}

// startHooked starts a server whose connections' reads are counted, so a
// test knows what the server has read.
func startHooked(t *testing.T, cfg Config, sk *sink) (*Server, *net.TCPAddr, *atomic.Int64, chan struct{}) {
	t.Helper()
	s, err := New(cfg, sk)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	signal := make(chan struct{}, 1)
	s.readHook = func(r io.Reader) io.Reader { return countingReader{r, &n, signal} }
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(t.Context()) })
	tcp, _ := s.Addr()
	return s, tcp.(*net.TCPAddr), &n, signal
}

// Half a frame, then the sender goes away: by closing, by a reset, or by
// falling silent. The half frame is delivered, the connection's goroutine
// ends, the gauge is back where it was.
func TestHalfFrameThenSenderVanishes(t *testing.T) {
	type vanish int
	const (
		byClose vanish = iota
		byReset
		bySilence
	)
	for _, tc := range []struct {
		name      string
		transport string
		half      string
		want      string
		how       vanish
		errorKind string // the input error counted, if any
	}{
		{"line, close", "tcp", "<13>half a li", "<13>half a li", byClose, ""},
		{"octet frame, close", "tcp", "100 <13>half an octet frame", "<13>half an octet frame", byClose, ""},
		{"octet header only, close", "tcp", "100", "100", byClose, ""},
		{"line, close, tls", "tls", "<13>half a li", "<13>half a li", byClose, ""},
		{"octet frame, close, tls", "tls", "100 <13>half an octet frame", "<13>half an octet frame", byClose, ""},
		{"line, reset", "tcp", "<13>half a li", "<13>half a li", byReset, kindTCPRead},
		{"octet frame, reset", "tcp", "100 <13>half an octet frame", "<13>half an octet frame", byReset, kindTCPRead},
		{"line, silence", "tcp", "<13>half a li", "<13>half a li", bySilence, kindIdleTimeout},
		{"octet frame, silence, tls", "tls", "100 <13>half an octet frame", "<13>half an octet frame", bySilence, kindIdleTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := testes.NewCA(t, "ca")
			cfg := tlsTestConfig(nil, ca)
			cfg.IdleTimeout = 200 * time.Millisecond
			sk := newSink()
			s, tcp, readBytes, readSignal := startHooked(t, cfg, sk)
			conns := value(s.c.connections)
			var c net.Conn
			if tc.transport == "tls" {
				c = mustDialTLS(t, s, ca)
			} else {
				c = dialTCP(t, tcp)
			}
			payload := "<13>whole\n" + tc.half
			write(t, c, payload)
			switch tc.how {
			case byClose:
				c.Close()
			case byReset:
				// Wait until the server has read it all: a reset makes
				// the kernel drop data not yet read.
				limit := time.After(waitLimit)
				for readBytes.Load() < int64(len(payload)) {
					select {
					case <-readSignal:
					case <-limit:
						t.Fatalf("server read %d of %d bytes", readBytes.Load(), len(payload))
					}
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			case bySilence:
				expectClosed(t, c)
			}
			evs := sk.waitN(t, 2)
			if got := raws(evs); !slices.Equal(got, []string{"<13>whole", tc.want}) {
				t.Errorf("got %q", got)
			}
			if evs[1].Truncated || evs[1].Transport != tc.transport {
				t.Errorf("half frame event %+v", evs[1])
			}
			waitUntil(t, "connection goroutine ended", func() bool { return s.openConns() == 0 && value(s.c.connections) == conns })
			if tc.errorKind != "" {
				waitDelta(t, "error counter", s.metrics.Errors.WithLabelValues(tc.errorKind), 0, 1)
			}
		})
	}
}

// 10,000 bad frames of each kind: each counted, a handful of log lines.
func TestBadFramesDoNotFloodTheLog(t *testing.T) {
	const n = 10000
	logs := &syncBuffer{}
	cfg := infoConfig(logs)
	cfg.MaxMessageSize = MinMaxMessageSize
	sk := newCountingSink()
	s, tcp, _ := start(t, cfg, sk)
	truncated, oversize, bad, received := value(s.c.truncated), value(s.c.errOversize), value(s.c.errBadOctetCount), value(s.c.receivedTCP)
	logs.mu.Lock()
	startLines := strings.Count(logs.b.String(), "\n")
	logs.mu.Unlock()

	long := "<13>" + strings.Repeat("l", MinMaxMessageSize) + "\n"
	var payload bytes.Buffer
	for i := range n {
		payload.WriteString(long)
		fmt.Fprintf(&payload, "%d <13>absurd count\n", 1000000000+i)
	}
	c := dialTCP(t, tcp)
	errc := sendAsync(c, payload.Bytes())
	sk.waitN(t, 2*n)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		what    string
		d, want float64
	}{
		{"truncated", value(s.c.truncated) - truncated, n},
		{"oversize", value(s.c.errOversize) - oversize, n},
		{"bad_octet_count", value(s.c.errBadOctetCount) - bad, n},
		{"received", value(s.c.receivedTCP) - received, 2 * n},
	} {
		if m.d != m.want {
			t.Errorf("%s +%v, want +%v", m.what, m.d, m.want)
		}
	}
	if lines := logs.lines() - startLines; lines < 1 || lines > 10 {
		t.Errorf("%d log lines for %d bad frames, want 1..10:\n%s", lines, 2*n, logs)
	}
}
