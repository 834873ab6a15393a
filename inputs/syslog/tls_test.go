package syslog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/internal/testes"
)

func TestTLSReceives(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	sk := newSink()
	s, tcp, _ := start(t, tlsTestConfig(nil, ca), sk)
	recTLS, recTCP := value(s.c.receivedTLS), value(s.c.receivedTCP)
	if !s.Ready() || s.TLSAddr() == nil {
		t.Fatalf("ready %v, TLS address %v", s.Ready(), s.TLSAddr())
	}
	c := mustDialTLS(t, s, ca)
	// RFC 5425 octet counting, and newline framing from the same sender.
	write(t, c, octet("<13>octet counted"))
	write(t, c, "<13>lf framed\n"+octet("<13>octet again\nline")+"<13>last")
	c.Close()
	want := []string{"<13>octet counted", "<13>lf framed", "<13>octet again\nline", "<13>last"}
	evs := sk.waitN(t, len(want))
	if got := raws(evs); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, ev := range evs {
		if ev.Transport != "tls" || ev.SourceIP != "127.0.0.1" || !ev.Received.Equal(fixedNow) || ev.Truncated {
			t.Errorf("event %+v", ev)
		}
	}
	if d := value(s.c.receivedTLS) - recTLS; d != float64(len(want)) {
		t.Errorf("received tls +%v, want +%d", d, len(want))
	}
	if d := value(s.c.receivedTCP) - recTCP; d != 0 {
		t.Errorf("received tcp +%v, want +0", d)
	}
	// Plain TCP keeps working beside TLS.
	p := dialTCP(t, tcp)
	write(t, p, "<13>plain\n")
	evs = sk.waitN(t, len(want)+1)
	if ev := evs[len(want)]; string(ev.Raw) != "<13>plain" || ev.Transport != "tcp" {
		t.Errorf("plain event %+v", ev)
	}
}

func TestTLSOffByDefault(t *testing.T) {
	s, _, _ := start(t, testConfig(nil), newSink())
	if a := s.TLSAddr(); a != nil {
		t.Errorf("TLS address %v with TLS off", a)
	}
	if s.tlsConfig != nil {
		t.Error("TLS configured with TLS off")
	}
}

// 1 MiB lines and octet counts above the maximum, over TLS: truncated,
// tagged, counted, the connection kept and the next message intact.
func TestTLSHugeMessagesTruncated(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	sk := newSink()
	s, _, _ := start(t, tlsTestConfig(nil, ca), sk)
	truncated, oversize := value(s.c.truncated), value(s.c.errOversize)
	c := mustDialTLS(t, s, ca)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("<13>" + strings.Repeat("x", 1<<20) + "\n<13>next\n2000000 <13>" + strings.Repeat("y", 2000000-4) + "<13>after octets\n"))
		errc <- err
	}()
	evs := sk.waitN(t, 4)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		prefix    string
		size      int
		truncated bool
	}{{"<13>x", DefaultMaxMessageSize, true}, {"<13>next", 8, false}, {"<13>y", DefaultMaxMessageSize, true}, {"<13>after octets", 16, false}} {
		ev := evs[i]
		if !strings.HasPrefix(string(ev.Raw), want.prefix) || len(ev.Raw) != want.size || ev.Truncated != want.truncated || ev.Transport != "tls" {
			t.Errorf("event %d: %.20q… %d bytes truncated=%v %s; want %q… %d bytes truncated=%v",
				i, ev.Raw, len(ev.Raw), ev.Truncated, ev.Transport, want.prefix, want.size, want.truncated)
		}
	}
	if d := value(s.c.truncated) - truncated; d != 2 {
		t.Errorf("truncated +%v, want +2", d)
	}
	if d := value(s.c.errOversize) - oversize; d != 2 {
		t.Errorf("oversize +%v, want +2", d)
	}
}

