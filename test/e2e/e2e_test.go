package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const settleTimeout = 3 * time.Minute

// The operator's smoke test from the seed: `yes test | nc host 514`.
func TestYesTestOverTCP(t *testing.T) {
	const n = 100000
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	es := s.es
	// Literally the shell pipeline, with bash's /dev/tcp standing in for nc.
	cmd := exec.Command("bash", "-c", fmt.Sprintf("yes test | head -n %d > /dev/tcp/127.0.0.1/%s", n, port(s.addr)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v %s", err, out)
	}
	s.waitSettled(n, settleTimeout)
	if got := count(t, es, s.index, ""); got != n {
		t.Fatalf("_count = %d, want exactly %d", got, n)
	}
	if got := count(t, es, s.index, `{"term":{"tags":"_grokparsefailure_sysloginput"}}`); got != n {
		t.Fatalf("%d documents tagged _grokparsefailure_sysloginput, want %d", got, n)
	}
	doc := search(t, es, s.index, `{"match_all":{}}`, 1)[0]
	want := map[string]any{
		"message": "test", "host": "127.0.0.1", "priority": 13.0, "facility": 1.0, "severity": 5.0,
		"facility_label": "user-level", "severity_label": "Notice",
	}
	checkFields(t, doc, want)
	if _, ok := doc["@timestamp"].(string); !ok {
		t.Errorf("@timestamp missing: %v", doc)
	}
}

func TestRFC3164OverTCP(t *testing.T) {
	const n = 100000
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick seq=%d\n", i)
	}
	sendTCP(t, s.addr, buf.Bytes())
	s.waitSettled(n, settleTimeout)
	if got := count(t, s.es, s.index, ""); got != n {
		t.Fatalf("_count = %d, want exactly %d", got, n)
	}
	if got := count(t, s.es, s.index, `{"term":{"tags":"_grokparsefailure_sysloginput"}}`); got != 0 {
		t.Fatalf("%d parse failures, want 0", got)
	}
	docs := search(t, s.es, s.index, `{"match_phrase":{"message":"seq=4242"}}`, 5)
	if len(docs) != 1 {
		t.Fatalf("seq=4242 found %d times", len(docs))
	}
	checkFields(t, docs[0], map[string]any{
		"message": "'su root' failed for lonvick seq=4242", "logsource": "mymachine", "program": "su",
		"pid": "123", "priority": 34.0, "facility": 4.0, "severity": 2.0,
		"facility_label": "security/authorization", "severity_label": "Critical",
		"timestamp": "Oct 11 22:14:15", "host": "127.0.0.1",
	})
}

const rfc5424Line = `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 4711 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event seq=%d`

func TestRFC5424StructuredDataOverTCP(t *testing.T) {
	const n = 100000
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, rfc5424Line+"\n", i)
	}
	sendTCP(t, s.addr, buf.Bytes())
	s.waitSettled(n, settleTimeout)
	if got := count(t, s.es, s.index, ""); got != n {
		t.Fatalf("_count = %d, want exactly %d", got, n)
	}
	docs := search(t, s.es, s.index, `{"match_phrase":{"message":"seq=777"}}`, 5)
	if len(docs) != 1 {
		t.Fatalf("seq=777 found %d times", len(docs))
	}
	d := docs[0]
	checkFields(t, d, map[string]any{
		"message": "An application event seq=777", "logsource": "mymachine.example.com", "program": "evntslog",
		"pid": "4711", "msgid": "ID47", "version": 1.0, "priority": 165.0, "facility": 20.0, "severity": 5.0,
		"facility_label": "local4", "severity_label": "Notice", "@timestamp": "2003-10-11T22:14:15.003Z",
	})
	// Marshalling the decoded object sorts its keys: this pins the content;
	// the documents keep message order (outputs/elasticsearch's golden files).
	sd, _ := json.Marshal(d["structured_data"])
	if string(sd) != `{"exampleSDID@32473":{"eventID":"1011","eventSource":"Application","iut":"3"}}` {
		t.Errorf("structured_data = %s", sd)
	}
}

func TestOctetCountedAndMixedFramingOverTCP(t *testing.T) {
	const n = 100000
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	var buf bytes.Buffer
	for i := range n {
		msg := fmt.Sprintf(rfc5424Line, i)
		if i%10 == 9 { // one sender mixing both framings
			buf.WriteString(msg + "\n")
		} else {
			fmt.Fprintf(&buf, "%d %s", len(msg), msg)
		}
	}
	sendTCP(t, s.addr, buf.Bytes())
	s.waitSettled(n, settleTimeout)
	if got := count(t, s.es, s.index, ""); got != n {
		t.Fatalf("_count = %d, want exactly %d", got, n)
	}
	if got := count(t, s.es, s.index, `{"term":{"tags":"_grokparsefailure_sysloginput"}}`); got != 0 {
		t.Fatalf("%d parse failures, want 0 (framing leaked into messages?)", got)
	}
}

