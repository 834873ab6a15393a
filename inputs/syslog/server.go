// Package syslog receives syslog messages over TCP and UDP and hands them
// to the pipeline, one event per message: that is its one job. It frames
// TCP streams with inputs/framing, stamps each message with its receive
// time, transport and sender, and counts what it sees. It does not parse:
// the pipeline parses every event in one place, whatever the buffer.
//
// TCP is lossless up to the pipeline: Put blocks while the queue is full,
// the connection's reader stops reading, and the sender's TCP window fills.
// UDP cannot push back, so a datagram that finds the queue full is dropped
// and counted (logshipper_events_dropped_total{reason="queue_full"}) rather
// than left to pile up in the kernel.
//
// Datagrams the kernel drops before logshipper reads them (receive buffer
// full) are not seen by the pipeline. On Linux the server asks the kernel
// for the socket's drop count (SO_RXQ_OVFL), logs when it grows and reports
// it via UDPKernelDrops. Host-wide, read them with `netstat -su` ("receive
// buffer errors") or the RcvbufErrors column of the Udp line in
// /proc/net/snmp; per socket, the "drops" column of /proc/net/udp and
// /proc/net/udp6. Raise the buffer with Config.UDPReadBuffer (and
// net.core.rmem_max, unless logshipper runs with CAP_NET_ADMIN).
//
// A UDP reader reads with recvmmsg, up to udpBatchSize datagrams a call,
// and hands over everything it read until a call returns fewer than a full
// batch in one append. Then it waits up to 1 ms (udpWaitFor: only as long
// as the receive buffer can hold what arrives meanwhile) so that the next
// call finds several datagrams instead of waking for each one. On Linux
// the socket is read with blocking calls outside Go's network poller
// (udpsocket_linux.go), which would otherwise wake for every datagram
// that arrives during the wait.
//
// # TLS
//
// With Config.TLS.Listen set, a third listener takes syslog over TLS
// (RFC 5425, port 6514 by convention; tls.go): framed like plain TCP,
// events with Transport "tls", optionally only from clients with a
// certificate from Config.TLS.ClientCAFile (mutual TLS). Certificate and
// key are read and checked by New. Handshakes are bounded by
// TLSConfig.HandshakeTimeout; failures are counted
// (logshipper_input_errors_total{kind="tls_handshake"}) and logged sampled.
//
// # PROXY protocol
//
// With Config.ProxyProtocol optional or required, TCP and TLS connections
// (before the handshake) and UDP datagrams (v2) may or must start with a
// load balancer's PROXY protocol header naming the real sender, believed
// only from Config.ProxyProtocolTrusted peers (proxyproto.go). The event's
// SourceIP is then the sender and ProxyIP the balancer; refusals are
// counted (logshipper_input_errors_total{kind="proxy_*"}) and logged
// sampled.
//
// # Hostile senders
//
// Every connection, TCP or TLS, costs one goroutine and a framing buffer
// that is 4 KiB while the connection is quiet, 32 KiB while its sender is
// busy, and the large size (max message size + 8 KiB, at least 64 KiB)
// only while a frame needs it (inputs/framing). In front of the disk
// buffer a busy connection reads at the large size, 256 KiB for up to
// maxDurableReaders connections (durableReadSize). The events framed from
// a read wait outside the pipeline's bounds only in the few connections
// inside the hand-off gate (handoff.go); the others wait with their bytes
// unframed. Config.MaxConnections bounds the connections open at once
// (TCP and TLS together; one more is accepted and reset at once, and
// counted as kind="max_connections"), so the memory the inputs hold is
// bounded whatever senders do. Config.IdleTimeout closes a connection
// that has sent nothing for that long (kind="idle_timeout").
//
// A slowloris sender (one byte every few seconds, forever) is within the
// rules: each byte is data, so the idle timeout does not close it. It holds
// one goroutine, one small buffer and one MaxConnections slot, and nothing
// else: every connection is read by its own goroutine, so it delays no
// other sender. What it can do, with enough connections, is use up
// MaxConnections; there is no per-sender limit or minimum rate (a firewall
// or connection-rate limit in front is the remedy).
//
// Garbage (binary data, NUL bytes, invalid UTF-8, absurd or malformed
// octet counts, endless lines) is framed by the rules of inputs/framing and
// passed on byte for byte; it never closes the connection. Problems are
// counted in logshipper_input_errors_total{kind} and logged through
// samplers (at most 5 lines per kind per 10 s), never a line per message.
package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// Defaults for zero Config fields.
const (
	DefaultListen         = ":10514"
	DefaultMaxMessageSize = 64 << 10
	DefaultUDPReadBuffer  = 32 << 20
	DefaultUDPReaders     = 1 // bench/profiles/udp.md: one reads 800k msgs/s here, and costs less than two at 100k
)

