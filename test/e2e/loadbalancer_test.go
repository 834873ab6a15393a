package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/nginxstream"
)

// A rolling update of a replicated service behind Docker Swarm's routing
// mesh, with nginx's stream module standing in for IPVS: a TCP and UDP load
// balancer on one port in front of two logshipper replicas that index into
// the real OpenSearch. Eight TCP senders behave like rsyslog's omfwd (one
// persistent connection, checked before each write); midway replica A gets
// SIGTERM and is started again on the same ports, later replica B. Every TCP
// message must be indexed exactly once. UDP cannot be lossless across a
// restart, so for the UDP sender only duplicates fail the test; its loss is
// logged.
func TestRollingUpdateBehindLoadBalancer(t *testing.T) {
	const (
		senders   = 8
		perSender = 25000
		burst     = 100 // messages per sender and paceTick (100 ms): 1,000/s each
		udpN      = 20000
		udpBurst  = 100
		total     = senders * perSender
		perTick   = senders * burst
	)
	es := esURL(t)
	nginx := nginxBinary(t)
	index := uniqueIndex(t, es)
	began := time.Now()

	// Shutdown drains: the replica half-closes each connection and reads on
	// until the sender closes it or this passes.
	env := []string{"LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT=5s"}
	replicas := []*replica{
		{name: "A", syslogPort: freePort(t), httpPort: freePort(t)},
		{name: "B", syslogPort: freePort(t), httpPort: freePort(t)},
	}
	for _, r := range replicas {
		r.s = launchOn(t, es, index, r.syslogPort, r.httpPort, env...)
	}
	lb := startNginx(t, nginx, replicas)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// Each restart is triggered by the first message of the senders' burst
	// after a third (two thirds) of all messages: SIGTERM arrives while
	// messages are in flight to the replica.
	var sent atomic.Int64
	atThird, atTwoThirds := make(chan struct{}), make(chan struct{})
	progress := func() {
		switch sent.Add(1) {
		case total/3/perTick*perTick + 1:
			close(atThird)
		case 2*total/3/perTick*perTick + 1:
			close(atTwoThirds)
		}
	}
	tcp := make([]*omfwdSender, senders)
	var wg sync.WaitGroup
	for k := range tcp {
		tcp[k] = &omfwdSender{id: k, lb: lb.addr, n: perSender, burst: burst}
		wg.Add(1)
		go func() { defer wg.Done(); tcp[k].err = tcp[k].run(ctx, progress) }()
	}
	udp := &udpSender{lb: lb.addr, n: udpN, burst: udpBurst}
	wg.Add(1)
	go func() { defer wg.Done(); udp.err = udp.run(ctx) }()
	sendersDone := make(chan struct{})
	go func() { wg.Wait(); close(sendersDone) }()
	senderErrors := func() string {
		var b strings.Builder
		for _, s := range tcp {
			if s.err != nil {
				fmt.Fprintf(&b, "\nsender s%d: %v", s.id, s.err)
			}
		}
		if udp.err != nil {
			fmt.Fprintf(&b, "\nudp sender: %v", udp.err)
		}
		return b.String()
	}
	waitFor := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-sendersDone:
			select {
			case <-ch:
			default:
				t.Fatalf("the senders stopped before %s (%d of %d sent)%s", what, sent.Load(), total, senderErrors())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s not reached within 2 minutes (%d of %d sent)", what, sent.Load(), total)
		}
	}

	// The rolling update, one replica at a time, triggered by progress.
	var finals []map[string]any
	restart := func(r *replica) {
		t.Helper()
		at := sent.Load()
		t0 := time.Now()
		r.s.stop() // SIGTERM; fails unless it exits 0 within 30 s
		exited := time.Since(t0)
		fin := checkBalanced(t, r.s.logs.String())
		finals = append(finals, fin)
		t.Logf("replica %s: SIGTERM at %d/%d TCP messages sent; exited 0 after %s: received=%v flushed=%v lost=%v%s",
			r.name, at, total, exited.Round(time.Millisecond), fin["received"], fin["flushed"], fin["lost"], drainLines(r.s.logs.String()))
		r.s = launchOn(t, es, index, r.syslogPort, r.httpPort, env...)
		t.Logf("replica %s: started again on the same ports, ready %s after the SIGTERM", r.name, time.Since(t0).Round(time.Millisecond))
	}
	waitFor(atThird, "a third of the messages")
	restart(replicas[0])
	waitFor(atTwoThirds, "two thirds of the messages")
	restart(replicas[1])

	select {
	case <-sendersDone:
	case <-time.After(3 * time.Minute):
		t.Fatalf("senders not done 3 minutes after the rolling update (%d of %d TCP messages sent)", sent.Load(), total)
	}
	if e := senderErrors(); e != "" {
		t.Fatalf("senders failed:%s", e)
	}
	sendTime := time.Since(began)

	settleReplicas(t, es, index, replicas, time.Minute)
	for _, r := range replicas {
		r.s.stop()
		finals = append(finals, checkBalanced(t, r.s.logs.String()))
	}
	// Four processes ran, A and B before and after their restart: what
	// they read adds up to what the index holds.
	receivedAll := 0
	for _, fin := range finals {
		if lost, _ := fin["lost"].(float64); lost != 0 {
			t.Errorf("a replica's shutdown reported lost=%v: %v", lost, fin)
		}
		r, _ := fin["received"].(float64)
		receivedAll += int(r)
	}
	if docs := count(t, es, index, ""); docs != receivedAll {
		t.Errorf("the replicas received %d messages in all, the index holds %d documents", receivedAll, docs)
	}

	var reconnects, writeErrors []string
	for _, s := range tcp {
		reconnects = append(reconnects, fmt.Sprintf("s%d:%d", s.id, s.reconnects))
		if s.writeErrors > 0 {
			writeErrors = append(writeErrors, fmt.Sprintf("s%d:%d (%s)", s.id, s.writeErrors, strings.Join(s.firstErrors, "; ")))
		}
	}
	t.Logf("TCP: %d senders × %d messages, %d every %s each, sent in %s; reconnects after the receiver's FIN: %s",
		senders, perSender, burst, paceTick, sendTime.Round(time.Millisecond), strings.Join(reconnects, " "))
	if len(writeErrors) > 0 {
		t.Logf("TCP write errors (each one means messages may be lost): %s", strings.Join(writeErrors, " "))
	}
	t.Logf("nginx: %d upstream connect failures (retried on the other replica by proxy_next_upstream)", lb.connectFailures())
	checkEachSeqOnce(t, es, index, senders, perSender)

	gotUDP := count(t, es, index, `{"prefix":{"logsource":"u-"}}`)
	if dups := duplicates(t, es, index, `{"prefix":{"logsource":"u-"}}`); dups != "" {
		t.Errorf("UDP: duplicated sequence numbers: %s", dups)
	}
	t.Logf("UDP: %d datagrams sent, %d every %s, %d indexed, %d lost (%.2f%%) across the two restarts",
		udp.n, udpBurst, paceTick, gotUDP, udp.n-gotUDP, 100*float64(udp.n-gotUDP)/float64(udp.n))
	t.Logf("whole test: %s", time.Since(began).Round(time.Millisecond))
}