func TestUDP(t *testing.T) {
	const n = 20000
	const perSecond = 10000 // well inside what this 2-core box carries next to OpenSearch
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	c, err := net.Dial("udp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for i := range n {
		fmt.Fprintf(c, "<13>Nov 26 12:00:00 udphost app: datagram seq=%d", i)
		if i%100 == 99 { // pace: never ahead of perSecond
			if ahead := time.Duration(i+1)*time.Second/perSecond - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	received := func() float64 { return s.metric(`logshipper_events_received_total{transport="udp"}`) }
	deadline := time.Now().Add(30 * time.Second)
	for received() < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := received(); got != n {
		t.Fatalf("received %v of %d datagrams (dropped queue_full: %v)", got, n,
			s.metric(`logshipper_events_dropped_total{reason="queue_full"}`))
	}
	s.waitSettled(n, settleTimeout)
	if got := count(t, s.es, s.index, ""); got != n {
		t.Fatalf("_count = %d, want exactly %d", got, n)
	}
	doc := search(t, s.es, s.index, `{"match_phrase":{"message":"seq=99"}}`, 1)[0]
	checkFields(t, doc, map[string]any{"logsource": "udphost", "program": "app", "message": "datagram seq=99"})
}

// A document Elasticsearch refuses for good goes to the dead-letter file,
// and everything else of its batch is indexed.
func TestMappingConflictGoesToDeadLetterFile(t *testing.T) {
	es := esURL(t)
	index := uniqueIndex(t, es)
	// message is a number in this index: words cannot be indexed there.
	if code, b := esDo(t, es, "PUT", "/"+index, `{"settings":{"number_of_replicas":0},"mappings":{"properties":{"message":{"type":"long"}}}}`); code != 200 {
		t.Fatalf("create index: %d %s", code, b)
	}
	s := startShipper(t, index, "LOGSHIPPER_ELASTICSEARCH_TEMPLATE_ENABLED=false")
	const n = 1000
	var buf bytes.Buffer
	for i := range n {
		if i%2 == 0 {
			fmt.Fprintf(&buf, "%d\n", 100000+i)
		} else {
			fmt.Fprintf(&buf, "word-%d\n", i)
		}
	}
	sendTCP(t, s.addr, buf.Bytes())
	s.waitSettled(n, settleTimeout)
	if got := count(t, es, index, ""); got != n/2 {
		t.Fatalf("_count = %d, want %d", got, n/2)
	}
	if got := s.metric("logshipper_events_failed_total"); got != n/2 {
		t.Fatalf("events_failed_total = %v, want %d", got, n/2)
	}
	f, err := os.Open(s.dlq)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Index    string
			Error    string
			Document map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		if r.Index != index || !strings.Contains(r.Error, "pars") || !strings.HasPrefix(fmt.Sprint(r.Document["message"]), "word-") {
			t.Fatalf("dead-letter record: %s", sc.Text())
		}
		lines++
	}
	if lines != n/2 {
		t.Fatalf("%d dead-letter records, want %d", lines, n/2)
	}
	s.stop()
	if line := checkBalanced(t, s.logs.String()); line["dead_lettered"].(float64) != n/2 {
		t.Errorf("shutdown line: %v dead-lettered, want %d", line["dead_lettered"], n/2)
	}
}

// SIGTERM in the middle of a flood: everything logshipper read is indexed
// before it exits 0.
func TestSIGTERMDuringFloodLosesNothingRead(t *testing.T) {
	s := startShipper(t, uniqueIndex(t, esURL(t)), "LOGSHIPPER_SHUTDOWN_GRACE_PERIOD=60s")
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		w := bufio.NewWriterSize(conn, 64<<10)
		for i := 0; i < 2_000_000; i++ {
			if _, err := fmt.Fprintf(w, "<13>Nov 26 12:00:00 flood app: flood seq=%d\n", i); err != nil {
				return
			}
			sent.Add(1)
		}
		w.Flush()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for s.metric(`logshipper_events_received_total{transport="tcp"}`) < 50000 {
		if time.Now().After(deadline) {
			t.Fatal("flood did not reach 50000 messages in 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(90 * time.Second):
		t.Fatal("no exit 90s after SIGTERM")
	}
	conn.Close()
	<-senderDone
	if s.exitErr != nil {
		t.Fatalf("exit: %v", s.exitErr)
	}
	final := checkBalanced(t, s.logs.String())
	received := int(final["received"].(float64))
	if lost := final["lost"].(float64); lost != 0 {
		t.Fatalf("shutdown reported %v lost: %v", lost, final)
	}
	if got := count(t, s.es, s.index, ""); got != received {
		t.Fatalf("_count = %d, but logshipper read %d messages (sender wrote %d)", got, received, sent.Load())
	}
	t.Logf("sender wrote %d, logshipper read and indexed %d before exiting", sent.Load(), received)
}

func shutdownLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"shutdown complete"`) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("shutdown line %q: %v", line, err)
			}
			return m
		}
	}
	t.Fatalf("no shutdown line in:\n%s", tail(logs, 20))
	return nil
}

func checkFields(t *testing.T, doc map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got := doc[k]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("field %s = %#v, want %#v (document %v)", k, got, v, doc)
		}
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
