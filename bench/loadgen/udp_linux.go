//go:build linux && (amd64 || arm64)

package main

import (
	"net"
	"runtime"
	"syscall"
	"unsafe"
)

// udpSender sends datagrams with sendmmsg(2), up to udpBatch per system
// call, so that 100k msgs/s cost the generator little CPU.
type udpSender struct {
	c    *net.UDPConn
	rc   syscall.RawConn
	iov  []syscall.Iovec
	hdrs []mmsghdr
}

// mmsghdr is struct mmsghdr of <sys/socket.h> on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

const udpBatch = 256

func newUDPSender(c *net.UDPConn) (sender, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &udpSender{c: c, rc: rc, iov: make([]syscall.Iovec, udpBatch), hdrs: make([]mmsghdr, udpBatch)}, nil
}

func (s *udpSender) send(buf []byte, msgs int, ends []int) (int, error) {
	if msgs == 0 {
		return 0, nil
	}
	l := len(buf) / msgs
	for off := 0; off < msgs; {
		k := msgs - off
		if k > udpBatch {
			k = udpBatch
		}
		for i := 0; i < k; i++ {
			p := msgAt(buf, ends, l, off+i)
			s.iov[i].Base = &p[0]
			s.iov[i].SetLen(len(p))
			s.hdrs[i] = mmsghdr{}
			s.hdrs[i].hdr.Iov = &s.iov[i]
			s.hdrs[i].hdr.Iovlen = 1
		}
		var sent int
		var serr error
		err := s.rc.Write(func(fd uintptr) bool {
			n, _, errno := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(k), 0, 0, 0)
			if errno == syscall.EAGAIN {
				return false
			}
			if errno != 0 {
				serr = errno
				return true
			}
			sent = int(n)
			return true
		})
		runtime.KeepAlive(buf)
		if err != nil {
			return off, err
		}
		if serr != nil {
			if serr == syscall.ECONNREFUSED { // ICMP port unreachable from an earlier datagram: go on
				continue
			}
			return off, serr
		}
		off += sent
	}
	return msgs, nil
}

func (s *udpSender) close() error { return s.c.Close() }
