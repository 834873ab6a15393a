// Package kafkaconn is the kafka section of the configuration and the
// client options it describes: the one place the edge's Kafka output and
// the indexer's Kafka input learn where the brokers are and how to reach
// them (TLS, SASL PLAIN or SCRAM, secrets from files), and how the record
// batches between them are framed (LZ4, lz4.go).
package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Record header names: what the edge's output writes beside the document
// (the record's value) and the indexer's input reads.
const (
	HeaderID    = "logshipper-id"    // the event's stable ID: the document's _id
	HeaderIndex = "logshipper-index" // the target index, date pattern resolved
)

// Values of kafka.partition_key.
const (
	KeySourceIP = "source_ip" // the sender's address: one sender's records stay in order
	KeyHost     = "host"      // the header's hostname (the sender's address when absent)
	KeyNone     = "none"      // no key: records spread over the partitions
)

// Values of kafka.start_offset.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// Compression codecs of kafka.compression.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Config is the kafka section.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// Topic the edge writes to and the indexers read.
	Topic string `mapstructure:"topic"`
	// ClientID names this process to the brokers (quotas, logs).
	ClientID string `mapstructure:"client_id"`
	// Timeout of one produce batch (edge) or commit (indexer).
	Timeout time.Duration `mapstructure:"timeout"`

	// Edge (output.type kafka).
	Compression  string `mapstructure:"compression"`
	PartitionKey string `mapstructure:"partition_key"`
	// MaxRecordBytes is the producer's bound on one record batch; a record
	// larger than the broker's message.max.bytes is refused by the broker
	// and dead-lettered.
	MaxRecordBytes int `mapstructure:"max_record_bytes"`

	// Indexer (input.type kafka).
	Group       string `mapstructure:"group"`
	StartOffset string `mapstructure:"start_offset"`
	// FetchMaxBytes bounds one fetch, in compressed bytes; decompressed
	// it is about 7 times as much (lz4 on the edge's documents).
	FetchMaxBytes int `mapstructure:"fetch_max_bytes"`
	// FetchMinBytes and FetchMaxWait: a broker answers a fetch once it
	// has this many bytes for it or this long has passed (Kafka's
	// fetch.min.bytes, fetch.max.wait.ms). Fuller fetches cost the
	// indexer and the broker less per record.
	FetchMinBytes int           `mapstructure:"fetch_min_bytes"`
	FetchMaxWait  time.Duration `mapstructure:"fetch_max_wait"`
	// SessionTimeout: an indexer silent this long (crashed, killed) is
	// dropped from the group and its partitions go to the others.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`

	TLS struct {
		Enabled            bool   `mapstructure:"enabled"`
		CAFile             string `mapstructure:"ca_file"`
		InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
	} `mapstructure:"tls"`
	SASL struct {
		// Mechanism: "" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
		Mechanism    string `mapstructure:"mechanism"`
		Username     string `mapstructure:"username"`
		Password     string `mapstructure:"password"`
		PasswordFile string `mapstructure:"password_file"`

		filePassword string // read from PasswordFile by Validate
	} `mapstructure:"sasl"`
}

// DefaultConfig: the stack's broker, the sender's address as key (one
// sender's order kept), lz4 (measured, outputs/kafka/README.md: edge CPU
// within noise of none, 7x smaller, cheapest for the indexers to read
// back), the oldest records first for a new group (lose nothing).
func DefaultConfig() Config {
	return Config{
		Brokers: []string{"kafka:9092"}, Topic: "logshipper", ClientID: "logshipper",
		Timeout: 10 * time.Second, Compression: "lz4", PartitionKey: KeySourceIP,
		MaxRecordBytes: 1 << 20, Group: "logshipper", StartOffset: StartEarliest,
		FetchMaxBytes: 1 << 20, FetchMinBytes: 256 << 10, FetchMaxWait: 100 * time.Millisecond,
		SessionTimeout: 45 * time.Second,
	}
}

