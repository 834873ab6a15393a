package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/metrics"
)

func TestNewValidates(t *testing.T) {
	ok := testConfig(nil)
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"missing port", func(c *Config) { c.Listen = "abc" }, `inputs/syslog: listen address "abc": missing port in address; use host:port such as ":10514"`},
		{"bad port", func(c *Config) { c.Listen = ":http" }, `inputs/syslog: listen address ":http": port "http" is not a number from 0 to 65535`},
		{"port too big", func(c *Config) { c.Listen = ":70000" }, `port "70000" is not a number from 0 to 65535`},
		{"tiny max", func(c *Config) { c.MaxMessageSize = 100 }, "inputs/syslog: max message size 100 bytes is out of range; use 480 to 16777216 (default 65536)"},
		{"huge max", func(c *Config) { c.MaxMessageSize = 1 << 30 }, "max message size 1073741824 bytes is out of range"},
		{"negative buffer", func(c *Config) { c.UDPReadBuffer = -1 }, "UDP read buffer -1 bytes is negative"},
		{"negative readers", func(c *Config) { c.UDPReaders = -2 }, "UDP readers -2 is out of range; use 1 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := New(cfg, newSink())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(ok, nil); err == nil {
		t.Error("nil sink accepted")
	}
	s, err := New(Config{}, newSink())
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Listen != ":10514" || s.cfg.MaxMessageSize != 65536 || s.cfg.UDPReadBuffer != 32<<20 || s.cfg.UDPReaders != 1 || s.cfg.Now == nil {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
}

func TestStartFailsWhenPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(nil)
	cfg.Listen = taken.Addr().String()
	s, err := New(cfg, newSink())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "inputs/syslog: listen tcp") {
		t.Fatalf("Start error %v", err)
	}
	if s.Ready() {
		t.Error("Ready after a failed Start")
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop after failed Start: %v", err)
	}
}

func TestTCPFramings(t *testing.T) {
	sk := newSink()
	s, tcp, _ := start(t, testConfig(nil), sk)
	received := value(s.c.receivedTCP)
	if !s.Ready() {
		t.Fatal("not ready after Start")
	}
	c := dialTCP(t, tcp)
	write(t, c, "<13>lf one\n13 <13>octet two<13>crlf\r\n")
	write(t, c, "<13>nul\x00\n\n2024-01-01 not syslog\n10 <13>mixed\n")
	write(t, c, "<13>last, no newline")
	c.CloseWrite()
	evs := sk.waitN(t, 7)
	want := []string{"<13>lf one", "<13>octet two", "<13>crlf", "<13>nul", "2024-01-01 not syslog", "<13>mixed", "<13>last, no newline"}
	if got := raws(evs); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, ev := range evs {
		if ev.Transport != "tcp" || ev.SourceIP != "127.0.0.1" || !ev.Received.Equal(fixedNow) || ev.Truncated {
			t.Errorf("event %+v", ev)
		}
	}
	if d := value(s.c.receivedTCP) - received; d != 7 {
		t.Errorf("received tcp +%v, want +7", d)
	}
}

