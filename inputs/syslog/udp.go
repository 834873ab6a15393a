package syslog

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/pipeline"
)

// readUDP reads datagrams, one message each, until Stop. Several run on
// the same socket: the kernel hands each datagram to one of them.
func (s *Server) readUDP() {
	defer s.wg.Done()
	// One byte more than the largest message kept, so that a longer
	// datagram is seen to be longer (the kernel silently cuts it to the
	// buffer). Datagrams never exceed maxUDPPayload.
	buf := make([]byte, min(s.cfg.MaxMessageSize, maxUDPPayload)+1)
	var oob []byte
	if oobSize > 0 {
		oob = make([]byte, oobSize)
	}
	// Senders are few and send many datagrams: keep the last address's
	// string instead of formatting (and allocating) it per datagram.
	var lastAddr netip.Addr
	var lastIP string
	var errStreak int
	for {
		n, oobn, _, from, err := s.udpConn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			errUDPRead.Inc()
			errStreak++
			s.logConn.Warn().Err(err).Msg("reading the UDP socket failed")
			if !s.pause(time.Duration(min(errStreak, 100)) * time.Millisecond) {
				return
			}
			continue
		}
		errStreak = 0
		if oobn > 0 {
			s.noteKernelDrops(oob[:oobn])
		}
		if a := from.Addr(); a != lastAddr || lastIP == "" {
			lastAddr, lastIP = a, ipString(a)
		}

		msg := buf[:n]
		truncated := n > s.cfg.MaxMessageSize
		if truncated {
			msg = msg[:s.cfg.MaxMessageSize]
		}
		if msg = framing.TrimTrailing(msg); len(msg) == 0 {
			continue
		}
		ev := s.newEvent("udp", lastIP, msg, truncated)
		receivedUDP.Inc()
		// Never block on UDP: the socket buffer would fill and the kernel
		// would drop instead, uncounted by us.
		if err := s.sink.TryPut(ev); err != nil {
			metrics.EventsDropped.WithLabelValues(pipeline.DropReason(err)).Inc()
			s.logDrop.Warn().Err(err).Str("source_ip", lastIP).Msg("UDP message dropped")
		}
	}
}

// noteKernelDrops records the socket's drop count the kernel attached to
// a datagram, and logs when it has grown.
func (s *Server) noteKernelDrops(oob []byte) {
	c, ok := dropCount(oob)
	if !ok {
		return
	}
	n := uint64(c)
	for {
		seen := s.kernelDrops.Load()
		if n <= seen {
			return
		}
		if s.kernelDrops.CompareAndSwap(seen, n) {
			metrics.EventsDropped.WithLabelValues(metrics.DropUDPKernel).Add(float64(n - seen))
			s.logDrop.Warn().Uint64("dropped_total", n).Uint64("dropped_new", n-seen).
				Msg("kernel dropped UDP datagrams: socket receive buffer full; raise udp.read_buffer (and net.core.rmem_max) or udp.readers")
			return
		}
	}
}

// pause waits d, or less if Stop begins; it reports false on Stop.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.quit:
		return false
	}
}
