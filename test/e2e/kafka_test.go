package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logshipper/logshipper/internal/testes"
)

// kafkaTopic creates a topic with partitions (and topic configs, key=value)
// on the broker at brokers.
func kafkaTopic(t *testing.T, brokers string, partitions int32, configs ...string) string {
	t.Helper()
	topic := fmt.Sprintf("e2e-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%1e9)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	for _, kv := range configs {
		k, v, _ := strings.Cut(kv, "=")
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	return topic
}

// kafkaEnv is the environment of both roles on one topic; the record key
// is the header's hostname (seq-NNNNNNN), which spreads one sender's
// messages over every partition, so that two indexers share the work.
func kafkaEnv(brokers, topic string) []string {
	return []string{
		"LOGSHIPPER_KAFKA_BROKERS=" + brokers, "LOGSHIPPER_KAFKA_TOPIC=" + topic,
		"LOGSHIPPER_KAFKA_GROUP=" + topic + "-indexers", "LOGSHIPPER_KAFKA_PARTITION_KEY=host",
		"LOGSHIPPER_KAFKA_SESSION_TIMEOUT=6s",
	}
}

// ownKafka is a Kafka node of the test's own (testenv/kafka.sh on a free
// port), for the tests that stop it.
type ownKafka struct {
	t          *testing.T
	port, data string
	settings   []string
}

// newOwnKafka starts it, with settings (key=value) added to its
// server.properties.
func newOwnKafka(t *testing.T, settings ...string) *ownKafka {
	t.Helper()
	testes.KafkaBrokers(t) // skips (or, in CI, fails) without Kafka in the test environment
	k := &ownKafka{t: t, port: fmt.Sprint(freePort(t)), data: filepath.Join(t.TempDir(), "kafka"), settings: settings}
	os.MkdirAll(k.data, 0o755)
	t.Cleanup(func() { k.script("stop") })
	k.script("start")
	return k
}

func (k *ownKafka) brokers() string { return "127.0.0.1:" + k.port }

func (k *ownKafka) script(verb string) {
	k.t.Helper()
	args := []string{"../../testenv/kafka.sh", verb, "--port", k.port, "--data", k.data}
	if verb == "start" {
		args = append(args, k.settings...)
	}
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil && verb != "stop" {
		k.t.Fatalf("kafka.sh %s: %v\n%s", verb, err, out)
	}
}

// waitIndexed waits until s has indexed at least n events.
func (s *shipper) waitIndexed(n float64, timeout time.Duration) {
	s.t.Helper()
	s.waitMetric("logshipper_events_indexed_total", func(v float64) bool { return v >= n }, timeout)
}

// The seed's queue tier through Kafka, both roles from the one binary:
// edge (syslog → topic, 4 partitions) → two indexers in one consumer group
// → OpenSearch. One indexer is SIGKILLed mid-stream: after the session
// timeout the group gives its partitions to the other, which reads them
// from the last committed offsets and indexes everything, alone; the
// killed one, restarted, joins again. Every sequence number is indexed
// exactly once.
func TestTwoTierThroughKafkaIndexerKilled(t *testing.T) {
	n := queueMessages()
	brokers := testes.KafkaBrokers(t)
	es := esURL(t)
	index := uniqueIndex(t, es)
	topic := kafkaTopic(t, brokers, 4)
	env := kafkaEnv(brokers, topic)
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka"}, env...)...)
	indexer := func() *shipper {
		return startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=kafka"}, env...)...)
	}
	a, b := indexer(), indexer()
	sent := seqSender(t, edge.addr, n)

	a.waitIndexed(20000, 2*time.Minute)
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	killedAt := time.Now()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)
	waitCount(t, es, index, n, 3*time.Minute)
	t.Logf("every message indexed %s after indexer-a was killed, by indexer-b alone (session timeout 6s)", time.Since(killedAt).Round(100*time.Millisecond))
	if !strings.Contains(b.logs.String(), "partitions assigned") {
		t.Error("indexer-b logged no assignment")
	}
	a2 := indexer()
	checkExactlyOnce(t, es, index, n)
	b.waitMetric(`logshipper_queue_acked_total{queue="kafka"}`, func(v float64) bool { return v > 0 }, time.Minute)
	for name, s := range map[string]*shipper{"edge": edge, "indexer-b": b, "indexer-a (restarted)": a2} {
		s.stop()
		t.Logf("%s: %v", name, checkBalanced(t, s.logs.String()))
	}
	// Stopped cleanly, the group's offsets cover every record.
	waitGroupCommitted(t, brokers, topic+"-indexers", int64(n))
}

// waitGroupCommitted waits until group's committed offsets add up to n.
func waitGroupCommitted(t *testing.T, brokers, group string, n int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = group
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if p.Offset > 0 {
					sum += p.Offset
				}
			}
		}
		if sum == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s committed %d offsets, want %d", group, sum, n)
		}
		time.Sleep(200 * time.Millisecond) // polling the broker
	}
}

