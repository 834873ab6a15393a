package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The queue-tier bench of issue 10 (bench/queue.sh): the same RFC3164 load
// through logshipper alone (direct: edge → sink) and through the queue
// tier (edge → Kafka topic or Redis stream → indexer(s) → sink), with the
// CPU of each process, the rate at which the edge feeds the queue and the
// end-to-end rate, so the cost of the hop can be read off.

// queueProcs are the processes of the queue bench (sink, edges,
// indexers), stopped (their process groups) if the runner gets SIGINT or
// SIGTERM, so nothing outlives an interrupted bench.
var (
	queueMu    sync.Mutex
	queueProcs []*proc
)

func queueTrack(p *proc) *proc {
	queueMu.Lock()
	queueProcs = append(queueProcs, p)
	queueMu.Unlock()
	return p
}

func queueKillAll() {
	queueMu.Lock()
	defer queueMu.Unlock()
	for _, p := range queueProcs {
		if p.alive() {
			_ = syscall.Kill(-p.pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range queueProcs {
		select {
		case <-p.done:
		case <-time.After(time.Until(deadline)):
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		}
	}
}

// queueConfig is one row of the queue table.
type queueConfig struct {
	Name     string
	Queue    string // "" (direct), "kafka" or "redis"
	Indexers int
}

var queueConfigs = map[string]queueConfig{
	"direct":  {Name: "direct"},
	"kafka-1": {Name: "kafka-1", Queue: "kafka", Indexers: 1},
	"kafka-2": {Name: "kafka-2", Queue: "kafka", Indexers: 2},
	"redis-1": {Name: "redis-1", Queue: "redis", Indexers: 1},
	// Edge only: what the edge costs and how fast it feeds the queue
	// with no indexer competing for the CPUs.
	"kafka-0": {Name: "kafka-0", Queue: "kafka"},
	"redis-0": {Name: "redis-0", Queue: "redis"},
}

func (c queueConfig) title() string {
	switch {
	case c.Queue == "":
		return "direct: edge → sink (no queue)"
	case c.Indexers == 0:
		return fmt.Sprintf("%s: edge → %s only (no indexer)", c.Name, queueTitle(c.Queue))
	case c.Indexers == 1:
		return fmt.Sprintf("%s: edge → %s → 1 indexer → sink", c.Name, queueTitle(c.Queue))
	}
	return fmt.Sprintf("%s: edge → %s → %d indexers (one group) → sink", c.Name, queueTitle(c.Queue), c.Indexers)
}

func queueTitle(q string) string {
	if q == "kafka" {
		return "Kafka (2 partitions)"
	}
	return "Redis stream"
}

// QueueResult is one run of one queue config.
type QueueResult struct {
	Config     string  `json:"config"`
	Round      int     `json:"round"`
	RunID      string  `json:"run_id"`
	Messages   int64   `json:"messages"`
	Sent       int64   `json:"sent"`
	Delivered  int64   `json:"delivered"` // unique sequence numbers in the sink
	Docs       int64   `json:"docs"`
	Lost       int64   `json:"lost"`
	Duplicates int64   `json:"duplicates"`
	SendS      float64 `json:"send_s"`
	// FeedS: first message sent → the edge's counter (queue produced, or
	// indexed for direct / Redis) reaches Messages; FeedRate = Messages / FeedS.
	FeedS    float64 `json:"feed_s"`
	FeedRate float64 `json:"feed_msgs_per_s"`
	FeedFrom string  `json:"feed_metric"`
	// Kafka: mean round trip of one produce batch while measuring
	// (logshipper_queue_produce_seconds sum / count).
	ProduceMs float64 `json:"produce_ms_per_batch,omitempty"`
	// TotalS: first message sent → last document in the sink.
	TotalS  float64 `json:"total_s"`
	E2ERate float64 `json:"e2e_msgs_per_s"`
	// CPU-seconds from the first message sent until the sink has them all.
	EdgeCPU      float64   `json:"edge_cpu_s"`
	IndexerCPU   []float64 `json:"indexer_cpu_s,omitempty"`
	BrokerCPU    float64   `json:"broker_cpu_s"`
	EdgePer1M    float64   `json:"edge_cpu_s_per_1m"`
	IndexerPer1M float64   `json:"indexers_cpu_s_per_1m"` // sum over the indexers
	BrokerPer1M  float64   `json:"broker_cpu_s_per_1m"`
	EdgeRSSMiB   float64   `json:"edge_peak_rss_mib"`
	IndexerRSS   []float64 `json:"indexer_peak_rss_mib,omitempty"`
	// Kafka: "partitions revoked" lines logged by the indexers while
	// measuring (a rebalance in the middle of the run).
	Rebalances     int                  `json:"rebalances"`
	DeadLetters    int64                `json:"dead_letter_bytes"`
	EdgeMetrics    map[string]float64   `json:"edge_metrics,omitempty"`
	IndexerMetrics []map[string]float64 `json:"indexer_metrics,omitempty"`
	LoadAvg        string               `json:"loadavg"`
	Error          string               `json:"error,omitempty"`
	Finished       time.Time            `json:"finished"`
}

// queueSetup is what runQueue is given.
type queueSetup struct {
	Kafka, Redis       string // 127.0.0.1:PORT, redis://127.0.0.1:PORT
	KafkaPID, RedisPID int
	Configs            []queueConfig
	RunCap             time.Duration
	RedisMaxLen        int64
	PartitionKey       string
	BrokersDesc        string
	OutRoot            string
	results            []QueueResult
	kafkaCl            *kgo.Client
	redisCl            *goredis.Client
}

// parseQueueSpec reads -queue kafka=127.0.0.1:P,redis=redis://127.0.0.1:P
// and -queue-pids kafka=PID,redis=PID.
func parseQueueSpec(spec, pids string) (kafka, redis string, kpid, rpid int, err error) {
	for _, kv := range splitList(spec) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", "", 0, 0, fmt.Errorf("-queue: %q is not kafka=HOST:PORT or redis=redis://HOST:PORT", kv)
		}
		switch k {
		case "kafka":
			kafka = v
		case "redis":
			redis = v
		case "none": // direct only
		default:
			return "", "", 0, 0, fmt.Errorf("-queue: unknown queue %q (kafka, redis)", k)
		}
	}
	for _, kv := range splitList(pids) {
		k, v, _ := strings.Cut(kv, "=")
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return "", "", 0, 0, fmt.Errorf("-queue-pids: %q: %v", kv, perr)
		}
		switch k {
		case "kafka":
			kpid = n
		case "redis":
			rpid = n
		}
	}
	for _, a := range []string{kafka, strings.TrimPrefix(redis, "redis://")} {
		if a != "" && !strings.HasPrefix(a, "127.0.0.1:") {
			return "", "", 0, 0, fmt.Errorf("-queue: %q: only 127.0.0.1", a)
		}
	}
	return kafka, redis, kpid, rpid, nil
}

