// Package redisconn is the redis section of the configuration and the
// client it describes: the one place the edge's Redis output and the
// indexer's Redis input learn where the stream is and how to reach it
// (URL, password file, TLS).
package redisconn

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Field names of a stream entry, the record the edge's output appends and
// the indexer's input reads.
const (
	FieldID    = "id"    // the event's stable ID: the document's _id
	FieldIndex = "index" // the target index, date pattern resolved
	FieldDoc   = "doc"   // the document, JSON, in the configured schema
)

// Config is the redis section.
type Config struct {
	// URL of the server: redis://[user:password@]host:port[/db], rediss://
	// for TLS.
	URL string `mapstructure:"url"`
	// PasswordFile names a file holding the password (Docker secrets); it
	// replaces a password in URL.
	PasswordFile string `mapstructure:"password_file"`
	// CAFile is a PEM bundle trusted for rediss://, besides the system's.
	CAFile string `mapstructure:"ca_file"`
	// InsecureSkipVerify turns off certificate checks (testing only).
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
	// Stream is the stream's key.
	Stream string `mapstructure:"stream"`
	// MaxLen bounds the stream (the edge's output): entries every group
	// has acknowledged are trimmed (from half the bound on), and while the
	// rest, waiting for the indexers, reaches the bound the output waits
	// (its batches are retried with backoff, which holds the senders back)
	// instead of trimming entries no indexer has read or acknowledged. 0
	// means no bound (acknowledged entries are still trimmed now and then).
	MaxLen int `mapstructure:"max_len"`
	// Group is the indexers' consumer group (the indexer's input).
	Group string `mapstructure:"group"`
	// Consumer names this indexer in the group; empty: host name and
	// process id, unique per process.
	Consumer string `mapstructure:"consumer"`
	// ClaimIdle: entries another consumer read and has not acknowledged
	// for this long are claimed (it crashed). A live indexer renews its
	// own in-flight entries well before, however long Elasticsearch keeps
	// them waiting.
	ClaimIdle time.Duration `mapstructure:"claim_idle"`
	// Timeout of one round trip.
	Timeout time.Duration `mapstructure:"timeout"`

	password string // read from PasswordFile by Validate
}

// DefaultConfig: a local server, a million entries at most (about 0.5 to
// 1 GB of Redis memory with ~500-byte documents), crashed consumers'
// entries claimed after a minute.
func DefaultConfig() Config {
	return Config{
		URL: "redis://127.0.0.1:6379", Stream: "logshipper", MaxLen: 1_000_000,
		Group: "logshipper", ClaimIdle: time.Minute, Timeout: 10 * time.Second,
	}
}

// Validate reports the first bad value as one line naming its key, and
// reads the password file.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		return fmt.Errorf("redis.url: %q is not a Redis URL; use redis://host:6379 (or rediss:// for TLS)", redact(c.URL))
	case c.Stream == "":
		return fmt.Errorf("redis.stream: empty; name the stream, e.g. logshipper")
	case c.MaxLen < 0:
		return fmt.Errorf("redis.max_len: %d is negative; use 0 for no bound", c.MaxLen)
	case c.Group == "":
		return fmt.Errorf("redis.group: empty; name the indexers' consumer group, e.g. logshipper")
	case c.ClaimIdle < time.Second:
		return fmt.Errorf("redis.claim_idle: %s is too short; use 1s or more (default 1m)", c.ClaimIdle)
	case c.Timeout <= 0:
		return fmt.Errorf("redis.timeout: %s must be positive, e.g. 10s", c.Timeout)
	case c.CAFile != "" && u.Scheme != "rediss":
		return fmt.Errorf("redis.ca_file: set, but redis.url %q is not rediss://; use rediss:// for TLS", redact(c.URL))
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			return fmt.Errorf("redis.ca_file: %q cannot be read: %v", c.CAFile, err)
		}
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("redis.password_file: %q cannot be read: %v", c.PasswordFile, err)
		}
		c.password = strings.TrimRight(string(b), "\r\n")
		if c.password == "" {
			return fmt.Errorf("redis.password_file: %q is empty", c.PasswordFile)
		}
	}
	return nil
}

// Redacted is URL without its password, for logs.
func (c Config) Redacted() string { return redact(c.URL) }

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// Client is the client Config describes. It does not connect: logshipper
// starts, and buffers, while Redis is down. Retries are the caller's (with
// backoff, visible), never hidden in the client.
func (c Config) Client() (*goredis.Client, error) {
	opts, err := goredis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %q: %v", redact(c.URL), err)
	}
	if c.password != "" {
		opts.Password = c.password
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig.InsecureSkipVerify = opts.TLSConfig.InsecureSkipVerify || c.InsecureSkipVerify
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.ca_file: %q cannot be read: %v", c.CAFile, err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.ca_file: %q holds no PEM certificate", c.CAFile)
			}
			opts.TLSConfig.RootCAs = pool
		}
	}
	opts.MaxRetries = -1
	opts.ReadTimeout, opts.WriteTimeout = c.Timeout, c.Timeout
	return goredis.NewClient(opts), nil
}
