//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// paceTick is the senders' pace: every tick each sends what its rate made
// due since it started (so a sender that was held up catches up, as
// rsyslog empties its queue).
const paceTick = 100 * time.Millisecond

// resumeAfter: a sender that failed over to its secondary replica tries its
// primary again after this long, as rsyslog resumes a suspended primary
// action (action.resumeInterval) and omfwd moves back to it.
const resumeAfter = 10 * time.Second

// connRecord is one TCP connection of a sender: to which replica, when,
// which sequence numbers were written on it and how it ended.
type connRecord struct {
	sender      string
	replica     int // index into s.reps
	incarnation int // the replica's incarnation when connected (best effort)
	opened      time.Time
	closed      time.Time // zero while open
	first, last int64     // sequence numbers written on it; first -1: none
	end         string
}

// tcpSender sends like rsyslog's omfwd over TCP: one persistent
// connection; before each write a non-blocking recv(MSG_PEEK) checks it
// (rsyslog's CheckConnection): 0 bytes means the replica closed it (drain
// on SIGTERM), so it is closed and a new one opened before the write. A
// failed write is counted and the message written again on a new
// connection. Connections go to the primary replica, or to the other one
// when the primary refuses (failover); after resumeAfter on the secondary
// it moves back to the primary when that accepts.
type tcpSender struct {
	s       *soak
	name    string
	rate    int
	primary int

	next         int64 // the next sequence number: messages sent so far
	conn         *net.TCPConn
	rec          *connRecord
	onSecondary  time.Time
	mu           sync.Mutex
	records      []*connRecord
	reconnects   int // the replica's FIN seen before a write
	writeErrors  int
	failovers    int
	connectFails int
	firstErrors  []string
}

func (t *tcpSender) sent() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next
}

func (t *tcpSender) conns() []*connRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*connRecord(nil), t.records...)
}

func (t *tcpSender) run(ctx context.Context) {
	start := time.Now()
	tick := time.NewTicker(paceTick)
	defer tick.Stop()
	var msg []byte
	for {
		select {
		case <-ctx.Done():
			t.closeConn("end of the soak")
			return
		case <-tick.C:
		}
		t.maybeResume()
		due := int64(time.Since(start).Seconds() * float64(t.rate))
		for t.next < due {
			if ctx.Err() != nil {
				break
			}
			msg = fmt.Appendf(msg[:0], "<14>Nov 26 12:00:00 %s-%08d app[1]: soak message %d of sender %s over tcp\n", t.name, t.next, t.next, t.name)
			if !t.send(ctx, msg) {
				break
			}
			t.mu.Lock()
			t.rec.last = t.next
			if t.rec.first < 0 {
				t.rec.first = t.next
			}
			t.next++
			t.mu.Unlock()
		}
	}
}

// send writes one message; false when the soak ended before it could.
func (t *tcpSender) send(ctx context.Context, msg []byte) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		if t.conn == nil {
			if !t.connect(ctx) {
				return false
			}
		}
		if closed, err := peerClosed(t.conn); err != nil {
			t.closeConn("error seen before a write: " + err.Error())
			continue
		} else if closed {
			t.reconnects++
			t.closeConn("FIN from the replica seen before a write")
			continue
		}
		// Bounded: a replica that stops reading (a full disk) holds the
		// write; after this long it counts as failed.
		t.conn.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		n, err := t.conn.Write(msg)
		if err == nil {
			return true
		}
		t.writeErrors++
		if len(t.firstErrors) < 5 {
			t.firstErrors = append(t.firstErrors, err.Error())
		}
		end := "write failed: " + err.Error()
		if n > 0 {
			end += fmt.Sprintf(" (%d of %d bytes written)", n, len(msg))
		}
		t.closeConn(end)
	}
}

// connect opens a connection to the primary replica, or to the other one
// when the primary refuses; it keeps trying until one accepts.
func (t *tcpSender) connect(ctx context.Context) bool {
	for {
		for k, idx := range []int{t.primary, 1 - t.primary} {
			r := t.s.reps[idx]
			c, err := net.DialTimeout("tcp", r.addr(), 2*time.Second)
			if err != nil {
				t.connectFails++
				continue
			}
			inc := 0
			if cur := r.current(); cur != nil {
				inc = cur.n
			}
			t.mu.Lock()
			t.conn = c.(*net.TCPConn)
			t.rec = &connRecord{sender: t.name, replica: idx, incarnation: inc, opened: time.Now(), first: -1, last: -1}
			t.records = append(t.records, t.rec)
			t.mu.Unlock()
			if k == 1 {
				t.failovers++
				t.onSecondary = time.Now()
			} else {
				t.onSecondary = time.Time{}
			}
			return true
		}
		if err := sleepFor(ctx, 100*time.Millisecond); err != nil { // both refused: try again
			return false
		}
	}
}