// Kafka stopped for 30 s in the middle of the stream: the edge retries
// (its batches wait, TCP is held back), the indexer waits for the broker;
// once Kafka is back every message arrives, once.
func TestKafkaOutageOnTheEdgeSide(t *testing.T) {
	const n = 200000
	k := newOwnKafka(t)
	es := esURL(t)
	index := uniqueIndex(t, es)
	topic := kafkaTopic(t, k.brokers(), 2)
	env := kafkaEnv(k.brokers(), topic)
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka", "LOGSHIPPER_PIPELINE_RETRY_MAX=2s"}, env...)...)
	ix := startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=kafka"}, env...)...)
	sent := seqSender(t, edge.addr, n)
	edge.waitIndexed(50000, 2*time.Minute)
	k.script("stop")
	stoppedAt := time.Now()
	time.Sleep(30 * time.Second) // the outage under test
	k.script("start")
	t.Logf("Kafka was away %s (30 s stopped, plus its stop and start)", time.Since(stoppedAt).Round(100*time.Millisecond))
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)
	waitCount(t, es, index, n, 3*time.Minute)
	checkExactlyOnce(t, es, index, n)
	t.Logf("edge retried %v record deliveries", edge.metric("logshipper_events_retried_total"))
	for _, s := range []*shipper{edge, ix} {
		s.stop()
		checkBalanced(t, s.logs.String())
	}
}

// OpenSearch stopped for 30 s in the middle, on the indexer's side: the
// indexer stops fetching (its queue is full), the lag grows in Kafka and
// shows in /metrics, nothing is committed past what was indexed; once
// OpenSearch is back every message arrives, once.
func TestOpenSearchOutageOnTheIndexerSide(t *testing.T) {
	const n = 200000
	brokers := testes.KafkaBrokers(t)
	node := startOwnNode(t)
	index := "e2e-kafka-os-outage"
	topic := kafkaTopic(t, brokers, 2)
	env := kafkaEnv(brokers, topic)
	edge := startShipperAt(t, node.url(), index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka"}, env...)...)
	ix := startShipperAt(t, node.url(), index, append([]string{"LOGSHIPPER_INPUT_TYPE=kafka", "LOGSHIPPER_PIPELINE_RETRY_MAX=2s"}, env...)...)
	sent := seqSender(t, edge.addr, n)
	ix.waitIndexed(30000, 2*time.Minute)
	node.stop()
	stoppedAt := time.Now()
	if err := <-sent; err != nil { // the edge is not held back: Kafka takes it all
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)
	// The lag counts what is not committed, and nothing is committed
	// before it is indexed: it reaches at least what is not indexed.
	var lag, indexed float64
	for deadline := time.Now().Add(15 * time.Second); ; {
		lag = 0
		for _, p := range []string{"0", "1"} {
			lag += ix.metricOr(`logshipper_queue_lag{partition="`+topic+`/`+p+`",queue="kafka"}`, 0)
		}
		indexed = ix.metric("logshipper_events_indexed_total")
		if lag > 0 && lag >= n-indexed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logshipper_queue_lag = %v during the outage with %v of %d indexed", lag, indexed, n)
		}
		time.Sleep(200 * time.Millisecond) // polling another process
	}
	t.Logf("OpenSearch stopped: the edge delivered all %d to Kafka regardless; during the outage the indexer had indexed %v and its lag in /metrics is %v", n, indexed, lag)
	time.Sleep(max(0, 30*time.Second-time.Since(stoppedAt))) // the outage under test
	node.start()
	waitCount(t, node.url(), index, n, 3*time.Minute)
	checkExactlyOnce(t, node.url(), index, n)
	ix.waitMetric(`logshipper_queue_lag{partition="`+topic+`/0",queue="kafka"}`, func(v float64) bool { return v == 0 }, time.Minute)
	for _, s := range []*shipper{edge, ix} {
		s.stop()
		checkBalanced(t, s.logs.String())
	}
}

// A record larger than the broker accepts (the topic's max.message.bytes)
// goes to the edge's dead-letter file; the messages around it arrive.
func TestOversizeRecordDeadLettered(t *testing.T) {
	brokers := testes.KafkaBrokers(t)
	es := esURL(t)
	index := uniqueIndex(t, es)
	topic := kafkaTopic(t, brokers, 1, "max.message.bytes=8192")
	env := kafkaEnv(brokers, topic)
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka", "LOGSHIPPER_KAFKA_COMPRESSION=none"}, env...)...)
	ix := startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=kafka"}, env...)...)
	big := strings.Repeat("x", 20000)
	sendTCP(t, edge.addr, []byte("<14>Nov 26 12:00:00 seq-0000000 app[1]: before\n<14>Nov 26 12:00:00 big app[1]: "+big+"\n<14>Nov 26 12:00:00 seq-0000001 app[1]: after\n"))
	edge.waitSettled(3, settleTimeout)
	if v := edge.metric("logshipper_events_failed_total"); v != 1 {
		t.Errorf("edge dead-lettered %v, want 1", v)
	}
	dl, _ := os.ReadFile(edge.dlq)
	if !strings.Contains(string(dl), big[:100]) || !strings.Contains(string(dl), "MESSAGE_TOO_LARGE") {
		t.Errorf("dead-letter file: %.300s", dl)
	}
	waitCount(t, es, index, 2, time.Minute)
	for _, s := range []*shipper{edge, ix} {
		s.stop()
		checkBalanced(t, s.logs.String())
	}
}