// Limits on Config values.
const (
	// MinMaxMessageSize is the size RFC 3164 requires every receiver to
	// accept.
	MinMaxMessageSize = 480
	// MaxMaxMessageSize bounds the buffer each TCP connection may grow to.
	MaxMaxMessageSize = 16 << 20
	maxUDPReaders     = 64
	// maxUDPPayload is the largest UDP datagram payload (65535 minus the
	// 8-byte UDP header; IPv4 has 20 more bytes of header, so its limit is
	// lower still).
	maxUDPPayload = 65535 - 8
)

// InputErrors kinds this package counts.
const (
	kindOversize      = "oversize"        // message cut at MaxMessageSize
	kindBadOctetCount = "bad_octet_count" // "NNNNNNNNNN <..." with a count too long to believe
	kindAccept        = "accept"          // Accept failed (EMFILE, ENFILE, ...)
	kindTCPRead       = "tcp_read"        // a connection ended with an error (reset, ...)
	kindUDPRead       = "udp_read"        // reading the UDP socket failed
	// max_connections and idle_timeout: limits.go; tls_handshake: tls.go.
)

// Config configures a Server. Zero values take the defaults above (and in
// limits.go and tls.go), except that an empty TLS.Listen means no TLS
// listener.
type Config struct {
	Listen         string // host:port, used for BOTH tcp and udp (default ":10514")
	MaxMessageSize int    // default 65536
	// MaxConnections bounds the TCP and TLS connections open at once,
	// both together (default 4096, see DefaultMaxConnections for the
	// memory it stands for); one more is accepted and reset at once, and
	// counted.
	MaxConnections int
	// IdleTimeout closes a TCP or TLS connection that has sent nothing for
	// this long (default 5 min; NoIdleTimeout, or any negative value,
	// never closes it).
	IdleTimeout time.Duration
	// DrainTimeout bounds how long Stop keeps reading connections after
	// it has sent their senders the end of stream (default 5 s; NoDrain,
	// or any negative value, ends reads at once). See drain.go.
	DrainTimeout time.Duration
	// TLS is the optional TLS listener (off unless TLS.Listen is set).
	TLS TLSConfig
	// ProxyProtocol is ProxyOff (or empty, the default), ProxyOptional or
	// ProxyRequired: whether TCP and TLS connections and UDP datagrams
	// start with a PROXY protocol header naming the original sender (see
	// proxyproto.go). ProxyProtocolTrusted lists the peers (CIDRs or
	// addresses: the load balancers) whose headers are believed; it must
	// not be empty unless ProxyProtocol is off.
	ProxyProtocol        string
	ProxyProtocolTrusted []string
	// ProxyHeaderTimeout bounds the wait for the header at the start of a
	// connection (default DefaultProxyHeaderTimeout).
	ProxyHeaderTimeout time.Duration

	UDPReadBuffer int              // SO_RCVBUF bytes asked for, default 32 MiB (the size the kernel granted is logged)
	UDPReaders    int              // goroutines reading the UDP socket, default 1
	Now           func() time.Time // receive clock; default time.Now
	Logger        zerolog.Logger
	// Events is the shared account this input adds to (received,
	// truncated, parse failures, drops); Metrics its own instruments. nil:
	// private ones, registered nowhere (tests).
	Events  *metrics.Events
	Metrics *Metrics
}

