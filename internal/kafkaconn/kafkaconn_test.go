package kafkaconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logshipper/logshipper/internal/testes"
)

// Each bad value is reported as one line naming its key and quoting it.
func TestValidateRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.Brokers = nil }, "kafka.brokers: empty"},
		{func(c *Config) { c.Brokers = []string{"kafka"} }, `kafka.brokers: "kafka" is not host:port`},
		{func(c *Config) { c.Brokers = []string{"kafka:9092", "kafka2:"} }, `kafka.brokers: "kafka2:" is not host:port`},
		{func(c *Config) { c.Topic = "" }, "kafka.topic: empty"},
		{func(c *Config) { c.Timeout = 500 * time.Millisecond }, "kafka.timeout: 500ms is too short"},
		{func(c *Config) { c.Compression = "brotli" }, `kafka.compression: "brotli" is not a codec; use one of: none, gzip, snappy, lz4, zstd`},
		{func(c *Config) { c.Compression = "" }, `kafka.compression: "" is not a codec`},
		{func(c *Config) { c.PartitionKey = "hostname" }, `kafka.partition_key: "hostname" is not allowed`},
		{func(c *Config) { c.MaxRecordBytes = 1000 }, "kafka.max_record_bytes: 1000 is too small"},
		{func(c *Config) { c.Group = "" }, "kafka.group: empty"},
		{func(c *Config) { c.StartOffset = "oldest" }, `kafka.start_offset: "oldest" is not allowed`},
		{func(c *Config) { c.FetchMaxBytes = 1000 }, "kafka.fetch_max_bytes: 1000 is too small"},
		{func(c *Config) { c.FetchMinBytes = 0 }, "kafka.fetch_min_bytes: 0 is out of range; use 1 to kafka.fetch_max_bytes (1048576)"},
		{func(c *Config) { c.FetchMinBytes = 2 << 20 }, "kafka.fetch_min_bytes: 2097152 is out of range"},
		{func(c *Config) { c.FetchMaxWait = 0 }, "kafka.fetch_max_wait: 0s is out of range; use 1ms to 10s"},
		{func(c *Config) { c.FetchMaxWait = time.Minute }, "kafka.fetch_max_wait: 1m0s is out of range"},
		{func(c *Config) { c.TLS.CAFile = "/etc/ca.pem" }, "kafka.tls.ca_file: set, but kafka.tls.enabled is false"},
		{func(c *Config) { c.TLS.Enabled, c.TLS.CAFile = true, filepath.Join(dir, "missing.pem") }, `kafka.tls.ca_file: "` + dir},
		{func(c *Config) { c.SASL.Mechanism = "GSSAPI" }, `kafka.sasl.mechanism: "GSSAPI" is not supported`},
		{func(c *Config) { c.SASL.Mechanism, c.SASL.Username = "PLAIN", "edge" }, "kafka.sasl.mechanism: PLAIN needs kafka.sasl.username and a password"},
		{func(c *Config) { c.SASL.Mechanism, c.SASL.Password = "SCRAM-SHA-512", "pw" }, "needs kafka.sasl.username"},
		{func(c *Config) {
			c.SASL.Mechanism, c.SASL.Username, c.SASL.Password, c.SASL.PasswordFile = "PLAIN", "edge", "pw", "/run/secrets/pw"
		}, "kafka.sasl.password_file: set together with kafka.sasl.password"},
		{func(c *Config) {
			c.SASL.Mechanism, c.SASL.Username, c.SASL.PasswordFile = "PLAIN", "edge", filepath.Join(dir, "nope")
		}, `kafka.sasl.password_file: "` + dir},
	} {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Validate: %v, want one line with %q", err, tc.want)
		}
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"plain", "SCRAM-SHA-256", "scram-sha-512"} {
		c := DefaultConfig()
		c.SASL.Mechanism, c.SASL.Username, c.SASL.Password = m, "edge", "pw"
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

// The password file is read by Validate, its line end trimmed (a file
// written by echo or an editor), nothing else.
func TestPasswordFileReadAndTrimmed(t *testing.T) {
	for file, want := range map[string]string{
		"s3cret\n":    "s3cret",
		"s3cret\r\n":  "s3cret",
		"s3cret":      "s3cret",
		" s3 cret \n": " s3 cret ",
	} {
		path := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		c.SASL.Mechanism, c.SASL.Username, c.SASL.PasswordFile = "SCRAM-SHA-256", "edge", path
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.password() != want {
			t.Errorf("file %q: password %q, want %q", file, c.password(), want)
		}
		// Validated twice (the configuration, then the component): the
		// same, not "set together with kafka.sasl.password".
		if err := c.Validate(); err != nil || c.password() != want {
			t.Errorf("second Validate: %v, password %q", err, c.password())
		}
	}
	// A file holding only a line end is no password.
	path := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(path, []byte("\n"), 0o600)
	c := DefaultConfig()
	c.SASL.Mechanism, c.SASL.Username, c.SASL.PasswordFile = "PLAIN", "edge", path
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs kafka.sasl.username and a password") {
		t.Errorf("empty password file: %v", err)
	}
}

// Redacted names brokers, topic, TLS and the SASL user, never the password.
func TestRedactedHidesPassword(t *testing.T) {
	c := DefaultConfig()
	c.Brokers = []string{"k1:9093", "k2:9093"}
	c.TLS.Enabled = true
	c.SASL.Mechanism, c.SASL.Username, c.SASL.Password = "scram-sha-512", "edge", "hunter2-s3cret"
	s := c.Redacted()
	if strings.Contains(s, "hunter2") {
		t.Fatalf("Redacted shows the password: %s", s)
	}
	for _, want := range []string{"brokers=k1:9093,k2:9093", "topic=logshipper", "tls=true", "sasl=SCRAM-SHA-512", "user=edge"} {
		if !strings.Contains(s, want) {
			t.Errorf("Redacted %q lacks %q", s, want)
		}
	}
	if s := DefaultConfig().Redacted(); strings.Contains(s, "sasl") {
		t.Errorf("no SASL, yet: %s", s)
	}
}

// Options with TLS (a CA file) and each SASL mechanism make a client; a
// CA file without a certificate is refused. No broker is contacted.
func TestOptionsBuildClients(t *testing.T) {
	ca := testes.NewCA(t, "logshipper test CA").CAFile
	for _, m := range []string{"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		c := DefaultConfig()
		c.TLS.Enabled, c.TLS.CAFile = true, ca
		if m != "" {
			c.SASL.Mechanism, c.SASL.Username, c.SASL.Password = m, "edge", "pw"
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		opts, err := c.Options()
		if err != nil {
			t.Fatalf("%q: %v", m, err)
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatalf("%q: client: %v", m, err)
		}
		cl.Close()
	}
	c := DefaultConfig()
	c.TLS.Enabled, c.TLS.InsecureSkipVerify = true, true
	if _, err := c.Options(); err != nil {
		t.Errorf("TLS without a CA file: %v", err)
	}

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	c = DefaultConfig()
	c.TLS.Enabled, c.TLS.CAFile = true, notPEM
	if _, err := c.Options(); err == nil || !strings.Contains(err.Error(), `kafka.tls.ca_file: "`+notPEM+`" holds no PEM certificate`) {
		t.Errorf("CA file without a certificate: %v", err)
	}
}
