package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/nginxstream"
)

// The PROXY protocol end to end, with the real balancers in front of the
// binary and the real OpenSearch behind it. On one machine the senders are
// told apart by their source addresses: every 127/8 address is this host's
// on Linux, so each sender binds its own (127.0.0.2, 127.0.0.3, ...), the
// balancer connects to logshipper from one more (proxy_bind / source), and
// each document's host must be its sender's address and proxy_host (ecs:
// observer.ip) the balancer's. A client that connects to logshipper
// directly, from an address not in proxy_protocol_trusted, and sends a
// header naming someone else is refused, and nothing of it is indexed.

const (
	nginxIP   = "127.0.0.10" // nginx's address towards logshipper (proxy_bind)
	haproxyIP = "127.0.0.11" // HAProxy's (source)
	forgerIP  = "127.0.0.50" // a direct sender that forges a header
	forgedIP  = "192.0.2.66" // the sender it claims to be
	perSender = 25
)

// nginx stream with proxy_protocol on: PROXY v1 (the only version nginx
// sends). Logstash schema: host and proxy_host.
func TestProxyProtocolNginx(t *testing.T) {
	es := esURL(t)
	bin := nginxBinary(t)
	index := uniqueIndex(t, es)
	s := startShipper(t, index,
		"LOGSHIPPER_PROXY_PROTOCOL=required",
		"LOGSHIPPER_PROXY_PROTOCOL_TRUSTED="+nginxIP,
	)
	lb := startNginxProxy(t, bin, s.addr)
	senders := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	checkProxied(t, s, index, "logstash", []balancerPath{{name: "nginx-v1", addr: lb, balancer: nginxIP, version: "1"}}, senders)
	s.stop()
}

// HAProxy with send-proxy (v1) and send-proxy-v2 to one logshipper, and
// health checks with check-send-proxy (v2 LOCAL: counted, not indexed).
// ECS schema: host.ip and observer.ip, both of type ip in OpenSearch.
func TestProxyProtocolHAProxy(t *testing.T) {
	es := esURL(t)
	bin := haproxyBinary(t)
	index := uniqueIndex(t, es)
	s := startShipper(t, index,
		"LOGSHIPPER_PROXY_PROTOCOL=required",
		"LOGSHIPPER_PROXY_PROTOCOL_TRUSTED=127.0.0.11/32",
		"LOGSHIPPER_ELASTICSEARCH_SCHEMA=ecs",
	)
	v1, v2 := startHAProxy(t, bin, s.addr)
	senders := []string{"127.0.0.5", "127.0.0.6", "127.0.0.7"}
	checkProxied(t, s, index, "ecs", []balancerPath{
		{name: "haproxy-v1", addr: v1, balancer: haproxyIP, version: "1"},
		{name: "haproxy-v2", addr: v2, balancer: haproxyIP, version: "2"},
	}, senders)
	// HAProxy's health checks: a v2 LOCAL header on a connection of its
	// own, every 200 ms; the peer address is kept and nothing is indexed.
	waitProxyMetric(t, s, `logshipper_proxy_headers_total{command="local",version="2"}`, 1)
	// HAProxy ends its checks with a reset; after a LOCAL header that is
	// a health check ending, not a read error.
	if n := s.metric(`logshipper_input_errors_total{kind="tcp_read"}`); n != 0 {
		t.Errorf("%v tcp_read errors: health checks counted as errors", n)
	}
	s.stop()
}

// balancerPath is one way through a balancer: its listen address, its own
// address towards logshipper, the PROXY version it sends.
type balancerPath struct{ name, addr, balancer, version string }

