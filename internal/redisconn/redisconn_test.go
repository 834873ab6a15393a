package redisconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBadSettings(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.URL = "http://x" }, `redis.url: "http://x" is not a Redis URL`},
		{func(c *Config) { c.URL = "http://u:secret@x" }, `redis.url: "http://u:xxxxx@x" is not a Redis URL`},
		{func(c *Config) { c.Stream = "" }, "redis.stream: empty"},
		{func(c *Config) { c.MaxLen = -1 }, "redis.max_len: -1 is negative"},
		{func(c *Config) { c.Group = "" }, "redis.group: empty"},
		{func(c *Config) { c.ClaimIdle = time.Millisecond }, "redis.claim_idle: 1ms is too short"},
		{func(c *Config) { c.Timeout = 0 }, "redis.timeout: 0s must be positive"},
		{func(c *Config) { c.CAFile = empty }, `redis.ca_file: set, but redis.url "redis://127.0.0.1:6379" is not rediss://`},
		{func(c *Config) { c.URL, c.CAFile = "rediss://x:6380", filepath.Join(dir, "nope") }, `redis.ca_file: "` + filepath.Join(dir, "nope") + `" cannot be read`},
		{func(c *Config) { c.PasswordFile = filepath.Join(dir, "nope") }, `redis.password_file: "` + filepath.Join(dir, "nope") + `" cannot be read`},
		{func(c *Config) { c.PasswordFile = empty }, `redis.password_file: "` + empty + `" is empty`},
	} {
		cfg := DefaultConfig()
		c.change(&cfg)
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// The password comes from the file (a Docker secret, trailing newline
// cut) and replaces one in the URL; it never shows in Redacted.
func TestPasswordFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte("s3cret\n"), 0o600)
	cfg := DefaultConfig()
	cfg.URL, cfg.PasswordFile = "redis://user:old@127.0.0.1:6379/2", f
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if o := c.Options(); o.Password != "s3cret" || o.Username != "user" || o.DB != 2 || o.MaxRetries != 0 { // -1 (none) reads back as 0
		t.Errorf("options: user %q password %q db %d retries %d", o.Username, o.Password, o.DB, o.MaxRetries)
	}
	if r := cfg.Redacted(); strings.Contains(r, "old") || strings.Contains(r, "s3cret") {
		t.Errorf("Redacted() = %q", r)
	}
}

func TestTLS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL, cfg.InsecureSkipVerify = "rediss://127.0.0.1:6380", true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tc := c.Options().TLSConfig; tc == nil || !tc.InsecureSkipVerify {
		t.Errorf("TLS config %+v", tc)
	}
}