func TestTCPHugeLineIsTruncatedAndConnectionSurvives(t *testing.T) {
	sk := newSink()
	logs := &syncBuffer{}
	s, tcp, _ := start(t, testConfig(logs), sk)
	truncated := value(s.c.truncated)
	oversize := value(s.c.errOversize)
	c := dialTCP(t, tcp)
	// Written concurrently: 1 MiB is more than the socket buffers hold
	// while the server is still reading.
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("<13>" + strings.Repeat("x", 1<<20) + "\n<13>next\n2000000 <13>" + strings.Repeat("y", 2000000-4) + "<13>after octets\n"))
		errc <- err
	}()
	evs := sk.waitN(t, 4)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(evs[0].Raw) != DefaultMaxMessageSize || !evs[0].Truncated || evs[2].Raw[4] != 'y' || len(evs[2].Raw) != DefaultMaxMessageSize || !evs[2].Truncated {
		t.Errorf("oversized events: %d bytes truncated=%v, %d bytes truncated=%v", len(evs[0].Raw), evs[0].Truncated, len(evs[2].Raw), evs[2].Truncated)
	}
	if string(evs[1].Raw) != "<13>next" || evs[1].Truncated || string(evs[3].Raw) != "<13>after octets" {
		t.Errorf("following events: %q, %q", evs[1].Raw, evs[3].Raw)
	}
	if d := value(s.c.truncated) - truncated; d != 2 {
		t.Errorf("truncated +%v, want +2", d)
	}
	if d := value(s.c.errOversize) - oversize; d != 2 {
		t.Errorf("input errors oversize +%v, want +2", d)
	}
	if !strings.Contains(logs.String(), "truncated") {
		t.Errorf("no truncation warning logged: %s", logs)
	}
}

func TestTCPBadOctetCountCounted(t *testing.T) {
	sk := newSink()
	s, tcp, _ := start(t, testConfig(nil), sk)
	bad := value(s.c.errBadOctetCount)
	c := dialTCP(t, tcp)
	write(t, c, "12345678901 <13>a\n<13>b\n")
	evs := sk.waitN(t, 2)
	if got := raws(evs); !slices.Equal(got, []string{"12345678901 <13>a", "<13>b"}) {
		t.Errorf("got %q", got)
	}
	if d := value(s.c.errBadOctetCount) - bad; d != 1 {
		t.Errorf("bad octet counts +%v, want +1", d)
	}
}

func TestUDP(t *testing.T) {
	sk := newSink()
	logs := &syncBuffer{}
	cfg := testConfig(logs)
	cfg.MaxMessageSize = 1024
	s, _, udp := start(t, cfg, sk)
	received := value(s.c.receivedUDP)
	c, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := "<13>" + strings.Repeat("z", 3000)
	for _, d := range []string{"<13>lf\n", "<13>crlf\r\n", "<13>nul\x00", "\r\n", "<13>plain", big, "<13>two\nlines\n"} {
		write(t, c, d)
	}
	evs := sk.waitN(t, 6)
	// Several readers: arrival order is not send order.
	byRaw := map[string]*event.Event{}
	for _, ev := range evs {
		byRaw[string(ev.Raw)] = ev
		if ev.Transport != "udp" || ev.SourceIP != "127.0.0.1" || !ev.Received.Equal(fixedNow) {
			t.Errorf("event %+v", ev)
		}
	}
	for _, want := range []string{"<13>lf", "<13>crlf", "<13>nul", "<13>plain", "<13>two\nlines", big[:1024]} {
		ev, ok := byRaw[want]
		if !ok {
			t.Errorf("missing %.40q; have %.40q", want, raws(evs))
			continue
		}
		if ev.Truncated != (want == big[:1024]) {
			t.Errorf("%.20q truncated=%v", want, ev.Truncated)
		}
	}
	if d := value(s.c.receivedUDP) - received; d != 6 {
		t.Errorf("received udp +%v, want +6", d)
	}
	if !strings.Contains(logs.String(), "requested_bytes") {
		t.Errorf("UDP buffer size not logged: %s", logs)
	}
}

