package redis

import (
	"fmt"
	"net/url"
	"time"
)

// Config is the redis section: where the edge writes its records.
type Config struct {
	// URL of the server: redis://[user:password@]host:port[/db].
	URL string `mapstructure:"url"`
	// Stream is the stream's key.
	Stream string `mapstructure:"stream"`
	// MaxLen bounds the stream: while it holds this many entries the
	// output waits (its batches are retried with backoff, which holds the
	// senders back) instead of trimming, which would drop entries no
	// indexer has read yet. 0 means no bound.
	MaxLen int `mapstructure:"max_len"`
	// Group is the indexers' consumer group (read by the redis input).
	Group string `mapstructure:"group"`
	// Timeout of one batch's round trip.
	Timeout time.Duration `mapstructure:"timeout"`
}

// DefaultConfig: a local server, a million entries at most (about 0.5 to
// 1 GB of Redis memory with ~500-byte documents).
func DefaultConfig() Config {
	return Config{URL: "redis://127.0.0.1:6379", Stream: "logshipper", MaxLen: 1_000_000, Group: "logshipper", Timeout: 10 * time.Second}
}

// Validate reports the first bad value as one line naming its key.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		return fmt.Errorf("redis.url: %q is not a Redis URL; use redis://host:6379 (or rediss:// for TLS)", c.URL)
	case c.Stream == "":
		return fmt.Errorf("redis.stream: empty; name the stream, e.g. logshipper")
	case c.MaxLen < 0:
		return fmt.Errorf("redis.max_len: %d is negative; use 0 for no bound", c.MaxLen)
	case c.Timeout <= 0:
		return fmt.Errorf("redis.timeout: %s must be positive, e.g. 10s", c.Timeout)
	}
	return nil
}
