// Package syslog receives syslog messages over TCP and UDP and hands them
// to the pipeline, one event per message: that is its one job. It frames
// TCP streams with inputs/framing, stamps each message with its receive
// time, transport and sender, lets the configured parser fill in the rest,
// and counts what it sees.
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
package syslog

import (
	"bytes"
	"context"
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
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// Defaults for zero Config fields.
const (
	DefaultListen         = ":10514"
	DefaultMaxMessageSize = 64 << 10
	DefaultUDPReadBuffer  = 8 << 20
	DefaultUDPReaders     = 2
)

// Limits on Config values.
const (
	// MinMaxMessageSize is the size RFC 3164 requires every receiver to
	// accept.
	MinMaxMessageSize = 480
	// MaxMaxMessageSize bounds the buffer each TCP connection allocates.
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
	kindParsePanic    = "parse_panic"     // Config.Parse panicked; the event was kept unparsed
)

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	Listen         string             // host:port, used for BOTH tcp and udp (default ":10514")
	MaxMessageSize int                // default 65536
	UDPReadBuffer  int                // SO_RCVBUF bytes asked for, default 8 MiB (the size the kernel granted is logged)
	UDPReaders     int                // goroutines reading the UDP socket, default 2
	Parse          func(*event.Event) // fills parsed fields; called in the reader goroutine; required
	Now            func() time.Time   // receive clock; default time.Now
	Logger         zerolog.Logger
}

// Server is a syslog listener on one TCP and one UDP socket.
type Server struct {
	cfg  Config
	sink pipeline.Sink
	log  zerolog.Logger
	// Sampled loggers for per-message problems, one per kind so that a
	// flood of one kind does not hide the others.
	logFrame, logDrop, logConn, logParse zerolog.Logger

	// putCtx is what Put waits on: never done while running, cancelled
	// when Stop's grace period runs out.
	putCtx    context.Context
	cancelPut context.CancelFunc

	mu       sync.Mutex
	started  bool
	tcpLn    *net.TCPListener
	udpConn  *net.UDPConn
	conns    map[*net.TCPConn]struct{}
	stopping atomic.Bool
	ready    atomic.Bool
	quit     chan struct{} // closed by Stop: wakes the accept back-off
	done     chan struct{} // closed when every goroutine has returned
	wg       sync.WaitGroup

	shutdownDrops atomic.Uint64 // events read but not handed over at Stop
	kernelDrops   atomic.Uint64 // highest SO_RXQ_OVFL count seen

	// readHook, if set (tests only), wraps each connection's reader.
	readHook func(io.Reader) io.Reader
}

