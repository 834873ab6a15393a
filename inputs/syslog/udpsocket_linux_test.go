//go:build linux

package syslog

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The reader sees every sender's address as net would report it, on an
// IPv4 socket and on a dual-stack one (IPv4 senders arrive mapped there).
func TestUDPSenderAddresses(t *testing.T) {
	for _, tt := range []struct {
		listen string
		from   []string // local addresses to send from
	}{
		{"127.0.0.1:0", []string{"127.0.0.1"}},
		{"[::]:0", []string{"127.0.0.1", "::1"}},
	} {
		t.Run(tt.listen, func(t *testing.T) {
			if tt.listen == "[::]:0" {
				if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback here: %v", err)
				} else {
					c.Close()
				}
			}
			sk := newSink()
			cfg := testConfig(&syncBuffer{})
			cfg.Listen = tt.listen
			_, _, udp := start(t, cfg, sk)
			for i, from := range tt.from {
				to := &net.UDPAddr{IP: net.ParseIP(from), Port: udp.Port}
				c, err := net.DialUDP("udp", nil, to)
				if err != nil {
					t.Fatal(err)
				}
				write(t, c, "<13>from "+from)
				c.Close()
				evs := sk.waitN(t, i+1)
				if ev := evs[i]; string(ev.Raw) != "<13>from "+from || ev.SourceIP != from || ev.Transport != "udp" {
					t.Errorf("event %q source %q transport %s; want <13>from %s, source %s", ev.Raw, ev.SourceIP, ev.Transport, from, from)
				}
			}
		})
	}
}

// stopReading wakes a reader blocked in the kernel (shutdown SHUT_RD), not
// only the SO_RCVTIMEO backstop, which this test sets out of reach.
func TestUDPStopReadingWakesABlockedRead(t *testing.T) {
	defer func(d time.Duration) { udpIdleWake = d }(udpIdleWake)
	udpIdleWake = time.Hour
	u, b := testUDPSocket(t)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := b.read(true); err != nil {
				done <- err
				return
			}
		}
	}()
	// A datagram first: the reader is then certainly in its read loop.
	c, err := net.DialUDP("udp", nil, u.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	write(t, c, "<13>x")
	u.stopReading()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after stopReading: %v, want net.ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("a blocked read did not return after stopReading")
	}
}

// read without waiting says EAGAIN when nothing is there, and returns what
// is there otherwise: a full batch, then the rest.
func TestUDPReadWithoutWaiting(t *testing.T) {
	u, b := testUDPSocket(t)
	if n, err := b.read(false); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("read(false) on an empty socket = %d, %v; want EAGAIN", n, err)
	}
	c, err := net.DialUDP("udp", nil, u.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"} {
		write(t, c, m) // loopback queues a datagram before the send returns
	}
	var got []string
	for _, want := range []int{4, 2} {
		n, err := b.read(false)
		if err != nil || n != want {
			t.Fatalf("read(false) = %d, %v; want %d datagrams", n, err, want)
		}
		for i := range n {
			msg, from, _ := b.datagram(i)
			if from.String() != "127.0.0.1" {
				t.Errorf("datagram %q from %v", msg, from)
			}
			got = append(got, string(msg))
		}
	}
	if want := "a bb ccc dddd eeeee ffffff"; strings.Join(got, " ") != want {
		t.Errorf("datagrams %q, want %q", strings.Join(got, " "), want)
	}
}

// testUDPSocket is a socket on 127.0.0.1 taken over as the input does, and
// a reader's batch of 4 datagrams; closed when the test ends.
func testUDPSocket(t *testing.T) (*udpSocket, *udpBatch) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := newUDPSocket(pc.(*net.UDPConn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u, u.newBatch(4, 64, oobSize)
}
