package syslog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pires/go-proxyproto"
)

// PROXY protocol (HAProxy's proxy-protocol.txt, v1 and v2): a load balancer
// in front of logshipper (HAProxy send-proxy / send-proxy-v2, nginx stream
// proxy_protocol on, AWS NLB, Kubernetes ingress controllers) sends one
// header at the start of each TCP connection, before anything else (so
// before the TLS handshake on the TLS listener), or, v2 only, at the start
// of each UDP datagram. The header names the original sender, which then
// becomes the event's SourceIP; the balancer's own address, the connection's
// peer, goes to Event.ProxyIP.
//
// A header is believed only from a peer in Config.ProxyProtocolTrusted:
// anyone else who can reach the port could otherwise write any host into the
// index. A header from another peer is refused (the connection closed, the
// datagram dropped), counted and logged, whatever the mode.
//
// Parsing is github.com/pires/go-proxyproto's (proxyproto.Read). What is
// written here is what the library leaves to the caller: deciding from the
// first bytes whether a header is there at all before handing the stream to
// the parser (its Read blocks for 12 bytes when the first byte could start
// a v2 signature, which a plain syslog sender sending "\r\n" and pausing
// would trip over), the trust check, the deadline, and giving the bytes read
// past the header back to the framing or the TLS handshake. Its Conn and
// Listener wrappers are not used: they read the header lazily on the first
// Read, inside the framing or the TLS handshake, where a refusal could not be
// told from a read error, and would add a goroutine-free but allocation-
// heavier wrapper around every connection for its whole life.

// Values of Config.ProxyProtocol.
const (
	ProxyOff      = "off"      // no header expected; one is read as syslog text (the default)
	ProxyOptional = "optional" // a header is used when present, a stream without one is plain syslog
	ProxyRequired = "required" // a connection or datagram without a valid header is refused
)

// DefaultProxyHeaderTimeout bounds the wait for the header at the start of
// a connection: a balancer sends it at once, with or before the first data.
// In required mode a connection that has not sent a complete header by
// then is closed, so a silent connection holds its goroutine and its
// max_connections slot no longer than this. In optional mode silence means
// "no header": the connection is plain syslog from then on and idle_timeout
// applies as to any other.
const DefaultProxyHeaderTimeout = 5 * time.Second

// proxyBufSize is the read buffer the header is parsed from: a v1 header is
// at most 107 bytes and must arrive in one read (go-proxyproto refuses a
// partial one rather than wait for it); a longer v2 header is read through
// it. It is garbage once the header is read.
const proxyBufSize = 256

// InputErrors kinds of the PROXY protocol.
const (
	kindProxyMissing   = "proxy_missing"   // required: a connection or datagram without a header
	kindProxyUntrusted = "proxy_untrusted" // a header from a peer not in proxy_protocol_trusted
	kindProxyInvalid   = "proxy_invalid"   // the signature, then no valid header
	kindProxyTimeout   = "proxy_timeout"   // required: no complete header within the header timeout
)

// proxyMode is Config.ProxyProtocol resolved.
type proxyMode uint8

const (
	proxyOff proxyMode = iota
	proxyOptional
	proxyRequired
)

// proxySettings are the PROXY protocol settings, checked.
type proxySettings struct {
	mode    proxyMode
	trusted []netip.Prefix
}

// The signatures: v1's text (with its space, so that a message that merely
// starts with "PROXY" is not one) and v2's 12 bytes.
var (
	sigV1 = []byte("PROXY ")
	sigV2 = proxyproto.SIGV2
)

// CheckProxyProtocol checks the proxy_protocol and proxy_protocol_trusted
// settings, so that a bad value stops the start with one line naming the
// key. trusted entries are CIDRs (10.0.0.0/8) or single addresses.
func CheckProxyProtocol(mode string, trusted []string) error {
	_, err := parseProxy(mode, trusted)
	return err
}