// Validate reports the first bad value as one line naming its key, and
// reads the password file.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("kafka.brokers: empty; give host:port of one or more brokers, e.g. kafka:9092")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fmt.Errorf("kafka.brokers: %q is not host:port; use e.g. kafka:9092", b)
		}
	}
	switch {
	case c.Topic == "":
		return fmt.Errorf("kafka.topic: empty; name the topic, e.g. logshipper")
	case c.Timeout < time.Second:
		return fmt.Errorf("kafka.timeout: %s is too short; use 1s or more (default 10s)", c.Timeout)
	case !slices.Contains(Compressions, c.Compression):
		return fmt.Errorf("kafka.compression: %q is not a codec; use one of: %s", c.Compression, strings.Join(Compressions, ", "))
	case c.PartitionKey != KeySourceIP && c.PartitionKey != KeyHost && c.PartitionKey != KeyNone:
		return fmt.Errorf("kafka.partition_key: %q is not allowed; use source_ip, host or none", c.PartitionKey)
	case c.MaxRecordBytes < 1024:
		return fmt.Errorf("kafka.max_record_bytes: %d is too small; use 1024 or more (default 1048576)", c.MaxRecordBytes)
	case c.Group == "":
		return fmt.Errorf("kafka.group: empty; name the indexers' consumer group, e.g. logshipper")
	case c.StartOffset != StartEarliest && c.StartOffset != StartLatest:
		return fmt.Errorf("kafka.start_offset: %q is not allowed; use earliest or latest", c.StartOffset)
	case c.FetchMaxBytes < 1<<20:
		return fmt.Errorf("kafka.fetch_max_bytes: %d is too small; use 1048576 or more (default 1048576)", c.FetchMaxBytes)
	case c.FetchMinBytes < 1 || c.FetchMinBytes > c.FetchMaxBytes:
		return fmt.Errorf("kafka.fetch_min_bytes: %d is out of range; use 1 to kafka.fetch_max_bytes (%d) (default 262144)", c.FetchMinBytes, c.FetchMaxBytes)
	case c.FetchMaxWait < time.Millisecond || c.FetchMaxWait > 10*time.Second:
		return fmt.Errorf("kafka.fetch_max_wait: %s is out of range; use 1ms to 10s (default 100ms)", c.FetchMaxWait)
	case c.SessionTimeout < 6*time.Second || c.SessionTimeout > 30*time.Minute:
		return fmt.Errorf("kafka.session_timeout: %s is out of range; use 6s to 30m, within the brokers' group.min/max.session.timeout.ms (default 45s)", c.SessionTimeout)
	case c.TLS.CAFile != "" && !c.TLS.Enabled:
		return fmt.Errorf("kafka.tls.ca_file: set, but kafka.tls.enabled is false; enable TLS")
	}
	if c.TLS.CAFile != "" {
		if _, err := os.Stat(c.TLS.CAFile); err != nil {
			return fmt.Errorf("kafka.tls.ca_file: %q cannot be read: %v", c.TLS.CAFile, err)
		}
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
		return nil
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not supported; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)
	}
	if c.SASL.PasswordFile != "" {
		if c.SASL.Password != "" {
			return fmt.Errorf("kafka.sasl.password_file: set together with kafka.sasl.password; keep one")
		}
		b, err := os.ReadFile(c.SASL.PasswordFile)
		if err != nil {
			return fmt.Errorf("kafka.sasl.password_file: %q cannot be read: %v", c.SASL.PasswordFile, err)
		}
		c.SASL.filePassword = strings.TrimRight(string(b), "\r\n")
	}
	if c.SASL.Username == "" || c.password() == "" {
		return fmt.Errorf("kafka.sasl.mechanism: %s needs kafka.sasl.username and a password (kafka.sasl.password_file)", c.SASL.Mechanism)
	}
	return nil
}

// Options are the client options every role shares: brokers, client id,
// TLS and SASL. Each role adds its own (producer or consumer).
func (c Config) Options() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.DialTimeout(c.Timeout),
		kgo.RequestTimeoutOverhead(c.Timeout),
	}
	if c.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.ca_file: %q cannot be read: %v", c.TLS.CAFile, err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls.ca_file: %q holds no PEM certificate", c.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.Username, Pass: c.password()}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.password()}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.password()}.AsSha512Mechanism()))
	}
	return opts, nil
}

// password is the SASL password: given, or read from the file.
func (c Config) password() string {
	if c.SASL.PasswordFile != "" {
		return c.SASL.filePassword
	}
	return c.SASL.Password
}

// Redacted describes the connection for logs: brokers, topic, TLS and
// SASL user, never the password.
func (c Config) Redacted() string {
	s := fmt.Sprintf("brokers=%s topic=%s tls=%t", strings.Join(c.Brokers, ","), c.Topic, c.TLS.Enabled)
	if c.SASL.Mechanism != "" {
		s += fmt.Sprintf(" sasl=%s user=%s", strings.ToUpper(c.SASL.Mechanism), c.SASL.Username)
	}
	return s
}

// Ping asks the cluster for its metadata: the brokers answer.
func Ping(ctx context.Context, cl *kgo.Client) error {
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answers: %v", err)
	}
	return nil
}
