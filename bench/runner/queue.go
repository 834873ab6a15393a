package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	Config string `json:"config"`
	Round  int    `json:"round"`
	RunID  string `json:"run_id"`
	delivery
	SendS float64 `json:"send_s"`
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

func (r *Runner) runQueue(q *queueSetup, outRoot string, latest bool) error {
	stopOnSignal("queue", "bench")
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
	return r.frame("queue", true, outRoot, latest, func(env []string, record func(any)) (string, error) {
		log.Printf("queue bench: results in %s; sink at %s; kafka %q (pid %d), redis %q (pid %d)", r.OutDir, r.sinkURL, q.Kafka, q.KafkaPID, q.Redis, q.RedisPID)
		start := time.Now()
		if q.kafkaCl != nil {
			// A fresh broker's JVM is slow until its JIT has compiled the
			// produce and fetch paths (the first kafka runs were up to 2x
			// slower): one unmeasured edge-only run first (round 0, in
			// results.jsonl, not in the table).
			log.Printf("queue: warming up the Kafka broker (an unmeasured kafka-0 run of %d messages)", r.Messages)
			res := r.queueRunOne(q, queueConfigs["kafka-0"], 0)
			record(res)
			log.Printf("kafka warm-up: feed %.0f msgs/s, broker %.2f CPU-s/1M %s", res.FeedRate, res.BrokerPer1M, res.Error)
		}
		for round := 1; round <= r.Rounds; round++ {
			for _, c := range rotated(q.Configs, round) {
				res := r.queueRunOne(q, c, round)
				q.results = append(q.results, res)
				record(res)
				if res.Error != "" {
					log.Printf("%-8s round %d: ERROR %s", c.Name, round, res.Error)
				}
				log.Printf("%-8s round %d: feed %8.0f msgs/s  e2e %8.0f msgs/s  cpu/1M edge %.2f indexers %.2f broker %.2f  rss edge %.0f MiB  lost %d dup %d  (send %.2fs, feed %.2fs, total %.2fs)",
					c.Name, round, res.FeedRate, res.E2ERate, res.EdgePer1M, res.IndexerPer1M, res.BrokerPer1M, res.EdgeRSSMiB,
					res.Lost, res.Duplicates, res.SendS, res.FeedS, res.TotalS)
			}
		}
		return r.queueMarkdown(q, env, time.Since(start)), nil
	})
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

// queueRole starts one logshipper of a queue run (work/NAME.log) on a free
// port, into the sink.
func (r *Runner) queueRole(work, name string, env ...string) (*role, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ro := &role{name: name, port: port, logPath: filepath.Join(work, name+".log"), dlq: filepath.Join(work, name+"-dead-letter.ndjson")}
	return ro, r.startRole(work, r.sinkURL, ro, env...)
}

func (r *Runner) queueRunOne(q *queueSetup, c queueConfig, round int) (res QueueResult) {
	r.runSeq++
	runID := newRunID("q", r.runSeq)
	res = QueueResult{Config: c.Name, Round: round, RunID: runID, delivery: delivery{Messages: r.Messages}, LoadAvg: loadavg()}
	defer func() { res.Finished = time.Now().UTC() }()
	begin := time.Now()
	deadline := begin.Add(q.RunCap)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	fail := func(format string, a ...any) QueueResult {
		res.Error = fmt.Sprintf(format, a...)
		return res
	}
	work, err := r.workDir("%03d-%s-r%d", r.runSeq, c.Name, round)
	if err != nil {
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
		env := append([]string{"LOGSHIPPER_INPUT_TYPE=" + c.Queue}, queueEnv...)
		ix, err := r.queueRole(work, fmt.Sprintf("indexer-%d", i), env...)
		if err != nil {
			return fail("%v", err)
		}
		defer ix.p.stop(15 * time.Second)
		indexers = append(indexers, ix)
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
	edge, err := r.queueRole(work, "edge", edgeEnv...)
	if err != nil {
		return fail("%v", err)
	}
	port := edge.port
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
	// until waits for ok while every process lives, at most limit since
	// the run began; it says why it gave up ("" if ok).
	until := func(ok func() bool, limit time.Duration, late string, ro *role) string {
		for !ok() {
			if !alive() {
				return "start: " + whoDied()
			}
			if time.Since(begin) > limit {
				return fmt.Sprintf(late+"; last lines of %s:\n%s", ro.name, ro.logPath, tailFile(ro.logPath, 5))
			}
			time.Sleep(100 * time.Millisecond)
		}
		return ""
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
		if e := until(func() bool { return ready(ro.metrics()) }, 45*time.Second, "%s not ready (/readyz) after 45 s", ro); e != "" {
			return fail("%s", e)
		}
	}
	if c.Queue == "kafka" {
		// Every indexer holds partitions: the group is settled before
		// anything is measured (each logs its assignment).
		for _, ix := range indexers {
			if e := until(func() bool { return logCount(ix.logPath, "partitions assigned") > 0 }, 60*time.Second, "%s: no partitions assigned after 60 s", ix); e != "" {
				return fail("%s", e)
			}
		}
	}
	// Warm-up through the whole path (edge, queue, indexers, sink).
	if r.Warmup > 0 {
		if _, err := r.loadgen(tcpRFC3164, port, runID+"w", r.Warmup); err != nil {
			return fail("warm-up: %v", err)
		}
		if c.Indexers == 0 && c.Queue != "" {
			for {
				v, _ := counter(edge.metrics(), edgeMetric)
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
	base, err := counter(edge.metrics(), edgeMetric)
	if err != nil {
		return fail("edge metrics: %v", err)
	}
	prodSum0, _ := counter(edge.metrics(), "logshipper_queue_produce_seconds_sum")
	prodN0, _ := counter(edge.metrics(), "logshipper_queue_produce_seconds_count")
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
			v, err := counter(edge.metrics(), edgeMetric)
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
	lr, lerr := r.loadgen(tcpRFC3164, port, runID, r.Messages)
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
		st = r.lateDuplicates(runID, lr.Sent, st)
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
	res.EdgeRSSMiB = peakRSSMiB(edge.p.pid)
	for _, ix := range indexers {
		res.IndexerRSS = append(res.IndexerRSS, peakRSSMiB(ix.p.pid))
	}
	if prodN1, _ := counter(edge.metrics(), "logshipper_queue_produce_seconds_count"); prodN1 > prodN0 {
		prodSum1, _ := counter(edge.metrics(), "logshipper_queue_produce_seconds_sum")
		res.ProduceMs = 1000 * (prodSum1 - prodSum0) / (prodN1 - prodN0)
	}
	res.set(st, lr.Sent)
	if edgeOnly {
		// Counted at the edge (confirmed by the broker), not in the sink.
		v, _ := counter(edge.metrics(), edgeMetric)
		res.Delivered = int64(v - base)
		res.Lost = res.Messages - res.Delivered
	}
	res.TotalS, res.E2ERate = e2e(st, lr.FirstSendNS)
	for _, ix := range indexers {
		res.Rebalances += logCount(ix.logPath, "partitions revoked")
	}
	res.Rebalances -= revoked0
	res.EdgeMetrics = scrapeMetrics(edge.metrics(), "logshipper_")
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
		res.IndexerMetrics = append(res.IndexerMetrics, keep(scrapeMetrics(ix.metrics(), "logshipper_")))
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
		if !strings.HasPrefix(e, "peers ") {
			writeList(&b, []string{e})
		}
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
		tally
		feed  float64
		rebal int
	}
	aggs := map[string]agg{}
	fmt.Fprintf(&b, "| config | edge feed msgs/s | end-to-end msgs/s | edge CPU-s/1M | indexers CPU-s/1M | edge + indexers CPU-s/1M | broker CPU-s/1M | ms per produce batch | edge peak RSS MiB | indexer peak RSS MiB | lost | dup | rounds ok |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range q.Configs {
		col := columns{}
		var a agg
		for _, res := range q.results {
			if res.Config != c.Name || res.Round == 0 {
				continue
			}
			a.add(res.Error, res.Lost, res.Duplicates)
			a.rebal += res.Rebalances
			col.add("feed", res.FeedRate)
			col.add("e2e", res.E2ERate)
			if res.EdgePer1M > 0 {
				col.add("edge", res.EdgePer1M)
				col.add("ix", res.IndexerPer1M)
				col.add("both", res.EdgePer1M+res.IndexerPer1M)
				col.add("broker", res.BrokerPer1M)
			}
			col.add("prodMs", res.ProduceMs)
			col.add("edgeRSS", res.EdgeRSSMiB)
			col.add("ixRSS", slices.Max(append([]float64{0}, res.IndexerRSS...)))
		}
		a.feed = col.median("feed")
		aggs[c.Name] = a
		dash := "–"
		e2es, ixs, bothS, brk, ixr, pms, dup := fmt.Sprintf("%.0f", col.median("e2e")), fmt.Sprintf("%.2f", col.median("ix")), fmt.Sprintf("%.2f", col.median("both")),
			fmt.Sprintf("%.2f", col.median("broker")), fmt.Sprintf("%.0f", col.median("ixRSS")), fmt.Sprintf("%.1f", col.median("prodMs")), fmt.Sprint(a.dup)
		if c.Queue == "" {
			ixs, brk, ixr = dash, dash, dash
		}
		if c.Queue != "" && c.Indexers == 0 {
			e2es, ixs, bothS, ixr, dup = dash, dash, dash, dash, dash
		}
		if len(col["prodMs"]) == 0 {
			pms = dash
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.2f | %s | %s | %s | %s | %.0f | %s | %d | %s | %d/%d |\n",
			c.title(), a.feed, e2es, col.median("edge"), ixs, bothS, brk, pms, col.median("edgeRSS"), ixr, a.lost, dup, a.ok, a.n)
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
	writeList(&b, []string{
		"**edge feed msgs/s**: messages / (time the edge's own counter reaches the run's messages − first message sent by loadgen). The counter is `logshipper_queue_produced_total` for Kafka (records acknowledged, acks=all), `logshipper_queue_produced_total` for Redis too (entries whose XADD was answered), `logshipper_events_indexed_total` for direct (bulk items the sink confirmed); polled every 50 ms, interpolated. For direct it is the shipper's own indexing rate, about the end-to-end rate.",
		"**end-to-end msgs/s**: unique messages in the sink / (last document in the sink − first message sent).",
		"**CPU-s/1M**: utime+stime of the process (all threads, /proc/PID/stat) from the first message sent until the sink has every message (edge-only configs: until the edge's counter has them all), per 1,000,000 messages sent. The edge is the process with the syslog port (the only process for direct); **indexers** is the sum over the indexer processes; **broker** is the Kafka JVM or redis-server over the same window, for information (not logshipper's cost).",
		"**ms per produce batch**: Kafka edge, `logshipper_queue_produce_seconds` sum/count while measuring: one pipeline batch (1000 records) from produce to acks=all; with 2 output workers the feed cannot exceed about 2 × 1000 / this.",
		"**edge side: edge − direct**: the edge in a queue run does what the direct shipper does (framing, parsing, document encoding) except the bulk HTTP requests and their answers, and produces to the queue instead; so this is the producing cost minus the bulk-request cost (it can be negative).",
		"**indexer side: indexers**: everything the indexers do counts as the hop: consuming, committing/acknowledging, and the bulk requests the direct shipper also makes (the indexers decode no syslog; they re-send the edge's finished documents).",
		"**whole hop**: (edge + indexers) − direct = edge side + indexer side: the CPU the queue tier adds in logshipper processes per million messages, broker excluded.",
		"**per side**: the last column counts the indexers' bulk requests as hop; counted where they are made instead (about 0.3 CPU-s/1M, from CPU profiles), the edge side is edge − direct + that and the indexer side indexers − that: bench/profiles/queue-hop.md.",
		"Differences are taken per round against the same round's direct run, then the median over the rounds; the direct column is the median of those direct runs. Edge-only configs (`-0`) have no indexer: the edge alone feeding the queue with no indexer competing for the 2 CPUs; lost there = messages the edge's counter did not reach, dup not measured.",
		"peak RSS = VmHWM (includes start-up and warm-up); indexer RSS is the larger of the indexers.",
		"dup = documents the sink received more than once (the sink answers every item 201; Elasticsearch would answer a repeated create with the same _id 409, so a dup is repeated work, not a duplicate in the index).",
	})
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
	writeErrors(&b, "\n", errs)
	return b.String()
}
