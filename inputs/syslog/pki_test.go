package syslog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made by a test, with its files in a
// temporary directory.
type testCA struct {
	t      testing.TB
	dir    string
	name   string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	CAFile string
	Pool   *x509.CertPool
}

// issued is a certificate and its key, as files and loaded.
type issued struct {
	CertFile, KeyFile string
	Cert              tls.Certificate
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(serial.Add(1)) }

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, dir: t.TempDir(), name: name, cert: cert, key: key, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.CAFile = ca.write(name+"-ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// server issues a certificate for 127.0.0.1, ::1 and localhost.
func (ca *testCA) server(name string) issued {
	return ca.issue(name, x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// client issues a client certificate.
func (ca *testCA) client(name string) issued {
	return ca.issue(name, x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

func (ca *testCA) issue(name string, usage x509.ExtKeyUsage, notBefore, notAfter time.Time) issued {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	is := issued{
		CertFile: ca.write(ca.name+"-"+name+".crt", "CERTIFICATE", der),
		KeyFile:  ca.write(ca.name+"-"+name+".key", "PRIVATE KEY", keyDER),
	}
	if is.Cert, err = tls.LoadX509KeyPair(is.CertFile, is.KeyFile); err != nil {
		ca.t.Fatal(err)
	}
	return is
}

// tlsTestConfig is testConfig with a TLS listener on a free port, its
// certificate issued by ca.
func tlsTestConfig(logs *syncBuffer, ca *testCA) Config {
	cfg := testConfig(logs)
	srv := ca.server("server")
	cfg.TLS = TLSConfig{Listen: "127.0.0.1:0", CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	return cfg
}

// dialTLS connects to the server's TLS listener, trusting ca, presenting
// the client certificates given, and completes the handshake.
func dialTLS(t testing.TB, s *Server, ca *testCA, certs ...tls.Certificate) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: waitLimit}
	c, err := tls.DialWithDialer(d, "tcp", s.TLSAddr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: certs})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func mustDialTLS(t testing.TB, s *Server, ca *testCA, certs ...tls.Certificate) *tls.Conn {
	t.Helper()
	c, err := dialTLS(t, s, ca, certs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