// Server is a syslog listener on one TCP and one UDP socket, and one TLS
// socket when configured.
type Server struct {
	cfg  Config
	sink pipeline.Sink
	log  zerolog.Logger
	// metrics are the input's own instruments, c what it adds to.
	metrics *Metrics
	c       counters
	// Sampled loggers for per-message problems, one per kind so that a
	// flood of one kind does not hide the others.
	logFrame, logDrop, logConn, logLimit, logIdle, logTLS, logProxy zerolog.Logger

	tlsConfig *tls.Config   // nil when TLS is off
	proxy     proxySettings // PROXY protocol, checked

	// putCtx is what Put waits on: never done while running, cancelled
	// when Stop's grace period runs out.
	putCtx    context.Context
	cancelPut context.CancelFunc

	mu       sync.Mutex
	started  bool
	tcpLn    *net.TCPListener
	tlsLn    *net.TCPListener // nil when TLS is off
	udpConn  *net.UDPConn     // while its options are set; then read as udpSock
	udpSock  *udpSocket
	conns    map[*net.TCPConn]struct{} // TCP and TLS; TLS ones by their TCP connection
	stopping atomic.Bool
	// cutoff is the latest read deadline any connection may have, in
	// Unix nanoseconds (0: none): the drain's end, then stopDeadline.
	cutoff atomic.Int64
	// drained is closed when the last connection ends during the drain
	// (nil outside the drain); drainStats counts how they ended.
	drained    chan struct{}
	drainStats drainStats
	ready      atomic.Bool
	quit       chan struct{} // closed by Stop: wakes the accept back-off
	done       chan struct{} // closed when every goroutine has returned
	wg         sync.WaitGroup

	shutdownDrops atomic.Uint64 // events read but not handed over at Stop
	kernelDrops   atomic.Uint64 // highest SO_RXQ_OVFL count seen
	udpWait       time.Duration // a UDP reader's pause after a short batch (see udpWaitFor)
	durable       bool          // the sink's Commit writes to disk: larger reads (largeReads)
	readLarge     int           // a busy TCP connection's framing buffer (see largeReads)
	readNormal    int           // the same in memory mode; what connections beyond maxDurableReaders get
	durableReads  atomic.Int32  // connections reading readLarge when it is above readNormal
	handOffs      *handOffGate  // connections holding a read's events (handoff.go)

	// readHook, if set (tests only), wraps each connection's reader.
	readHook func(io.Reader) io.Reader
}

