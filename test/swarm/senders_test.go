package swarm

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The two stacks that keep each sender's address: logshipper on host-mode
// ports (docker-stack-hostmode.yml) and HAProxy in front speaking the PROXY
// protocol (docker-stack-haproxy.yml). A sender on this host would reach a
// published port through Docker's userland proxy and show up as a Docker
// gateway address; a sender elsewhere keeps its own. So the senders here
// are hosts of their own: network namespaces joined to this one by a veth
// pair, each with an address of its own (10.77.<k>.2), routed in as
// traffic from another machine is.

// netnsSender is one such host.
type netnsSender struct {
	name   string
	addr   string // the sender's address, what documents must carry
	target string // this host's address as the sender reaches it
}

func newSender(t *testing.T, k int) *netnsSender {
	t.Helper()
	s := &netnsSender{
		name:   fmt.Sprintf("lstest%d", k),
		addr:   fmt.Sprintf("10.77.%d.2", k),
		target: fmt.Sprintf("10.77.%d.1", k),
	}
	host, peer := s.name+"h", s.name+"s"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", s.name).Run() // left by a killed run
	exec.Command("ip", "link", "del", host).Run()
	ip("netns", "add", s.name)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", s.name).Run()
		exec.Command("ip", "link", "del", host).Run()
	})
	ip("link", "add", host, "type", "veth", "peer", "name", peer)
	ip("link", "set", peer, "netns", s.name)
	ip("addr", "add", s.target+"/24", "dev", host)
	ip("link", "set", host, "up")
	ip("-n", s.name, "addr", "add", s.addr+"/24", "dev", peer)
	ip("-n", s.name, "link", "set", peer, "up")
	ip("-n", s.name, "link", "set", "lo", "up")
	ip("-n", s.name, "route", "add", "default", "via", s.target)
	return s
}

// run runs a bash script inside the sender's namespace.
func (s *netnsSender) run(t *testing.T, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", s.name, "bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sender %s: %v: %s", s.addr, err, out)
	}
}

// tcp sends n sequence lines over one TCP connection to port.
func (s *netnsSender) tcp(t *testing.T, prefix string, n, port int) {
	s.run(t, fmt.Sprintf("%s > /dev/tcp/%s/%d", seqLines(prefix, 0, n), s.target, port))
}

// udp sends n sequence lines, one datagram each, to port.
func (s *netnsSender) udp(t *testing.T, prefix string, n, port int) {
	s.run(t, fmt.Sprintf(`%s | while IFS= read -r l; do printf '%%s\n' "$l" > /dev/udp/%s/%d; done`, seqLines(prefix, 0, n), s.target, port))
}

// checkFrom asserts that prefix000000… are each indexed once and all carry
// host = the sender's address, and, when proxyPrefix is set, a proxy_host
// starting with it.
func (c *cluster) checkFrom(s *netnsSender, prefix string, n int, proxyPrefix string) {
	t := c.t
	t.Helper()
	waitFor(t, prefix+" documents", time.Minute, func() (bool, string) {
		got := c.count(fmt.Sprintf(`{"prefix":{"logsource":%q}}`, prefix))
		return got >= n, strconv.Itoa(got)
	})
	c.checkEachOnce(prefix, n)
	filter := fmt.Sprintf(`{"term":{"host":%q}}`, s.addr)
	if proxyPrefix != "" {
		filter += fmt.Sprintf(`,{"prefix":{"proxy_host":%q}}`, proxyPrefix)
	}
	q := fmt.Sprintf(`{"bool":{"filter":[{"prefix":{"logsource":%q}},%s]}}`, prefix, filter)
	if got := c.count(q); got != n {
		t.Errorf("%s: %d of %d documents with host %s (proxy_host %s*)", prefix, got, n, s.addr, proxyPrefix)
	}
}

// TestSwarmHostMode deploys docker-stack-hostmode.yml: logshipper on every
// node with 514 TCP and UDP published in host mode, no balancer. Two
// senders on addresses of their own: every document carries its sender's
// address.
func TestSwarmHostMode(t *testing.T) {
	requireSwarm(t)
	images(t)
	c := newCluster(t)
	port := freePort(t)
	c.deployFile("docker-stack-hostmode.yml", variant{hostPorts: map[int]int{514: port}})
	c.waitHealthy(stack+"_es", esImage, 1, 3*time.Minute)
	c.waitHealthy(service, imageV1, 1, 2*time.Minute) // global: one task on this one node
	const n = 2000
	for k := 1; k <= 2; k++ {
		s := newSender(t, k)
		s.tcp(t, fmt.Sprintf("hmtcp%d-", k), n, port)
		s.udp(t, fmt.Sprintf("hmudp%d-", k), n/10, port)
		c.checkFrom(s, fmt.Sprintf("hmtcp%d-", k), n, "")
		c.checkFrom(s, fmt.Sprintf("hmudp%d-", k), n/10, "")
	}
	t.Logf("host-mode ports: TCP and UDP documents of 2 senders, each with its sender's own address in host")
}

// TestSwarmHAProxy deploys docker-stack-haproxy.yml: HAProxy (Debian's
// package, the stack's configuration) on host-mode 514 sending PROXY v2 to
// two logshipper replicas with proxy_protocol required. Every document
// carries its sender's address in host and HAProxy's lbnet address in
// proxy_host.
func TestSwarmHAProxy(t *testing.T) {
	requireSwarm(t)
	images(t)
	c := newCluster(t)
	port := freePort(t)
	c.deployFile("docker-stack-haproxy.yml", variant{hostPorts: map[int]int{514: port}})
	c.waitHealthy(stack+"_es", esImage, 1, 3*time.Minute)
	c.waitHealthy(service, imageV1, 2, 2*time.Minute)
	c.waitHealthy(stack+"_haproxy", baseImage, 1, 2*time.Minute)
	s1, s2 := newSender(t, 1), newSender(t, 2)
	// HAProxy finds the tasks by DNS and checks them before it forwards:
	// probe until a line goes through.
	probes := 0
	waitFor(t, "a line through HAProxy", 2*time.Minute, func() (bool, string) {
		exec.Command("ip", "netns", "exec", s1.name, "bash", "-c",
			fmt.Sprintf("%s > /dev/tcp/%s/%d", seqLines("probe-", probes, 1), s1.target, port)).Run()
		probes++
		got := c.count(`{"prefix":{"logsource":"probe-"}}`)
		return got > 0, strconv.Itoa(got)
	})
	const n = 2000
	for k, s := range []*netnsSender{s1, s2} {
		// Several connections each, so that both replicas get some.
		for conn := range 4 {
			prefix := fmt.Sprintf("hap%d-%d-", k+1, conn)
			s.tcp(t, prefix, n/4, port)
			c.checkFrom(s, prefix, n/4, "10.213.0.")
		}
	}
	t.Logf("HAProxy send-proxy-v2: documents of 2 senders over 8 connections, host the sender's address, proxy_host HAProxy's on lbnet")
}
