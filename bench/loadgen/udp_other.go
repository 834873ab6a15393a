//go:build !(linux && (amd64 || arm64))

package main

import "net"

// udpSender writes one datagram per system call (sendmmsg is Linux only).
type udpSender struct{ c *net.UDPConn }

func newUDPSender(c *net.UDPConn) (sender, error) { return &udpSender{c: c}, nil }

func (s *udpSender) send(buf []byte, msgs int, ends []int) (int, error) {
	if msgs == 0 {
		return 0, nil
	}
	l := len(buf) / msgs
	for i := 0; i < msgs; i++ {
		if _, err := s.c.Write(msgAt(buf, ends, l, i)); err != nil {
			return i, err
		}
	}
	return msgs, nil
}

func (s *udpSender) close() error { return s.c.Close() }
