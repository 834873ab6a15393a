package syslog

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// The drain: what Stop does between closing the listeners and ending the
// reads, so that a replica taken away by a rolling update or a scale-down
// loses nothing its TCP senders wrote.
//
// Plain TCP syslog has no acknowledgements: bytes a sender has written sit
// in its kernel and in ours until logshipper reads them, and a receiver
// that closes a connection with unread bytes destroys them (the kernel
// answers with a reset). So Stop does not close connections. It half-closes
// each one instead (shutdown(SHUT_WR): a FIN to the sender) and keeps
// reading it. A sender that watches its socket sees the end of the stream
// and reconnects, through the load balancer, to another replica: rsyslog's
// omfwd peeks at the socket before each send for exactly this (its
// CheckConnection), and syslog-ng polls its destination sockets for
// input. It closes the old connection only after its last write to it, so
// reading that connection until the sender closes it reads every byte, and
// the sender's next message goes to the new connection: nothing lost,
// nothing twice. A load balancer in between must pass the half-close on,
// as an L4 one (IPVS, Docker's routing mesh) does; nginx needs
// proxy_half_close on.
//
// The drain ends when every connection has been closed by its sender, or
// at DrainTimeout (or Stop's context deadline, if sooner). Connections
// still open then are cut as before the drain existed: what their senders
// had in flight is lost. They are counted and logged. UDP is read during
// the drain too, as a load balancer may still route datagrams here until
// it notices; with no TCP connection open, there is no drain at all and
// the UDP socket closes at once.

// Drain defaults for Config.DrainTimeout.
const (
	// DefaultDrainTimeout bounds the drain: long enough for a sender that
	// writes at least every few seconds to notice the FIN and move, short
	// enough to leave most of a 10 s shutdown grace period to the flush.
	// Idle senders need no time at all: they find the FIN before their
	// next write, whenever that is.
	DefaultDrainTimeout = 5 * time.Second
	// NoDrain, as Config.DrainTimeout, ends every read at once on Stop.
	NoDrain time.Duration = -1
)

// drainStats counts how the connections open at Stop ended.
type drainStats struct {
	closedBySender atomic.Int64 // the sender closed during the drain (EOF)
	cut            atomic.Int64 // the drain's deadline ended the read
}

// connEnd is how a connection ended, as far as the drain is concerned.
type connEnd int

const (
	endOther        connEnd = iota // an error, a failed handshake, ...
	endSenderClosed                // EOF from the sender
	endCut                         // a deadline set by Stop
)

func checkDrain(cfg *Config) error {
	switch {
	case cfg.DrainTimeout == 0:
		cfg.DrainTimeout = DefaultDrainTimeout
	case cfg.DrainTimeout < 0:
		cfg.DrainTimeout = NoDrain
	case cfg.DrainTimeout < time.Millisecond:
		return fmt.Errorf("shutdown.drain_timeout: %v is too short; use a duration such as 5s (default %v), or 0 for no drain",
			cfg.DrainTimeout, DefaultDrainTimeout)
	}
	return nil
}

// beginDrain half-closes every open connection and lets reads go on until
// the drain's end. It returns a channel closed when the last connection
// has ended, and the end; a nil channel means there is nothing to drain.
// Called with s.mu held, listeners closed.
func (s *Server) beginDrain(ctx context.Context) (chan struct{}, time.Time) {
	if s.cfg.DrainTimeout <= 0 || len(s.conns) == 0 {
		return nil, time.Time{}
	}
	end := time.Now().Add(s.cfg.DrainTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	s.cutoff.Store(end.UnixNano())
	// UDP reads go on until cutReads, at the drain's end.
	for c := range s.conns {
		// For TLS the FIN comes without a close_notify alert: the
		// sender sees the stream end all the same, and sending an alert
		// here would race with the connection's reader.
		c.CloseWrite()
		c.SetDeadline(end)
	}
	s.drained = make(chan struct{})
	s.log.Info().Int("connections", len(s.conns)).Dur("drain_timeout", s.cfg.DrainTimeout).
		Msg("syslog input draining: listeners closed, end of stream sent to every sender; reading until they close (senders reconnect to another replica)")
	return s.drained, end
}

// awaitDrain waits until every connection has ended, the drain's end has
// come, or ctx is done, and logs how the connections ended.
func (s *Server) awaitDrain(ctx context.Context, drained <-chan struct{}, end time.Time) {
	t := time.NewTimer(time.Until(end))
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	// Those still open are cut next (cutReads); those the drain's
	// deadline ended on its own already were.
	cut := int64(len(s.conns)) + s.drainStats.cut.Load()
	s.drained = nil
	s.mu.Unlock()
	ev := s.log.Info()
	msg := "syslog input drained: every sender closed its connection"
	if cut > 0 {
		ev = s.log.Warn()
		msg = "syslog input drain ended with connections still open; cutting them: what their senders had in flight is lost (raise shutdown.drain_timeout, or use senders that reconnect on end of stream)"
	}
	ev.Int64("closed_by_sender", s.drainStats.closedBySender.Load()).Int64("cut", cut).Msg(msg)
}

// noteDrained is called for each connection that ends, after it left
// s.conns: during the drain, it counts how it ended and closes s.drained
// after the last connection. Called with s.mu held.
func (s *Server) noteDrained(end connEnd) {
	if s.drained == nil {
		return
	}
	switch end {
	case endSenderClosed:
		s.drainStats.closedBySender.Add(1)
	case endCut:
		s.drainStats.cut.Add(1)
	}
	if len(s.conns) == 0 {
		close(s.drained)
		s.drained = nil
	}
}