func parseProxy(mode string, trusted []string) (proxySettings, error) {
	var p proxySettings
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "", ProxyOff:
		p.mode = proxyOff
	case ProxyOptional:
		p.mode = proxyOptional
	case ProxyRequired:
		p.mode = proxyRequired
	default:
		return p, fmt.Errorf("proxy_protocol: %q is not allowed; use off (the default), optional or required", mode)
	}
	for _, t := range trusted {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(t)
		if err != nil {
			a, aerr := netip.ParseAddr(t)
			if aerr != nil || a.Zone() != "" {
				return p, fmt.Errorf("proxy_protocol_trusted: %q is not an address range; use CIDRs such as 10.0.0.0/8 or fd00::/8, or single addresses such as 192.0.2.7, comma-separated", t)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		p.trusted = append(p.trusted, prefixUnmapped(pfx).Masked())
	}
	switch {
	case p.mode == proxyOff && len(p.trusted) > 0:
		return p, fmt.Errorf("proxy_protocol_trusted is set (%q) but proxy_protocol is off; set proxy_protocol to optional or required, or unset proxy_protocol_trusted",
			strings.Join(trusted, ","))
	case p.mode != proxyOff && len(p.trusted) == 0:
		return p, fmt.Errorf("proxy_protocol: %q needs proxy_protocol_trusted: set it to the addresses of your load balancers (CIDRs such as 10.0.0.0/8, comma-separated); a header from anyone else is refused, as it could claim any sender",
			mode)
	}
	return p, nil
}

// prefixUnmapped turns ::ffff:10.0.0.0/104 into 10.0.0.0/8, so that a
// mapped range matches the (unmapped) peers it is compared with.
func prefixUnmapped(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// trusts reports whether peer (unmapped) may send a header.
func (p *proxySettings) trusts(peer netip.Addr) bool {
	for _, pfx := range p.trusted {
		if pfx.Contains(peer) {
			return true
		}
	}
	return false
}

func (p *proxySettings) String() string {
	switch p.mode {
	case proxyOptional:
		return ProxyOptional
	case proxyRequired:
		return ProxyRequired
	}
	return ProxyOff
}

// matchSignature tells whether b (the first bytes of a stream) is, or may
// still become, a PROXY signature: version 1 or 2 and whether it is
// complete, or 0 when b cannot start one.
func matchSignature(b []byte) (version int, complete bool) {
	for v, sig := range [...][]byte{1: sigV1, 2: sigV2} {
		if v == 0 {
			continue
		}
		n := min(len(b), len(sig))
		if bytes.Equal(b[:n], sig[:n]) {
			return v, n == len(sig)
		}
	}
	return 0, false
}

// sniff peeks at the start of the stream until it knows whether a PROXY
// signature is there: the version when it is complete, 0 when the bytes
// cannot start one. err is the read error that stopped it first (a
// deadline, EOF, a reset); what was read stays in br either way.
func sniff(br *bufio.Reader) (version int, err error) {
	n := 1
	for {
		b, err := br.Peek(n)
		v, complete := matchSignature(b)
		switch {
		case len(b) > 0 && v == 0:
			return 0, nil
		case complete:
			return v, nil
		case err != nil:
			return 0, err
		}
		// One read at a time (Peek reads only while it has fewer than n
		// bytes), so that a short message is seen not to be a signature
		// without waiting for 12 bytes.
		sigLen := len(sigV1)
		if v == 2 {
			sigLen = len(sigV2)
		}
		n = min(max(len(b)+1, br.Buffered()), sigLen)
	}
}

// proxyResult is what the header (or its absence) says about a connection
// or datagram.
type proxyResult struct {
	source  netip.Addr // the sender the header names (invalid: keep the peer)
	version int        // 0: no header
	local   bool       // LOCAL (v2) / UNKNOWN (v1): the balancer's own connection
}

// fromHeader reads a parsed header.
func fromHeader(h *proxyproto.Header) proxyResult {
	r := proxyResult{version: int(h.Version), local: h.Command.IsLocal()}
	if r.local {
		return r
	}
	var ap netip.AddrPort
	switch a := h.SourceAddr.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	if a := ap.Addr(); a.IsValid() && !a.IsUnspecified() {
		r.source = a.Unmap().WithZone("")
	} else {
		// AF_UNIX or no address: nothing to put in place of the peer.
		r.local = true
	}
	return r
}

// proxyRefusal is why a header (or its absence) was refused: the
// InputErrors kind and the error for the log.
type proxyRefusal struct {
	kind string
	err  error
}

// prefixConn is the connection with the bytes read past the header in
// front, for the framing or the TLS handshake to read first.
type prefixConn struct {
	net.Conn
	rest []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		if len(c.rest) == 0 {
			c.rest = nil // let the header's buffer go
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// readProxyHeader reads the PROXY header at the start of a TCP or TLS
// connection, within the header timeout. It returns the connection to read
// on from there (the bytes it read past the header first) and what the
// header says. ok false: the connection is to be closed; the refusal is
// counted and logged here.
func (s *Server) readProxyHeader(c *net.TCPConn, transport, ip string, peer netip.Addr) (conn net.Conn, res proxyResult, end connEnd, ok bool) {
	br := bufio.NewReaderSize(c, proxyBufSize)
	s.setDeadline(c, time.Now().Add(s.cfg.ProxyHeaderTimeout))
	version, err := sniff(br)
	var refused *proxyRefusal
	switch {
	case err != nil && br.Buffered() == 0 && err == io.EOF:
		// Connected and closed without a byte: a balancer's TCP health
		// check, a port scan. Nothing to count.
		return nil, res, endSenderClosed, false
	case err != nil && s.stopping.Load() && errors.Is(err, os.ErrDeadlineExceeded):
		return nil, res, endCut, false // Stop ended the read: not the peer's fault
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		if s.proxy.mode == proxyRequired {
			refused = &proxyRefusal{kindProxyTimeout, fmt.Errorf("no complete PROXY header within %v", s.cfg.ProxyHeaderTimeout)}
		}
		// optional: silence, or a fragment that did not become a
		// signature, means no header.
		if s.proxy.mode == proxyOptional {
			s.log.Debug().Str("transport", transport).Str("source_ip", ip).Int("bytes", br.Buffered()).
				Dur("proxy_header_timeout", s.cfg.ProxyHeaderTimeout).Msg("no PROXY header within the header timeout; reading the connection as plain syslog")
		}
	case err != nil && errors.Is(err, syscall.ECONNRESET) && s.proxy.trusts(peer):
		// A balancer's health check that ends with a reset (HAProxy closes
		// its checks so) may reset before its LOCAL header is read, and
		// the reset discards the header: from a balancer, a connection
		// reset before any header is a check ending, not a read error (it
		// showed in CI as tcp_read errors under load).
		return nil, res, endSenderClosed, false
	case err != nil && err != io.EOF:
		s.connEnded(c, transport, ip, 0, err) // a reset: counted as tcp_read
		return nil, res, endOther, false
	case version == 0 && s.proxy.mode == proxyRequired:
		refused = &proxyRefusal{kindProxyMissing, errors.New("the connection does not start with a PROXY header")}
	case version != 0 && !s.proxy.trusts(peer):
		refused = &proxyRefusal{kindProxyUntrusted, fmt.Errorf("PROXY v%d header from %s, which is not in proxy_protocol_trusted", version, ip)}
	case version != 0:
		h, err := proxyproto.Read(br)
		switch {
		case err != nil && s.stopping.Load() && errors.Is(err, os.ErrDeadlineExceeded):
			return nil, res, endCut, false
		case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
			refused = &proxyRefusal{kindProxyTimeout, fmt.Errorf("PROXY v%d header not complete within %v", version, s.cfg.ProxyHeaderTimeout)}
		case err != nil:
			refused = &proxyRefusal{kindProxyInvalid, err}
		default:
			res = fromHeader(h)
		}
	}
	if refused != nil {
		s.refuseProxy(transport, ip, c.RemoteAddr().String(), version, refused)
		return nil, res, endOther, false
	}
	if res.version != 0 {
		s.c.proxyHeaders(res).Inc()
	}
	// From here on the idle reader, or the TLS handshake, sets the
	// deadline of every read; with neither, there is none.
	s.setDeadline(c, time.Time{})
	rest, _ := br.Peek(br.Buffered())
	return &prefixConn{Conn: c, rest: rest}, res, endOther, true
}

// refuseProxy counts and logs (sampled) a refused header or a missing one.
func (s *Server) refuseProxy(transport, ip, remote string, version int, r *proxyRefusal) {
	s.c.proxyRefused(r.kind).Inc()
	ev := s.logProxy.Warn().Err(r.err).Str("kind", r.kind).Str("transport", transport).Str("source_ip", ip)
	if remote != "" {
		ev = ev.Str("remote", remote)
	}
	if version != 0 {
		ev = ev.Int("proxy_version", version)
	}
	msg := "PROXY protocol header refused; connection closed"
	if transport == "udp" {
		msg = "PROXY protocol header refused; datagram dropped"
	}
	ev.Str("proxy_protocol", s.proxy.String()).Msg(msg)
}

// datagramProxy reads the v2 header at the start of a datagram (v1 is for
// TCP only). It returns the payload after the header and what the header
// says; ok false: the datagram is dropped (counted and logged here).
func (s *Server) datagramProxy(msg []byte, ip string, peer netip.Addr) (payload []byte, res proxyResult, ok bool) {
	if len(msg) < len(sigV2) || !bytes.Equal(msg[:len(sigV2)], sigV2) {
		if s.proxy.mode == proxyRequired {
			s.refuseProxy("udp", ip, "", 0, &proxyRefusal{kindProxyMissing, errors.New("the datagram does not start with a PROXY v2 header")})
			return nil, res, false
		}
		return msg, res, true
	}
	if !s.proxy.trusts(peer) {
		s.refuseProxy("udp", ip, "", 2, &proxyRefusal{kindProxyUntrusted, fmt.Errorf("PROXY v2 header from %s, which is not in proxy_protocol_trusted", ip)})
		return nil, res, false
	}
	// The header's length is in bytes 14-15. Parsing only the header
	// (rather than handing the whole datagram to ParseUDPDatagram, which
	// buffers all of it) keeps the copy to the header's few dozen bytes.
	n := len(msg)
	if n >= 16 {
		n = min(n, 16+int(binary.BigEndian.Uint16(msg[14:16])))
	}
	h, rest, err := proxyproto.ParseUDPDatagram(msg[:n])
	if err == nil && len(rest) != 0 {
		err = errors.New("PROXY v2 header shorter than the datagram's header length")
	}
	if err != nil {
		s.refuseProxy("udp", ip, "", 2, &proxyRefusal{kindProxyInvalid, err})
		return nil, res, false
	}
	res = fromHeader(h)
	s.c.proxyHeaders(res).Inc()
	return msg[n:], res, true
}
