package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/logshipper/logshipper/internal/testes"
)

// redisClient connects to the real server testenv/redis.sh started.
func redisClient(t *testing.T) (*goredis.Client, string) {
	t.Helper()
	url := testes.RedisURL(t)
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
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