func TestUDPQueueFullDropsAndCounts(t *testing.T) {
	sk := newSink()
	var refuse atomic.Bool
	refuse.Store(true)
	sk.tryPut = func(ev *event.Event) bool { return !refuse.Load() || strings.HasPrefix(string(ev.Raw), "<13>marker") }
	logs := &syncBuffer{}
	cfg := testConfig(logs)
	cfg.UDPReaders = 1 // one reader: datagrams are handled in order
	s, _, udp := start(t, cfg, sk)
	droppedQueueFull := s.c.dropped.WithLabelValues(metrics.DropQueueFull)
	dropped := value(droppedQueueFull)
	c, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 20
	for i := range n {
		write(t, c, fmt.Sprintf("<13>refused %d", i))
	}
	write(t, c, "<13>marker")
	evs := sk.waitN(t, 1)
	if string(evs[0].Raw) != "<13>marker" {
		t.Fatalf("got %q", evs[0].Raw)
	}
	// The drops of a batch are counted and logged once the batch is
	// handed over, after the marker was taken; the one reader handles the
	// next datagram only after that.
	write(t, c, "<13>marker 2")
	sk.waitN(t, 2)
	// Loopback can itself drop a datagram under load; what the server
	// saw, it must have counted.
	sk.mu.Lock()
	seen := sk.tryPutSeen - 2
	sk.mu.Unlock()
	if d := value(droppedQueueFull) - dropped; d != float64(seen) || seen == 0 {
		t.Errorf("dropped queue_full +%v, TryPut refused %d", d, seen)
	}
	if w := logs.count("UDP messages dropped"); w < 1 || w > 5 {
		t.Errorf("%d queue-full warnings for %d drops; want 1..5 (sampled)", w, seen)
	}
}

// With a sink that does not take events, the server must stop reading, so
// that the sender's writes block; once the sink takes events again,
// everything sent arrives, in order.
func TestTCPBackPressure(t *testing.T) {
	sk := newSink()
	sk.gate = make(chan struct{})
	_, tcp, _ := start(t, testConfig(nil), sk)
	c := dialTCP(t, tcp)

	msg := func(i int) []byte {
		return fmt.Appendf(nil, "<13>seq=%07d %s\n", i, strings.Repeat("p", 1000))
	}
	sent := 0
	var rest []byte
	for {
		if sent == 200000 {
			t.Fatal("200 MB written and the writes never blocked: no back-pressure")
		}
		// A write that cannot finish within the deadline means the
		// server's receive window and our send buffer are full.
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		m := msg(sent)
		n, err := c.Write(m)
		sent++
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			rest = m[n:]
			break
		}
	}
	<-sk.entered
	sk.mu.Lock()
	puts, delivered := sk.putCalls, len(sk.events)
	sk.mu.Unlock()
	if puts != 1 || delivered != 0 {
		t.Fatalf("while blocked: %d Put calls, %d delivered; want 1 and 0", puts, delivered)
	}
	t.Logf("writes blocked after %d messages (%d KiB)", sent, sent*len(msg(0))>>10)

	close(sk.gate)
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write(rest); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	evs := sk.waitN(t, sent)
	for i, ev := range evs {
		if want := string(msg(i)[:len(msg(i))-1]); string(ev.Raw) != want {
			t.Fatalf("event %d = %.30q, want %.30q", i, ev.Raw, want)
		}
	}
}