// replica is one logshipper of the service, restarted in place.
type replica struct {
	name                 string
	syslogPort, httpPort int
	s                    *shipper
}

// loadBalancer is a running nginx: its address and its directory, which
// holds nginx.conf and error.log.
type loadBalancer struct{ addr, dir string }

// startNginx runs nginx with the stream module as a TCP and UDP load
// balancer on one 127.0.0.1 port in front of the replicas, as the routing
// mesh publishes one port for both. It is stopped at the end of the test.
func startNginx(t *testing.T, bin string, replicas []*replica) *loadBalancer {
	t.Helper()
	module, err := nginxstream.StreamModule(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var upstreams []string
	for _, r := range replicas {
		upstreams = append(upstreams, fmt.Sprintf("127.0.0.1:%d", r.syslogPort))
	}
	args, err := nginxstream.Config{Dir: dir, Module: module, Listen: addr, Upstreams: upstreams, UDP: true}.Write()
	if err != nil {
		t.Fatal(err)
	}
	errorLog := func(out string) string { // without the two info lines of every datagram
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		var lines []string
		for _, l := range strings.Split(out+string(b), "\n") {
			if !strings.Contains(l, "[info]") || !strings.Contains(l, " udp ") {
				lines = append(lines, l)
			}
		}
		return tail(strings.Join(lines, "\n"), 40)
	}
	runDaemon(t, "nginx", []string{addr}, errorLog, bin, args...)
	return &loadBalancer{addr: addr, dir: dir}
}

// connectFailures counts the refused connects to an upstream in nginx's
// error log: connections that went to a stopped replica and were passed on
// to the other.
func (lb *loadBalancer) connectFailures() int {
	b, _ := os.ReadFile(filepath.Join(lb.dir, "error.log"))
	return strings.Count(string(b), "connect() failed")
}

// paceTick is the senders' pace: they send in bursts, one per tick.
const paceTick = 100 * time.Millisecond

// omfwdSender sends like rsyslog's omfwd over TCP: one persistent
// connection; before each write, a non-blocking recv(MSG_PEEK) checks it
// (rsyslog's CheckConnection): 0 bytes means the receiver closed it, so it
// is closed and opened again, through the load balancer, before the write.
type omfwdSender struct {
	id          int
	lb          string
	n, burst    int // messages, and messages per paceTick
	conn        *net.TCPConn
	reconnects  int      // the receiver's FIN seen before a write
	writeErrors int      // writes that failed: what was in flight may be lost
	firstErrors []string // the first few write errors
	err         error
}

func (s *omfwdSender) connect() error {
	c, err := net.DialTimeout("tcp", s.lb, 5*time.Second)
	if err != nil {
		return err
	}
	s.conn = c.(*net.TCPConn)
	return nil
}

func (s *omfwdSender) run(ctx context.Context, progress func()) error {
	if err := s.connect(); err != nil {
		return err
	}
	defer func() { s.conn.Close() }()
	// Paced: a burst of messages every paceTick, one write each, as rsyslog
	// sends what its queue holds.
	tick := time.NewTicker(paceTick)
	defer tick.Stop()
	var msg []byte
	for i := 0; i < s.n; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for j := 0; j < s.burst && i < s.n; j++ {
			msg = fmt.Appendf(msg[:0], "<14>Nov 26 12:00:00 s%d-%06d app[1]: rolling update test message %d of sender %d\n", s.id, i, i, s.id)
			if err := s.send(msg); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			i++
			progress()
		}
	}
	return s.conn.Close()
}

