package testes

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A server certificate from NewCA verifies against the CA's pool for the
// loopback names, and not against another CA's; expired ones do not.
func TestCA(t *testing.T) {
	ca, other := NewCA(t, "a test CA"), NewCA(t, "other")
	srv := ca.Server("server")
	// File names without spaces, whatever the CA's name: configuration
	// files (nginx's) split on them.
	for _, p := range []string{ca.CAFile, srv.CertFile, srv.KeyFile} {
		if strings.ContainsAny(filepath.Base(p), " \t") {
			t.Errorf("file name with a space: %q", p)
		}
	}
	leaf, err := x509.ParseCertificate(srv.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool}); err == nil {
		t.Error("verified against a CA that did not sign it")
	}
	now := time.Now()
	expired := ca.Issue("expired", x509.ExtKeyUsageServerAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	if old, _ := x509.ParseCertificate(expired.Cert.Certificate[0]); old == nil || now.Before(old.NotAfter) {
		t.Error("expired certificate is valid")
	}
	// A TLS handshake with a client certificate, both ways verified.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv.Cert}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(),
		&tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Client("client").Cert}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
