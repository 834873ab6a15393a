package syslog

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/pipeline"
)

// Accept back-off: out of file descriptors is the usual cause, and it
// lasts until connections close, so retrying at once would only spin.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptLoop accepts connections on ln (the TCP or the TLS listener) until
// Stop, and serves each in its own goroutine, up to MaxConnections.
func (s *Server) acceptLoop(ln *net.TCPListener, transport string) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.c.errAccept.Inc()
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			s.logConn.Warn().Err(err).Str("transport", transport).Dur("retry_in", delay).Msg("accepting a connection failed")
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		if s.admit(c, transport) {
			go s.serveConn(c, transport)
		}
	}
}

// serveConn frames one connection (after the TLS handshake, for "tls") and
// hands each message to the sink. It returns when the sender closes, on a
// read error, after IdleTimeout without data, or when Stop's deadline
// (the drain's end, or at once) makes the read fail, after delivering
// what was buffered (a partial last frame included).
func (s *Server) serveConn(c *net.TCPConn, transport string) {
	defer s.wg.Done()
	s.c.connections.Inc()
	defer s.c.connections.Dec()
	var conn net.Conn = c
	end := endOther
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.noteDrained(end)
		s.mu.Unlock()
		conn.Close() // for TLS, sends close_notify (bounded by a 5 s write deadline)
	}()

	var ip, proxyIP string
	var peer netip.Addr
	// proxied: a trusted balancer's PROXY header was read (a sender's
	// connection through it, or its own health check).
	proxied := false
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.AddrPort().Addr().Unmap()
		ip = ipString(peer)
	}
	s.log.Debug().Str("transport", transport).Str("source_ip", ip).Str("remote", c.RemoteAddr().String()).Msg("connection opened")

	// The PROXY header comes first, before the TLS handshake: balancers
	// send it on the TCP connection without looking inside. Admission
	// (max_connections) has already counted this connection under the
	// balancer's address; from here on the events carry the sender's.
	if s.proxy.mode != proxyOff {
		pc, res, how, ok := s.readProxyHeader(c, transport, ip, peer)
		if !ok {
			end = how
			return
		}
		conn = pc
		proxied = res.version != 0
		if res.source.IsValid() && !res.local {
			proxyIP, ip = ip, ipString(res.source)
			s.log.Debug().Str("transport", transport).Str("source_ip", ip).Str("proxy_ip", proxyIP).
				Int("proxy_version", res.version).Msg("PROXY header: sender named")
		}
	}

	received := s.c.receivedTCP
	if transport == "tls" {
		received = s.c.receivedTLS
		tc, ok := s.handshake(c, conn, ip)
		if !ok {
			return
		}
		conn = tc
	}
	var src io.Reader = conn
	if s.cfg.IdleTimeout > 0 {
		src = idleReader{s: s, c: c, r: conn, timeout: s.cfg.IdleTimeout}
	}
	if s.readHook != nil {
		src = s.readHook(src)
	}
	// The events of one read are handed over together, just before the
	// next read (and its commit) or when the connection ends.
	var h handOff
	handOver := func() {
		if len(h.pending) == 0 {
			return
		}
		evs := h.take()
		received.Add(float64(len(evs)))
		// Put blocks while the pipeline is full: this goroutine stops
		// reading and the sender's TCP window closes. That is the
		// back-pressure, by design.
		if err := s.sink.Put(s.putCtx, evs...); err != nil {
			s.dropAtShutdown(ip, len(evs), err)
		}
	}
	cr := &commitReader{r: src, handOver: handOver, sink: s.sink, now: s.cfg.Now, h: &h,
		gate: s.handOffs, ctx: s.putCtx}
	defer cr.close()
	var fr *framing.Reader
	if s.durable {
		// Every read waits for a commit: busy reads at the large size.
		large, release := s.readSize()
		defer release()
		fr = framing.NewReaderLarge(cr, s.cfg.MaxMessageSize, large)
	} else {
		fr = framing.NewReader(cr, s.cfg.MaxMessageSize)
	}
	var badCounts uint64
	var frames uint64
	for {
		frame, truncated, err := fr.Next()
		if n := fr.BadOctetCounts(); n != badCounts {
			s.c.errBadOctetCount.Add(float64(n - badCounts))
			badCounts = n
			s.logFrame.Warn().Str("transport", transport).Str("source_ip", ip).Msg("octet count of 10 digits or more; frame read as a line")
		}
		if err != nil {
			if proxied && frames == 0 && errors.Is(err, syscall.ECONNRESET) {
				// A balancer's connection that ends in a reset before any
				// message: HAProxy closes its health checks with a reset
				// (no TIME_WAIT on its side), and resets its side when a
				// client connects and goes away without a byte. Nothing
				// was lost: not a read error (as a reset before the
				// header, proxyproto.go).
				err = io.EOF
			}
			switch {
			case err == io.EOF:
				end = endSenderClosed
			case s.stopping.Load() && errors.Is(err, os.ErrDeadlineExceeded):
				end = endCut
			}
			s.connEnded(c, transport, ip, frames, err)
			return
		}
		frames++
		s.newEvent(&h, transport, ip, proxyIP, frame, truncated)
		if h.full() {
			cr.handOverEvents()
		}
	}
}

