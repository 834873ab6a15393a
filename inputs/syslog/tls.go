package syslog

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// TLS defaults.
const (
	// DefaultTLSListen is RFC 5425's port, the usual value of
	// TLSConfig.Listen. The listener is off unless Listen is set.
	DefaultTLSListen = ":6514"
	// DefaultTLSHandshakeTimeout bounds a handshake: a client that
	// connects and sends nothing (or stalls mid-handshake) holds its
	// goroutine and its MaxConnections slot no longer than this.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultTLSMinVersion: RFC 9662 (which updates RFC 5425) requires
	// TLS 1.2 or later.
	DefaultTLSMinVersion = "1.2"
)

// TLSConfig configures the TLS syslog listener (RFC 5425): the same
// framing as plain TCP (RFC 5425 mandates octet counting; newline framing
// is accepted too, decided per frame), Event.Transport "tls". The
// mapstructure tags are the keys under logshipper's "tls." prefix, and
// errors from New name them so.
type TLSConfig struct {
	// Listen is the TCP host:port of the TLS listener. Empty (the
	// default) means no TLS listener; RFC 5425's port is
	// DefaultTLSListen.
	Listen string `mapstructure:"listen"`
	// CertFile is a PEM file: the server certificate first, then any
	// intermediate CA certificates (the chain sent to clients). Required
	// when Listen is set.
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is a PEM file with the certificate's private key (PKCS#8,
	// SEC 1 EC or PKCS#1 RSA), unencrypted. Required when Listen is set.
	KeyFile string `mapstructure:"key_file"`
	// ClientCAFile is an optional PEM file of CA certificates. When set,
	// every client must present a certificate signed by one of them
	// (mutual TLS) or its handshake fails; when empty, clients are not
	// asked for a certificate.
	ClientCAFile string `mapstructure:"client_ca_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default)
	// or "1.3".
	MinVersion string `mapstructure:"min_version"`
	// HandshakeTimeout bounds each handshake (default 10 s).
	HandshakeTimeout time.Duration `mapstructure:"handshake_timeout"`
}

// Enabled reports whether the TLS listener is configured.
func (c TLSConfig) Enabled() bool { return c.Listen != "" }

// kindTLSHandshake counts failed handshakes: no or a wrong client
// certificate, a TLS version below MinVersion, plain text sent to the TLS
// port, a client that stalls past HandshakeTimeout.
const kindTLSHandshake = "tls_handshake"

// checkTLS applies the TLS defaults and builds the server's tls.Config: the
// files are read and checked here, at New, so that a missing file, a key
// that does not match its certificate or an expired certificate stops the
// start with one line naming the setting. It returns nil when TLS is off.
func checkTLS(c *TLSConfig, plainListen string, now time.Time) (*tls.Config, error) {
	if !c.Enabled() {
		for _, f := range []struct{ key, val string }{
			{"tls.cert_file", c.CertFile}, {"tls.key_file", c.KeyFile}, {"tls.client_ca_file", c.ClientCAFile},
		} {
			if f.val != "" {
				return nil, fmt.Errorf("%s is set but tls.listen is empty, so there is no TLS listener; set tls.listen (RFC 5425's port is %q) or unset %s",
					f.key, DefaultTLSListen, f.key)
			}
		}
		return nil, nil
	}
	if err := checkHostPort("tls.listen", c.Listen, DefaultTLSListen); err != nil {
		return nil, err
	}
	if _, port, _ := net.SplitHostPort(c.Listen); c.Listen == plainListen && port != "0" {
		return nil, fmt.Errorf("tls.listen: %q is also the plain syslog listen address; use another port, such as %q", c.Listen, DefaultTLSListen)
	}
	if c.CertFile == "" {
		return nil, errors.New("tls.cert_file: required when tls.listen is set; the PEM file of this server's certificate (then any intermediates)")
	}
	if c.KeyFile == "" {
		return nil, errors.New("tls.key_file: required when tls.listen is set; the PEM file of the certificate's private key")
	}
	var version uint16
	switch strings.TrimPrefix(strings.ToLower(c.MinVersion), "tls") {
	case "", "1.2":
		c.MinVersion, version = "1.2", tls.VersionTLS12
	case "1.3":
		c.MinVersion, version = "1.3", tls.VersionTLS13
	default:
		return nil, fmt.Errorf("tls.min_version: %q is not allowed; use 1.2 (the default) or 1.3", c.MinVersion)
	}
	switch {
	case c.HandshakeTimeout == 0:
		c.HandshakeTimeout = DefaultTLSHandshakeTimeout
	case c.HandshakeTimeout < 0:
		return nil, fmt.Errorf("tls.handshake_timeout: %v is negative; use a duration such as %v", c.HandshakeTimeout, DefaultTLSHandshakeTimeout)
	}
	cert, err := loadCertificate(c.CertFile, c.KeyFile, now)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   version,
	}
	if c.ClientCAFile != "" {
		b, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("tls.client_ca_file %q: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file", c.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// loadCertificate reads and checks the server's certificate chain and key.
// It does what tls.LoadX509KeyPair does, but says which file is wrong and
// how, and refuses a certificate that is expired or not yet valid (every
// client would refuse it anyway, one failed handshake at a time).
func loadCertificate(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.cert_file: %v", err)
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("tls.cert_file %q: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file", certFile)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.cert_file %q: the first certificate cannot be parsed: %v", certFile, err)
	}
	switch {
	case now.After(leaf.NotAfter):
		return tls.Certificate{}, fmt.Errorf("tls.cert_file %q: certificate %q expired on %s; renew it",
			certFile, leaf.Subject.String(), leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return tls.Certificate{}, fmt.Errorf("tls.cert_file %q: certificate %q is not valid before %s; check the clock",
			certFile, leaf.Subject.String(), leaf.NotBefore.UTC().Format(time.RFC3339))
	}

	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.key_file: %v", err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.key_file %q: %v", keyFile, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return tls.Certificate{}, fmt.Errorf("tls.key_file %q: the private key does not match the certificate in tls.cert_file %q", keyFile, certFile)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// parsePrivateKey returns the first private key in a PEM file.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, errors.New("no PEM private key (-----BEGIN PRIVATE KEY-----) in the file")
		}
		if strings.Contains(block.Type, "ENCRYPTED") || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, errors.New("the private key is encrypted; give logshipper an unencrypted key (openssl pkey -in KEY -out KEY.plain) and protect the file instead")
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue // e.g. EC PARAMETERS before an EC key
		}
		var key any
		var err error
		if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			var err2, err3 error
			if key, err2 = x509.ParseECPrivateKey(block.Bytes); err2 != nil {
				if key, err3 = x509.ParsePKCS1PrivateKey(block.Bytes); err3 != nil {
					return nil, fmt.Errorf("the %s block is not a PKCS#8, EC or PKCS#1 private key: %v", block.Type, err)
				}
			}
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T private key cannot sign TLS handshakes", key)
		}
		return s, nil
	}
}

// handshake runs the TLS handshake on an accepted connection within
// HandshakeTimeout. On failure it counts and logs (sampled) and the caller
// closes the connection.
//
// raw is what the TLS layer reads: c itself, or c with the bytes read past
// a PROXY header in front; deadlines are set on c.
func (s *Server) handshake(c *net.TCPConn, raw net.Conn, ip string) (*tls.Conn, bool) {
	tc := tls.Server(raw, s.tlsConfig)
	s.setDeadline(c, time.Now().Add(s.cfg.TLS.HandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		if s.stopping.Load() {
			// Stop's deadline ended it: not the client's fault.
			s.log.Debug().Err(err).Str("source_ip", ip).Msg("TLS handshake interrupted by stop")
			return nil, false
		}
		s.c.errTLSHandshake.Inc()
		s.logTLS.Warn().Err(err).Str("source_ip", ip).Str("remote", c.RemoteAddr().String()).
			Bool("timeout", errors.Is(err, os.ErrDeadlineExceeded)).
			Msg("TLS handshake failed; connection closed")
		return nil, false
	}
	// The idle reader sets the deadline of every read from here on; with
	// no idle timeout, there is none.
	s.setDeadline(c, time.Time{})
	if e := s.log.Debug(); e.Enabled() {
		st := tc.ConnectionState()
		e = e.Str("source_ip", ip).Str("tls_version", tls.VersionName(st.Version)).
			Str("cipher_suite", tls.CipherSuiteName(st.CipherSuite))
		if len(st.PeerCertificates) > 0 {
			e = e.Str("client_subject", st.PeerCertificates[0].Subject.String())
		}
		e.Msg("TLS handshake done")
	}
	return tc, true
}
