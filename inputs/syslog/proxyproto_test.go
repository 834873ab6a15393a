package syslog

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/testes"
)

// proxyConfig is testConfig with the PROXY protocol in mode, believing
// headers from the test's own address (127.0.0.1) unless trusted says
// otherwise.
func proxyConfig(logs *syncBuffer, mode string, trusted ...string) Config {
	cfg := testConfig(logs)
	cfg.ProxyProtocol = mode
	cfg.ProxyProtocolTrusted = trusted
	if len(trusted) == 0 {
		cfg.ProxyProtocolTrusted = []string{"127.0.0.0/8", "::1"}
	}
	return cfg
}

// header is a PROXY header naming src (host:port) as the sender, to a
// destination of the same family.
func header(t testing.TB, version byte, proto proxyproto.AddressFamilyAndProtocol, src string) []byte {
	t.Helper()
	ap := netip.MustParseAddrPort(src)
	dst := netip.MustParseAddrPort("127.0.0.1:514")
	if ap.Addr().Is6() {
		dst = netip.MustParseAddrPort("[::1]:514")
	}
	h := &proxyproto.Header{Version: version, Command: proxyproto.PROXY, TransportProtocol: proto}
	if proto.IsDatagram() {
		h.SourceAddr, h.DestinationAddr = net.UDPAddrFromAddrPort(ap), net.UDPAddrFromAddrPort(dst)
	} else {
		h.SourceAddr, h.DestinationAddr = net.TCPAddrFromAddrPort(ap), net.TCPAddrFromAddrPort(dst)
	}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// localHeader is a LOCAL command (v2) or UNKNOWN (v1): a balancer's own
// connection, a health check.
func localHeader(t testing.TB, version byte) []byte {
	t.Helper()
	if version == 1 {
		return []byte("PROXY UNKNOWN\r\n")
	}
	b, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendConn writes b on a new TCP connection and closes it.
func sendConn(t testing.TB, addr *net.TCPAddr, b []byte) {
	t.Helper()
	c := dialTCP(t, addr)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// The header names the sender over TCP, in both versions and address
// families, in optional and required mode; LOCAL / UNKNOWN keep the peer;
// in optional mode a connection without a header is plain syslog.
func TestProxyProtocolTCP(t *testing.T) {
	cases := []struct {
		name     string
		header   func(t testing.TB) []byte
		source   string // the event's SourceIP
		proxy    string // its ProxyIP
		version  string // headers_total label; "" none
		command  string
		optional bool // only in optional mode (required refuses it)
	}{
		{"v1 tcp4", func(t testing.TB) []byte { return header(t, 1, proxyproto.TCPv4, "192.0.2.7:40001") }, "192.0.2.7", "127.0.0.1", "1", "proxy", false},
		{"v1 tcp6", func(t testing.TB) []byte { return header(t, 1, proxyproto.TCPv6, "[2001:db8::7]:40001") }, "2001:db8::7", "127.0.0.1", "1", "proxy", false},
		{"v2 tcp4", func(t testing.TB) []byte { return header(t, 2, proxyproto.TCPv4, "198.51.100.9:40002") }, "198.51.100.9", "127.0.0.1", "2", "proxy", false},
		{"v2 tcp6", func(t testing.TB) []byte { return header(t, 2, proxyproto.TCPv6, "[2001:db8::9]:40002") }, "2001:db8::9", "127.0.0.1", "2", "proxy", false},
		{"v2 ipv4-mapped", func(t testing.TB) []byte { return header(t, 2, proxyproto.TCPv6, "[::ffff:192.0.2.8]:40002") }, "192.0.2.8", "127.0.0.1", "2", "proxy", false},
		{"v2 local", func(t testing.TB) []byte { return localHeader(t, 2) }, "127.0.0.1", "", "2", "local", false},
		{"v1 unknown", func(t testing.TB) []byte { return localHeader(t, 1) }, "127.0.0.1", "", "1", "local", false},
		{"no header", func(testing.TB) []byte { return nil }, "127.0.0.1", "", "", "", true},
		{"PROXY as text", func(testing.TB) []byte { return []byte("PROXYING is what we do\n") }, "127.0.0.1", "", "", "", true},
	}
	for _, mode := range []string{ProxyOptional, ProxyRequired} {
		t.Run(mode, func(t *testing.T) {
			sk := newSink()
			s, tcp, _ := start(t, proxyConfig(nil, mode), sk)
			for _, tc := range cases {
				if tc.optional && mode == ProxyRequired {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					sk.reset()
					var counter interface{ Inc() }
					before := 0.0
					if tc.version != "" {
						m := s.metrics.ProxyHeaders.WithLabelValues(tc.version, tc.command)
						counter, before = m, value(m)
					}
					// The header and the first message in one write, as
					// balancers send them, then more.
					c := dialTCP(t, tcp)
					write(t, c, string(tc.header(t))+"<13>first\n")
					write(t, c, "<13>second\n")
					c.Close()
					evs := sk.waitN(t, 2)
					want := []string{"<13>first", "<13>second"}
					if tc.name == "PROXY as text" {
						evs = sk.waitN(t, 3)
						want = append([]string{"PROXYING is what we do"}, want...)
					}
					if got := raws(evs); !slices.Equal(got, want) {
						t.Fatalf("events %q, want %q", got, want)
					}
					for _, ev := range evs {
						if ev.SourceIP != tc.source || ev.ProxyIP != tc.proxy || ev.Transport != "tcp" {
							t.Errorf("event source %q proxy %q transport %s; want %q %q tcp", ev.SourceIP, ev.ProxyIP, ev.Transport, tc.source, tc.proxy)
						}
					}
					if counter != nil {
						waitDelta(t, "headers "+tc.version+" "+tc.command, s.metrics.ProxyHeaders.WithLabelValues(tc.version, tc.command), before, 1)
					}
				})
			}
		})
	}
}

// The header comes before the TLS handshake, as balancers send it (they do
// not look inside); the handshake then reads the bytes after it.
func TestProxyProtocolTLS(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	for _, mode := range []string{ProxyOptional, ProxyRequired} {
		t.Run(mode, func(t *testing.T) {
			cfg := tlsTestConfig(nil, ca)
			cfg.ProxyProtocol, cfg.ProxyProtocolTrusted = mode, []string{"127.0.0.1"}
			sk := newSink()
			s, _, _ := start(t, cfg, sk)
			for _, v := range []byte{1, 2} {
				raw, err := net.DialTCP("tcp", nil, s.TLSAddr().(*net.TCPAddr))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { raw.Close() })
				if _, err := raw.Write(header(t, v, proxyproto.TCPv4, "203.0.113.5:6000")); err != nil {
					t.Fatal(err)
				}
				c := tls.Client(raw, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
				if err := c.Handshake(); err != nil {
					t.Fatalf("v%d: handshake after the header: %v", v, err)
				}
				write(t, c, octet("<13>over tls"))
				c.Close()
			}
			evs := sk.waitN(t, 2)
			for _, ev := range evs {
				if string(ev.Raw) != "<13>over tls" || ev.Transport != "tls" || ev.SourceIP != "203.0.113.5" || ev.ProxyIP != "127.0.0.1" {
					t.Errorf("event %q %s source %q proxy %q", ev.Raw, ev.Transport, ev.SourceIP, ev.ProxyIP)
				}
			}
			if mode == ProxyOptional {
				// A TLS client without a balancer: plain TLS.
				c := mustDialTLS(t, s, ca)
				write(t, c, octet("<13>direct"))
				c.Close()
				ev := sk.waitN(t, 3)[2]
				if string(ev.Raw) != "<13>direct" || ev.SourceIP != "127.0.0.1" || ev.ProxyIP != "" {
					t.Errorf("direct TLS event %q source %q proxy %q", ev.Raw, ev.SourceIP, ev.ProxyIP)
				}
			}
		})
	}
}

// v2 on UDP: a header at the start of each datagram names its sender;
// required drops a datagram without one, a datagram with one from an
// untrusted peer is dropped in any mode; optional takes plain datagrams.
func TestProxyProtocolUDP(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		trusted []string
		send    func(t testing.TB) []byte
		want    string // the event's Raw, SourceIP, ProxyIP; "" dropped
		kind    string // the error counted
	}{
		{ProxyRequired, nil, func(t testing.TB) []byte {
			b, _ := (&proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.UDPv4,
				SourceAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 33), Port: 514}, DestinationAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 514}}).
				FormatUDPDatagram([]byte("<13>udp via lb\n"))
			return b
		}, "<13>udp via lb 192.0.2.33 127.0.0.1", ""},
		{ProxyOptional, nil, func(t testing.TB) []byte {
			return append(header(t, 2, proxyproto.UDPv6, "[2001:db8::33]:514"), "<13>udp6 via lb"...)
		}, "<13>udp6 via lb 2001:db8::33 127.0.0.1", ""},
		{ProxyOptional, nil, func(t testing.TB) []byte { return append(localHeader(t, 2), "<13>local"...) }, "<13>local 127.0.0.1 ", ""},
		{ProxyOptional, nil, func(testing.TB) []byte { return []byte("<13>plain datagram") }, "<13>plain datagram 127.0.0.1 ", ""},
		{ProxyRequired, nil, func(testing.TB) []byte { return []byte("<13>plain datagram") }, "", kindProxyMissing},
		{ProxyRequired, nil, func(t testing.TB) []byte { return []byte("PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n<13>v1 on udp") }, "", kindProxyMissing},
		{ProxyOptional, []string{"192.0.2.0/24"}, func(t testing.TB) []byte {
			return append(header(t, 2, proxyproto.UDPv4, "10.9.9.9:514"), "<13>forged"...)
		}, "", kindProxyUntrusted},
		{ProxyRequired, nil, func(t testing.TB) []byte {
			h := header(t, 2, proxyproto.UDPv4, "10.9.9.9:514")
			return h[:len(h)-3] // cut inside the addresses
		}, "", kindProxyInvalid},
	} {
		t.Run(tc.mode+" "+tc.want+tc.kind, func(t *testing.T) {
			sk := newSink()
			s, _, udp := start(t, proxyConfig(nil, tc.mode, tc.trusted...), sk)
			var before float64
			if tc.kind != "" {
				before = value(s.c.proxyRefused(tc.kind))
			}
			c, err := net.DialUDP("udp", nil, udp)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send(t)); err != nil {
				t.Fatal(err)
			}
			// A plain datagram after it shows the first was handled
			// (readers take datagrams in order from one socket, but two
			// readers may race: wait for the marker, then look).
			marker := append(header(t, 2, proxyproto.UDPv4, "192.0.2.1:1"), "<13>marker"...)
			if tc.trusted != nil {
				marker = []byte("<13>marker")
			}
			if tc.mode == ProxyOptional {
				marker = []byte("<13>marker")
			}
			if _, err := c.Write(marker); err != nil {
				t.Fatal(err)
			}
			evs := sk.waitFor(t, "the marker", func(evs []*event.Event) bool {
				return slices.ContainsFunc(evs, func(ev *event.Event) bool { return string(ev.Raw) == "<13>marker" })
			})
			if tc.kind != "" {
				waitDelta(t, tc.kind, s.c.proxyRefused(tc.kind), before, 1)
				evs = sk.snapshot()
			} else {
				evs = sk.waitN(t, 2)
			}
			var got []string
			for _, ev := range evs {
				if string(ev.Raw) != "<13>marker" {
					got = append(got, string(ev.Raw)+" "+ev.SourceIP+" "+ev.ProxyIP)
				}
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// Required: a connection without a header, with an invalid one, or from an
// untrusted peer is closed, counted and logged (sampled), and nothing of it
// is delivered; the server keeps serving the others. A header from an
// untrusted peer is never believed, in optional mode either, while a plain
// connection from that peer is fine there.
func TestProxyProtocolRefusals(t *testing.T) {
	v2 := header(t, 2, proxyproto.TCPv4, "192.0.2.7:1")
	badVersion := bytes.Clone(v2)
	badVersion[12] = 0x31 // version 3, PROXY
	for _, tc := range []struct {
		name, mode string
		trusted    []string
		send       []byte
		kind       string
	}{
		{"required without header", ProxyRequired, nil, []byte("<13>no header\n"), kindProxyMissing},
		{"required, text starting PROXY", ProxyRequired, nil, []byte("PROXYING\n"), kindProxyMissing},
		{"v1 garbage", ProxyOptional, nil, []byte("PROXY TCP4 not an address 1 2\r\n<13>x\n"), kindProxyInvalid},
		{"v1 without CRLF", ProxyRequired, nil, []byte("PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n<13>x\n"), kindProxyInvalid},
		{"v2 bad version", ProxyRequired, nil, append(badVersion, "<13>x\n"...), kindProxyInvalid},
		{"v2 unknown family", ProxyOptional, nil, append(append(bytes.Clone(v2[:13]), 0x41), append(bytes.Clone(v2[14:]), "<13>x\n"...)...), kindProxyInvalid},
		// The balancer is 127.0.0.1; the forger connects from 127.0.0.2
		// (every 127/8 address is this host's on Linux).
		{"untrusted, required", ProxyRequired, []string{"127.0.0.1"}, append(bytes.Clone(v2), "<13>forged\n"...), kindProxyUntrusted},
		{"untrusted, optional", ProxyOptional, []string{"127.0.0.1/32", "2001:db8::/32"}, append(bytes.Clone(v2), "<13>forged\n"...), kindProxyUntrusted},
		{"untrusted v1, optional", ProxyOptional, []string{"127.0.0.1"}, []byte("PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n<13>forged\n"), kindProxyUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			sk := newSink()
			cfg := proxyConfig(logs, tc.mode, tc.trusted...)
			cfg.Logger = cfg.Logger.Level(zerolog.InfoLevel)
			s, tcp, _ := start(t, cfg, sk)
			before := value(s.c.proxyRefused(tc.kind))
			var c net.Conn = dialTCP(t, tcp)
			if tc.kind == kindProxyUntrusted {
				c.Close()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
				var err error
				if c, err = d.Dial("tcp", tcp.String()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
			}
			write(t, c, string(tc.send))
			expectClosed(t, c)
			waitDelta(t, tc.kind, s.c.proxyRefused(tc.kind), before, 1)
			// Another sender is served as usual: with a header in
			// required mode from a trusted peer, plainly otherwise.
			good := "<13>good\n"
			if tc.mode == ProxyRequired {
				good = string(header(t, 1, proxyproto.TCPv4, "198.51.100.1:1")) + good
			}
			sendConn(t, tcp, []byte(good))
			evs := sk.waitN(t, 1)
			if got := raws(evs); !slices.Equal(got, []string{"<13>good"}) {
				t.Errorf("events %q: something of the refused connection was delivered", got)
			}
			if ev := evs[0]; ev.SourceIP == "192.0.2.7" {
				t.Errorf("the refused header was believed: %+v", ev)
			}
			if n := logs.count("PROXY protocol header refused"); n != 1 || !strings.Contains(logs.String(), `"kind":"`+tc.kind+`"`) {
				t.Errorf("%d refusal log lines, want 1 of kind %s:\n%s", n, tc.kind, logs)
			}
			waitUntil(t, "connections closed", func() bool { return s.openConns() == 0 })
		})
	}
}

// The header timeout: in required mode a connection that sends nothing, or
// half a header, is closed after it and counted; in optional mode silence
// means no header and the connection goes on as plain syslog.
func TestProxyProtocolHeaderTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, first string
	}{
		{"silent", ""},
		{"half a v2 signature", "\r\n\r\n"},
		{"half a v1 header", "PROXY TCP4 192.0.2"},
	} {
		t.Run("required "+tc.name, func(t *testing.T) {
			cfg := proxyConfig(nil, ProxyRequired)
			cfg.ProxyHeaderTimeout = 50 * time.Millisecond
			sk := newSink()
			s, tcp, _ := start(t, cfg, sk)
			kind := kindProxyTimeout
			if strings.HasPrefix(tc.first, "PROXY") {
				// v1 must arrive in one read: a partial one is invalid
				// at once (go-proxyproto's rule), not waited for.
				kind = kindProxyInvalid
			}
			before := value(s.c.proxyRefused(kind))
			c := dialTCP(t, tcp)
			if tc.first != "" {
				write(t, c, tc.first)
			}
			expectClosed(t, c)
			waitDelta(t, kind, s.c.proxyRefused(kind), before, 1)
			if n := len(sk.snapshot()); n != 0 {
				t.Errorf("%d events delivered", n)
			}
		})
	}
	t.Run("optional silence", func(t *testing.T) {
		logs := &syncBuffer{}
		cfg := proxyConfig(logs, ProxyOptional)
		cfg.ProxyHeaderTimeout = 50 * time.Millisecond
		sk := newSink()
		s, tcp, _ := start(t, cfg, sk)
		before := value(s.c.proxyRefused(kindProxyTimeout))
		c := dialTCP(t, tcp)
		write(t, c, "\r\n") // could start a v2 signature
		waitUntil(t, "the header timeout", func() bool { return logs.count("no PROXY header within the header timeout") == 1 })
		write(t, c, "<13>after the timeout\n")
		c.Close()
		evs := sk.waitN(t, 1)
		if ev := evs[0]; string(ev.Raw) != "<13>after the timeout" || ev.SourceIP != "127.0.0.1" || ev.ProxyIP != "" {
			t.Errorf("event %q source %q proxy %q", ev.Raw, ev.SourceIP, ev.ProxyIP)
		}
		if d := value(s.c.proxyRefused(kindProxyTimeout)) - before; d != 0 {
			t.Errorf("proxy_timeout +%v in optional mode", d)
		}
	})
}

// A balancer's TCP health check connects and closes without a byte, or
// sends a LOCAL header and resets: not an error.
func TestProxyProtocolConnectAndClose(t *testing.T) {
	cfg := proxyConfig(nil, ProxyRequired)
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	var before float64
	for _, k := range []string{kindProxyMissing, kindProxyInvalid, kindProxyTimeout, kindProxyUntrusted, kindTCPRead} {
		before += value(s.metrics.Errors.WithLabelValues(k))
	}
	c := dialTCP(t, tcp)
	c.Close()
	waitUntil(t, "connection closed", func() bool { return s.openConns() == 0 })
	// HAProxy's health check with send-proxy-v2: a LOCAL header, then a
	// reset.
	local := value(s.metrics.ProxyHeaders.WithLabelValues("2", "local"))
	c = dialTCP(t, tcp)
	write(t, c, string(localHeader(t, 2)))
	waitDelta(t, "local headers", s.metrics.ProxyHeaders.WithLabelValues("2", "local"), local, 1)
	c.SetLinger(0)
	c.Close()
	waitUntil(t, "connection closed", func() bool { return s.openConns() == 0 })
	var after float64
	for _, k := range []string{kindProxyMissing, kindProxyInvalid, kindProxyTimeout, kindProxyUntrusted, kindTCPRead} {
		after += value(s.metrics.Errors.WithLabelValues(k))
	}
	if after != before {
		t.Errorf("errors +%v for a connect and close", after-before)
	}
	// The same check reset before its header was read: the reset
	// discards the header, what is left is a balancer's connection reset
	// before any header. Not an error either.
	c = dialTCP(t, tcp)
	c.SetLinger(0)
	c.Close()
	waitUntil(t, "connection closed", func() bool { return s.openConns() == 0 })
	var afterReset float64
	for _, k := range []string{kindProxyMissing, kindProxyInvalid, kindProxyTimeout, kindProxyUntrusted, kindTCPRead} {
		afterReset += value(s.metrics.Errors.WithLabelValues(k))
	}
	if afterReset != before {
		t.Errorf("errors +%v for a balancer's connection reset before its header", afterReset-before)
	}
}

// A balancer resets its side after the header when a client connected to
// it and went away without a byte: nothing was lost, not an error. A reset
// after a message still is one (hostile_test.go).
func TestProxyProtocolResetAfterHeaderBeforeAnyMessage(t *testing.T) {
	cfg := proxyConfig(nil, ProxyRequired)
	sk := newSink()
	s, tcp, _ := start(t, cfg, sk)
	before := value(s.metrics.Errors.WithLabelValues(kindTCPRead))
	c := dialTCP(t, tcp)
	write(t, c, "PROXY TCP4 192.0.2.1 127.0.0.1 40000 514\r\n")
	waitDelta(t, "v1 headers", s.metrics.ProxyHeaders.WithLabelValues("1", "proxy"), 0, 1)
	c.SetLinger(0)
	c.Close()
	waitUntil(t, "connection closed", func() bool { return s.openConns() == 0 })
	if after := value(s.metrics.Errors.WithLabelValues(kindTCPRead)); after != before {
		t.Errorf("tcp_read errors +%v for a balancer's reset before any message", after-before)
	}
}

// A reset before the header from a peer that is not a balancer is a read
// error, as on any connection.
func TestProxyProtocolResetFromUntrustedPeer(t *testing.T) {
	cfg := proxyConfig(nil, ProxyRequired, "192.0.2.0/24") // not 127.0.0.1
	s, tcp, _ := start(t, cfg, newSink())
	before := value(s.metrics.Errors.WithLabelValues(kindTCPRead))
	c := dialTCP(t, tcp)
	c.SetLinger(0)
	c.Close()
	waitDelta(t, "tcp_read errors", s.metrics.Errors.WithLabelValues(kindTCPRead), before, 1)
}

func TestProxyProtocolConfig(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		trusted []string
		err     string
	}{
		{"", nil, ""},
		{"off", nil, ""},
		{"Required", []string{"10.0.0.0/8"}, ""},
		{"optional", []string{"::ffff:10.0.0.0/104", "192.0.2.7", "fd00::/8"}, ""},
		{"on", nil, `proxy_protocol: "on" is not allowed`},
		{"required", nil, `proxy_protocol: "required" needs proxy_protocol_trusted`},
		{"optional", []string{"10.0.0.1/40"}, `proxy_protocol_trusted: "10.0.0.1/40" is not an address range`},
		{"optional", []string{"fe80::1%eth0"}, `proxy_protocol_trusted: "fe80::1%eth0" is not an address range`},
		{"off", []string{"10.0.0.0/8"}, `proxy_protocol_trusted is set ("10.0.0.0/8") but proxy_protocol is off`},
	} {
		cfg := testConfig(nil)
		cfg.ProxyProtocol, cfg.ProxyProtocolTrusted = tc.mode, tc.trusted
		_, err := New(cfg, newSink())
		if (err == nil) != (tc.err == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.err)) {
			t.Errorf("%q %q: %v, want %q", tc.mode, tc.trusted, err, tc.err)
		}
	}
	p, err := parseProxy("optional", []string{"::ffff:10.0.0.0/104", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "::1": false} {
		if got := p.trusts(netip.MustParseAddr(addr)); got != want {
			t.Errorf("trusts(%s) = %v, want %v", addr, got, want)
		}
	}
}

