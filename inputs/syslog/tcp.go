package syslog

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/metrics"
)

// Accept back-off: out of file descriptors is the usual cause, and it
// lasts until connections close, so retrying at once would only spin.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := s.tcpLn.AcceptTCP()
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			errAccept.Inc()
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			s.logConn.Warn().Err(err).Dur("retry_in", delay).Msg("accepting a TCP connection failed")
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

		s.mu.Lock()
		if s.stopping.Load() {
			// Stop has begun: nothing was read from this one yet.
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveTCP(c)
	}
}

// serveTCP frames one connection and hands each message to the sink. It
// returns when the sender closes, on a read error, or when Stop's read
// deadline makes the read fail, after delivering what was buffered.
func (s *Server) serveTCP(c *net.TCPConn) {
	defer s.wg.Done()
	metrics.Connections.Inc()
	defer metrics.Connections.Dec()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()

	var ip string
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = ipString(a.AddrPort().Addr())
	}
	s.log.Debug().Str("source_ip", ip).Str("remote", c.RemoteAddr().String()).Msg("TCP connection opened")

	var src io.Reader = c
	if s.readHook != nil {
		src = s.readHook(c)
	}
	fr := framing.NewReader(src, s.cfg.MaxMessageSize)
	var badCounts uint64
	var frames uint64
	for {
		frame, truncated, err := fr.Next()
		if n := fr.BadOctetCounts(); n != badCounts {
			errBadOctetCount.Add(float64(n - badCounts))
			badCounts = n
			s.logFrame.Warn().Str("source_ip", ip).Msg("octet count of 10 digits or more; frame read as a line")
		}
		if err != nil {
			s.connEnded(c, ip, frames, err)
			return
		}
		frames++
		ev := s.newEvent("tcp", ip, frame, truncated)
		receivedTCP.Inc()
		// Put blocks while the pipeline is full: this goroutine stops
		// reading and the sender's TCP window closes. That is the
		// back-pressure, by design.
		if err := s.sink.Put(s.putCtx, ev); err != nil {
			s.dropAtShutdown(ip, err)
		}
	}
}

func (s *Server) connEnded(c *net.TCPConn, ip string, frames uint64, err error) {
	ev := s.log.Debug()
	switch {
	case err == io.EOF:
		err = nil // the sender closed: nothing to report
	case s.stopping.Load() && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)):
		// Our own doing: Stop ended the reads.
	default:
		errTCPRead.Inc()
		ev = s.logConn.Warn()
	}
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Str("source_ip", ip).Str("remote", c.RemoteAddr().String()).Uint64("messages", frames).Msg("TCP connection closed")
}

// dropAtShutdown accounts for an event the sink did not take. Put only
// fails once Stop's grace period is over.
func (s *Server) dropAtShutdown(ip string, err error) {
	s.shutdownDrops.Add(1)
	droppedShutdown.Inc()
	s.logDrop.Warn().Err(err).Str("source_ip", ip).Msg("pipeline did not take an event before the shutdown deadline; dropped")
}
