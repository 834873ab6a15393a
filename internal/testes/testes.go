// Package testes gives integration tests the address of the real servers
// testenv/ started: the OpenSearch node (testenv/opensearch.sh), Redis
// (testenv/redis.sh) and Kafka (testenv/kafka.sh). Without one, tests skip
// on a developer's machine and fail in CI (LOGSHIPPER_REQUIRE_ES=1,
// LOGSHIPPER_REQUIRE_REDIS=1, LOGSHIPPER_REQUIRE_KAFKA=1), because a
// skipped integration test proves nothing.
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
	url := os.Getenv(EnvURL)
	if url == "" {
		missing(t, EnvURL+" is not set; start a node with testenv/opensearch.sh start and export "+EnvURL+"=http://127.0.0.1:9200")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_cluster/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missing(t, fmt.Sprintf("OpenSearch at %s does not answer: %v", url, err))
		return ""
	}
	resp.Body.Close()
	return url
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
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
	url := os.Getenv(EnvRedisURL)
	why := EnvRedisURL + " is not set; start a server with testenv/redis.sh start --port 16379 and export " + EnvRedisURL + "=redis://127.0.0.1:16379"
	if url != "" {
		err := pingRedis(url)
		if err == nil {
			return url
		}
		why = fmt.Sprintf("Redis at %s does not answer: %v", url, err)
	}
	if os.Getenv(EnvRequireRedis) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
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
	brokers := os.Getenv(EnvKafkaBrokers)
	why := EnvKafkaBrokers + " is not set; start a broker with testenv/kafka.sh start --port 19092 and export " + EnvKafkaBrokers + "=127.0.0.1:19092"
	if brokers != "" {
		err := pingKafka(brokers)
		if err == nil {
			return brokers
		}
		why = fmt.Sprintf("Kafka at %s does not answer: %v", brokers, err)
	}
	if os.Getenv(EnvRequireKafka) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
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
