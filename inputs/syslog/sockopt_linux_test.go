//go:build linux

package syslog

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

// With the reader held up and a tiny receive buffer, the kernel drops
// datagrams; the next datagram delivered carries the drop count.
func TestUDPKernelDropsReported(t *testing.T) {
	sk := newSink()
	hold := make(chan struct{})
	var once sync.Once
	cfg := testConfig(nil)
	cfg.UDPReaders = 1
	cfg.UDPReadBuffer = 4096
	sk.tryPut = func(*event.Event) bool { // the reader is held up in the first hand-over
		once.Do(func() { <-hold })
		return true
	}
	s, _, udp := start(t, cfg, sk)
	c, err := net.DialUDP("udp", nil, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 500 {
		write(t, c, fmt.Sprintf("<13>flood %d %s", i, strings.Repeat("f", 200)))
	}
	close(hold)
	// The marker itself may meet a full buffer while the reader catches
	// up; resend until one arrives.
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("no marker datagram arrived")
		}
		marker := fmt.Sprintf("<13>marker %d", i)
		write(t, c, marker)
		got := false
		deadline := time.NewTimer(100 * time.Millisecond)
	wait:
		for {
			for _, ev := range sk.snapshot() {
				if strings.HasPrefix(string(ev.Raw), "<13>marker") {
					got = true
					break wait
				}
			}
			select {
			case <-sk.changed:
			case <-deadline.C:
				break wait
			}
		}
		deadline.Stop()
		if got {
			break
		}
	}
	if n := s.UDPKernelDrops(); n == 0 {
		t.Error("UDPKernelDrops = 0 after a flood into a 4 KiB buffer")
	} else {
		t.Logf("kernel dropped %d datagrams; sink got %d", n, len(sk.snapshot()))
	}
}

func TestDropCountParsing(t *testing.T) {
	if _, ok := dropCount(nil); ok {
		t.Error("empty control data parsed")
	}
	if _, ok := dropCount(make([]byte, 3)); ok {
		t.Error("short control data parsed")
	}
	bad := make([]byte, oobSize)
	bad[0] = 0xff // length beyond the buffer
	if _, ok := dropCount(bad); ok {
		t.Error("corrupt control data parsed")
	}
}
