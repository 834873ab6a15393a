//go:build !linux

package syslog

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpSocket is the input's UDP socket, read through Go's network poller
// (on Linux it is read outside it: udpsocket_linux.go).
type udpSocket struct {
	*net.UDPConn
}

func newUDPSocket(c *net.UDPConn) (*udpSocket, error) { return &udpSocket{c}, nil }

// stopReading ends reading: a read deadline in the past.
func (u *udpSocket) stopReading() { u.SetReadDeadline(time.Unix(1, 0)) }

// udpBatch is one reader's buffers.
type udpBatch struct {
	pc   batchReader
	msgs []ipv4.Message
}

// batchReader is what x/net's ipv4 and ipv6 PacketConns have in common.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

func (u *udpSocket) newBatch(n, size, oob int) *udpBatch {
	b := &udpBatch{msgs: make([]ipv4.Message, n)}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, size)}
		if oob > 0 {
			b.msgs[i].OOB = make([]byte, oob)
		}
	}
	// A dual-stack ":10514" socket is IPv6 with IPv4-mapped senders.
	if a, ok := u.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.pc = ipv6.NewPacketConn(u.UDPConn)
	} else {
		b.pc = ipv4.NewPacketConn(u.UDPConn)
	}
	return b
}

// read fills the batch, waiting for the first datagram.
func (b *udpBatch) read(bool) (int, error) { return b.pc.ReadBatch(b.msgs, 0) }

func (b *udpBatch) datagram(i int) (msg []byte, from netip.Addr, oob []byte) {
	m := &b.msgs[i]
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		from = ua.AddrPort().Addr()
	}
	return m.Buffers[0][:m.N], from, m.OOB[:m.NN]
}

// readsWithoutWaiting false: no non-blocking read here, so a UDP reader
// hands over after every read instead of reading on while batches come
// full.
const readsWithoutWaiting = false
