package syslog

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/pipeline"
)

func TestLimitsConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"negative max connections", func(c *Config) { c.MaxConnections = -1 }, "max_connections: -1 is out of range; use 1 to 1048576 (default 4096)"},
		{"huge max connections", func(c *Config) { c.MaxConnections = 1 << 21 }, "max_connections: 2097152 is out of range"},
		{"tiny idle timeout", func(c *Config) { c.IdleTimeout = time.Microsecond }, "idle_timeout: 1µs is too short; use a duration such as 5m (default 5m0s), or 0 for none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(nil)
			tt.change(&cfg)
			if _, err := New(cfg, newSink()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	s, err := New(testConfig(nil), newSink())
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxConnections != 4096 || s.cfg.IdleTimeout != 5*time.Minute {
		t.Errorf("defaults: max connections %d, idle timeout %v", s.cfg.MaxConnections, s.cfg.IdleTimeout)
	}
	cfg := testConfig(nil)
	cfg.IdleTimeout = -time.Hour
	if s, err = New(cfg, newSink()); err != nil || s.cfg.IdleTimeout != NoIdleTimeout {
		t.Errorf("negative idle timeout: %v, %v", s.cfg.IdleTimeout, err)
	}
}

// The limit covers TCP and TLS together; a refused connection is reset at
// once, counted and logged sampled; a freed slot is usable again.
func TestMaxConnectionsTCPAndTLS(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	logs := &syncBuffer{}
	cfg := tlsTestConfig(logs, ca)
	cfg.MaxConnections = 2
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	refused, handshakes := value(s.c.errMaxConnections), value(s.c.errTLSHandshake)
	if v := value(s.metrics.ConnectionsLimit); v != 2 {
		t.Errorf("connections limit gauge %v", v)
	}
	a := dialTCP(t, tcp)
	b := mustDialTLS(t, s, ca)
	write(t, a, "<13>a\n")
	write(t, b, "<13>b\n")
	sk.waitN(t, 2)
	if n := s.openConns(); n != 2 {
		t.Fatalf("%d open connections, want 2", n)
	}

	// Reset at once: often before connect has even returned.
	if over, err := net.DialTCP("tcp", nil, tcp); err == nil {
		defer over.Close()
		expectClosed(t, over)
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	if _, err := dialTLS(t, s, ca); err == nil {
		t.Error("TLS connection over the limit completed its handshake")
	}
	waitDelta(t, "max_connections refusals", s.c.errMaxConnections, refused, 2)
	if d := value(s.c.errTLSHandshake) - handshakes; d != 0 {
		t.Errorf("refused TLS connection counted as a handshake failure (+%v)", d)
	}
	if n := logs.count("connection limit reached"); n != 2 {
		t.Errorf("%d refusal log lines, want 2", n)
	}

	// The open ones are unaffected, and a freed slot can be used.
	write(t, a, "<13>a again\n")
	sk.waitN(t, 3)
	b.Close()
	waitUntil(t, "slot freed", func() bool { return s.openConns() == 1 })
	c := mustDialTLS(t, s, ca)
	write(t, c, "<13>c\n")
	evs := sk.waitN(t, 4)
	if ev := evs[3]; string(ev.Raw) != "<13>c" || ev.Transport != "tls" {
		t.Errorf("event after a freed slot: %+v", ev)
	}
}

// A connection silent for IdleTimeout is closed and counted, over TCP and
// TLS, after delivering a partial last frame; one that never sent anything
// too.
func TestIdleTimeout(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	logs := &syncBuffer{}
	cfg := tlsTestConfig(logs, ca)
	cfg.Logger = infoConfig(logs).Logger
	cfg.IdleTimeout = 200 * time.Millisecond
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	idle, conns := value(s.c.errIdleTimeout), value(s.c.connections)

	never := dialTCP(t, tcp)
	plain := dialTCP(t, tcp)
	secure := mustDialTLS(t, s, ca)
	write(t, plain, "<13>tcp whole\n<13>tcp half")
	write(t, secure, "<13>tls whole\n<13>tls half")
	for _, c := range []net.Conn{never, plain, secure} {
		expectClosed(t, c)
	}
	waitDelta(t, "idle_timeout closes", s.c.errIdleTimeout, idle, 3)
	waitUntil(t, "connections closed", func() bool { return s.openConns() == 0 && value(s.c.connections) == conns })
	got := map[string]string{}
	for _, ev := range sk.snapshot() {
		got[string(ev.Raw)] = ev.Transport
	}
	want := map[string]string{"<13>tcp whole": "tcp", "<13>tcp half": "tcp", "<13>tls whole": "tls", "<13>tls half": "tls"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if n := logs.count("idle for idle_timeout"); n != 3 {
		t.Errorf("%d idle log lines, want 3:\n%s", n, logs)
	}
}

// A slowloris sender (a byte at a time, just often enough to beat the idle
// timeout) keeps its connection, and another sender is not slowed by it.
func TestSlowlorisDoesNotBlockOthers(t *testing.T) {
	cfg := testConfig(nil)
	cfg.IdleTimeout = 500 * time.Millisecond
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	idle := value(s.c.errIdleTimeout)

	slow := dialTCP(t, tcp)
	// 100 bytes, one every 10 ms: 1 s in all, twice the idle timeout.
	trickle := "<13>slowloris " + strings.Repeat("z", 100-14)
	trickled := make(chan error, 1)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := range len(trickle) {
			<-tick.C
			if _, err := slow.Write([]byte{trickle[i]}); err != nil {
				trickled <- err
				return
			}
		}
		trickled <- nil
	}()

	fast := dialTCP(t, tcp)
	const n = 1000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<13>fast %d\n", i)
	}
	begin := time.Now()
	write(t, fast, b.String())
	sk.waitN(t, n)
	took := time.Since(begin)
	fast.Close() // or the idle timeout closes it, while the slowloris trickles on
	t.Logf("%d messages from another sender arrived in %v while the slowloris trickled", n, took)
	if took > 2*time.Second {
		t.Errorf("the other sender's messages took %v", took)
	}
	select {
	case <-trickled:
		t.Fatal("the trickle ended before the other sender was done; the test proves nothing")
	default:
	}

	if err := <-trickled; err != nil {
		t.Fatalf("slowloris write failed: the connection was closed while it was sending: %v", err)
	}
	waitUntil(t, "the other sender's connection closed", func() bool { return s.openConns() == 1 })
	if d := value(s.c.errIdleTimeout) - idle; d != 0 {
		t.Fatalf("slowloris closed while trickling: idle timeouts +%v", d)
	}
	// Silent now: the idle timeout closes it and delivers its partial line.
	expectClosed(t, slow)
	waitDelta(t, "idle_timeout closes", s.c.errIdleTimeout, idle, 1)
	evs := sk.waitN(t, n+1)
	if got := string(evs[n].Raw); got != trickle {
		t.Errorf("slowloris line %q, want %q", got, trickle)
	}
}

// dialMany opens n connections to addr, several dialers at once, and closes
// them when the test ends.
func dialMany(t testing.TB, addr *net.TCPAddr, n int) []*net.TCPConn {
	return dialManyRefused(t, addr, n, false)
}

// dialManyRefused is dialMany; with refusedOK, a connection the server
// resets so fast that connect itself fails is left nil instead of failing
// the test.
func dialManyRefused(t testing.TB, addr *net.TCPAddr, n int, refusedOK bool) []*net.TCPConn {
	t.Helper()
	conns := make([]*net.TCPConn, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	const dialers = 16
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < n; i += dialers {
				c, err := net.DialTCP("tcp", nil, addr)
				if refusedOK && errors.Is(err, syscall.ECONNRESET) {
					continue
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return conns
}

// idleConns is the number of concurrent idle connections the tests open.
const idleConns = 5000

// 5,000 idle connections: the memory they hold is bounded by the small
// framing buffer, and a normal sender is served as usual.
func TestManyIdleConnectionsMemory(t *testing.T) {
	needOpenFiles(t, 2*idleConns+256) // both ends are in this process
	logs := &syncBuffer{}
	cfg := infoConfig(logs)
	cfg.MaxConnections = 2 * idleConns
	cfg.IdleTimeout = NoIdleTimeout
	sk := newCountingSink()
	s, tcp, _ := start(t, cfg, sk)
	conns := value(s.c.connections)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clients := dialMany(t, tcp, idleConns)
	// One message each: every connection goroutine has read once and now
	// waits in its next read, holding what an idle connection holds.
	for _, c := range clients {
		write(t, c, "<13>hello, then silence\n")
	}
	sk.waitN(t, idleConns)
	waitUntil(t, "all connections open", func() bool { return s.openConns() == idleConns })
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	stack := int64(after.StackInuse) - int64(before.StackInuse)
	t.Logf("%d idle connections: heap +%d KiB (%d B each), stacks +%d KiB (%d B each); both ends of every connection are in this process",
		idleConns, heap>>10, heap/idleConns, stack>>10, stack/idleConns)
	// Each connection holds a SmallBufferSize framing buffer; the rest (the
	// framing.Reader, both ends' net.TCPConn and poll descriptors, the map
	// entry, a timer) is about 1.5 KiB. Allow twice that, and fail far
	// below the LargeBufferSize a connection would hold if buffers were
	// allocated at full size.
	if limit := int64(framing.SmallBufferSize + 3<<10); heap/idleConns > limit {
		t.Errorf("heap per idle connection %d B, want at most %d (large buffer: %d)", heap/idleConns, limit, framing.LargeBufferSize(cfg.MaxMessageSize))
	}
	if limit := int64(32 << 10); stack/idleConns > limit {
		t.Errorf("stack per idle connection %d B, want at most %d", stack/idleConns, limit)
	}

	// Another sender is served as promptly as ever.
	c := dialTCP(t, tcp)
	const n = 1000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<13>busy %d\n", i)
	}
	begin := time.Now()
	write(t, c, b.String())
	sk.waitN(t, idleConns+n)
	took := time.Since(begin)
	t.Logf("%d messages from another sender arrived in %v beside %d idle connections", n, took, idleConns)
	if took > 2*time.Second {
		t.Errorf("the other sender's messages took %v", took)
	}

	for _, c := range clients {
		c.Close()
	}
	c.Close()
	waitUntil(t, "connections closed", func() bool { return s.openConns() == 0 && value(s.c.connections) == conns })
	if n := logs.lines(); n > 10 {
		t.Errorf("%d log lines for %d connections:\n%s", n, idleConns, logs)
	}
}

// With max_connections 1000, 5,000 connections: 1000 served, 4000 reset at
// once and counted, with a handful of log lines.
func TestManyConnectionsOverLimit(t *testing.T) {
	needOpenFiles(t, 2*idleConns+256)
	logs := &syncBuffer{}
	cfg := infoConfig(logs)
	cfg.MaxConnections = 1000
	cfg.IdleTimeout = NoIdleTimeout
	sk := newCountingSink()
	s, tcp, _ := start(t, cfg, sk)
	refused, conns := value(s.c.errMaxConnections), value(s.c.connections)

	admitted := dialMany(t, tcp, cfg.MaxConnections)
	waitUntil(t, "1000 connections open", func() bool { return s.openConns() == cfg.MaxConnections })
	extra := dialManyRefused(t, tcp, idleConns-cfg.MaxConnections, true)
	waitDelta(t, "max_connections refusals", s.c.errMaxConnections, refused, float64(len(extra)))
	resetInConnect := 0
	for _, c := range extra {
		if c == nil {
			resetInConnect++
			continue
		}
		expectClosed(t, c)
	}
	t.Logf("%d of %d refused connections were reset before connect returned", resetInConnect, len(extra))
	if n, g := s.openConns(), value(s.c.connections)-conns; n != cfg.MaxConnections || g != float64(cfg.MaxConnections) {
		t.Errorf("%d connections open (gauge +%v), want %d", n, g, cfg.MaxConnections)
	}
	// Those admitted still work.
	for _, c := range admitted[:10] {
		write(t, c, "<13>admitted\n")
	}
	sk.waitN(t, 10)
	if n := logs.count("connection limit reached"); n < 1 || n > 5 {
		t.Errorf("%d refusal log lines for %d refusals, want 1..5", n, len(extra))
	}
	if n := logs.lines(); n > 10 {
		t.Errorf("%d log lines:\n%s", n, logs)
	}
}

// 5,000 idle connections and an idle timeout: every one is closed and
// counted, with a handful of log lines.
func TestManyIdleConnectionsTimeOut(t *testing.T) {
	needOpenFiles(t, 2*idleConns+256)
	logs := &syncBuffer{}
	cfg := infoConfig(logs)
	cfg.MaxConnections = 2 * idleConns
	cfg.IdleTimeout = 300 * time.Millisecond
	sk := newCountingSink()
	s, tcp, _ := start(t, cfg, sk)
	idle, conns := value(s.c.errIdleTimeout), value(s.c.connections)
	began := time.Now()

	clients := dialMany(t, tcp, idleConns)
	waitDelta(t, "idle_timeout closes", s.c.errIdleTimeout, idle, idleConns)
	waitUntil(t, "connections closed", func() bool { return s.openConns() == 0 && value(s.c.connections) == conns })
	for _, c := range clients {
		expectClosed(t, c)
	}
	// The sampler lets 5 lines through per 10 s window; a slow machine
	// may need a second window for 5,000 connections.
	windows := 1 + int(time.Since(began)/(10*time.Second))
	if n := logs.count("idle for idle_timeout"); n < 1 || n > 5*windows {
		t.Errorf("%d idle log lines for %d closes in %d sampling windows, want 1..%d", n, idleConns, windows, 5*windows)
	}
	if n := logs.lines(); n > 5+5*windows {
		t.Errorf("%d log lines:\n%s", n, logs)
	}
}

// Idle TLS connections cost more than plain ones (crypto/tls keeps its
// record buffers and handshake state), still far below the large framing
// buffer.
func TestManyIdleTLSConnectionsMemory(t *testing.T) {
	const n = 500
	needOpenFiles(t, 2*n+256)
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(nil, ca)
	cfg.Logger = infoConfig(&syncBuffer{}).Logger
	cfg.IdleTimeout = NoIdleTimeout
	sk := newCountingSink()
	s, _, _ := start(t, cfg, sk)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clients := make([]net.Conn, n)
	var wg sync.WaitGroup
	for d := range 8 {
		wg.Go(func() {
			for i := d; i < n; i += 8 {
				c, err := dialTLS(t, s, ca)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Write([]byte("<13>hello over TLS, then silence\n")); err != nil {
					t.Error(err)
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	sk.waitN(t, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	stack := int64(after.StackInuse) - int64(before.StackInuse)
	t.Logf("%d idle TLS connections: heap +%d KiB (%d B each), stacks +%d KiB (%d B each); both ends of every connection are in this process",
		n, heap>>10, heap/n, stack>>10, stack/n)
	if limit := int64(framing.LargeBufferSize(cfg.MaxMessageSize)) / 2; heap/n > limit {
		t.Errorf("heap per idle TLS connection %d B, want at most %d", heap/n, limit)
	}
	runtime.KeepAlive(clients)
}

type durableSink struct {
	*sink
	durable bool
}

func (d durableSink) Durable() bool { return d.durable }

// In front of the disk buffer (a commit, an fsync, before every read) a
// busy connection reads in larger pieces; in memory mode it does not, and
// the worst case logged at start follows the size used.
func TestLargeReadsBeforeADiskBuffer(t *testing.T) {
	for _, tt := range []struct {
		name string
		sink pipeline.Sink
		max  int
		want int
	}{
		{"memory", newSink(), 0, framing.LargeBufferSize(0)},
		{"memory, says not durable", durableSink{newSink(), false}, 0, framing.LargeBufferSize(0)},
		{"disk", durableSink{newSink(), true}, 0, durableReadSize},
		{"disk, messages above the durable size", durableSink{newSink(), true}, 1 << 20, framing.LargeBufferSize(1 << 20)},
	} {
		s, err := New(Config{Listen: "127.0.0.1:0", MaxMessageSize: tt.max}, tt.sink)
		if err != nil {
			t.Fatal(err)
		}
		if s.readLarge != tt.want {
			t.Errorf("%s: large reads of %d bytes, want %d", tt.name, s.readLarge, tt.want)
		}
		normal := int64(framing.LargeBufferSize(tt.max))
		want := int64(s.cfg.MaxConnections) * normal
		if int64(tt.want) > normal {
			want = maxDurableReaders*int64(tt.want) + int64(s.cfg.MaxConnections-maxDurableReaders)*normal
		}
		if got := s.worstCaseConnBytes(); got != want {
			t.Errorf("%s: worst case %d bytes, want %d", tt.name, got, want)
		}
	}
}

// Only maxDurableReaders connections at a time read the durable size; the
// others read as in memory mode, and a place given back is taken again.
func TestDurableReadsBounded(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0"}, durableSink{newSink(), true})
	if err != nil {
		t.Fatal(err)
	}
	var releases []func()
	for i := range maxDurableReaders {
		size, release := s.readSize()
		if size != durableReadSize {
			t.Fatalf("connection %d reads %d bytes, want %d", i+1, size, durableReadSize)
		}
		releases = append(releases, release)
	}
	size, release := s.readSize()
	if want := framing.LargeBufferSize(0); size != want {
		t.Fatalf("connection %d reads %d bytes, want %d (memory mode's)", maxDurableReaders+1, size, want)
	}
	release()
	releases[0]()
	if size, _ := s.readSize(); size != durableReadSize {
		t.Fatalf("after a durable reader ended: %d bytes, want %d", size, durableReadSize)
	}
	mem, err := New(Config{Listen: "127.0.0.1:0"}, newSink())
	if err != nil {
		t.Fatal(err)
	}
	for range maxDurableReaders + 1 {
		if size, _ := mem.readSize(); size != framing.LargeBufferSize(0) {
			t.Fatalf("memory mode reads %d bytes, want %d", size, framing.LargeBufferSize(0))
		}
	}
}