// New checks cfg, fills in defaults and returns a Server that is not yet
// listening.
func New(cfg Config, sink pipeline.Sink) (*Server, error) {
	if sink == nil {
		return nil, errors.New("inputs/syslog: sink is nil")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := checkListen(cfg.Listen); err != nil {
		return nil, err
	}
	switch {
	case cfg.MaxMessageSize == 0:
		cfg.MaxMessageSize = DefaultMaxMessageSize
	case cfg.MaxMessageSize < MinMaxMessageSize || cfg.MaxMessageSize > MaxMaxMessageSize:
		return nil, fmt.Errorf("inputs/syslog: max message size %d bytes is out of range; use %d to %d (default %d)",
			cfg.MaxMessageSize, MinMaxMessageSize, MaxMaxMessageSize, DefaultMaxMessageSize)
	}
	switch {
	case cfg.UDPReadBuffer == 0:
		cfg.UDPReadBuffer = DefaultUDPReadBuffer
	case cfg.UDPReadBuffer < 0:
		return nil, fmt.Errorf("inputs/syslog: UDP read buffer %d bytes is negative; use a size such as %d (32 MiB)",
			cfg.UDPReadBuffer, DefaultUDPReadBuffer)
	}
	switch {
	case cfg.UDPReaders == 0:
		cfg.UDPReaders = DefaultUDPReaders
	case cfg.UDPReaders < 0 || cfg.UDPReaders > maxUDPReaders:
		return nil, fmt.Errorf("inputs/syslog: UDP readers %d is out of range; use 1 to %d (default %d)",
			cfg.UDPReaders, maxUDPReaders, DefaultUDPReaders)
	}
	if err := checkLimits(&cfg); err != nil {
		return nil, err
	}
	if err := checkDrain(&cfg); err != nil {
		return nil, err
	}
	tlsConfig, err := checkTLS(&cfg.TLS, cfg.Listen, time.Now())
	if err != nil {
		return nil, err
	}
	proxy, err := parseProxy(cfg.ProxyProtocol, cfg.ProxyProtocolTrusted)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ProxyHeaderTimeout == 0:
		cfg.ProxyHeaderTimeout = DefaultProxyHeaderTimeout
	case cfg.ProxyHeaderTimeout < 0:
		return nil, fmt.Errorf("inputs/syslog: PROXY header timeout %v is negative; use a duration such as %v", cfg.ProxyHeaderTimeout, DefaultProxyHeaderTimeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Events == nil {
		cfg.Events = metrics.NewEvents(nil)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	// The caller names the component (cmd/logshipper: "syslog"); a
	// second "component" key here made every line JSON with a duplicate
	// key, which Elasticsearch refuses when logshipper's own logs are
	// shipped there.
	log := cfg.Logger
	putCtx, cancelPut := context.WithCancel(context.Background())
	return &Server{
		cfg:        cfg,
		sink:       sink,
		durable:    isDurable(sink),
		readLarge:  largeReads(sink, cfg.MaxMessageSize),
		readNormal: framing.LargeBufferSize(cfg.MaxMessageSize),
		handOffs:   newHandOffGate(handOffPlaces()),
		log:        log,
		metrics:    cfg.Metrics,
		c:          newCounters(cfg.Events, cfg.Metrics),
		logFrame:   sampled(log),
		logDrop:    sampled(log),
		logConn:    sampled(log),
		logLimit:   sampled(log),
		logIdle:    sampled(log),
		logTLS:     sampled(log),
		logProxy:   sampled(log),
		tlsConfig:  tlsConfig,
		proxy:      proxy,
		putCtx:     putCtx,
		cancelPut:  cancelPut,
		conns:      make(map[*net.TCPConn]struct{}),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
	}, nil
}

func sampled(l zerolog.Logger) zerolog.Logger {
	return l.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
}

func checkListen(addr string) error {
	if err := hostPortProblem(addr, DefaultListen); err != "" {
		return fmt.Errorf("inputs/syslog: listen address %q: %s", addr, err)
	}
	return nil
}

// checkHostPort checks a host:port setting, naming its key.
func checkHostPort(key, addr, example string) error {
	if err := hostPortProblem(addr, example); err != "" {
		return fmt.Errorf("%s: %q: %s", key, addr, err)
	}
	return nil
}

func hostPortProblem(addr, example string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return fmt.Sprintf("%v; use host:port such as %q", err, example)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Sprintf("port %q is not a number from 0 to 65535", port)
	}
	return ""
}

// Start binds the TCP and the UDP socket on cfg.Listen, and the TLS socket
// on cfg.TLS.Listen if set, and starts serving. It fails, binding none, if
// any cannot be bound.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("inputs/syslog: Start called twice")
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("inputs/syslog: %w", err)
	}
	pc, err := net.ListenPacket("udp", s.cfg.Listen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("inputs/syslog: %w", err)
	}
	if s.tlsConfig != nil {
		tln, err := net.Listen("tcp", s.cfg.TLS.Listen)
		if err != nil {
			ln.Close()
			pc.Close()
			return fmt.Errorf("inputs/syslog: tls.listen: %w", err)
		}
		s.tlsLn = tln.(*net.TCPListener)
	}
	s.tcpLn = ln.(*net.TCPListener)
	s.udpConn = pc.(*net.UDPConn)
	s.started = true

	s.udpWait = udpWaitFor(s.setUDPBuffer())
	if err := enableDropCount(s.udpConn); err != nil {
		s.log.Debug().Err(err).Msg("kernel UDP drop counting (SO_RXQ_OVFL) unavailable")
	}
	if s.udpSock, err = newUDPSocket(s.udpConn); err != nil {
		s.tcpLn.Close()
		s.udpConn.Close()
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
		s.started = false
		return fmt.Errorf("inputs/syslog: %w", err)
	}
	s.udpConn = nil
	s.checkFileLimit()
	s.metrics.ConnectionsLimit.Set(float64(s.cfg.MaxConnections))

	s.wg.Add(1 + s.cfg.UDPReaders)
	go s.acceptLoop(s.tcpLn, "tcp")
	if s.tlsLn != nil {
		s.wg.Add(1)
		go s.acceptLoop(s.tlsLn, "tls")
	}
	for range s.cfg.UDPReaders {
		go s.readUDP()
	}
	// Wait may start now: the counter is above zero, and connection
	// goroutines are only added by the accept loops, which are counted.
	go func() {
		s.wg.Wait()
		close(s.done)
	}()
	s.ready.Store(true)
	ev := s.log.Info().
		Str("tcp", s.tcpLn.Addr().String()).
		Str("udp", s.udpSock.LocalAddr().String())
	if s.tlsLn != nil {
		leaf := s.tlsConfig.Certificates[0].Leaf
		ev = ev.Str("tls", s.tlsLn.Addr().String()).
			Str("tls_min_version", s.cfg.TLS.MinVersion).
			Bool("tls_client_certificates_required", s.tlsConfig.ClientCAs != nil).
			Str("tls_certificate", leaf.Subject.String()).
			Time("tls_certificate_expires", leaf.NotAfter)
	}
	ev.Int("max_message_size", s.cfg.MaxMessageSize).
		Int("max_connections", s.cfg.MaxConnections).
		Int64("max_connection_buffer_bytes", s.worstCaseConnBytes()).
		Str("idle_timeout", idleString(s.cfg.IdleTimeout)).
		Int("udp_readers", s.cfg.UDPReaders).
		Str("proxy_protocol", s.proxy.String())
	if s.proxy.mode != proxyOff {
		ev.Strs("proxy_protocol_trusted", prefixStrings(s.proxy.trusted)).
			Dur("proxy_header_timeout", s.cfg.ProxyHeaderTimeout)
	}
	ev.Msg("syslog input listening")
	for _, p := range s.proxy.trusted {
		if p.Bits() == 0 {
			s.log.Warn().Str("proxy_protocol_trusted", p.String()).
				Msg("proxy_protocol_trusted holds every address: anyone who reaches the port can claim any sender; list only the load balancers' addresses")
		}
	}
	if s.tlsLn != nil {
		if leaf := s.tlsConfig.Certificates[0].Leaf; time.Until(leaf.NotAfter) < 30*24*time.Hour {
			s.log.Warn().Time("expires", leaf.NotAfter).Str("certificate", leaf.Subject.String()).
				Msg("the TLS certificate (tls.cert_file) expires within 30 days; renew it and restart")
		}
	}
	return nil
}