// With ClientCAFile, only clients with a certificate from that CA get in.
func TestTLSClientCertificates(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	other := testes.NewCA(t, "other")
	good := ca.Client("good")
	intruder := other.Client("intruder")
	logs := &syncBuffer{}
	cfg := tlsTestConfig(logs, ca)
	cfg.TLS.ClientCAFile = ca.CAFile
	sk := newSink()
	s, _, _ := start(t, cfg, sk)
	if s.tlsConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("client auth %v", s.tlsConfig.ClientAuth)
	}

	for _, tc := range []struct {
		name    string
		certs   []tls.Certificate
		version uint16
	}{
		{"no certificate", nil, 0},
		{"certificate of another CA", []tls.Certificate{intruder.Cert}, 0},
		{"no certificate, TLS 1.2", nil, tls.VersionTLS12},
		{"certificate of another CA, TLS 1.2", []tls.Certificate{intruder.Cert}, tls.VersionTLS12},
		// A server certificate of the right CA is no client certificate.
		{"server certificate as client certificate", []tls.Certificate{ca.Server("not-a-client").Cert}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handshakes := value(s.c.errTLSHandshake)
			c, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: tc.certs, MaxVersion: tc.version})
			if err == nil {
				// TLS 1.3: the client finishes its handshake before the
				// server has judged its certificate; the refusal comes as
				// an alert on the first read.
				defer c.Close()
				c.Write([]byte("<13>must not arrive\n"))
				expectClosed(t, c)
			}
			waitDelta(t, "tls_handshake errors", s.c.errTLSHandshake, handshakes, 1)
		})
	}

	c := mustDialTLS(t, s, ca, good.Cert)
	write(t, c, "<13>from the good client\n")
	evs := sk.waitN(t, 1)
	waitUntil(t, "refused connections closed", func() bool { return s.openConns() == 1 })
	if got := raws(sk.snapshot()); !slices.Equal(got, []string{"<13>from the good client"}) || evs[0].Transport != "tls" {
		t.Errorf("events %q", got)
	}
	if n := logs.count("TLS handshake failed"); n < 1 || n > 5 {
		t.Errorf("%d handshake failure lines, want 1..5", n)
	}
}

// Handshakes that never finish (a silent client) or never start (plain
// text on the TLS port) are ended, counted and logged sampled.
func TestTLSHandshakeFailures(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	logs := &syncBuffer{}
	cfg := tlsTestConfig(logs, ca)
	cfg.Logger = cfg.Logger.Level(zerolog.InfoLevel)
	cfg.TLS.HandshakeTimeout = 200 * time.Millisecond
	sk := newSink()
	s, _, _ := start(t, cfg, sk)
	handshakes, conns := value(s.c.errTLSHandshake), value(s.c.connections)
	tlsAddr := s.TLSAddr().(*net.TCPAddr)

	silent := dialTCP(t, tlsAddr)
	expectClosed(t, silent)
	waitDelta(t, "tls_handshake errors", s.c.errTLSHandshake, handshakes, 1)
	if !strings.Contains(logs.String(), `"timeout":true`) {
		t.Errorf("handshake timeout not logged as such: %s", logs)
	}

	const plain = 200
	for range plain {
		c := dialTCP(t, tlsAddr)
		write(t, c, "<13>plain text sent to the TLS port\n")
		expectClosed(t, c)
		c.Close()
	}
	waitDelta(t, "tls_handshake errors", s.c.errTLSHandshake, handshakes, 1+plain)
	waitUntil(t, "connections closed", func() bool { return s.openConns() == 0 && value(s.c.connections) == conns })
	if n := len(sk.snapshot()); n != 0 {
		t.Errorf("%d events from failed handshakes", n)
	}
	if n := logs.count("TLS handshake failed"); n < 1 || n > 5 {
		t.Errorf("%d handshake failure lines for %d failures, want 1..5 (sampled)", n, 1+plain)
	}
}

func TestTLSMinVersion(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(nil, ca)
	cfg.TLS.MinVersion = "TLS1.3"
	sk := newSink()
	s, _, _ := start(t, cfg, sk)
	handshakes := value(s.c.errTLSHandshake)
	if s.cfg.TLS.MinVersion != "1.3" || s.tlsConfig.MinVersion != tls.VersionTLS13 {
		t.Fatalf("min version %q / %x", s.cfg.TLS.MinVersion, s.tlsConfig.MinVersion)
	}
	if _, err := tls.Dial("tcp", s.TLSAddr().String(), &tls.Config{RootCAs: ca.Pool, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("TLS 1.2 client accepted with tls.min_version 1.3")
	}
	waitDelta(t, "tls_handshake errors", s.c.errTLSHandshake, handshakes, 1)
	c := mustDialTLS(t, s, ca)
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("version %x", v)
	}
}

