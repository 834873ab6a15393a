package syslog

import (
	"fmt"
	"io"
	"net"
	"time"
)

// Connection limits. See README.md for the measurements behind them.
const (
	// DefaultMaxConnections bounds the TCP and TLS connections open at
	// once. An idle plain TCP connection costs about 9 KiB (measured: the
	// 4 KiB framing buffer and 1.3 KiB of objects on the heap, a 4 KiB
	// goroutine stack), so 4096 idle ones hold about 37 MB; with framing
	// buffers allocated at full size it would be 77 KiB each, 310 MB. The
	// bound that matters is the hostile one: a connection in the middle of
	// a long message holds the large framing buffer (72 KiB at the default
	// 64 KiB max_message_size), and one blocked on a full pipeline also
	// the event it is handing over (up to about 2 × max_message_size), so
	// 4096 such connections can hold 4096 × ~205 KiB ≈ 820 MB. rsyslog's
	// imtcp allows 200 sessions by default, syslog-ng 10; 4096 sending
	// hosts per replica is generous, and the limit can be raised.
	DefaultMaxConnections = 4096
	// MaxMaxConnections is the highest MaxConnections accepted.
	MaxMaxConnections = 1 << 20
	// DefaultIdleTimeout closes connections that have sent nothing for
	// that long: long enough that a quiet but healthy sender is not
	// reconnecting all the time, short enough that dead peers (a host
	// powered off without a FIN, a NAT that forgot the flow) do not hold
	// their MaxConnections slot for hours.
	DefaultIdleTimeout = 5 * time.Minute
	// NoIdleTimeout, as Config.IdleTimeout, keeps idle connections open
	// forever. (Zero takes the default, as for every Config field.)
	NoIdleTimeout time.Duration = -1
)

// InputErrors kinds of the connection limits.
const (
	kindMaxConnections = "max_connections" // a connection arrived while MaxConnections were open; refused
	kindIdleTimeout    = "idle_timeout"    // a connection sent nothing for IdleTimeout; closed
)

// checkLimits applies the defaults of the connection limits and checks
// them. Errors name the configuration keys logshipper maps them to.
func checkLimits(cfg *Config) error {
	switch {
	case cfg.MaxConnections == 0:
		cfg.MaxConnections = DefaultMaxConnections
	case cfg.MaxConnections < 0 || cfg.MaxConnections > MaxMaxConnections:
		return fmt.Errorf("max_connections: %d is out of range; use 1 to %d (default %d)",
			cfg.MaxConnections, MaxMaxConnections, DefaultMaxConnections)
	}
	switch {
	case cfg.IdleTimeout == 0:
		cfg.IdleTimeout = DefaultIdleTimeout
	case cfg.IdleTimeout < 0:
		cfg.IdleTimeout = NoIdleTimeout
	case cfg.IdleTimeout < time.Millisecond:
		return fmt.Errorf("idle_timeout: %v is too short; use a duration such as 5m (default %v), or 0 for none", cfg.IdleTimeout, DefaultIdleTimeout)
	}
	return nil
}

// worstCaseConnBytes is what MaxConnections connections can hold at most
// in framing buffers: logged at start so the operator sees what the limit
// means.
func (s *Server) worstCaseConnBytes() int64 {
	n := int64(s.cfg.MaxConnections)
	if s.readLarge <= s.readNormal {
		return n * int64(s.readNormal)
	}
	durable := min(n, maxDurableReaders)
	return durable*int64(s.readLarge) + (n-durable)*int64(s.readNormal)
}

// admit registers an accepted connection, or closes it if Stop has begun
// or MaxConnections are already open, and reports which. Covers TCP and
// TLS together.
func (s *Server) admit(c *net.TCPConn, transport string) bool {
	s.mu.Lock()
	if s.stopping.Load() {
		// Stop has begun: nothing was read from this one yet.
		s.mu.Unlock()
		c.Close()
		return false
	}
	if len(s.conns) >= s.cfg.MaxConnections {
		s.mu.Unlock()
		s.refuse(c, transport)
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return true
}

// refuse closes a connection over the limit at once. It was accepted, not
// left in the listen backlog: a sender whose SYN sits in a full backlog
// hangs in connect for a minute or more, while one that is accepted and
// reset sees the failure at once and can retry elsewhere (another replica
// behind a load balancer). The reset (SO_LINGER 0) rather than a FIN makes
// the sender's first write fail instead of vanishing into a half-closed
// connection.
func (s *Server) refuse(c *net.TCPConn, transport string) {
	c.SetLinger(0)
	c.Close()
	s.c.errMaxConnections.Inc()
	s.logLimit.Warn().Str("transport", transport).Str("remote", c.RemoteAddr().String()).
		Int("max_connections", s.cfg.MaxConnections).
		Msg("connection limit reached; new connection refused (raise max_connections, or look for a sender that opens connections without closing them)")
}

// stopDeadline is the deadline Stop sets to end every read at once.
var stopDeadline = time.Unix(1, 0)

// setDeadline sets c's read and write deadline to t (zero: none), but no
// later than the cutoff Stop has set (the end of the drain, or
// stopDeadline): a reader that moved its deadline just after Stop set its
// own must not read past Stop's.
//
// Stop stores the cutoff before it sets the deadlines, so either this
// call's deadline came first and Stop's overwrote it, or this call sees
// the cutoff and applies it. The cutoff only ever moves earlier; the loop
// catches it moving while this call applies the previous one.
func (s *Server) setDeadline(c *net.TCPConn, t time.Time) {
	c.SetDeadline(t)
	for {
		cut := s.cutoff.Load()
		if cut == 0 || (!t.IsZero() && t.UnixNano() <= cut) {
			return
		}
		t = time.Unix(0, cut)
		c.SetDeadline(t)
	}
}

// idleReader moves the connection's deadline IdleTimeout ahead before
// every read, so the connection is closed after IdleTimeout without data.
// A deadline and not a timer: the runtime's network poller already keeps
// one per socket, and moving it costs one timer update per read (not per
// message: one read brings up to a buffer of messages).
//
// The write deadline moves too: a TLS connection writes inside Read (alerts,
// key updates), and a peer that never reads must not block that write
// forever.
type idleReader struct {
	s       *Server
	c       *net.TCPConn
	r       io.Reader
	timeout time.Duration
}

func (ir idleReader) Read(p []byte) (int, error) {
	ir.s.setDeadline(ir.c, time.Now().Add(ir.timeout))
	return ir.r.Read(p)
}

// fdReserve is what the process needs besides syslog connections: the
// listeners, the HTTP endpoint, connections to Elasticsearch, files.
const fdReserve = 128

// checkFileLimit warns when the open-file limit is below MaxConnections:
// then accept fails with EMFILE (counted as kind="accept", with back-off)
// before the connection limit is reached, and Elasticsearch connections
// and files fail with it.
func (s *Server) checkFileLimit() {
	limit, ok := openFileLimit()
	if !ok || limit >= uint64(s.cfg.MaxConnections)+fdReserve {
		return
	}
	s.log.Warn().Uint64("open_file_limit", limit).Int("max_connections", s.cfg.MaxConnections).
		Msg("the open-file limit (ulimit -n, docker --ulimit nofile) is below max_connections plus a reserve; raise it or lower max_connections")
}