// commitReader hands the events framed so far to the sink before each
// read from the socket, and has the sink make them durable: with a disk
// buffer, the events of a read are on disk before the events of the next
// read are handed over. Before it waits for data it asks for that without
// waiting (CommitSoon: written now, fsynced within a few milliseconds
// together with other connections' events), and once data has come it
// waits until they are (WaitCommitted, which fsyncs at once if they are
// not yet). So a quiet connection's message does not cost an fsync of its
// own, and a busy connection is still held to the disk's pace, its read
// overlapping the fsync. Reads that find the framing buffer empty are the
// natural batch boundary, so one hand-off and one fsync cover everything
// one read brought. It also stamps the read's receive time on h, and holds
// a place in the server's handOffGate from a read that brought bytes
// until their events are handed over.
type commitReader struct {
	r        io.Reader
	handOver func()
	sink     pipeline.Sink
	now      func() time.Time
	h        *handOff
	dirty    bool  // events were put since the last commit
	err      error // a wait that failed after a read: given at the next one

	gate   *handOffGate
	ctx    context.Context // what entering the gate and waiting give up on
	inGate bool
}

func (c *commitReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.handOverEvents()
	var mark buffer.Mark
	committing := c.dirty
	if committing {
		c.dirty = false
		mark = c.sink.CommitSoon()
	}
	c.leave()
	n, err := c.r.Read(p)
	c.h.now = c.now()
	if committing {
		if werr := c.sink.WaitCommitted(c.ctx, mark); werr != nil {
			// Shutdown (its deadline, or the buffer closed): what this
			// read brought is still framed and handed over (and counted
			// if the sink refuses it); the next read ends the connection.
			c.err = werr
		}
	}
	if n > 0 {
		c.inGate = c.gate.enter(c.ctx)
	}
	return n, err
}

func (c *commitReader) leave() {
	if c.inGate {
		c.inGate = false
		c.gate.leave()
	}
}

// close hands over and commits what is left, and gives up its place.
func (c *commitReader) close() {
	c.handOverEvents()
	if c.dirty {
		_ = c.sink.Commit(c.ctx)
	}
	c.leave()
}

// handOverEvents hands the pending events to the sink; the next read
// commits them first.
func (c *commitReader) handOverEvents() {
	if len(c.h.pending) > 0 {
		c.handOver()
		c.dirty = true
	}
}

func (s *Server) connEnded(c *net.TCPConn, transport, ip string, frames uint64, err error) {
	ev := s.log.Debug()
	msg := "connection closed"
	switch {
	case err == io.EOF:
		err = nil // the sender closed: nothing to report
	case s.stopping.Load() && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)):
		// Our own doing: Stop ended the reads.
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Only the idle reader sets a deadline while running.
		s.c.errIdleTimeout.Inc()
		ev = s.logIdle.Info().Dur("idle_timeout", s.cfg.IdleTimeout)
		msg = "connection idle for idle_timeout; closed"
		err = nil
	default:
		s.c.errTCPRead.Inc()
		ev = s.logConn.Warn()
	}
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Str("transport", transport).Str("source_ip", ip).Str("remote", c.RemoteAddr().String()).Uint64("messages", frames).Msg(msg)
}

// dropAtShutdown accounts for n events the sink did not take. Put only
// fails once Stop's grace period is over.
func (s *Server) dropAtShutdown(ip string, n int, err error) {
	s.shutdownDrops.Add(uint64(n))
	s.c.droppedShutdown.Add(float64(n))
	s.logDrop.Warn().Err(err).Str("source_ip", ip).Int("events", n).Msg("pipeline did not take events before the shutdown deadline; dropped")
}
