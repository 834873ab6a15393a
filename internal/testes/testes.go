// Package testes gives integration tests the address of the real servers
// testenv/ started: the OpenSearch node (testenv/opensearch.sh), Redis
// (testenv/redis.sh) and Kafka (testenv/kafka.sh). Without one, tests skip
// on a developer's machine and fail in CI (LOGSHIPPER_REQUIRE_ES=1,
// LOGSHIPPER_REQUIRE_REDIS=1, LOGSHIPPER_REQUIRE_KAFKA=1), because a
// skipped integration test proves nothing. It also makes the test
// certificate authorities (pki.go) and checks log lines (logcheck.go).
package testes

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvURL names the variable holding the node's base URL.
const EnvURL = "LOGSHIPPER_TEST_ES_URL"

// EnvRequire, when "1", turns a missing or dead node into a test failure.
const EnvRequire = "LOGSHIPPER_REQUIRE_ES"

// URL returns the node's base URL after checking that it answers.
func URL(t testing.TB) string {
	t.Helper()
	return server(t, "OpenSearch", EnvURL, EnvRequire, "start a node with testenv/opensearch.sh start and export "+EnvURL+"=http://127.0.0.1:9200", pingOpenSearch)
}

// server returns the address in the variable env after checking with ping
// that the server answers; without it, or when it does not answer, the
// test skips, or fails when the variable require is "1" (CI).
func server(t testing.TB, name, env, require, hint string, ping func(string) error) string {
	t.Helper()
	addr := os.Getenv(env)
	why := env + " is not set; " + hint
	if addr != "" {
		err := ping(addr)
		if err == nil {
			return addr
		}
		why = fmt.Sprintf("%s at %s does not answer: %v", name, addr, err)
	}
	if os.Getenv(require) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

func pingOpenSearch(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_cluster/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// EnvRedisURL names the variable holding the Redis server's URL;
// EnvRequireRedis, when "1", turns a missing or dead server into a failure.
const (
	EnvRedisURL     = "LOGSHIPPER_TEST_REDIS_URL"
	EnvRequireRedis = "LOGSHIPPER_REQUIRE_REDIS"
)

// RedisURL returns the Redis server's URL after checking that it answers
// PING.
func RedisURL(t testing.TB) string {
	t.Helper()
	return server(t, "Redis", EnvRedisURL, EnvRequireRedis, "start a server with testenv/redis.sh start --port 16379 and export "+EnvRedisURL+"=redis://127.0.0.1:16379", pingRedis)
}

func pingRedis(url string) error {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return err
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Environment of the tests against a real Kafka broker (testenv/kafka.sh).
const (
	EnvKafkaBrokers = "LOGSHIPPER_TEST_KAFKA_BROKERS"
	EnvRequireKafka = "LOGSHIPPER_REQUIRE_KAFKA"
)

// KafkaBrokers returns the Kafka broker's host:port after checking that it
// answers.
func KafkaBrokers(t testing.TB) string {
	t.Helper()
	return server(t, "Kafka", EnvKafkaBrokers, EnvRequireKafka, "start a broker with testenv/kafka.sh start --port 19092 and export "+EnvKafkaBrokers+"=127.0.0.1:19092", pingKafka)
}

func pingKafka(brokers string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}