func TestManyConnections(t *testing.T) {
	sk := newSink()
	s, tcp, _ := start(t, testConfig(nil), sk)
	conns := value(s.c.connections)
	const clients, each = 50, 200
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTCP("tcp", nil, tcp)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			var b strings.Builder
			for j := range each {
				if j%2 == 0 {
					fmt.Fprintf(&b, "<13>c%d m%d\n", i, j)
				} else {
					m := fmt.Sprintf("<13>c%d m%d", i, j)
					fmt.Fprintf(&b, "%d %s", len(m), m)
				}
			}
			if _, err := c.Write([]byte(b.String())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	evs := sk.waitN(t, clients*each)
	next := make([]int, clients)
	for _, ev := range evs {
		var i, j int
		if _, err := fmt.Sscanf(string(ev.Raw), "<13>c%d m%d", &i, &j); err != nil {
			t.Fatalf("event %q: %v", ev.Raw, err)
		}
		if j != next[i] {
			t.Fatalf("client %d: got m%d, want m%d", i, j, next[i])
		}
		next[i]++
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := value(s.c.connections) - conns; d != 0 {
		t.Errorf("connections gauge off by %v after Stop", d)
	}
}

// countingReader tells the test how many bytes the server has read.
type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	read chan struct{}
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	select {
	case c.read <- struct{}{}:
	default:
	}
	return n, err
}

// Stop must deliver every frame the server had read, including a partial
// one, even though the sink was blocked when Stop began.
func TestStopDeliversBufferedFrames(t *testing.T) {
	sk := newSink()
	sk.gate = make(chan struct{})
	var readBytes atomic.Int64
	readSignal := make(chan struct{}, 1)
	cfg := testConfig(nil)
	cfg.DrainTimeout = NoDrain // the sender never closes: reads end at once
	s, err := New(cfg, sk)
	if err != nil {
		t.Fatal(err)
	}
	s.readHook = func(r io.Reader) io.Reader { return countingReader{r, &readBytes, readSignal} }
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	tcp, _ := s.Addr()
	c := dialTCP(t, tcp.(*net.TCPAddr))

	var payload strings.Builder
	var want []string
	for i := range 100 {
		m := fmt.Sprintf("<13>buffered %03d", i)
		want = append(want, m)
		if i%3 == 0 {
			fmt.Fprintf(&payload, "%d %s", len(m), m)
		} else {
			payload.WriteString(m + "\n")
		}
	}
	payload.WriteString("<13>partial, sender still writing")
	want = append(want, "<13>partial, sender still writing")
	write(t, c, payload.String())

	// The server reads, frames the first message and blocks in Put; the
	// rest sits in its framing buffer.
	limit := time.After(waitLimit)
	for readBytes.Load() < int64(payload.Len()) {
		select {
		case <-readSignal:
		case <-limit:
			t.Fatalf("server read %d of %d bytes", readBytes.Load(), payload.Len())
		}
	}
	<-sk.entered

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()
	// Stop must not finish while the sink still holds the first event.
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned %v before the buffered frames were delivered", err)
	default:
	}
	close(sk.gate)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := raws(sk.snapshot()); !slices.Equal(got, want) {
		t.Errorf("after Stop, sink has %d events, want %d:\n%q", len(got), len(want), got)
	}
	if s.Ready() {
		t.Error("Ready after Stop")
	}
	// And it really stopped reading: the connection is closed by now.
	c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Stop")
	}
}

// When the grace period ends with the sink still blocked, Stop returns,
// saying how many events it could not hand over, and counts them.
func TestStopGracePeriodExpires(t *testing.T) {
	sk := newSink()
	sk.gate = make(chan struct{}) // never opened
	s, tcp, _ := start(t, testConfig(nil), sk)
	dropped := value(s.c.droppedShutdown)
	c := dialTCP(t, tcp)
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "<13>stuck %d\n", i)
	}
	write(t, c, b.String())
	<-sk.entered

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(ctx) }()
	cancel()
	err := <-stopped
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop error %v, want context.Canceled", err)
	}
	d := value(s.c.droppedShutdown) - dropped
	if d < 1 || !strings.Contains(err.Error(), fmt.Sprintf(": %d events read but not handed to the pipeline", int(d))) {
		t.Errorf("dropped shutdown +%v; error %q", d, err)
	}
}