// Stop must not wait for a handshake or an idle TLS connection to time out.
func TestTLSStopDoesNotWaitForTimeouts(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(nil, ca)
	cfg.TLS.HandshakeTimeout = time.Hour
	cfg.IdleTimeout = time.Hour
	cfg.DrainTimeout = NoDrain // drain_test.go covers the drain
	sk := newSink()
	s, err := New(cfg, sk)
	if err != nil {
		t.Fatal(err)
	}
	handshakes, idle := value(s.c.errTLSHandshake), value(s.c.errIdleTimeout)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	tlsAddr := s.TLSAddr().(*net.TCPAddr)
	dialTCP(t, tlsAddr) // silent: stuck in the handshake
	c := mustDialTLS(t, s, ca)
	write(t, c, "<13>then idle\n")
	sk.waitN(t, 1)
	waitUntil(t, "two connections", func() bool { return s.openConns() == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.openConns() != 0 {
		t.Errorf("%d connections after Stop", s.openConns())
	}
	if value(s.c.errTLSHandshake) != handshakes || value(s.c.errIdleTimeout) != idle {
		t.Error("Stop counted as a handshake failure or idle timeout")
	}
}

func TestTLSStartFailsWhenPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ca := testes.NewCA(t, "ca")
	cfg := tlsTestConfig(nil, ca)
	cfg.TLS.Listen = taken.Addr().String()
	s, err := New(cfg, newSink())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "inputs/syslog: tls.listen: listen tcp") {
		t.Fatalf("Start error %v", err)
	}
	if tcp, udp := s.Addr(); s.Ready() || tcp != nil || udp != nil || s.TLSAddr() != nil {
		t.Errorf("after a failed Start: ready %v, bound %v %v %v", s.Ready(), tcp, udp, s.TLSAddr())
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	ca := testes.NewCA(t, "ca")
	srv := ca.Server("server")
	other := ca.Server("other")
	now := time.Now()
	expired := ca.Issue("expired", x509.ExtKeyUsageServerAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future := ca.Issue("future", x509.ExtKeyUsageServerAuth, now.Add(24*time.Hour), now.Add(48*time.Hour))
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notPEM := file("not.pem", "hello\n")
	encrypted := file("encrypted.key", string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("junk")})))
	missing := filepath.Join(dir, "missing.pem")
	unreadable := file("unreadable.pem", "")
	os.Chmod(unreadable, 0)

	on := func(c *TLSConfig) { c.Listen, c.CertFile, c.KeyFile = "127.0.0.1:0", srv.CertFile, srv.KeyFile }
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"cert without listen", func(c *Config) { c.TLS.CertFile = srv.CertFile }, `tls.cert_file is set but tls.listen is empty, so there is no TLS listener; set tls.listen (RFC 5425's port is ":6514") or unset tls.cert_file`},
		{"client CA without listen", func(c *Config) { c.TLS.ClientCAFile = ca.CAFile }, `tls.client_ca_file is set but tls.listen is empty`},
		{"listen without cert", func(c *Config) { c.TLS.Listen = ":6514" }, "tls.cert_file: required when tls.listen is set"},
		{"listen without key", func(c *Config) { c.TLS.Listen, c.TLS.CertFile = ":6514", srv.CertFile }, "tls.key_file: required when tls.listen is set"},
		{"bad listen", func(c *Config) { on(&c.TLS); c.TLS.Listen = "6514" }, `tls.listen: "6514": missing port in address; use host:port such as ":6514"`},
		{"bad port", func(c *Config) { on(&c.TLS); c.TLS.Listen = ":syslog-tls" }, `tls.listen: ":syslog-tls": port "syslog-tls" is not a number from 0 to 65535`},
		{"same as plain", func(c *Config) { on(&c.TLS); c.Listen, c.TLS.Listen = ":10514", ":10514" }, `tls.listen: ":10514" is also the plain syslog listen address; use another port, such as ":6514"`},
		{"missing cert file", func(c *Config) { on(&c.TLS); c.TLS.CertFile = missing }, "tls.cert_file: open " + missing + ": no such file or directory"},
		{"cert file not PEM", func(c *Config) { on(&c.TLS); c.TLS.CertFile = notPEM }, fmt.Sprintf("tls.cert_file %q: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file", notPEM)},
		{"key file given as cert", func(c *Config) { on(&c.TLS); c.TLS.CertFile = srv.KeyFile }, "no PEM certificate"},
		{"missing key file", func(c *Config) { on(&c.TLS); c.TLS.KeyFile = missing }, "tls.key_file: open " + missing + ": no such file or directory"},
		{"cert given as key", func(c *Config) { on(&c.TLS); c.TLS.KeyFile = srv.CertFile }, fmt.Sprintf("tls.key_file %q: no PEM private key (-----BEGIN PRIVATE KEY-----) in the file", srv.CertFile)},
		{"key of another cert", func(c *Config) { on(&c.TLS); c.TLS.KeyFile = other.KeyFile },
			fmt.Sprintf("tls.key_file %q: the private key does not match the certificate in tls.cert_file %q", other.KeyFile, srv.CertFile)},
		{"encrypted key", func(c *Config) { on(&c.TLS); c.TLS.KeyFile = encrypted }, "the private key is encrypted; give logshipper an unencrypted key"},
		{"expired cert", func(c *Config) { on(&c.TLS); c.TLS.CertFile, c.TLS.KeyFile = expired.CertFile, expired.KeyFile },
			fmt.Sprintf(`tls.cert_file %q: certificate "CN=expired" expired on %s; renew it`, expired.CertFile, now.Add(-24*time.Hour).UTC().Format(time.RFC3339))},
		{"cert not yet valid", func(c *Config) { on(&c.TLS); c.TLS.CertFile, c.TLS.KeyFile = future.CertFile, future.KeyFile }, `certificate "CN=future" is not valid before`},
		{"missing client CA", func(c *Config) { on(&c.TLS); c.TLS.ClientCAFile = missing }, "tls.client_ca_file: open " + missing},
		{"client CA not PEM", func(c *Config) { on(&c.TLS); c.TLS.ClientCAFile = notPEM }, fmt.Sprintf("tls.client_ca_file %q: no PEM certificate", notPEM)},
		{"min version 1.1", func(c *Config) { on(&c.TLS); c.TLS.MinVersion = "1.1" }, `tls.min_version: "1.1" is not allowed; use 1.2 (the default) or 1.3`},
		{"negative handshake timeout", func(c *Config) { on(&c.TLS); c.TLS.HandshakeTimeout = -time.Second }, "tls.handshake_timeout: -1s is negative"},
	}
	if os.Geteuid() != 0 { // root reads files whatever their mode
		tests = append(tests, struct {
			name   string
			change func(*Config)
			want   string
		}{"unreadable cert", func(c *Config) { on(&c.TLS); c.TLS.CertFile = unreadable }, "tls.cert_file: open " + unreadable + ": permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(nil)
			tt.change(&cfg)
			_, err := New(cfg, newSink())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}

	cfg := testConfig(nil)
	on(&cfg.TLS)
	s, err := New(cfg, newSink())
	if err != nil {
		t.Fatal(err)
	}
	if c := s.cfg.TLS; c.MinVersion != "1.2" || c.HandshakeTimeout != 10*time.Second || s.tlsConfig.MinVersion != tls.VersionTLS12 || s.tlsConfig.ClientAuth != tls.NoClientCert {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// Keys as openssl writes them: SEC 1 EC keys after an EC PARAMETERS block
// (openssl ecparam -genkey), PKCS#1 RSA keys (openssl genrsa -traditional).
func TestParsePrivateKeyFormats(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		pem []byte
		pub any
	}{
		"sec1 after parameters": {append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})...), &ec.PublicKey},
		"pkcs1": {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), &rsaKey.PublicKey},
	} {
		key, err := parsePrivateKey(tc.pem)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.pub) {
			t.Errorf("%s: wrong key", name)
		}
	}
}
