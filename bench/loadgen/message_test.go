package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestMessageShapes(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 5, 0, time.UTC)
	for _, f := range []string{FormatRFC3164, FormatRFC5424, FormatOctet, FormatRaw} {
		tm, err := NewTemplate(f, "run1", now, false)
		if err != nil {
			t.Fatal(err)
		}
		buf := tm.Fill(41, 3)
		if len(buf) != 3*tm.Len {
			t.Fatalf("%s: %d bytes, want %d", f, len(buf), 3*tm.Len)
		}
		if bl := tm.BodyLen(); bl < 140 || bl > 160 {
			t.Errorf("%s: message of %d bytes, want about 150", f, bl)
		}
		for i := 0; i < 3; i++ {
			m := buf[i*tm.Len : (i+1)*tm.Len]
			if got := string(m[tm.SeqOffset : tm.SeqOffset+SeqDigits]); got != fmt.Sprintf("%09d", 41+i) {
				t.Errorf("%s: digits at SeqOffset = %q", f, got)
			}
			if seq, ok := ParseSeq(m); !ok || seq != int64(41+i) {
				t.Errorf("%s: ParseSeq = %d %v", f, seq, ok)
			}
			if !bytes.Contains(m, []byte("run=run1 seq=")) {
				t.Errorf("%s: no run id: %q", f, m)
			}
			switch f {
			case FormatOctet:
				sp := bytes.IndexByte(m, ' ')
				n, err := strconv.Atoi(string(m[:sp]))
				if err != nil || n != len(m)-sp-1 || m[sp+1] != '<' {
					t.Errorf("octet frame %q", m)
				}
			default:
				if m[len(m)-1] != '\n' || bytes.Count(m, []byte("\n")) != 1 {
					t.Errorf("%s: not one LF-terminated line: %q", f, m)
				}
			}
		}
		first := string(buf[:tm.Len])
		switch f {
		case FormatRFC3164:
			want := "<134>Nov 26 12:00:05 bench-host benchapp[4242]: run=run1 seq=000000041 "
			if first[:len(want)] != want {
				t.Errorf("rfc3164: %q", first)
			}
		case FormatRFC5424:
			want := `<134>1 2026-11-26T12:00:05.000Z bench-host benchapp 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] run=run1 seq=000000041 `
			if first[:len(want)] != want {
				t.Errorf("rfc5424: %q", first)
			}
		case FormatRaw:
			if first[:len("test run=run1 seq=000000041 ")] != "test run=run1 seq=000000041 " {
				t.Errorf("raw: %q", first)
			}
		}
	}
	udp, _ := NewTemplate(FormatOctet, "u", now, true)
	if m := udp.Fill(0, 1); m[0] != '<' || m[len(m)-1] == '\n' {
		t.Errorf("UDP datagram must be the bare message: %q", m)
	}
	if _, err := NewTemplate("rfc3164", "bad id", now, false); err == nil {
		t.Error("run id with a space accepted")
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, a := range []string{"127.0.0.1:1", "localhost:1", "[::1]:1", "127.1.2.3:5"} {
		if err := checkLoopback(a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"10.0.0.1:514", "192.168.1.1:514", "example.org:514", "0.0.0.0:514"} {
		if err := checkLoopback(a); err == nil {
			t.Errorf("%s accepted", a)
		}
	}
}

// TestRunTCPAndUDP sends to local listeners and checks every message
// arrives whole, in order per connection.
func TestRunTCPAndUDP(t *testing.T) {
	addr, got := tcpCollector(t)
	tm, _ := NewTemplate(FormatRFC3164, "t", time.Now(), false)
	res, err := Run(Options{Addr: addr, Proto: "tcp", Conns: 2, Template: tm, Total: 1001})
	if err != nil || res.Sent != 1001 {
		t.Fatalf("tcp: %v %+v", err, res)
	}
	seen := map[int64]bool{}
	for i := 0; i < 2; i++ {
		var seqs []int64
		for _, l := range <-got {
			s, _ := ParseSeq(l)
			seqs = append(seqs, s)
		}
		for j := 1; j < len(seqs); j++ {
			if seqs[j] != seqs[j-1]+1 {
				t.Fatalf("not consecutive on one connection: %d then %d", seqs[j-1], seqs[j])
			}
		}
		for _, s := range seqs {
			seen[s] = true
		}
	}
	if len(seen) != 1001 || !seen[0] || !seen[1000] {
		t.Fatalf("tcp: %d distinct of 1001", len(seen))
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udpTm, _ := NewTemplate(FormatRFC5424, "u", time.Now(), true)
	done := make(chan int)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for n < 600 {
			k, _, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			if k != udpTm.Len {
				break
			}
			n++
		}
		done <- n
	}()
	start := time.Now()
	res, err = Run(Options{Addr: pc.LocalAddr().String(), Proto: "udp", Conns: 1, Template: udpTm, Total: 600, Rate: 3000, Tick: 10 * time.Millisecond})
	if err != nil || res.Sent != 600 {
		t.Fatalf("udp: %v %+v", err, res)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("600 messages at 3000/s took %s: not paced", el)
	}
	if n := <-done; n != 600 {
		t.Errorf("udp: received %d of 600", n)
	}
	_ = io.Discard
}

// TestSizes checks -size: every format padded to exactly the size asked,
// the run=… seq=… token at its fixed offset, the default (0) the same
// message as before -size existed.
func TestSizes(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, f := range []string{FormatRFC3164, FormatRFC5424, FormatOctet, FormatRaw} {
		def, _ := NewTemplate(f, "r1", now, false)
		zero, err := NewSizedTemplate(f, "r1", now, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(def.Fill(7, 2)) != string(zero.Fill(7, 2)) || def.BodyLen() != MessageSize {
			t.Errorf("%s: size 0 is not the default %d-byte message (%d)", f, MessageSize, def.BodyLen())
		}
		for _, size := range []int{100, 150, 1024, 8192, MaxSize} {
			if f == FormatRFC5424 || f == FormatOctet {
				if size < 150 {
					continue // its header alone is ~130 bytes
				}
			}
			tm, err := NewSizedTemplate(f, "r1", now, false, size)
			if err != nil {
				t.Fatalf("%s %d: %v", f, size, err)
			}
			if tm.BodyLen() != size {
				t.Errorf("%s %d: body of %d bytes", f, size, tm.BodyLen())
			}
			buf := tm.Fill(99, 3)
			for i := 0; i < 3; i++ {
				m := buf[i*tm.Len : (i+1)*tm.Len]
				if got := string(m[tm.SeqOffset : tm.SeqOffset+SeqDigits]); got != fmt.Sprintf("%09d", 99+i) {
					t.Errorf("%s %d: digits at SeqOffset = %q", f, size, got)
				}
				if bytes.Count(m, []byte("seq=")) != 1 || bytes.Count(m, []byte("run=")) != 1 {
					t.Errorf("%s %d: the padding repeats the token", f, size)
				}
				body := bytes.TrimSuffix(m, []byte("\n"))
				if f == FormatOctet {
					body = m[bytes.IndexByte(m, ' ')+1:]
				}
				if len(body) != size || body[len(body)-1] == ' ' || bytes.ContainsAny(body, "\n\r") {
					t.Errorf("%s %d: body %d bytes, ends %q", f, size, len(body), body[len(body)-1:])
				}
			}
		}
	}
	// Below the header's own length: the shortest message, 4 filler bytes.
	tm, _ := NewSizedTemplate(FormatRFC3164, "r1", now, false, 10)
	if want := len(tm.Prefix) + SeqDigits + 5; tm.BodyLen() != want {
		t.Errorf("size 10: %d bytes, want the floor %d", tm.BodyLen(), want)
	}
	for _, bad := range []int{-1, MaxSize + 1} {
		if _, err := NewSizedTemplate(FormatRFC3164, "r1", now, false, bad); err == nil {
			t.Errorf("size %d accepted", bad)
		}
	}
}

// TestTimeout: a receiver that never reads holds the sender back; with
// -timeout it gives up in time and counts only what went out.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 8)
	defer func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	}()
	go func() {
		defer close(held)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // accepted, never read
		}
	}()
	tm, _ := NewSizedTemplate(FormatRFC3164, "t", time.Now(), false, 8192)
	start := time.Now()
	res, err := Run(Options{Addr: ln.Addr().String(), Proto: "tcp", Conns: 2, Template: tm, Total: 20000, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %s with a 300ms timeout", el)
	}
	if res.Errors != 2 || res.Sent <= 0 || res.Sent >= 20000 || res.Size != 8192 {
		t.Errorf("sent %d of 20000 (%d B), %d errors: %s", res.Sent, res.Size, res.Errors, res.FirstErr)
	}
}

// tcpCollector listens on 127.0.0.1 and sends, for each connection that
// ends, the lines it carried (without their newlines). The listener
// closes when the test ends.
func tcpCollector(t *testing.T) (addr string, got <-chan [][]byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan [][]byte, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				var lines [][]byte
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					lines = append(lines, append([]byte(nil), sc.Bytes()...))
				}
				ch <- lines
			}(c)
		}
	}()
	return ln.Addr().String(), ch
}