func TestStopStopsUDPAndIsIdempotent(t *testing.T) {
	sk := newSink()
	s, _, udp := start(t, testConfig(nil), sk)
	c, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	write(t, c, "<13>before stop")
	sk.waitN(t, 1)
	for range 2 {
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

// The framing rules the server relies on for draining: complete frames
// first, then the partial one, then the error.
func TestFramingDrainContract(t *testing.T) {
	fr := framing.NewReader(io.MultiReader(strings.NewReader("<13>a\n<13>b"), errReader{}), 0)
	var got []string
	for {
		f, _, err := fr.Next()
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, string(f))
	}
	if !slices.Equal(got, []string{"<13>a", "<13>b"}) {
		t.Errorf("got %q", got)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

// The input does not parse: the pipeline parses every event in one place.
func TestEventsAreHandedOverUnparsed(t *testing.T) {
	sk := newSink()
	_, tcp, _ := start(t, testConfig(nil), sk)
	c := dialTCP(t, tcp)
	write(t, c, "<13>Nov 26 12:00:00 host app: hello\n")
	evs := sk.waitN(t, 1)
	if evs[0].Program != "" || evs[0].Message != "" || evs[0].ParseFailed || string(evs[0].Raw) != "<13>Nov 26 12:00:00 host app: hello" {
		t.Fatalf("event = %+v", evs[0])
	}
}

// A read that fills a hand-off (maxHandOffEvents messages) is handed over
// at once, and still committed before the next read, even when nothing of
// that read is left for the next hand-off.
func TestCommitsAfterAFullHandOff(t *testing.T) {
	sk := newSink()
	_, tcp, _ := start(t, testConfig(nil), sk)
	c := dialTCP(t, tcp)
	write(t, c, strings.Repeat("x\n", maxHandOffEvents)) // one read: 2 KiB, under the first read buffer
	sk.waitN(t, maxHandOffEvents)
	sk.waitCommits(t, 1) // the reader asks for it before its next read
}

// Before it waits for more from a connection, the input asks the sink to
// make what it put durable (CommitSoon), and it hands over the next read's
// events only once that is done (WaitCommitted).
func TestCommitsBeforeReadingMore(t *testing.T) {
	sk := newSink()
	_, tcp, _ := start(t, testConfig(nil), sk)
	c := dialTCP(t, tcp)
	write(t, c, "<13>one\n")
	sk.waitN(t, 1)
	sk.waitCommits(t, 1) // asked for before the read that waits for "two"
	write(t, c, "<13>two\n")
	sk.waitN(t, 2)
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.waitedAt[0] != 0 || sk.waitedAt[1] != 1 {
		t.Fatalf("events durable when each was put: %v, want [0 1] (\"one\" durable before \"two\" is handed over)", sk.waitedAt)
	}
}

// A UDP reader waits after a short batch only as long as the receive
// buffer holds what a million 4 KiB datagrams a second bring meanwhile.
func TestUDPWaitFollowsTheReceiveBuffer(t *testing.T) {
	for _, tt := range []struct {
		granted int
		want    time.Duration
	}{
		{0, 0},      // size unknown: no wait
		{212992, 0}, // Linux's default rmem_max: 52 µs, below the floor
		{1 << 20, 256 * time.Microsecond},
		{4 << 20, udpMaxWait},
		{DefaultUDPReadBuffer, udpMaxWait},
	} {
		if got := udpWaitFor(tt.granted); got != tt.want {
			t.Errorf("udpWaitFor(%d) = %v, want %v", tt.granted, got, tt.want)
		}
	}
}

// A reader that read full batches and finds nothing more hands over what
// it holds at once: it does not wait for the next datagram with events in
// hand (which, for a sender that then falls silent, would be forever).
func TestUDPFullBatchesThenSilenceAreHandedOver(t *testing.T) {
	sk := newSink()
	gate, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	sk.tryPut = func(ev *event.Event) bool {
		if string(ev.Raw) == "<13>first" {
			once.Do(func() { close(entered) })
			<-gate
		}
		return true
	}
	cfg := testConfig(&syncBuffer{})
	cfg.UDPReaders = 1
	_, _, udp := start(t, cfg, sk)
	c, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	write(t, c, "<13>first")
	select {
	case <-entered:
	case <-time.After(waitLimit):
		t.Fatal("the first datagram was not handed over")
	}
	// While the reader is held, exactly two full batches wait in the
	// socket (loopback queues a datagram before its send returns): the
	// reader then reads two full batches and nothing after them.
	for i := range 2 * udpBatchSize {
		write(t, c, fmt.Sprintf("<13>burst %d", i))
	}
	close(gate)
	sk.waitN(t, 1+2*udpBatchSize)
}