// send checks the connection, then writes msg; a failed write is counted
// and the message written again on a new connection, as rsyslog retries.
func (s *omfwdSender) send(msg []byte) error {
	closed, err := peerClosed(s.conn)
	if err != nil {
		return err
	}
	if closed {
		s.conn.Close()
		s.reconnects++
		if err := s.connect(); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		_, err := s.conn.Write(msg)
		if err == nil {
			return nil
		}
		s.writeErrors++
		if len(s.firstErrors) < 3 {
			s.firstErrors = append(s.firstErrors, err.Error())
		}
		if attempt == 3 {
			return err
		}
		s.conn.Close()
		if err := s.connect(); err != nil {
			return err
		}
	}
}

// peerClosed is rsyslog's CheckConnection: recv(MSG_PEEK|MSG_DONTWAIT)
// returning 0 means the other side has sent its FIN. EAGAIN (nothing to
// read) is the normal case; other errors are left to the write that follows.
func peerClosed(c *net.TCPConn) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	closed := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, e := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = e == nil && n == 0
		return true // never wait for readability
	})
	return closed, err
}

// udpSender sends n datagrams through the load balancer, paced, with the
// sequence number as hostname u-<seq>.
type udpSender struct {
	lb       string
	n, burst int
	err      error
}

func (u *udpSender) run(ctx context.Context) error {
	c, err := net.Dial("udp", u.lb)
	if err != nil {
		return err
	}
	defer c.Close()
	tick := time.NewTicker(paceTick)
	defer tick.Stop()
	var msg []byte
	for i := 0; i < u.n; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for j := 0; j < u.burst && i < u.n; j++ {
			msg = fmt.Appendf(msg[:0], "<14>Nov 26 12:00:00 u-%06d app[1]: rolling update test datagram %d", i, i)
			// A refused datagram (ICMP from a stopped port) is a loss
			// like any other; it is counted in the index.
			if _, err := c.Write(msg); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
				return err
			}
			i++
		}
	}
	return nil
}

// drainLines returns the replica's log lines about draining, for the test log.
func drainLines(logs string) string {
	var b strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(strings.ToLower(line), "drain") {
			b.WriteString("\n    " + line)
		}
	}
	return b.String()
}

