package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisClient connects to the real server testenv/redis.sh started; the
// test skips without one on a developer's machine and fails in CI.
func redisClient(t *testing.T) (*goredis.Client, string) {
	t.Helper()
	url := os.Getenv("LOGSHIPPER_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("LOGSHIPPER_REQUIRE_REDIS") == "1" {
			t.Fatal("LOGSHIPPER_TEST_REDIS_URL is not set")
		}
		t.Skip("LOGSHIPPER_TEST_REDIS_URL is not set; testenv/redis.sh start --port 16379")
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", url, err)
	}
	return c, url
}

// The edge role: output.type redis appends every message received over
// TCP to the stream, exactly once each, with its document, its _id and its
// index (the seed's queue tier).
func TestEdgeToRedisStream(t *testing.T) {
	const n = 20000
	c, url := redisClient(t)
	stream := fmt.Sprintf("e2e-edge-%d", time.Now().UnixNano())
	s := startShipper(t, "syslog-edge", "LOGSHIPPER_OUTPUT_TYPE=redis", "LOGSHIPPER_REDIS_URL="+url, "LOGSHIPPER_REDIS_STREAM="+stream)
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "<34>Oct 11 22:14:15 mymachine su[123]: seq=%d\n", i)
	}
	sendTCP(t, s.addr, buf.Bytes())
	s.waitSettled(n, settleTimeout)
	ctx := context.Background()
	if got := c.XLen(ctx, stream).Val(); got != n {
		t.Fatalf("XLEN = %d, want %d", got, n)
	}
	entries, err := c.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	ids, seqs := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		var doc map[string]any
		if err := json.Unmarshal([]byte(e.Values["doc"].(string)), &doc); err != nil {
			t.Fatalf("entry %s: %v", e.ID, err)
		}
		id := e.Values["id"].(string)
		if id == "" || ids[id] || seqs[doc["message"].(string)] || e.Values["index"] != "syslog-edge" || doc["program"] != "su" {
			t.Fatalf("entry %s: %v", e.ID, e.Values)
		}
		ids[id], seqs[doc["message"].(string)] = true, true
	}
	if len(seqs) != n {
		t.Fatalf("%d distinct messages, want %d", len(seqs), n)
	}
	s.stop()
	checkBalanced(t, s.logs.String())
}
