//go:build linux

package syslog

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The UDP socket on Linux is read with blocking recvmmsg calls on a file
// descriptor of its own, outside Go's network poller. In the poller, every
// datagram arriving while no reader waits on it (a reader pausing after a
// short batch, see udpWaitFor) wakes the thread blocked in epoll_pwait for
// nothing: at 100,000 datagrams a second that was 26,000 wake-ups a second
// and a fifth of logshipper's CPU (bench/profiles/udp.md). A reader
// blocked in the kernel is woken only for a datagram it then reads.

// udpIdleWake bounds a blocking read (SO_RCVTIMEO), so that a reader also
// sees the end of reading when shutdown(SHUT_RD) did not wake it. A
// variable for the test that shows shutdown does.
var udpIdleWake = 200 * time.Millisecond

// udpSocket is the input's UDP socket: every reader reads batches from
// the same descriptor; the kernel hands each datagram to one of them.
type udpSocket struct {
	fd    int
	local net.Addr
	cut   atomic.Bool
}

// newUDPSocket takes over c's socket (its options already set): a
// duplicate descriptor in blocking mode, and c closed, which takes the
// socket out of the poller.
func newUDPSocket(c *net.UDPConn) (*udpSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(cfd uintptr) {
		fd, dupErr = unix.FcntlInt(cfd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("duplicating the UDP socket: %w", dupErr)
	}
	u := &udpSocket{fd: fd, local: c.LocalAddr()}
	// O_NONBLOCK belongs to the open file both descriptors share: clear it
	// only once c, whose reads rely on it, is closed.
	c.Close()
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("UDP socket to blocking mode: %w", err)
	}
	tv := unix.NsecToTimeval(udpIdleWake.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("UDP socket SO_RCVTIMEO: %w", err)
	}
	return u, nil
}

func (u *udpSocket) LocalAddr() net.Addr { return u.local }

// stopReading ends reading: every read from now on returns net.ErrClosed,
// and readers blocked in the kernel wake (shutdown SHUT_RD; else within
// udpIdleWake). Datagrams a read already returned are still delivered.
func (u *udpSocket) stopReading() {
	if !u.cut.Swap(true) {
		unix.Shutdown(u.fd, unix.SHUT_RD) // ENOTCONN on an unconnected socket, yet it wakes the readers
	}
}

// Close releases the descriptor; call it once no reader runs.
func (u *udpSocket) Close() error { return unix.Close(u.fd) }

// udpBatch is one reader's buffers for recvmmsg.
type udpBatch struct {
	u     *udpSocket
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrAny
	bufs  [][]byte
	oobs  [][]byte
}

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// newBatch makes a reader's buffers: n datagrams of size bytes, each
// with oob bytes of control data.
func (u *udpSocket) newBatch(n, size, oob int) *udpBatch {
	b := &udpBatch{u: u, hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrAny, n), bufs: make([][]byte, n), oobs: make([][]byte, n)}
	for i := range n {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		h := &b.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if oob > 0 {
			b.oobs[i] = make([]byte, oob)
			h.Control = &b.oobs[i][0]
		}
	}
	return b
}

// read fills the batch. wait: block until a datagram is there (then take
// what else is there too); otherwise return EAGAIN when none is.
func (b *udpBatch) read(wait bool) (int, error) {
	if b.u.cut.Load() {
		return 0, net.ErrClosed
	}
	// The kernel writes the lengths of the address and the control data
	// back into each header.
	for i := range b.hdrs {
		h := &b.hdrs[i].hdr
		h.Namelen = unix.SizeofSockaddrAny
		h.SetControllen(len(b.oobs[i]))
	}
	// First what is there, without entering the scheduler's system-call
	// state: a non-blocking recvmmsg returns at once, and entering that
	// state after an idle spell wakes the runtime's sysmon thread, which
	// then polls every 20 µs while anything runs (12% of the CPU at
	// 100,000 datagrams a second, bench/profiles/udp.md).
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(b.u.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == 0:
			return int(n), nil
		case errno == unix.EINTR:
			continue
		case errno != unix.EAGAIN || !wait:
			return 0, errno
		}
		break
	}
	// Nothing there: block until a datagram comes (or udpIdleWake, or
	// stopReading), then take what else is there too.
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(b.u.fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_WAITFORONE, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}

// datagram is the i-th datagram of the last read: its bytes, the sender's
// address (IPv4-mapped on a dual-stack socket, as net reports it) and its
// control data.
func (b *udpBatch) datagram(i int) (msg []byte, from netip.Addr, oob []byte) {
	h := &b.hdrs[i]
	msg = b.bufs[i][:h.n]
	if len(b.oobs[i]) > 0 {
		oob = b.oobs[i][:h.hdr.Controllen]
	}
	switch sa := &b.names[i]; sa.Addr.Family {
	case unix.AF_INET:
		from = netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(sa)).Addr)
	case unix.AF_INET6:
		from = netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(sa)).Addr)
	}
	return msg, from, oob
}

// readsWithoutWaiting: read(false) returns at once when nothing is there,
// so a reader holding events can ask for more before handing them over.
const readsWithoutWaiting = true
