package syslog

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/inputs/framing"
	"github.com/logshipper/logshipper/pipeline"
)

// udpBatchSize is how many datagrams one read may return (recvmmsg): at
// 100k msgs/s one system call per datagram costs more CPU than the rest of
// the path together. 64 measured no better than 32.
const udpBatchSize = 32

// readUDP reads datagrams, one message each, until Stop. Several run on
// the same socket: the kernel hands each datagram to one of them.
func (s *Server) readUDP() {
	defer s.wg.Done()
	// One byte more than the largest message kept, so that a longer
	// datagram is seen to be longer (the kernel silently cuts it to the
	// buffer). Datagrams never exceed maxUDPPayload.
	// With the PROXY protocol a datagram also carries the header, which
	// does not count against the message size.
	extra := 0
	if s.proxy.mode != proxyOff {
		extra = maxUDPProxyHeader
	}
	size := min(s.cfg.MaxMessageSize+extra, maxUDPPayload) + 1
	batch := s.udpSock.newBatch(udpBatchSize, size, oobSize)
	// Senders are few and send many datagrams: keep the last address's
	// string instead of formatting (and allocating) it per datagram.
	var lastAddr netip.Addr
	var lastIP string
	var errStreak int
	var h handOff
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		// Holding events, only read what is already there: a reader that
		// waited for more would hold them until the next datagram.
		holding := len(h.pending) > 0
		n, err := batch.read(!holding)
		if err != nil {
			s.handOverDatagrams(&h)
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, syscall.EAGAIN) { // nothing there, or a blocking read's udpIdleWake
				continue
			}
			s.c.errUDPRead.Inc()
			errStreak++
			s.logConn.Warn().Err(err).Msg("reading the UDP socket failed")
			if !s.pause(wait, time.Duration(min(errStreak, 100))*time.Millisecond) {
				return
			}
			continue
		}
		errStreak = 0
		if !holding {
			h.now = s.cfg.Now()
		}
		for i := range n {
			msg, from, oob := batch.datagram(i)
			if len(oob) > 0 {
				s.noteKernelDrops(oob)
			}
			if from != lastAddr || lastIP == "" {
				lastAddr, lastIP = from, ipString(from)
			}
			s.handleDatagram(&h, msg, len(msg) == size, lastIP, lastAddr)
		}
		// A full batch means more may be waiting: read them before handing
		// over, so that one wake-up of the pipeline carries all of them.
		if n == udpBatchSize && !h.full() && readsWithoutWaiting {
			continue
		}
		s.handOverDatagrams(&h)
		if n < udpBatchSize && s.udpWait > 0 && !s.pause(wait, s.udpWait) {
			return
		}
	}
}

// handOverDatagrams queues the events read since the last hand-over (the
// recvmmsg calls up to one that returned less than a full batch, at most
// a handOff's worth) in one append. Never blocking on UDP: the socket
// buffer would fill and the kernel would drop instead, uncounted by us.
func (s *Server) handOverDatagrams(h *handOff) {
	if len(h.pending) == 0 {
		return
	}
	evs := h.take()
	s.c.receivedUDP.Add(float64(len(evs)))
	n, err := s.sink.TryPut(evs...)
	if n == len(evs) {
		return
	}
	s.c.dropped.WithLabelValues(pipeline.DropReason(err)).Add(float64(len(evs) - n))
	s.logDrop.Warn().Err(err).Str("source_ip", evs[0].SourceIP).Int("events", len(evs)-n).Msg("UDP messages dropped")
}

// maxUDPProxyHeader is the room a datagram's buffer has for a PROXY v2
// header besides the message: the fixed part, IPv6 addresses and a few
// hundred bytes of TLVs (balancers send none or a few short ones). A
// longer header eats into the message, which is then cut, as any message
// longer than the buffer.
const maxUDPProxyHeader = 16 + 36 + 460

// handleDatagram turns one datagram into an event for h. cut:
// the datagram filled the read buffer, so the kernel may have cut it. peer
// is the sender's address (ip formatted).
func (s *Server) handleDatagram(h *handOff, msg []byte, cut bool, ip string, peer netip.Addr) {
	var proxyIP string
	if s.proxy.mode != proxyOff {
		payload, res, ok := s.datagramProxy(msg, ip, peer.Unmap())
		if !ok {
			return
		}
		msg = payload
		if res.source.IsValid() && !res.local {
			proxyIP, ip = ip, ipString(res.source)
		}
	}
	truncated := cut || len(msg) > s.cfg.MaxMessageSize
	if len(msg) > s.cfg.MaxMessageSize {
		msg = msg[:s.cfg.MaxMessageSize]
	}
	if msg = framing.TrimTrailing(msg); len(msg) == 0 {
		return
	}
	s.newEvent(h, "udp", ip, proxyIP, msg, truncated)
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
			s.c.droppedUDPKernel.Add(float64(n - seen))
			s.logDrop.Warn().Uint64("dropped_total", n).Uint64("dropped_new", n-seen).
				Msg("kernel dropped UDP datagrams: socket receive buffer full; raise udp.read_buffer (and net.core.rmem_max) or udp.readers")
			return
		}
	}
}

// pause waits d on t (a stopped timer, reused: a UDP reader pauses up to
// a thousand times a second), or less if Stop begins; it reports false on
// Stop.
func (s *Server) pause(t *time.Timer, d time.Duration) bool {
	t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-s.quit:
		t.Stop()
		return false
	}
}