func idleString(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	return d.String()
}

// setUDPBuffer asks for cfg.UDPReadBuffer bytes of socket receive buffer
// and logs what the kernel granted: a small buffer is the usual cause of
// lost UDP syslog under bursts. It returns the granted size (0: unknown).
func (s *Server) setUDPBuffer() int {
	want := s.cfg.UDPReadBuffer
	granted, err := setReadBuffer(s.udpConn, want)
	switch {
	case err != nil:
		s.log.Warn().Err(err).Int("requested_bytes", want).Msg("cannot set the UDP receive buffer size; using the system default")
		return 0
	case granted == 0:
		s.log.Info().Int("requested_bytes", want).Msg("UDP receive buffer requested; granted size unknown on this system")
	case granted < want:
		s.log.Warn().Int("requested_bytes", want).Int("granted_bytes", granted).
			Msg("kernel granted a smaller UDP receive buffer than requested; raise net.core.rmem_max or run with CAP_NET_ADMIN, or bursts may be dropped by the kernel")
	default:
		s.log.Info().Int("requested_bytes", want).Int("granted_bytes", granted).Msg("UDP receive buffer set")
	}
	return granted
}

// udpWaitFor is how long a UDP reader waits after a read that did not
// fill its batch, so that the next read finds several datagrams: at
// 100,000 msgs/s read one by one, waking up costs more CPU than the
// messages themselves (bench/profiles/udp.md). The wait is bounded by
// the receive buffer: it must hold what arrives meanwhile at a million
// datagrams a second of up to 4 KiB of kernel memory each (a 4 MiB
// buffer allows 1 ms, the most, and the default 32 MiB gets it). A
// buffer too small for 100 µs gets no wait: then reading at once is
// what keeps datagrams from being dropped. A full batch is never
// followed by a wait.
func udpWaitFor(granted int) time.Duration {
	w := time.Duration(granted) * time.Second / (4096 * 1_000_000)
	switch {
	case w >= udpMaxWait:
		return udpMaxWait
	case w < 100*time.Microsecond:
		return 0
	}
	return w
}