// FuzzProxyHeader: any bytes at the start of a stream, and any datagram,
// through the header path. It never panics; a header it believes names a
// valid address or keeps the peer; what follows the header is kept.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 127.0.0.1 40001 514\r\n<13>x\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 ::1 40001 514\r\n<13>x\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n<13>x"))
	f.Add(append(header(f, 2, proxyproto.TCPv4, "192.0.2.7:1"), "<13>x"...))
	f.Add(append(header(f, 2, proxyproto.UDPv6, "[2001:db8::1]:1"), "<13>x"...))
	f.Add(append(localHeader(f, 2), "<13>x"...))
	f.Add([]byte("<13>plain"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff"))
	s, err := New(proxyConfig(nil, ProxyOptional), newSink())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), proxyBufSize)
		v, err := sniff(br)
		if err == nil && v != 0 {
			if h, err := proxyproto.Read(br); err == nil {
				if r := fromHeader(h); !r.local && !r.source.IsValid() {
					t.Fatalf("header believed without a source: %+v", h)
				}
			}
		} else if v == 0 {
			if rest, _ := br.Peek(br.Buffered()); !bytes.HasPrefix(data, rest) {
				t.Fatalf("the bytes sniffed are not the stream's start")
			}
		}
		payload, r, ok := s.datagramProxy(data, "127.0.0.1", netip.MustParseAddr("127.0.0.1"))
		if ok && (!bytes.HasSuffix(data, payload) || (r.version == 0 && len(payload) != len(data))) {
			t.Fatalf("payload %q of %q", payload, data)
		}
	})
}
