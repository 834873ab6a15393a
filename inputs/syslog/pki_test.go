package syslog

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/logshipper/logshipper/internal/testes"
)

// tlsTestConfig is testConfig with a TLS listener on a free port, its
// certificate issued by ca.
func tlsTestConfig(logs *syncBuffer, ca *testes.CA) Config {
	cfg := testConfig(logs)
	srv := ca.Server("server")
	cfg.TLS = TLSConfig{Listen: "127.0.0.1:0", CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	return cfg
}

// dialTLS connects to the server's TLS listener, trusting ca, presenting
// the client certificates given, and completes the handshake.
func dialTLS(t testing.TB, s *Server, ca *testes.CA, certs ...tls.Certificate) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: waitLimit}
	c, err := tls.DialWithDialer(d, "tcp", s.TLSAddr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: certs})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func mustDialTLS(t testing.TB, s *Server, ca *testes.CA, certs ...tls.Certificate) *tls.Conn {
	t.Helper()
	c, err := dialTLS(t, s, ca, certs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