// udpMaxWait bounds the latency the wait adds to a datagram.
const udpMaxWait = time.Millisecond

// durableReadSize is a busy connection's framing buffer in front of the
// disk buffer. Every read of a busy connection there waits for the commit
// (an fsync) of the read before it, so a read of 256 KiB instead of 72 KiB
// costs a quarter of the fsyncs: measured on one connection, 1.6-1.95
// instead of 2.2-2.3 CPU-s per million messages and 480-550k instead of
// 400-440k msgs/s (bench/profiles/disk.md). In memory mode larger reads
// gained nothing measurable, so there the buffer stays small.
const durableReadSize = 256 << 10

// maxDurableReaders bounds the connections that read durableReadSize at a
// time: the larger reads save fsyncs for a connection that has the disk
// buffer to itself, while many busy connections share each fsync anyway
// (the buffer's commits are grouped), and 512 of them reading 256 KiB held
// 128 MiB and kept the collector at its limit. The others read as in
// memory mode.
const maxDurableReaders = 32

// readSize is the large size of a new connection's framing buffer, and
// what to call when the connection ends.
func (s *Server) readSize() (int, func()) {
	if s.readLarge <= s.readNormal {
		return s.readNormal, func() {}
	}
	if s.durableReads.Add(1) > maxDurableReaders {
		s.durableReads.Add(-1)
		return s.readNormal, func() {}
	}
	return s.readLarge, func() { s.durableReads.Add(-1) }
}

// largeReads is the size a busy connection's framing buffer grows to: for
// a sink whose Commit writes to disk (one that says Durable), larger (for
// at most maxDurableReaders connections at once, readSize).
func largeReads(sink pipeline.Sink, maxMessageSize int) int {
	large := framing.LargeBufferSize(maxMessageSize)
	if isDurable(sink) {
		large = max(large, durableReadSize)
	}
	return large
}

// isDurable: the sink's Commit writes to disk (it says Durable).
func isDurable(sink pipeline.Sink) bool {
	d, ok := sink.(interface{ Durable() bool })
	return ok && d.Durable()
}

// Addr returns the bound TCP and UDP addresses (nil before Start).
func (s *Server) Addr() (tcp net.Addr, udp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcpLn != nil {
		tcp = s.tcpLn.Addr()
	}
	if s.udpSock != nil {
		udp = s.udpSock.LocalAddr()
	}
	return tcp, udp
}

// TLSAddr returns the bound TLS address (nil before Start or when TLS is
// off).
func (s *Server) TLSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn != nil {
		return s.tlsLn.Addr()
	}
	return nil
}

// Describe adds the addresses the server listens on to a log line (the
// start line): tcp, udp and, when on, tls.
func (s *Server) Describe(e *zerolog.Event) {
	tcp, udp := s.Addr()
	if tcp != nil {
		e.Str("tcp", tcp.String())
	}
	if udp != nil {
		e.Str("udp", udp.String())
	}
	if a := s.TLSAddr(); a != nil {
		e.Str("tls", a.String())
	}
}