// checkProxied sends perSender messages from each sender address through
// each path, forges a header from an untrusted address, and checks the
// index: every document's host is its sender, its balancer field the
// balancer, the forged message is nowhere.
func checkProxied(t *testing.T, s *shipper, index, schema string, paths []balancerPath, senders []string) {
	t.Helper()
	for _, p := range paths {
		for k, from := range senders {
			var msgs strings.Builder
			for i := range perSender {
				fmt.Fprintf(&msgs, "<14>Nov 26 12:00:00 %s-%d-%03d app[1]: proxied message %d from %s\n", p.name, k, i, i, from)
			}
			sendTCPFrom(t, from, p.addr, []byte(msgs.String()))
		}
	}

	// The forger: straight to logshipper, from an address that is no
	// balancer, claiming to relay 192.0.2.66.
	before := s.metric(`logshipper_input_errors_total{kind="proxy_untrusted"}`)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(forgerIP)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "PROXY TCP4 %s 127.0.0.1 5555 514\r\n<14>Nov 26 12:00:00 forged app[1]: forged message\n", forgedIP)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("the forger's connection was not closed (read %d, %v)", n, err)
	}
	c.Close()

	want := len(paths) * len(senders) * perSender
	s.waitSettled(want, time.Minute)
	waitProxyMetric(t, s, `logshipper_input_errors_total{kind="proxy_untrusted"}`, before+1)

	hostField, balancerField, nameField := "host", "proxy_host", "logsource"
	if schema == "ecs" {
		hostField, balancerField, nameField = "host.ip", "observer.ip", "host.hostname"
	}
	if n := count(t, s.es, index, ""); n != want {
		t.Errorf("%d documents, want %d", n, want)
	}
	for _, p := range paths {
		for k, from := range senders {
			q := fmt.Sprintf(`{"bool":{"filter":[{"term":{%q:%q}},{"term":{%q:%q}},{"prefix":{%q:"%s-%d-"}}]}}`,
				hostField, from, balancerField, p.balancer, nameField, p.name, k)
			if n := count(t, s.es, index, q); n != perSender {
				docs := search(t, s.es, index, fmt.Sprintf(`{"prefix":{%q:"%s-%d-"}}`, nameField, p.name, k), 2)
				t.Errorf("%s, sender %s: %d documents with %s %s and %s %s, want %d; e.g. %v",
					p.name, from, n, hostField, from, balancerField, p.balancer, perSender, docs)
			}
		}
		metric := fmt.Sprintf(`logshipper_proxy_headers_total{command="proxy",version=%q}`, p.version)
		if got := s.metric(metric); got < float64(len(senders)) {
			t.Errorf("%s = %v, want at least %d", metric, got, len(senders))
		}
	}
	for _, q := range []string{
		fmt.Sprintf(`{"term":{%q:%q}}`, hostField, forgedIP),
		fmt.Sprintf(`{"term":{%q:"forged"}}`, nameField),
	} {
		if n := count(t, s.es, index, q); n != 0 {
			t.Errorf("%d documents of the forged header (%s)", n, q)
		}
	}
	t.Logf("%d documents, each with its sender's address as %s and the balancer's as %s; the forged header refused",
		want, hostField, balancerField)
}

// waitProxyMetric polls /metrics until name reaches at least want.
func waitProxyMetric(t *testing.T, s *shipper, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v := s.metricOr(name, 0); v >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 30s, want at least %v\n%s", name, s.metricOr(name, 0), want, tail(s.logs.String(), 20))
		}
		time.Sleep(100 * time.Millisecond) // polling an external process; nothing to wait on
	}
}

// startNginxProxy runs nginx's stream module in front of the shipper with
// proxy_protocol on, connecting from nginxIP; it returns nginx's address.
func startNginxProxy(t *testing.T, bin, shipper string) string {
	t.Helper()
	module, err := nginxstream.StreamModule(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// A PROXY v1 line naming the client before the client's bytes, from
	// the balancer's own address towards logshipper: the one trusted.
	args, err := nginxstream.Config{Dir: dir, Module: module, Listen: addr, Upstreams: []string{shipper},
		ProxyProtocol: true, ProxyBind: nginxIP}.Write()
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, "nginx", []string{addr}, withLogFile(filepath.Join(dir, "error.log"), 30), bin, args...)
	return addr
}

// startHAProxy runs HAProxy in front of the shipper, connecting from
// haproxyIP: one frontend sending PROXY v1 (send-proxy), one v2
// (send-proxy-v2, with v2 health checks). It returns the two addresses.
func startHAProxy(t *testing.T, bin, shipper string) (v1, v2 string) {
	t.Helper()
	dir := t.TempDir()
	v1 = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	v2 = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := fmt.Sprintf(`global
    pidfile %[1]s/haproxy.pid
    log stderr format raw local0 info

defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 1m
    timeout server 1m

frontend syslog_v1
    bind %[2]s
    default_backend logshipper_v1

frontend syslog_v2
    bind %[3]s
    default_backend logshipper_v2

backend logshipper_v1
    source %[5]s
    server ls %[4]s send-proxy

backend logshipper_v2
    source %[5]s
    server ls %[4]s send-proxy-v2 check inter 200ms
`, dir, v1, v2, shipper, haproxyIP)
	confPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(bin, "-c", "-f", confPath)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	runDaemon(t, "haproxy", []string{v1, v2}, func(out string) string { return tail(out, 30) }, bin, "-db", "-f", confPath)
	return v1, v2
}