// maybeResume moves back to the primary replica once it accepts again.
func (t *tcpSender) maybeResume() {
	if t.conn == nil || t.onSecondary.IsZero() || time.Since(t.onSecondary) < resumeAfter {
		return
	}
	c, err := net.DialTimeout("tcp", t.s.reps[t.primary].addr(), 2*time.Second)
	if err != nil {
		t.onSecondary = time.Now() // try again later
		return
	}
	t.closeConn("moved back to the primary replica")
	r := t.s.reps[t.primary]
	inc := 0
	if cur := r.current(); cur != nil {
		inc = cur.n
	}
	t.mu.Lock()
	t.conn = c.(*net.TCPConn)
	t.rec = &connRecord{sender: t.name, replica: t.primary, incarnation: inc, opened: time.Now(), first: -1, last: -1}
	t.records = append(t.records, t.rec)
	t.mu.Unlock()
	t.onSecondary = time.Time{}
}

func (t *tcpSender) closeConn(why string) {
	if t.conn == nil {
		return
	}
	t.conn.Close()
	t.mu.Lock()
	t.rec.closed, t.rec.end = time.Now(), why
	t.conn = nil
	t.mu.Unlock()
}

// peerClosed is rsyslog's CheckConnection: recv(MSG_PEEK|MSG_DONTWAIT)
// returning 0 means the other side has sent its FIN. EAGAIN (nothing to
// read) is the normal case; other errors (a reset) are reported.
func peerClosed(c *net.TCPConn) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	closed := false
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, e := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case e == nil && n == 0:
			closed = true
		case e != nil && e != syscall.EAGAIN:
			rerr = e
		}
		return true // never wait for readability
	})
	if err != nil {
		return false, err
	}
	return closed, rerr
}

// udpSender sends datagrams, paced, with the sequence number as hostname,
// to its primary replica; a send refused by the kernel (ICMP port
// unreachable from a stopped replica: that datagram was not sent) moves it
// to the other replica, and it goes back after resumeAfter. For every
// sequence number it records where and when it went.
type udpSender struct {
	s       *soak
	name    string
	rate    int
	primary int

	mu          sync.Mutex
	next        int64
	target      []uint8 // per sequence number: replica index
	at          []int64 // per sequence number: send time, ns since sendStart
	refused     int
	failovers   int
	onSecondary time.Time
	cur         int
}

func (u *udpSender) sent() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.next
}

func (u *udpSender) run(ctx context.Context) {
	var conns [2]*net.UDPConn
	for i, r := range u.s.reps {
		c, err := net.Dial("udp", r.addr())
		if err != nil {
			u.s.fail("UDP sender %s: %v", u.name, err)
			return
		}
		conns[i] = c.(*net.UDPConn)
		defer c.Close()
	}
	u.cur = u.primary
	start := time.Now()
	tick := time.NewTicker(paceTick)
	defer tick.Stop()
	var msg []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if u.cur != u.primary && time.Since(u.onSecondary) >= resumeAfter {
			u.cur = u.primary
		}
		due := int64(time.Since(start).Seconds() * float64(u.rate))
		for u.next < due && ctx.Err() == nil {
			msg = fmt.Appendf(msg[:0], "<14>Nov 26 12:00:00 %s-%08d app[1]: soak datagram %d of sender %s over udp", u.name, u.next, u.next, u.name)
			var err error
			for range 2 {
				if _, err = conns[u.cur].Write(msg); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
					break
				}
				u.refused++
				u.failovers++
				u.cur = 1 - u.cur
				u.onSecondary = time.Now()
			}
			// Still refused by both, or another error: a datagram lost
			// like any other, counted in the index.
			u.mu.Lock()
			u.target = append(u.target, uint8(u.cur))
			u.at = append(u.at, int64(time.Since(u.s.sendStart)))
			u.next++
			u.mu.Unlock()
		}
	}
}