func (r *Runner) runQueue(q *queueSetup) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		log.Printf("queue: %v: stopping every process of the bench", s)
		queueKillAll()
		os.Exit(130)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if q.Kafka != "" {
		cl, err := kgo.NewClient(kgo.SeedBrokers(q.Kafka))
		if err != nil {
			return err
		}
		defer cl.Close()
		if err := cl.Ping(ctx); err != nil {
			return fmt.Errorf("kafka at %s: %v", q.Kafka, err)
		}
		q.kafkaCl = cl
	}
	if q.Redis != "" {
		opts, err := goredis.ParseURL(q.Redis)
		if err != nil {
			return err
		}
		cl := goredis.NewClient(opts)
		defer cl.Close()
		if err := cl.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis at %s: %v", q.Redis, err)
		}
		q.redisCl = cl
	}
	for _, c := range q.Configs {
		if c.Queue == "kafka" && q.kafkaCl == nil || c.Queue == "redis" && q.redisCl == nil {
			return fmt.Errorf("config %s needs -queue %s=...", c.Name, c.Queue)
		}
	}
	raw, err := os.Create(filepath.Join(r.OutDir, "results.jsonl"))
	if err != nil {
		return err
	}
	defer raw.Close()
	if err := r.startSink(); err != nil {
		return err
	}
	queueTrack(r.sinkProc)
	defer r.sinkProc.stop(2 * time.Second)
	env := machineInfo(r.PeersDir, r.LogshipperBin)
	log.Printf("queue bench: results in %s; sink at %s; kafka %q (pid %d), redis %q (pid %d)", r.OutDir, r.sinkURL, q.Kafka, q.KafkaPID, q.Redis, q.RedisPID)
	start := time.Now()
	if q.kafkaCl != nil {
		// A fresh broker's JVM is slow until its JIT has compiled the
		// produce and fetch paths (the first kafka runs were up to 2x
		// slower): one unmeasured edge-only run first (round 0, in
		// results.jsonl, not in the table).
		log.Printf("queue: warming up the Kafka broker (an unmeasured kafka-0 run of %d messages)", r.Messages)
		res := r.queueRunOne(q, queueConfigs["kafka-0"], 0)
		b, _ := json.Marshal(res)
		raw.Write(append(b, '\n'))
		log.Printf("kafka warm-up: feed %.0f msgs/s, broker %.2f CPU-s/1M %s", res.FeedRate, res.BrokerPer1M, res.Error)
	}
	for round := 1; round <= r.Rounds; round++ {
		// Rotate the order each round so a noisy neighbour does not
		// always hit the same config.
		for i := range q.Configs {
			c := q.Configs[(i+round-1)%len(q.Configs)]
			res := r.queueRunOne(q, c, round)
			q.results = append(q.results, res)
			b, _ := json.Marshal(res)
			raw.Write(append(b, '\n'))
			if res.Error != "" {
				log.Printf("%-8s round %d: ERROR %s", c.Name, round, res.Error)
			}
			log.Printf("%-8s round %d: feed %8.0f msgs/s  e2e %8.0f msgs/s  cpu/1M edge %.2f indexers %.2f broker %.2f  rss edge %.0f MiB  lost %d dup %d  (send %.2fs, feed %.2fs, total %.2fs)",
				c.Name, round, res.FeedRate, res.E2ERate, res.EdgePer1M, res.IndexerPer1M, res.BrokerPer1M, res.EdgeRSSMiB,
				res.Lost, res.Duplicates, res.SendS, res.FeedS, res.TotalS)
		}
	}
	md := r.queueMarkdown(q, env, time.Since(start))
	if err := os.WriteFile(filepath.Join(r.OutDir, "table.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if writeLatest {
		_ = os.WriteFile(filepath.Join(q.OutRoot, "latest-queue.md"), []byte(md), 0o644)
	}
	fmt.Println(md)
	return nil
}

