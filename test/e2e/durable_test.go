package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitMetric polls /metrics until cond holds for the named sample.
// A metric not exported yet (a process just started: the Redis lag comes
// with its first look at the group) is waited for like one whose value is
// not there yet.
func (s *shipper) waitMetric(name string, cond func(float64) bool, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, ok := s.sample(name)
		if ok && cond(v) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s = %v (exported: %v) after %s\n%s", name, v, ok, timeout, tail(s.logs.String(), 20))
		}
		time.Sleep(100 * time.Millisecond) // polling another process
	}
}

func diskEnv(dir string, extra ...string) []string {
	return append([]string{"LOGSHIPPER_BUFFER_TYPE=disk", "LOGSHIPPER_BUFFER_PATH=" + dir}, extra...)
}

// Elasticsearch down; logshipper reads 100,000 messages into its disk
// buffer and is killed with SIGKILL; started again, it sends all of them
// once Elasticsearch is back, each exactly once.
func TestDiskBufferSurvivesSIGKILL(t *testing.T) {
	const n = 100000
	node := newOwnNode(t) // not started: Elasticsearch is down
	index := "e2e-sigkill"
	buf := filepath.Join(t.TempDir(), "buffer")

	s := launch(t, node.url(), index, "/healthz", diskEnv(buf)...)
	if err := <-seqSender(t, s.addr, n); err != nil {
		t.Fatal(err)
	}
	s.waitMetric("logshipper_buffer_events", func(v float64) bool { return v == n }, time.Minute)
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited

	s2 := launch(t, node.url(), index, "/healthz", diskEnv(buf)...)
	if !strings.Contains(s2.logs.String(), `"events":100000`) {
		t.Errorf("restart did not report the 100000 buffered events:\n%s", tail(s2.logs.String(), 10))
	}
	node.start()
	s2.waitSettled(n, settleTimeout)
	s2.waitMetric("logshipper_buffer_events", func(v float64) bool { return v == 0 }, time.Minute)
	checkExactlyOnce(t, node.url(), index, n)
	s2.stop()
	if line := checkBalanced(t, s2.logs.String()); line["recovered"].(float64) != n {
		t.Errorf("the restart recovered %v events, want %d", line["recovered"], n)
	}
}

// SIGTERM while Elasticsearch is slow: what the grace period cannot flush
// stays in the disk buffer and is sent, exactly once, after the next start.
func TestDiskBufferKeepsWhatShutdownCouldNotFlush(t *testing.T) {
	const n = 50000
	es := esURL(t)
	index := uniqueIndex(t, es)
	buf := filepath.Join(t.TempDir(), "buffer")

	// A proxy that makes every bulk request take 300 ms longer.
	target, _ := url.Parse(es)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") {
			time.Sleep(300 * time.Millisecond) // the slowness under test
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })

	s := startShipperAt(t, "http://"+ln.Addr().String(), index,
		diskEnv(buf, "LOGSHIPPER_SHUTDOWN_GRACE_PERIOD=1s", "LOGSHIPPER_PIPELINE_BATCH_COUNT=500")...)
	if err := <-seqSender(t, s.addr, n); err != nil {
		t.Fatal(err)
	}
	s.waitMetric("logshipper_events_indexed_total", func(v float64) bool { return v >= 2000 }, time.Minute)
	s.stop()
	final := checkBalanced(t, s.logs.String())
	left := final["left_in_buffer"].(float64)
	if final["lost"].(float64) != 0 {
		t.Fatalf("shutdown lost events: %v", final)
	}
	t.Logf("shutdown flushed %v, left %v in the buffer", final["flushed"], left)

	s2 := startShipperAt(t, es, index, diskEnv(buf)...) // Elasticsearch at full speed now
	s2.waitMetric("logshipper_buffer_events", func(v float64) bool { return v == 0 }, 3*time.Minute)
	checkExactlyOnce(t, es, index, n)
	s2.stop()
	checkBalanced(t, s2.logs.String())
}

// Elasticsearch answering 429 (a write thread pool of one thread and a
// queue of one): the rejected items are retried with backoff until they
// are in, none lost and none doubled.
func TestTooManyRequestsAreRetried(t *testing.T) {
	const n = 50000
	node := startOwnNode(t, "thread_pool.write.size=1", "thread_pool.write.queue_size=1")
	index := "e2e-429"
	s := startShipperAt(t, node.url(), index,
		"LOGSHIPPER_PIPELINE_WORKERS=8", "LOGSHIPPER_PIPELINE_BATCH_COUNT=100", "LOGSHIPPER_PIPELINE_RETRY_MAX=500ms")
	if err := <-seqSender(t, s.addr, n); err != nil {
		t.Fatal(err)
	}
	s.waitSettled(n, settleTimeout)
	retried := s.metric("logshipper_events_retried_total")
	if retried == 0 {
		t.Error("no 429 seen: the write thread pool was not small enough to push back")
	}
	t.Logf("%v event deliveries retried after 429", retried)
	checkExactlyOnce(t, node.url(), index, n)
	s.stop()
	checkBalanced(t, s.logs.String())
}
