package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ownNode starts an OpenSearch node of the test's own, so the test may stop
// and start it without disturbing the shared one. It is stopped at the end.
type ownNode struct {
	t          *testing.T
	port, data string
	settings   []string // key=value node settings
}

func startOwnNode(t *testing.T, settings ...string) *ownNode {
	t.Helper()
	n := newOwnNode(t, settings...)
	n.start()
	return n
}

// newOwnNode reserves a port and a data directory; start() starts it.
func newOwnNode(t *testing.T, settings ...string) *ownNode {
	t.Helper()
	esURL(t) // skips (or, in CI, fails) when the test environment has no OpenSearch
	n := &ownNode{t: t, port: fmt.Sprint(freePort(t)), data: filepath.Join(t.TempDir(), "os"), settings: settings}
	t.Cleanup(func() { n.script("stop") })
	return n
}

func (n *ownNode) url() string { return "http://127.0.0.1:" + n.port }

func (n *ownNode) script(verb string) {
	n.t.Helper()
	args := []string{"../../testenv/opensearch.sh", verb, "--port", n.port, "--data", n.data}
	if verb == "start" {
		args = append(args, n.settings...)
	}
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil && verb != "stop" {
		n.t.Fatalf("opensearch.sh %s: %v\n%s", verb, err, out)
	}
}

func (n *ownNode) start() { n.script("start") }
func (n *ownNode) stop()  { n.script("stop") }

// seqSender streams count RFC3164 messages over one TCP connection; the
// sequence number is the hostname, a keyword field, so duplicates can be
// found with a terms aggregation.
func seqSender(t *testing.T, addr string, count int) <-chan error {
	return seqSenderFrom(t, addr, 0, count)
}

// seqSenderFrom is seqSender for the sequence numbers from … to-1.
func seqSenderFrom(t *testing.T, addr string, from, to int) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			done <- err
			return
		}
		w := bufio.NewWriterSize(c, 64<<10)
		for i := from; i < to; i++ {
			if _, err := fmt.Fprintf(w, "<14>Nov 26 12:00:00 seq-%07d app[1]: outage test message %d\n", i, i); err != nil {
				done <- err
				return
			}
		}
		if err := w.Flush(); err != nil {
			done <- err
			return
		}
		done <- c.Close()
	}()
	return done
}

// checkExactlyOnce asserts that seq-0000000 … seq-(n-1) are each indexed once.
func checkExactlyOnce(t *testing.T, es, index string, n int) {
	t.Helper()
	checkExactlyOnceQuery(t, es, index, "", n)
}

// checkExactlyOnceQuery is checkExactlyOnce for the documents query
// matches ("" for all).
func checkExactlyOnceQuery(t *testing.T, es, index, query string, n int) {
	t.Helper()
	if got := count(t, es, index, query); got != n {
		t.Errorf("_count = %d, want exactly %d", got, n)
	}
	if query == "" {
		query = `{"match_all":{}}`
	}
	if dups := duplicates(t, es, index, query); dups != "" {
		t.Errorf("duplicated sequence numbers: %s", dups)
	}
}

// Elasticsearch away for 30 s in the middle of a stream: logshipper keeps
// retrying, back-pressure holds the sender, and every message arrives once.
func TestElasticsearchOutageMidStream(t *testing.T) {
	const n = 200000
	node := startOwnNode(t)
	index := "e2e-outage"
	s := startShipperAt(t, node.url(), index, "LOGSHIPPER_PIPELINE_RETRY_MAX=2s")
	sent := seqSender(t, s.addr, n)

	deadline := time.Now().Add(2 * time.Minute)
	for s.metric("logshipper_events_indexed_total") < 50000 {
		if time.Now().After(deadline) {
			t.Fatal("50000 events not indexed within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	node.stop()
	outageStart := time.Now()
	indexedAtStop := s.metric("logshipper_events_indexed_total")
	time.Sleep(30 * time.Second) // the outage itself, not synchronisation
	if got := s.metric("logshipper_events_indexed_total"); got != indexedAtStop {
		t.Fatalf("indexed went from %v to %v while Elasticsearch was down", indexedAtStop, got)
	}
	if s.metric("logshipper_events_retried_total") == 0 {
		t.Error("no retries counted during the outage")
	}
	node.start()
	t.Logf("outage lasted %s (including the node's restart)", time.Since(outageStart).Round(time.Second))

	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("sender: %v", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("sender still blocked 5 minutes after Elasticsearch came back")
	}
	s.waitSettled(n, settleTimeout)
	if d := s.metric(`logshipper_events_dropped_total{reason="queue_full"}`) + s.metric(`logshipper_events_dropped_total{reason="shutdown"}`); d != 0 {
		t.Errorf("dropped %v events", d)
	}
	checkExactlyOnce(t, node.url(), index, n)
	s.stop()
	checkBalanced(t, s.logs.String())
}