// settleReplicas waits until every replica has read and indexed all it
// received, has no connection left, and the index count stops changing.
func settleReplicas(t *testing.T, es, index string, replicas []*replica, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		settled := true
		for _, r := range replicas {
			s := r.s
			received := s.metric(`logshipper_events_received_total{transport="tcp"}`) + s.metric(`logshipper_events_received_total{transport="udp"}`)
			done := s.metric("logshipper_events_indexed_total") + s.metric("logshipper_events_failed_total") +
				s.metric(`logshipper_events_dropped_total{reason="queue_full"}`) + s.metric(`logshipper_events_dropped_total{reason="shutdown"}`)
			if done < received || s.metric("logshipper_queue_events") != 0 || s.metric("logshipper_tcp_connections") != 0 {
				settled = false
			}
		}
		if settled {
			n := count(t, es, index, "")
			if n == last {
				return
			}
			last = n
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not settled after %s (index count %d)", timeout, last)
		}
		time.Sleep(500 * time.Millisecond) // polling external processes; nothing to wait on
	}
}

// checkEachSeqOnce asserts that s<k>-<seq> for every sender k and every
// seq < perSender is indexed exactly once: as many well-formed sequence
// hostnames as messages sent, no other documents of the TCP senders, and
// none twice. On a failure it names the missing sequence numbers.
func checkEachSeqOnce(t *testing.T, es, index string, senders, perSender int) {
	t.Helper()
	want := senders * perSender
	tcpDocs := `{"prefix":{"logsource":"s"}}`
	got := count(t, es, index, tcpDocs)
	wellFormed := count(t, es, index, `{"regexp":{"logsource":"s[0-9]+-[0-9]{6}"}}`)
	dups := duplicates(t, es, index, tcpDocs)
	if got == want && wellFormed == want && dups == "" {
		t.Logf("TCP: all %d sequence numbers indexed exactly once", want)
		return
	}
	t.Errorf("TCP: %d documents (%d well-formed), want exactly %d; duplicates: %s", got, wellFormed, want, dups)
	for k := range senders {
		prefix := fmt.Sprintf("s%d-", k)
		seen := terms(t, es, index, fmt.Sprintf(`{"prefix":{"logsource":%q}}`, prefix), perSender+100)
		var missing []int
		for i := range perSender {
			if seen[fmt.Sprintf("%s%06d", prefix, i)] == 0 {
				missing = append(missing, i)
			}
		}
		if len(missing) > 0 || len(seen) != perSender {
			t.Errorf("sender s%d: %d distinct, %d missing: %s", k, len(seen), len(missing), ranges(missing))
		}
	}
}

// duplicates returns the logsource values of the query's documents that are
// indexed more than once (up to 10), or "".
func duplicates(t *testing.T, es, index, query string) string {
	t.Helper()
	code, b := esDo(t, es, "POST", "/"+index+"*/_search",
		`{"size":0,"query":`+query+`,"aggs":{"dups":{"terms":{"field":"logsource","min_doc_count":2,"size":10}}}}`)
	if code != 200 {
		t.Fatalf("aggregation: %d %s", code, b)
	}
	var r struct {
		Aggregations struct {
			Dups struct {
				Buckets []struct {
					Key      string
					DocCount int `json:"doc_count"`
				}
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, bk := range r.Aggregations.Dups.Buckets {
		out = append(out, fmt.Sprintf("%s×%d", bk.Key, bk.DocCount))
	}
	return strings.Join(out, " ")
}

// terms returns logsource → document count for the query's documents.
func terms(t *testing.T, es, index, query string, size int) map[string]int {
	t.Helper()
	code, b := esDo(t, es, "POST", "/"+index+"*/_search",
		fmt.Sprintf(`{"size":0,"query":%s,"aggs":{"seq":{"terms":{"field":"logsource","size":%d}}}}`, query, size))
	if code != 200 {
		t.Fatalf("aggregation: %d %s", code, b)
	}
	var r struct {
		Aggregations struct {
			Seq struct {
				Buckets []struct {
					Key      string
					DocCount int `json:"doc_count"`
				}
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]int, len(r.Aggregations.Seq.Buckets))
	for _, bk := range r.Aggregations.Seq.Buckets {
		m[bk.Key] = bk.DocCount
	}
	return m
}

// ranges prints sorted numbers as compact ranges: "3-7 12 40-41".
func ranges(nums []int) string {
	sort.Ints(nums)
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(nums[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", nums[i], nums[j]))
		}
		if len(parts) == 20 {
			parts = append(parts, "…")
			break
		}
		i = j + 1
	}
	return strings.Join(parts, " ")
}
