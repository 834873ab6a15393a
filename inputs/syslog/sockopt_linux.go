//go:build linux

package syslog

import (
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"
)

// oobSize holds one SO_RXQ_OVFL control message (a uint32).
var oobSize = syscall.CmsgSpace(4)

// setReadBuffer sets SO_RCVBUF to n bytes and returns the size the kernel
// granted. It first tries SO_RCVBUFFORCE, which with CAP_NET_ADMIN ignores
// net.core.rmem_max (as rsyslog does); otherwise the kernel silently caps
// the request at rmem_max.
func setReadBuffer(c *net.UDPConn, n int) (granted int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var forceErr error
	if err := rc.Control(func(fd uintptr) {
		forceErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	}); err != nil {
		return 0, err
	}
	if forceErr != nil {
		if err := c.SetReadBuffer(n); err != nil {
			return 0, err
		}
	}
	var got int
	var getErr error
	if err := rc.Control(func(fd uintptr) {
		got, getErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || getErr != nil {
		return 0, nil
	}
	// Linux doubles the size set (room for its bookkeeping) and reports
	// the doubled value; halve it to compare with the request.
	return got / 2, nil
}

// enableDropCount asks the kernel to attach the socket's cumulative drop
// count to every datagram it delivers once a drop has happened.
func enableDropCount(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var setErr error
	if err := rc.Control(func(fd uintptr) {
		setErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil {
		return err
	}
	return setErr
}

// dropCount finds the SO_RXQ_OVFL count in a datagram's control data. It
// parses in place: syscall.ParseSocketControlMessage allocates, and drops
// happen exactly when the reader is busiest.
func dropCount(oob []byte) (uint32, bool) {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.CmsgLen(0) || l > len(oob) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_RXQ_OVFL && l >= syscall.CmsgLen(4) {
			return binary.NativeEndian.Uint32(oob[syscall.CmsgLen(0):]), true
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}