// Ready reports whether every listener is up (TCP, UDP, and TLS when
// enabled: Start binds all or none) and Stop has not begun.
func (s *Server) Ready() bool { return s.ready.Load() }

// UDPKernelDrops is the number of datagrams the kernel dropped on the UDP
// socket because its receive buffer was full (Linux only; 0 elsewhere).
// The kernel reports it only with the next datagram it does deliver.
func (s *Server) UDPKernelDrops() uint64 { return s.kernelDrops.Load() }

// Stop stops accepting connections, drains the open ones (see drain.go),
// stops reading from the sockets, hands every complete frame already read
// (and a trailing partial frame) to the sink, closes the connections and
// waits for every goroutine.
//
// ctx bounds the whole: the drain ends at its deadline at the latest, and
// Put calls use it, so when it is done, events not yet accepted by the
// sink are dropped (counted as logshipper_events_dropped_total{reason=
// "shutdown"}) and Stop returns an error saying how many. Stop relies on
// the sink honouring ctx.
//
// Reading stops by setting every socket's read deadline in the past: a
// blocked Read returns at once, yet the bytes already in each connection's
// buffer are still framed and delivered. Data still in kernel buffers
// then was never read by logshipper and is not waited for: a sender that
// keeps writing would otherwise hold shutdown open forever. The drain is
// what gives senders the chance to stop writing first.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	first := !s.stopping.Swap(true)
	var drained chan struct{}
	var drainEnd time.Time
	if first {
		s.ready.Store(false)
		close(s.quit)
		s.tcpLn.Close()
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
		drained, drainEnd = s.beginDrain(ctx)
	}
	s.mu.Unlock()

	if drained != nil {
		s.awaitDrain(ctx, drained, drainEnd)
	}
	if first {
		s.mu.Lock()
		s.cutReads()
		s.mu.Unlock()
	}

	stopCancel := context.AfterFunc(ctx, s.cancelPut)
	defer stopCancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		// Put calls are being cancelled; the goroutines return promptly.
		<-s.done
	}
	s.udpSock.Close()
	s.cancelPut()
	if n := s.shutdownDrops.Load(); n > 0 {
		return fmt.Errorf("inputs/syslog: stop: %w: %d events read but not handed to the pipeline", context.Cause(ctx), n)
	}
	s.log.Info().Msg("syslog input stopped")
	return nil
}

// cutReads ends every read at once: the cutoff first, so that no reader
// moves its deadline past it (setDeadline), then the deadlines. The write
// deadline too: a TLS connection may be writing an alert or a key update
// inside Read. Called with s.mu held.
func (s *Server) cutReads() {
	s.cutoff.Store(stopDeadline.UnixNano())
	s.udpSock.stopReading()
	for c := range s.conns {
		c.SetDeadline(stopDeadline)
	}
	if n := len(s.conns); n > 0 {
		s.log.Info().Int("connections", n).Msg("syslog input stopping reads; delivering what was read")
	}
}

// newEvent builds the event for one message: the input's fields only, the
// pipeline parses it. frame is copied: the caller's buffer is reused for
// the next read.
func (s *Server) newEvent(h *handOff, transport, ip, proxyIP string, frame []byte, truncated bool) *event.Event {
	ev := h.event(frame)
	ev.Transport = transport
	ev.SourceIP = ip
	ev.ProxyIP = proxyIP
	ev.Truncated = truncated
	if truncated {
		s.c.truncated.Inc()
		s.c.errOversize.Inc()
		s.logFrame.Warn().Str("transport", transport).Str("source_ip", ip).Int("max_message_size", s.cfg.MaxMessageSize).
			Msg("message longer than the maximum size; truncated (tag _truncated)")
	}
	return ev
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// ipString formats a sender address the way Elasticsearch's ip type
// accepts it: IPv4-mapped IPv6 as plain IPv4, no zone.
func ipString(a netip.Addr) string {
	return a.Unmap().WithZone("").String()
}