// role is one logshipper process of a queue run.
type role struct {
	name    string
	p       *proc
	metrics string // http://127.0.0.1:PORT/metrics
	logPath string
	dlq     string
}

func (r *Runner) startRole(work, name string, port int, env ...string) (*role, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.LogshipperBin)
	cmd.Dir = work
	ro := &role{name: name, logPath: filepath.Join(work, name+".log"), dlq: filepath.Join(work, name+"-dead-letter.ndjson"),
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)}
	// Defaults otherwise: the bench measures what a user gets.
	cmd.Env = append(cleanEnv(),
		"LOGSHIPPER_ELASTICSEARCH_URLS="+r.sinkURL,
		fmt.Sprintf("LOGSHIPPER_LISTEN=127.0.0.1:%d", port),
		fmt.Sprintf("LOGSHIPPER_HTTP_LISTEN=127.0.0.1:%d", httpPort),
		"LOGSHIPPER_DEAD_LETTER_PATH="+ro.dlq,
	)
	cmd.Env = append(cmd.Env, env...)
	ro.p, err = startProc(name, cmd, ro.logPath)
	if err != nil {
		return nil, err
	}
	queueTrack(ro.p)
	return ro, nil
}

func (ro *role) ready() bool {
	resp, err := http.Get(strings.Replace(ro.metrics, "/metrics", "/readyz", 1))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// counter sums the lines of one metric (all label sets) from /metrics.
func counter(url, name string) (float64, error) {
	m := scrapeMetrics(url, name)
	if m == nil {
		return 0, fmt.Errorf("%s: no answer", url)
	}
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s, nil
}

func logCount(path, needle string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(needle))
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %v", topic, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return fmt.Errorf("create topic %s: %v", topic, err)
		}
	}
	// Wait until the metadata shows every partition with a leader.
	for i := 0; i < 100; i++ {
		mreq := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topic)
		mreq.Topics = append(mreq.Topics, mt)
		mresp, err := mreq.RequestWith(ctx, cl)
		if err == nil && len(mresp.Topics) == 1 && mresp.Topics[0].ErrorCode == 0 && len(mresp.Topics[0].Partitions) == int(partitions) {
			ok := true
			for _, p := range mresp.Topics[0].Partitions {
				if p.ErrorCode != 0 || p.Leader < 0 {
					ok = false
				}
			}
			if ok {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("topic %s: partitions have no leader after 10 s", topic)
}

func deleteTopic(cl *kgo.Client, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{topic}
	t := kmsg.NewDeleteTopicsRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 10000
	if _, err := req.RequestWith(ctx, cl); err != nil {
		log.Printf("delete topic %s: %v", topic, err)
	}
}

func (r *Runner) queueRunOne(q *queueSetup, c queueConfig, round int) (res QueueResult) {
	r.runSeq++
	runID := fmt.Sprintf("q%s%d", strconv.FormatInt(time.Now().UnixNano()/1e6%(36*36*36*36), 36), r.runSeq%10)
	res = QueueResult{Config: c.Name, Round: round, RunID: runID, Messages: r.Messages, LoadAvg: loadavg()}
	defer func() { res.Finished = time.Now().UTC() }()
	begin := time.Now()
	deadline := begin.Add(q.RunCap)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	fail := func(format string, a ...any) QueueResult {
		res.Error = fmt.Sprintf(format, a...)
		return res
	}
	work := filepath.Join(r.WorkDir, fmt.Sprintf("%03d-%s-r%d", r.runSeq, c.Name, round))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fail("%v", err)
	}
	name := "bench-" + runID
	group := "g-" + runID
	var queueEnv []string
	brokerPID := 0
	switch c.Queue {
	case "kafka":
		brokerPID = q.KafkaPID
		if err := createTopic(ctx, q.kafkaCl, name, 2); err != nil {
			return fail("%v", err)
		}
		defer deleteTopic(q.kafkaCl, name)
		queueEnv = []string{"LOGSHIPPER_KAFKA_BROKERS=" + q.Kafka, "LOGSHIPPER_KAFKA_TOPIC=" + name,
			"LOGSHIPPER_KAFKA_GROUP=" + group}
	case "redis":
		brokerPID = q.RedisPID
		defer func() {
			dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer dcancel()
			if err := q.redisCl.Del(dctx, name).Err(); err != nil {
				log.Printf("redis DEL %s: %v", name, err)
			}
		}()
		queueEnv = []string{"LOGSHIPPER_REDIS_URL=" + q.Redis, "LOGSHIPPER_REDIS_STREAM=" + name,
			"LOGSHIPPER_REDIS_GROUP=" + group}
	}

	// Indexers first (they wait for the topic's records / the stream),
	// then the edge. Deferred stops run edge first, then the indexers.
	var indexers []*role
	for i := 1; i <= c.Indexers; i++ {
		port, err := freePort()
		if err != nil {
			return fail("%v", err)
		}
		env := append([]string{"LOGSHIPPER_INPUT_TYPE=" + c.Queue}, queueEnv...)
		ix, err := r.startRole(work, fmt.Sprintf("indexer-%d", i), port, env...)
		if err != nil {
			return fail("%v", err)
		}
		defer ix.p.stop(15 * time.Second)
		indexers = append(indexers, ix)
	}
	port, err := freePort()
	if err != nil {
		return fail("%v", err)
	}
	var edgeEnv []string
	edgeMetric := "logshipper_events_indexed_total"
	switch c.Queue {
	case "kafka":
		edgeEnv = append([]string{"LOGSHIPPER_OUTPUT_TYPE=kafka", "LOGSHIPPER_KAFKA_PARTITION_KEY=" + q.PartitionKey}, queueEnv...)
		edgeMetric = "logshipper_queue_produced_total"
	case "redis":
		maxLen := q.RedisMaxLen
		if len(indexers) == 0 {
			// Edge only: nobody reads, so nothing is ever acknowledged and
			// trimmed; the bound would stop the edge at max_len entries.
			maxLen = 0
		}
		edgeEnv = append([]string{"LOGSHIPPER_OUTPUT_TYPE=redis", fmt.Sprintf("LOGSHIPPER_REDIS_MAX_LEN=%d", maxLen)}, queueEnv...)
		edgeMetric = "logshipper_queue_produced_total"
	}
	res.FeedFrom = edgeMetric
	edge, err := r.startRole(work, "edge", port, edgeEnv...)
	if err != nil {
		return fail("%v", err)
	}
	defer edge.p.stop(15 * time.Second)
	all := append([]*role{edge}, indexers...)
	alive := func() bool {
		for _, ro := range all {
			if !ro.p.alive() {
				return false
			}
		}
		return true
	}
	whoDied := func() string {
		var s []string
		for _, ro := range all {
			if !ro.p.alive() {
				s = append(s, fmt.Sprintf("%s exited (%v); last lines of %s:\n%s", ro.name, ro.p.err, ro.logPath, tailFile(ro.logPath, 5)))
			}
		}
		return strings.Join(s, "\n")
	}
	if err := waitTCP(port, 20*time.Second, edge.p.alive); err != nil {
		return fail("edge: %v %s", err, whoDied())
	}
	for _, ro := range all {
		if c.Queue == "kafka" && ro != edge {
			// A Kafka indexer's /readyz stays 503 until its first
			// poll returns, and a poll of an empty topic waits for
			// records: its partition assignment is awaited below.
			continue
		}
		for !ro.ready() {
			if !alive() {
				return fail("start: %s", whoDied())
			}
			if time.Since(begin) > 45*time.Second {
				return fail("%s not ready (/readyz) after 45 s; last lines of %s:\n%s", ro.name, ro.logPath, tailFile(ro.logPath, 5))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if c.Queue == "kafka" {
		// Every indexer holds partitions: the group is settled before
		// anything is measured (each logs its assignment).
		for _, ix := range indexers {
			for logCount(ix.logPath, "partitions assigned") == 0 {
				if !alive() {
					return fail("start: %s", whoDied())
				}
				if time.Since(begin) > 60*time.Second {
					return fail("%s: no partitions assigned after 60 s; last lines of %s:\n%s", ix.name, ix.logPath, tailFile(ix.logPath, 5))
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	// Warm-up through the whole path (edge, queue, indexers, sink).
	sc := Scenario{Name: "queue", Proto: "tcp", Conns: 1, Format: "rfc3164"}
	if r.Warmup > 0 {
		if _, err := r.loadgen(sc, port, runID+"w", r.Warmup); err != nil {
			return fail("warm-up: %v", err)
		}
		if c.Indexers == 0 && c.Queue != "" {
			for {
				v, _ := counter(edge.metrics, edgeMetric)
				if v >= float64(r.Warmup) {
					break
				}
				if !alive() || time.Since(begin) > 90*time.Second {
					return fail("warm-up: the edge's %s at %.0f of %d %s", edgeMetric, v, r.Warmup, whoDied())
				}
				time.Sleep(50 * time.Millisecond)
			}
		} else if _, err := r.waitDelivered(runID+"w", r.Warmup, 30*time.Second, time.Until(deadline), alive); err != nil {
			return fail("warm-up: %v %s", err, whoDied())
		}
	}
	revoked0 := 0
	for _, ix := range indexers {
		revoked0 += logCount(ix.logPath, "partitions revoked")
	}
	base, err := counter(edge.metrics, edgeMetric)
	if err != nil {
		return fail("edge metrics: %v", err)
	}
	prodSum0, _ := counter(edge.metrics, "logshipper_queue_produce_seconds_sum")
	prodN0, _ := counter(edge.metrics, "logshipper_queue_produce_seconds_count")
	cpuOf := func() (edgeCPU float64, ixCPU []float64, brokerCPU float64) {
		edgeCPU, _ = procCPU(edge.p.pid)
		for _, ix := range indexers {
			v, _ := procCPU(ix.p.pid)
			ixCPU = append(ixCPU, v)
		}
		if brokerPID > 0 {
			brokerCPU, _ = procCPU(brokerPID)
		}
		return
	}
	e0, i0, b0 := cpuOf()

	// Feed: poll the edge's counter (every 50 ms, interpolated between
	// the two polls around the target) while loadgen sends.
	target := base + float64(r.Messages)
	var feedMu sync.Mutex
	var feedAt time.Time
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		prevV, prevT := base, time.Now()
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(50 * time.Millisecond):
			}
			v, err := counter(edge.metrics, edgeMetric)
			now := time.Now()
			if err != nil {
				continue
			}
			if v >= target {
				at := now
				if v > prevV {
					at = prevT.Add(time.Duration(float64(now.Sub(prevT)) * (target - prevV) / (v - prevV)))
				}
				feedMu.Lock()
				feedAt = at
				feedMu.Unlock()
				return
			}
			prevV, prevT = v, now
		}
	}()
	lr, lerr := r.loadgen(sc, port, runID, r.Messages)
	if lerr != nil && lr.Sent == 0 {
		close(stopPoll)
		<-pollDone
		return fail("%v", lerr)
	}
	res.Sent = lr.Sent
	res.SendS = lr.ElapsedS
	var st sinkRun
	var werr error
	edgeOnly := c.Queue != "" && c.Indexers == 0
	if edgeOnly {
		// Done when the edge's counter reaches the target (the poller
		// returns); nothing reaches the sink.
		select {
		case <-pollDone:
		case <-time.After(time.Until(deadline)):
			werr = fmt.Errorf("timeout: the edge's %s did not reach %.0f", edgeMetric, target)
		}
	} else {
		st, werr = r.waitDelivered(runID, lr.Sent, r.Stall, time.Until(deadline), alive)
	}
	e1, i1, b1 := cpuOf()
	if werr == nil && !edgeOnly {
		// Late duplicates (a resent batch) would show up now.
		time.Sleep(300 * time.Millisecond)
		if st2, err := r.sinkStats(runID, lr.Sent); err == nil {
			st = st2
		}
	}
	// The feed poller normally finished long before; give it a moment.
	select {
	case <-pollDone:
	case <-time.After(2 * time.Second):
		close(stopPoll)
		<-pollDone
	}
	feedMu.Lock()
	if !feedAt.IsZero() && lr.FirstSendNS > 0 {
		res.FeedS = float64(feedAt.UnixNano()-lr.FirstSendNS) / 1e9
		if res.FeedS > 0 {
			res.FeedRate = float64(r.Messages) / res.FeedS
		}
	}
	feedMu.Unlock()

	per1M := func(cpu float64) float64 {
		if lr.Sent == 0 {
			return 0
		}
		return cpu / float64(lr.Sent) * 1e6
	}
	res.EdgeCPU = e1 - e0
	res.EdgePer1M = per1M(res.EdgeCPU)
	var ixSum float64
	for i := range indexers {
		res.IndexerCPU = append(res.IndexerCPU, i1[i]-i0[i])
		ixSum += i1[i] - i0[i]
	}
	res.IndexerPer1M = per1M(ixSum)
	if brokerPID > 0 {
		res.BrokerCPU = b1 - b0
		res.BrokerPer1M = per1M(res.BrokerCPU)
	}
	res.EdgeRSSMiB = float64(procStatus(edge.p.pid, "VmHWM")["VmHWM"]) / 1024
	for _, ix := range indexers {
		res.IndexerRSS = append(res.IndexerRSS, float64(procStatus(ix.p.pid, "VmHWM")["VmHWM"])/1024)
	}
	if prodN1, _ := counter(edge.metrics, "logshipper_queue_produce_seconds_count"); prodN1 > prodN0 {
		prodSum1, _ := counter(edge.metrics, "logshipper_queue_produce_seconds_sum")
		res.ProduceMs = 1000 * (prodSum1 - prodSum0) / (prodN1 - prodN0)
	}
	res.Docs = st.Docs
	res.Delivered = st.Unique
	res.Duplicates = st.Duplicates
	res.Lost = res.Messages - st.Unique
	if st.Missing != nil {
		res.Lost = *st.Missing + (res.Messages - lr.Sent)
	}
	if edgeOnly {
		// Counted at the edge (confirmed by the broker), not in the sink.
		v, _ := counter(edge.metrics, edgeMetric)
		res.Delivered = int64(v - base)
		res.Lost = res.Messages - res.Delivered
	}
	if st.LastDocNS > lr.FirstSendNS && st.Unique > 0 {
		res.TotalS = float64(st.LastDocNS-lr.FirstSendNS) / 1e9
		res.E2ERate = float64(st.Unique) / res.TotalS
	}
	for _, ix := range indexers {
		res.Rebalances += logCount(ix.logPath, "partitions revoked")
	}
	res.Rebalances -= revoked0
	res.EdgeMetrics = scrapeMetrics(edge.metrics, "logshipper_")
	keep := func(m map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range m {
			if strings.HasPrefix(k, "logshipper_events_") || strings.HasPrefix(k, "logshipper_queue_") && !strings.Contains(k, "_bucket") {
				out[k] = v
			}
		}
		return out
	}
	res.EdgeMetrics = keep(res.EdgeMetrics)
	for _, ix := range indexers {
		res.IndexerMetrics = append(res.IndexerMetrics, keep(scrapeMetrics(ix.metrics, "logshipper_")))
	}
	for _, ro := range all {
		if fi, err := os.Stat(ro.dlq); err == nil {
			res.DeadLetters += fi.Size()
		}
	}
	var errs []string
	if werr != nil {
		errs = append(errs, werr.Error())
		for _, ro := range all {
			errs = append(errs, fmt.Sprintf("last lines of %s:\n%s", ro.logPath, tailFile(ro.logPath, 3)))
		}
		if d := whoDied(); d != "" {
			errs = append(errs, d)
		}
	}
	if lerr != nil {
		errs = append(errs, lerr.Error())
	}
	if res.FeedRate == 0 && werr == nil {
		errs = append(errs, fmt.Sprintf("the edge's %s never reached %.0f", edgeMetric, target))
	}
	if res.DeadLetters > 0 {
		errs = append(errs, fmt.Sprintf("dead-letter files hold %d bytes", res.DeadLetters))
	}
	if werr == nil && (res.Lost != 0 || res.Duplicates != 0) {
		errs = append(errs, fmt.Sprintf("lost %d, duplicates %d", res.Lost, res.Duplicates))
	}
	res.Error = strings.Join(errs, "\n")
	return res
}

func (r *Runner) queueMarkdown(q *queueSetup, env []string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Queue tier: edge → Kafka / Redis → indexer(s), into the bench sink (issue 10)\n\n")
	for _, e := range env {
		if strings.HasPrefix(e, "peers ") {
			continue
		}
		fmt.Fprintf(&b, "- %s\n", e)
	}
	if q.BrokersDesc != "" {
		fmt.Fprintf(&b, "- brokers: %s\n", q.BrokersDesc)
	}
	fmt.Fprintf(&b, "- %d RFC3164 messages per run over 1 TCP connection (bench/loadgen, ~150 bytes, all with hostname `bench-host`), %d rounds (medians shown; lost and dup summed over the rounds), configs in rotating order each round; bench took %s\n",
		r.Messages, r.Rounds, took.Round(time.Second))
	fmt.Fprintf(&b, "- every process is logshipper with default settings except: the edge's `kafka.partition_key: %s` (every message has the same hostname, so `host` would put them all in one partition), `redis.max_len: %d`, and per run a fresh topic (2 partitions, replication 1) or stream and a fresh consumer group; the sink is bench/sink (Elasticsearch-shaped `_bulk`, counts unique/duplicate messages per run)\n",
		q.PartitionKey, q.RedisMaxLen)
	if q.kafkaCl != nil {
		fmt.Fprintf(&b, "- before round 1, one unmeasured edge-only Kafka run of %d messages warms up the broker's JVM (JIT); on a fresh broker the first Kafka runs were up to 2x slower\n", r.Messages)
	}
	fmt.Fprintf(&b, "- each run: start indexers and edge, wait for /readyz (Kafka indexers also until each logged its partitions: the group has formed), %d warm-up messages through the whole path (not counted), then measure\n\n", r.Warmup)

	type agg struct {
		feed, e2e, edge, ix, broker, edgeRSS, ixRSS, prodMs float64
		lost, dup                                           int64
		ok, n, rebal                                        int
	}
	aggs := map[string]agg{}
	fmt.Fprintf(&b, "| config | edge feed msgs/s | end-to-end msgs/s | edge CPU-s/1M | indexers CPU-s/1M | edge + indexers CPU-s/1M | broker CPU-s/1M | ms per produce batch | edge peak RSS MiB | indexer peak RSS MiB | lost | dup | rounds ok |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range q.Configs {
		var feed, e2e, edge, ix, both, broker, edgeRSS, ixRSS, prodMs []float64
		var a agg
		for _, res := range q.results {
			if res.Config != c.Name || res.Round == 0 {
				continue
			}
			a.n++
			if res.Error == "" {
				a.ok++
			}
			a.lost += res.Lost
			a.dup += res.Duplicates
			a.rebal += res.Rebalances
			if res.FeedRate > 0 {
				feed = append(feed, res.FeedRate)
			}
			if res.E2ERate > 0 {
				e2e = append(e2e, res.E2ERate)
			}
			if res.EdgePer1M > 0 {
				edge = append(edge, res.EdgePer1M)
				ix = append(ix, res.IndexerPer1M)
				both = append(both, res.EdgePer1M+res.IndexerPer1M)
				broker = append(broker, res.BrokerPer1M)
			}
			if res.ProduceMs > 0 {
				prodMs = append(prodMs, res.ProduceMs)
			}
			if res.EdgeRSSMiB > 0 {
				edgeRSS = append(edgeRSS, res.EdgeRSSMiB)
			}
			m := 0.0
			for _, v := range res.IndexerRSS {
				m = max(m, v)
			}
			if m > 0 {
				ixRSS = append(ixRSS, m)
			}
		}
		a.feed, a.e2e, a.edge, a.ix, a.broker = median(feed), median(e2e), median(edge), median(ix), median(broker)
		a.edgeRSS, a.ixRSS, a.prodMs = median(edgeRSS), median(ixRSS), median(prodMs)
		aggs[c.Name] = a
		dash := "–"
		e2es, ixs, bothS, brk, ixr, pms, dup := fmt.Sprintf("%.0f", a.e2e), fmt.Sprintf("%.2f", a.ix), fmt.Sprintf("%.2f", median(both)),
			fmt.Sprintf("%.2f", a.broker), fmt.Sprintf("%.0f", a.ixRSS), fmt.Sprintf("%.1f", a.prodMs), fmt.Sprint(a.dup)
		if c.Queue == "" {
			ixs, brk, ixr = dash, dash, dash
		}
		if c.Queue != "" && c.Indexers == 0 {
			e2es, ixs, bothS, ixr, dup = dash, dash, dash, dash, dash
		}
		if len(prodMs) == 0 {
			pms = dash
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.2f | %s | %s | %s | %s | %.0f | %s | %d | %s | %d/%d |\n",
			c.title(), a.feed, e2es, a.edge, ixs, bothS, brk, pms, a.edgeRSS, ixr, a.lost, dup, a.ok, a.n)
	}

	// The hop: per round, against the same round's direct run.
	direct := map[int]QueueResult{}
	for _, res := range q.results {
		if res.Config == "direct" && res.EdgePer1M > 0 {
			direct[res.Round] = res
		}
	}
	if len(direct) > 0 {
		fmt.Fprintf(&b, "\n### What the hop costs (CPU-s per 1M messages; medians over the rounds of per-round differences to that round's direct run)\n\n")
		fmt.Fprintf(&b, "| config | direct (logshipper alone) | edge side: edge − direct | indexer side: indexers | whole hop: edge + indexers − direct | edge feed vs target 300,000 msgs/s | ≤ 1 CPU-s/1M per side, bulk requests counted as hop? |\n")
		fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---|---|\n")
		for _, c := range q.Configs {
			if c.Queue == "" {
				continue
			}
			var d, es, is, whole []float64
			for _, res := range q.results {
				dr, ok := direct[res.Round]
				if res.Config != c.Name || !ok || res.EdgePer1M == 0 {
					continue
				}
				d = append(d, dr.EdgePer1M)
				es = append(es, res.EdgePer1M-dr.EdgePer1M)
				is = append(is, res.IndexerPer1M)
				whole = append(whole, res.EdgePer1M+res.IndexerPer1M-dr.EdgePer1M)
			}
			if len(es) == 0 {
				continue
			}
			a := aggs[c.Name]
			feedOK := "below"
			if a.feed >= 300000 {
				feedOK = "meets"
			}
			yes := func(v float64) string {
				if v <= 1 {
					return "yes"
				}
				return "no"
			}
			iss, wholes, verdict := fmt.Sprintf("%.2f", median(is)), fmt.Sprintf("%+.2f", median(whole)),
				fmt.Sprintf("edge %s, indexer %s", yes(median(es)), yes(median(is)))
			if c.Indexers == 0 {
				iss, wholes, verdict = "–", "–", fmt.Sprintf("edge %s", yes(median(es)))
			}
			fmt.Fprintf(&b, "| %s | %.2f | %+.2f | %s | %s | %.0f: %s | %s |\n",
				c.Name, median(d), median(es), iss, wholes, a.feed, feedOK, verdict)
		}
	}
	fmt.Fprintf(&b, "\nColumns:\n\n")
	fmt.Fprintf(&b, "- **edge feed msgs/s**: messages / (time the edge's own counter reaches the run's messages − first message sent by loadgen). The counter is `logshipper_queue_produced_total` for Kafka (records acknowledged, acks=all), `logshipper_queue_produced_total` for Redis too (entries whose XADD was answered), `logshipper_events_indexed_total` for direct (bulk items the sink confirmed); polled every 50 ms, interpolated. For direct it is the shipper's own indexing rate, about the end-to-end rate.\n")
	fmt.Fprintf(&b, "- **end-to-end msgs/s**: unique messages in the sink / (last document in the sink − first message sent).\n")
	fmt.Fprintf(&b, "- **CPU-s/1M**: utime+stime of the process (all threads, /proc/PID/stat) from the first message sent until the sink has every message (edge-only configs: until the edge's counter has them all), per 1,000,000 messages sent. The edge is the process with the syslog port (the only process for direct); **indexers** is the sum over the indexer processes; **broker** is the Kafka JVM or redis-server over the same window, for information (not logshipper's cost).\n")
	fmt.Fprintf(&b, "- **ms per produce batch**: Kafka edge, `logshipper_queue_produce_seconds` sum/count while measuring: one pipeline batch (1000 records) from produce to acks=all; with 2 output workers the feed cannot exceed about 2 × 1000 / this.\n")
	fmt.Fprintf(&b, "- **edge side: edge − direct**: the edge in a queue run does what the direct shipper does (framing, parsing, document encoding) except the bulk HTTP requests and their answers, and produces to the queue instead; so this is the producing cost minus the bulk-request cost (it can be negative).\n")
	fmt.Fprintf(&b, "- **indexer side: indexers**: everything the indexers do counts as the hop: consuming, committing/acknowledging, and the bulk requests the direct shipper also makes (the indexers decode no syslog; they re-send the edge's finished documents).\n")
	fmt.Fprintf(&b, "- **whole hop**: (edge + indexers) − direct = edge side + indexer side: the CPU the queue tier adds in logshipper processes per million messages, broker excluded.\n")
	fmt.Fprintf(&b, "- **per side**: the last column counts the indexers' bulk requests as hop; counted where they are made instead (about 0.3 CPU-s/1M, from CPU profiles), the edge side is edge − direct + that and the indexer side indexers − that: bench/profiles/queue-hop.md.\n")
	fmt.Fprintf(&b, "- Differences are taken per round against the same round's direct run, then the median over the rounds; the direct column is the median of those direct runs. Edge-only configs (`-0`) have no indexer: the edge alone feeding the queue with no indexer competing for the 2 CPUs; lost there = messages the edge's counter did not reach, dup not measured.\n")
	fmt.Fprintf(&b, "- peak RSS = VmHWM (includes start-up and warm-up); indexer RSS is the larger of the indexers.\n")
	fmt.Fprintf(&b, "- dup = documents the sink received more than once (the sink answers every item 201; Elasticsearch would answer a repeated create with the same _id 409, so a dup is repeated work, not a duplicate in the index).\n")
	var rebal []string
	for _, c := range q.Configs {
		if a := aggs[c.Name]; a.rebal > 0 {
			rebal = append(rebal, fmt.Sprintf("%s: %d", c.Name, a.rebal))
		}
	}
	if len(rebal) > 0 {
		fmt.Fprintf(&b, "- Kafka rebalances while measuring (partitions revoked, summed over rounds): %s\n", strings.Join(rebal, ", "))
	}
	var errs []string
	for _, res := range q.results {
		if res.Error != "" && res.Round > 0 {
			errs = append(errs, fmt.Sprintf("- %s round %d (run %s): %s", res.Config, res.Round, res.RunID,
				strings.ReplaceAll(res.Error, "\n", "\n  ")))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nRuns with errors:\n\n%s\n", strings.Join(errs, "\n"))
	}
	return b.String()
}