// Both roles through a broker that requires SASL on its client listener:
// the edge authenticates with PLAIN, the indexer with SCRAM-SHA-256, each
// password from a file (a Docker secret); every message arrives once, and
// no password appears in the logs or /metrics. A wrong password keeps the
// edge not ready, saying why.
func TestKafkaSASL(t *testing.T) {
	const n = 5000
	k := newOwnKafka(t,
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
		"sasl.mechanism.inter.broker.protocol=PLAIN",
		`listener.name.plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw-Q3x" user_admin="admin-pw-Q3x" user_shipper="plain-pw-Z8k";`,
		"listener.name.plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
	)
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin.properties")
	os.WriteFile(admin, []byte("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw-Q3x";`+"\n"), 0o600)
	if out, err := exec.Command("bash", "../../testenv/kafka.sh", "run", "org.apache.kafka.tools.ConfigCommand",
		"--bootstrap-server", k.brokers(), "--command-config", admin, "--alter",
		"--add-config", "SCRAM-SHA-256=[password=scram-pw-W5m]", "--entity-type", "users", "--entity-name", "indexer").CombinedOutput(); err != nil {
		t.Fatalf("creating the SCRAM user: %v\n%s", err, out)
	}
	plainPW, scramPW, wrongPW := filepath.Join(dir, "plain"), filepath.Join(dir, "scram"), filepath.Join(dir, "wrong")
	os.WriteFile(plainPW, []byte("plain-pw-Z8k\n"), 0o600)
	os.WriteFile(scramPW, []byte("scram-pw-W5m\n"), 0o600)
	os.WriteFile(wrongPW, []byte("wrong-pw-J2v\n"), 0o600)

	es := esURL(t)
	index := uniqueIndex(t, es)
	topic := fmt.Sprintf("e2e-sasl-%d", time.Now().UnixNano()%1e9)
	env := kafkaEnv(k.brokers(), topic)
	edge := startShipper(t, index, append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka", "LOGSHIPPER_LOG_LEVEL=debug",
		"LOGSHIPPER_KAFKA_SASL_MECHANISM=PLAIN", "LOGSHIPPER_KAFKA_SASL_USERNAME=shipper", "LOGSHIPPER_KAFKA_SASL_PASSWORD_FILE=" + plainPW}, env...)...)
	ix := startShipper(t, index, append([]string{"LOGSHIPPER_INPUT_TYPE=kafka", "LOGSHIPPER_LOG_LEVEL=debug",
		"LOGSHIPPER_KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "LOGSHIPPER_KAFKA_SASL_USERNAME=indexer", "LOGSHIPPER_KAFKA_SASL_PASSWORD_FILE=" + scramPW}, env...)...)
	if err := <-seqSender(t, edge.addr, n); err != nil {
		t.Fatal(err)
	}
	edge.waitSettled(n, settleTimeout)
	waitCount(t, es, index, n, 2*time.Minute)
	checkExactlyOnce(t, es, index, n)

	wrong := launch(t, es, index, "/healthz", append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka",
		"LOGSHIPPER_KAFKA_SASL_MECHANISM=PLAIN", "LOGSHIPPER_KAFKA_SASL_USERNAME=shipper", "LOGSHIPPER_KAFKA_SASL_PASSWORD_FILE=" + wrongPW}, env...)...)
	code, body := wrong.waitReadyz(func(code int, _ string) bool { return code == 503 }, 30*time.Second)
	t.Logf("/readyz with a wrong password: %d %s", code, strings.TrimSpace(body))
	if !strings.Contains(body, "kafka") {
		t.Errorf("/readyz does not name Kafka: %s", body)
	}
	stopAndCheckNoSecrets(t, []*shipper{edge, ix, wrong}, "plain-pw-Z8k", "scram-pw-W5m", "wrong-pw-J2v")
}

// queueMessages is how many messages the two-tier tests send: 200,000 in
// CI; LOGSHIPPER_E2E_QUEUE_MESSAGES=1000000 for the proof the README
// quotes.
func queueMessages() int {
	if v, err := strconv.Atoi(os.Getenv("LOGSHIPPER_E2E_QUEUE_MESSAGES")); err == nil && v > 0 {
		return v
	}
	return 200000
}
