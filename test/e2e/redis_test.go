package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// The seed's queue tier through Redis, both roles from the one binary:
// edge (syslog → stream) → two indexers in one consumer group →
// OpenSearch. One indexer is SIGKILLed mid-stream: the other claims what
// it had read and not acknowledged (after redis.claim_idle) and goes on
// alone; the killed one, restarted under its name, takes its share again.
// Every sequence number is indexed exactly once.
func TestTwoTierThroughRedisIndexerKilled(t *testing.T) {
	n := queueMessages()
	c, url := redisClient(t)
	es := esURL(t)
	index := uniqueIndex(t, es)
	stream := fmt.Sprintf("e2e-tier-%d", time.Now().UnixNano())
	t.Cleanup(func() { c.Del(context.Background(), stream) })
	redisEnv := []string{"LOGSHIPPER_REDIS_URL=" + url, "LOGSHIPPER_REDIS_STREAM=" + stream, "LOGSHIPPER_REDIS_CLAIM_IDLE=3s"}
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=redis"}, redisEnv...)...)
	indexer := func(name string) *shipper {
		return startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=redis", "LOGSHIPPER_REDIS_CONSUMER=" + name}, redisEnv...)...)
	}
	a, b := indexer("indexer-a"), indexer("indexer-b")
	sent := seqSender(t, edge.addr, n)

	deadline := time.Now().Add(2 * time.Minute)
	for a.metric("logshipper_events_indexed_total") < 20000 {
		if time.Now().After(deadline) {
			t.Fatalf("indexer-a indexed %v within 2 minutes", a.metric("logshipper_events_indexed_total"))
		}
		time.Sleep(20 * time.Millisecond) // polling an external process
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	killedAt := time.Now()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)

	// b claims a's unacknowledged entries once they are 3 s idle.
	b.waitMetric(`logshipper_queue_redelivered_total{queue="redis"}`, func(v float64) bool { return v > 0 }, time.Minute)
	t.Logf("indexer-b claimed %v entries %s after indexer-a was killed",
		b.metric(`logshipper_queue_redelivered_total{queue="redis"}`), time.Since(killedAt).Round(100*time.Millisecond))
	a2 := indexer("indexer-a")
	waitCount(t, es, index, n, 2*time.Minute)
	for _, s := range []*shipper{a2, b} {
		s.waitMetric(`logshipper_queue_lag{partition="`+stream+`",queue="redis"}`, func(v float64) bool { return v == 0 }, time.Minute)
	}
	checkExactlyOnce(t, es, index, n)
	if p := c.XPending(context.Background(), stream, "logshipper").Val(); p == nil || p.Count != 0 {
		t.Errorf("pending entries left: %+v", p)
	}
	for name, s := range map[string]*shipper{"edge": edge, "indexer-b": b, "indexer-a (restarted)": a2} {
		s.stop()
		line := checkBalanced(t, s.logs.String())
		t.Logf("%s: %v", name, line)
	}
}

// waitCount waits until the index holds want documents.
func waitCount(t *testing.T, es, index string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		esDo(t, es, "POST", "/"+index+"*/_refresh", "")
		got := count(t, es, index, "")
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d documents, want %d", timeout, got, want)
		}
		time.Sleep(500 * time.Millisecond) // polling an external server
	}
}

// Both roles against a Redis that requires a password (requirepass), the
// password from a file (a Docker secret): every message arrives once, the
// password appears in no log line and not in /metrics, and a wrong one
// keeps /readyz at 503 saying why.
func TestRedisPasswordFromFile(t *testing.T) {
	const n = 5000
	testes.RedisURL(t) // skips (or, in CI, fails) without Redis in the test environment
	out, err := exec.Command("bash", "../../testenv/redis.sh", "path").Output()
	if err != nil {
		t.Fatalf("testenv/redis.sh path: %v", err)
	}
	port := freePort(t)
	srv := exec.Command(strings.TrimSpace(string(out)), "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--requirepass", "redis-pw-K7q", "--save", "", "--appendonly", "no")
	srv.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "../lib/x86_64-linux-gnu"))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	url := fmt.Sprintf("redis://127.0.0.1:%d", port)
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Password: "redis-pw-K7q"})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("password-protected redis-server did not answer")
		}
		time.Sleep(50 * time.Millisecond) // waiting for a process to listen
	}
	dir := t.TempDir()
	pw, wrongPW := filepath.Join(dir, "pw"), filepath.Join(dir, "wrong")
	os.WriteFile(pw, []byte("redis-pw-K7q\n"), 0o600)
	os.WriteFile(wrongPW, []byte("wrong-pw-P1n\n"), 0o600)

	es := esURL(t)
	index := uniqueIndex(t, es)
	env := []string{"LOGSHIPPER_REDIS_URL=" + url, "LOGSHIPPER_REDIS_STREAM=pw-test", "LOGSHIPPER_LOG_LEVEL=debug"}
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=redis", "LOGSHIPPER_REDIS_PASSWORD_FILE=" + pw}, env...)...)
	ix := startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=redis", "LOGSHIPPER_REDIS_PASSWORD_FILE=" + pw}, env...)...)
	if err := <-seqSender(t, edge.addr, n); err != nil {
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)
	waitCount(t, es, index, n, 2*time.Minute)
	checkExactlyOnce(t, es, index, n)

	wrong := launch(t, es, index, "/healthz", append([]string{"LOGSHIPPER_OUTPUT_TYPE=redis", "LOGSHIPPER_REDIS_PASSWORD_FILE=" + wrongPW}, env...)...)
	code, body := wrong.waitReadyz(func(code int, _ string) bool { return code == 503 }, 30*time.Second)
	t.Logf("/readyz with a wrong password: %d %s", code, strings.TrimSpace(body))
	if !strings.Contains(body, "redis") {
		t.Errorf("/readyz does not name Redis: %s", body)
	}
	stopAndCheckNoSecrets(t, []*shipper{edge, ix, wrong}, "redis-pw-K7q", "wrong-pw-P1n")
}