// New checks cfg, fills in defaults and returns a Server that is not yet
// listening.
func New(cfg Config, sink pipeline.Sink) (*Server, error) {
	if sink == nil {
		return nil, errors.New("inputs/syslog: sink is nil")
	}
	if cfg.Parse == nil {
		return nil, errors.New("inputs/syslog: Config.Parse is nil; pass the parser's Parse function")
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
		return nil, fmt.Errorf("inputs/syslog: UDP read buffer %d bytes is negative; use a size such as %d (8 MiB)",
			cfg.UDPReadBuffer, DefaultUDPReadBuffer)
	}
	switch {
	case cfg.UDPReaders == 0:
		cfg.UDPReaders = DefaultUDPReaders
	case cfg.UDPReaders < 0 || cfg.UDPReaders > maxUDPReaders:
		return nil, fmt.Errorf("inputs/syslog: UDP readers %d is out of range; use 1 to %d (default %d)",
			cfg.UDPReaders, maxUDPReaders, DefaultUDPReaders)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger.With().Str("component", "inputs/syslog").Logger()
	putCtx, cancelPut := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		sink:      sink,
		log:       log,
		logFrame:  sampled(log),
		logDrop:   sampled(log),
		logConn:   sampled(log),
		logParse:  sampled(log),
		putCtx:    putCtx,
		cancelPut: cancelPut,
		conns:     make(map[*net.TCPConn]struct{}),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

func sampled(l zerolog.Logger) zerolog.Logger {
	return l.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return fmt.Errorf("inputs/syslog: listen address %q: %v; use host:port such as %q", addr, err, DefaultListen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("inputs/syslog: listen address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// Start binds the TCP and the UDP socket on cfg.Listen and starts serving.
// It fails, binding neither, if either cannot be bound.
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
	s.tcpLn = ln.(*net.TCPListener)
	s.udpConn = pc.(*net.UDPConn)
	s.started = true

	s.setUDPBuffer()
	if err := enableDropCount(s.udpConn); err != nil {
		s.log.Debug().Err(err).Msg("kernel UDP drop counting (SO_RXQ_OVFL) unavailable")
	}

	s.wg.Add(1 + s.cfg.UDPReaders)
	go s.acceptLoop()
	for range s.cfg.UDPReaders {
		go s.readUDP()
	}
	// Wait may start now: the counter is above zero, and connection
	// goroutines are only added by the accept loop, which is counted.
	go func() {
		s.wg.Wait()
		close(s.done)
	}()
	s.ready.Store(true)
	s.log.Info().
		Str("tcp", s.tcpLn.Addr().String()).
		Str("udp", s.udpConn.LocalAddr().String()).
		Int("max_message_size", s.cfg.MaxMessageSize).
		Int("udp_readers", s.cfg.UDPReaders).
		Msg("syslog input listening")
	return nil
}

// setUDPBuffer asks for cfg.UDPReadBuffer bytes of socket receive buffer
// and logs what the kernel granted: a small buffer is the usual cause of
// lost UDP syslog under bursts.
func (s *Server) setUDPBuffer() {
	want := s.cfg.UDPReadBuffer
	granted, err := setReadBuffer(s.udpConn, want)
	switch {
	case err != nil:
		s.log.Warn().Err(err).Int("requested_bytes", want).Msg("cannot set the UDP receive buffer size; using the system default")
	case granted == 0:
		s.log.Info().Int("requested_bytes", want).Msg("UDP receive buffer requested; granted size unknown on this system")
	case granted < want:
		s.log.Warn().Int("requested_bytes", want).Int("granted_bytes", granted).
			Msg("kernel granted a smaller UDP receive buffer than requested; raise net.core.rmem_max or run with CAP_NET_ADMIN, or bursts may be dropped by the kernel")
	default:
		s.log.Info().Int("requested_bytes", want).Int("granted_bytes", granted).Msg("UDP receive buffer set")
	}
}

// Addr returns the bound TCP and UDP addresses (nil before Start).
func (s *Server) Addr() (tcp net.Addr, udp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcpLn != nil {
		tcp = s.tcpLn.Addr()
	}
	if s.udpConn != nil {
		udp = s.udpConn.LocalAddr()
	}
	return tcp, udp
}

// Ready reports whether both listeners are up and Stop has not begun.
func (s *Server) Ready() bool { return s.ready.Load() }

// UDPKernelDrops is the number of datagrams the kernel dropped on the UDP
// socket because its receive buffer was full (Linux only; 0 elsewhere).
// The kernel reports it only with the next datagram it does deliver.
func (s *Server) UDPKernelDrops() uint64 { return s.kernelDrops.Load() }

// Stop stops accepting connections and reading from the sockets, hands
// every complete frame already read (and a trailing partial frame) to the
// sink, closes the connections and waits for every goroutine.
//
// ctx bounds the whole: Put calls use it, so when it is done, events not
// yet accepted by the sink are dropped (counted as
// logshipper_events_dropped_total{reason="shutdown"}) and Stop returns an
// error saying how many. Stop relies on the sink honouring ctx.
//
// Reading stops by setting every socket's read deadline in the past: a
// blocked Read returns at once, yet the bytes already in each connection's
// buffer are still framed and delivered. Data still in kernel buffers was
// never read by logshipper and is not waited for: a sender that keeps
// writing would otherwise hold shutdown open forever.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	if !s.stopping.Swap(true) {
		s.ready.Store(false)
		close(s.quit)
		s.tcpLn.Close()
		past := time.Unix(1, 0)
		s.udpConn.SetReadDeadline(past)
		for c := range s.conns {
			c.SetReadDeadline(past)
		}
		s.log.Info().Int("connections", len(s.conns)).Msg("syslog input stopping; delivering what was read")
	}
	s.mu.Unlock()

	stopCancel := context.AfterFunc(ctx, s.cancelPut)
	defer stopCancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		// Put calls are being cancelled; the goroutines return promptly.
		<-s.done
	}
	s.udpConn.Close()
	s.cancelPut()
	if n := s.shutdownDrops.Load(); n > 0 {
		return fmt.Errorf("inputs/syslog: stop: %w: %d events read but not handed to the pipeline", context.Cause(ctx), n)
	}
	s.log.Info().Msg("syslog input stopped")
	return nil
}

// Cached counters: WithLabelValues hashes its labels on every call.
var (
	receivedTCP      = metrics.EventsReceived.WithLabelValues("tcp")
	receivedUDP      = metrics.EventsReceived.WithLabelValues("udp")
	droppedQueueFull = metrics.EventsDropped.WithLabelValues(metrics.DropQueueFull)
	droppedShutdown  = metrics.EventsDropped.WithLabelValues(metrics.DropShutdown)
	errOversize      = metrics.InputErrors.WithLabelValues(kindOversize)
	errBadOctetCount = metrics.InputErrors.WithLabelValues(kindBadOctetCount)
	errAccept        = metrics.InputErrors.WithLabelValues(kindAccept)
	errTCPRead       = metrics.InputErrors.WithLabelValues(kindTCPRead)
	errUDPRead       = metrics.InputErrors.WithLabelValues(kindUDPRead)
	errParsePanic    = metrics.InputErrors.WithLabelValues(kindParsePanic)
)

// newEvent builds and parses the event for one message. frame is copied:
// the caller's buffer is reused for the next read.
func (s *Server) newEvent(transport, ip string, frame []byte, truncated bool) *event.Event {
	ev := &event.Event{
		Received:  s.cfg.Now(),
		Transport: transport,
		SourceIP:  ip,
		Raw:       bytes.Clone(frame),
		Truncated: truncated,
	}
	s.parse(ev)
	if truncated {
		metrics.Truncated.Inc()
		errOversize.Inc()
		s.logFrame.Warn().Str("transport", transport).Str("source_ip", ip).Int("max_message_size", s.cfg.MaxMessageSize).
			Msg("message longer than the maximum size; truncated (tag _truncated)")
	}
	if ev.ParseFailed {
		metrics.ParseFailures.Inc()
	}
	return ev
}

// parse runs cfg.Parse, keeping the event (unparsed) if it panics: a
// parser bug triggered by one crafted message must not take down the
// process or the connection.
func (s *Server) parse(ev *event.Event) {
	defer func() {
		if p := recover(); p != nil {
			errParsePanic.Inc()
			s.logParse.Error().Interface("panic", p).Str("source_ip", ev.SourceIP).
				Bytes("raw_prefix", ev.Raw[:min(len(ev.Raw), 200)]).Msg("parser panicked; event kept unparsed")
			*ev = event.Event{
				Received:    ev.Received,
				Transport:   ev.Transport,
				SourceIP:    ev.SourceIP,
				Raw:         ev.Raw,
				Truncated:   ev.Truncated,
				Priority:    event.DefaultPriority,
				Message:     string(ev.Raw),
				ParseFailed: true,
			}
		}
	}()
	s.cfg.Parse(ev)
}

// ipString formats a sender address the way Elasticsearch's ip type
// accepts it: IPv4-mapped IPv6 as plain IPv4, no zone.
func ipString(a netip.Addr) string {
	return a.Unmap().WithZone("").String()
}
