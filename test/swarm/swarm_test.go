// Package swarm runs the seed's commands on a real one-node Docker Swarm:
// the image built from the unchanged Dockerfile, deploy/docker-stack.yml
// deployed with docker stack deploy (changed only where this machine
// lacks IPVS or cannot pull an image: see testStack), then `yes test | nc`,
// scaling and a rolling update under load from rsyslog senders, a
// replica killed with its disk buffer on a volume, and the Elasticsearch
// password from a docker secret. testenv/docker.sh provides the engine,
// the Swarm and the base images; without them these tests skip on a
// developer's machine and fail in CI (LOGSHIPPER_REQUIRE_DOCKER=1).
package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/testes"
)

const (
	stack        = "elk" // the name deploy/README.md uses
	service      = stack + "_logshipper"
	network      = stack + "_elknet"
	baseImage    = "logshipper-testenv/debian:bookworm"
	esImage      = "logshipper-testenv/opensearch:2.19"
	imageV1      = "logshipper:swarmtest-1"
	imageV2      = "logshipper:swarmtest-2"
	index        = "syslog-msg" // the stack's index
	toolbox      = "swarmtest-toolbox"
	senderPrefix = "swarmtest-rsyslog-"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readStack(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requireSwarm skips (or in CI fails) unless testenv/docker.sh has made the
// engine, the Swarm and the base images.
func requireSwarm(t *testing.T) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("LOGSHIPPER_REQUIRE_DOCKER") == "1" {
			t.Fatalf("%s; run: bash testenv/docker.sh start", why)
		}
		t.Skipf("%s (bash testenv/docker.sh start makes it)", why)
	}
	out, err := docker(context.Background(), "info", "--format", "{{.Swarm.ControlAvailable}}")
	if err != nil {
		missing("no Docker engine answers: " + firstLine(out))
		return
	}
	if strings.TrimSpace(out) != "true" {
		missing("this Docker engine is not a Swarm manager")
	}
	for _, img := range []string{baseImage, esImage, goImage(t)} {
		if _, err := docker(context.Background(), "image", "inspect", "--format", "{{.Id}}", img); err != nil {
			missing("image " + img + " is missing")
		}
	}
}

// goImage is the Dockerfile's build-stage image.
func goImage(t testing.TB) string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") && strings.HasPrefix(f[1], "golang:") {
			return f[1]
		}
	}
	t.Fatal("the Dockerfile has no FROM golang: stage")
	return ""
}

// docker runs the docker CLI and returns its combined output.
func docker(ctx context.Context, args ...string) (string, error) {
	return dockerIn(ctx, nil, args...)
}

func dockerIn(ctx context.Context, stdin []byte, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	// The legacy builder: BuildKit would fetch the Dockerfile's "# syntax="
	// frontend image from Docker Hub, which is not reachable here.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 20))
	}
	return string(out), nil
}

func must(t testing.TB, args ...string) string {
	t.Helper()
	out, err := docker(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond until it returns true. Polling: the test watches
// external processes (dockerd, containers), which offer nothing to wait on.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	var state string
	for {
		var ok bool
		ok, state = cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cluster is the deployed stack as the test sees it.
type cluster struct {
	t      *testing.T
	esPort int
	esData string
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *cluster) deploy(v variant) {
	c.deployFile("docker-stack.yml", v)
}

func (c *cluster) deployFile(file string, v variant) {
	t := c.t
	t.Helper()
	v.esImage, v.esPort = esImage, c.esPort
	if v.image == "" {
		v.image = imageV1
	}
	out, err := testStack(readStack(t, file), v)
	if err != nil {
		t.Fatal(err)
	}
	// The variant goes next to the original (removed at the end), so that
	// relative paths in it (haproxy/haproxy.cfg) mean the same.
	f := filepath.Join(repoRoot(t), "deploy", ".swarmtest-"+file)
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f)
	cmd := exec.Command("docker", "stack", "deploy", "--resolve-image", "never", "-c", f, stack)
	cmd.Env = append(os.Environ(), "ES_DATA="+c.esData)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, b)
	}
}

// esHTTP calls the stack's es through its host-mode port.
func (c *cluster) esHTTP(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", c.esPort, path), strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), err
}

// count refreshes the index and counts the documents matching query
// ("" for all); -1 while es does not answer.
func (c *cluster) count(query string) int {
	c.esHTTP("POST", "/"+index+"/_refresh", "")
	body := ""
	if query != "" {
		body = `{"query":` + query + `}`
	}
	code, b, err := c.esHTTP("POST", "/"+index+"/_count", body)
	if err != nil || code != 200 {
		return -1
	}
	var r struct{ Count int }
	if json.Unmarshal(b, &r) != nil {
		return -1
	}
	return r.Count
}

// logsources returns logsource → document count for documents whose
// logsource starts with prefix, about n of them: in partitions of at most
// 20,000 terms (search.max_buckets is 65,535).
func (c *cluster) logsources(prefix string, n int) map[string]int {
	c.t.Helper()
	c.esHTTP("POST", "/"+index+"/_refresh", "")
	m := map[string]int{}
	parts := n/20000 + 1
	for p := range parts {
		c.logsourcePartition(m, prefix, p, parts)
	}
	return m
}

func (c *cluster) logsourcePartition(m map[string]int, prefix string, p, parts int) {
	t := c.t
	t.Helper()
	code, b, err := c.esHTTP("POST", "/"+index+"/_search", fmt.Sprintf(
		`{"size":0,"query":{"prefix":{"logsource":%q}},"aggs":{"s":{"terms":{"field":"logsource","size":30000,"include":{"partition":%d,"num_partitions":%d}}}}}`,
		prefix, p, parts))
	if err != nil || code != 200 {
		t.Fatalf("aggregation: %d %v %s", code, err, b)
	}
	var r struct {
		Aggregations struct {
			S struct {
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
	for _, bk := range r.Aggregations.S.Buckets {
		m[bk.Key] = bk.DocCount
	}
}

// checkEachOnce asserts that prefix-000000 … prefix-<n-1> are each
// indexed exactly once, and nothing else under prefix.
func (c *cluster) checkEachOnce(prefix string, n int) {
	t := c.t
	t.Helper()
	seen := c.logsources(prefix, n)
	var missing, dup []string
	for i := range n {
		k := fmt.Sprintf("%s%06d", prefix, i)
		switch seen[k] {
		case 1:
		case 0:
			missing = append(missing, k)
		default:
			dup = append(dup, fmt.Sprintf("%s×%d", k, seen[k]))
		}
		delete(seen, k)
	}
	if len(missing)+len(dup)+len(seen) > 0 {
		t.Errorf("%s: %d missing %v, %d twice or more %v, %d unexpected", prefix, len(missing), head(missing), len(dup), head(dup), len(seen))
	}
}

func head(s []string) []string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// tasks are the running containers of a service: id → image.
func (c *cluster) containers(svc string) map[string]string {
	out := must(c.t, "ps", "--filter", "label=com.docker.swarm.service.name="+svc, "--format", "{{.ID}} {{.Image}}")
	m := map[string]string{}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// health is the container's health check status ("healthy", …), or its
// state when it has no health check or has stopped ("exited": Docker marks
// a stopped container unhealthy, which says nothing about its last check).
func health(id string) string {
	out, err := docker(context.Background(), "inspect", "--format",
		"{{if and .State.Health .State.Running}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", id)
	if err != nil {
		return "gone"
	}
	return strings.TrimSpace(out)
}

// waitHealthy waits until the service runs n containers of image, all
// healthy, and no others.
func (c *cluster) waitHealthy(svc, image string, n int, timeout time.Duration) time.Duration {
	return waitFor(c.t, fmt.Sprintf("%s: %d healthy replicas of %s", svc, n, image), timeout, func() (bool, string) {
		cs := c.containers(svc)
		healthy := 0
		var states []string
		for id, img := range cs {
			h := health(id)
			states = append(states, img+":"+h)
			// "running": a container without a health check (HAProxy).
			if (h == "healthy" || h == "running") && (image == "" || img == image) {
				healthy++
			}
		}
		return healthy == n && len(cs) == n, strings.Join(states, " ")
	})
}

// sh runs a shell command in the toolbox container on elknet.
func (c *cluster) sh(script string) string {
	c.t.Helper()
	return must(c.t, "exec", toolbox, "sh", "-c", script)
}

// replicaIPs are the logshipper tasks' elknet addresses (dnsrr: the name
// resolves to all of them).
func (c *cluster) replicaIPs() []string {
	out := c.sh("getent ahostsv4 tasks.logshipper | awk '{print $1}' | sort -u")
	return strings.Fields(out)
}

// metric sums a metric's samples on the replica at ip (-1 if it does not
// answer).
func (c *cluster) metric(ip, name string) float64 {
	out, err := docker(context.Background(), "exec", toolbox, "curl", "-sf", "--max-time", "5", "http://"+ip+":9600/metrics")
	if err != nil {
		return -1
	}
	var sum float64
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// seqLines is a shell pipeline printing n RFC3164 lines whose hostnames
// are prefix000000 …: the sequence number is the logsource, one term each.
func seqLines(prefix string, from, n int) string {
	return fmt.Sprintf(`seq %d %d | awk '{printf "<13>Dec  5 10:00:00 %s%%06d seqtest: sequence test\n", $1}'`, from, from+n-1, prefix)
}

// newCluster removes what an earlier run left, prepares the node as
// deploy/README.md's step 1 says (the es label, a data directory owned by
// uid 1000), and removes the stack when t ends.
func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, esPort: freePort(t), esData: t.TempDir()}
	cleanup(t, false)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := docker(context.Background(), "stack", "ps", "--no-trunc", stack)
			t.Logf("docker stack ps %s:\n%s", stack, out)
			logs, _ := docker(context.Background(), "service", "logs", "--raw", "--tail", "40", service)
			t.Logf("logs:\n%s", logs)
		}
		cleanup(t, true)
	})
	must(t, "node", "update", "--label-add", "es=true", strings.TrimSpace(must(t, "info", "--format", "{{.Swarm.NodeID}}")))
	if err := os.Chown(c.esData, 1000, 0); err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	imagesOnce sync.Once
	imagesErr  error
)

// images builds the images under test once per run.
func images(t *testing.T) {
	t.Helper()
	imagesOnce.Do(func() { imagesErr = buildImages(t) })
	if imagesErr != nil {
		t.Fatal(imagesErr)
	}
}

func TestSwarm(t *testing.T) {
	requireSwarm(t)
	if !t.Run("image", func(t *testing.T) { images(t); checkImage(t) }) {
		return
	}
	c := newCluster(t)
	if !t.Run("deploy", func(t *testing.T) { c.t = t; deployStack(c) }) {
		return
	}
	if !t.Run("yes test | nc", func(t *testing.T) { c.t = t; seedSend(c) }) {
		return
	}
	if !t.Run("scale under load", func(t *testing.T) { c.t = t; scaleUnderLoad(c) }) {
		return
	}
	if !t.Run("rolling update under load", func(t *testing.T) { c.t = t; rollingUpdate(c) }) {
		return
	}
	if !t.Run("password from a docker secret", func(t *testing.T) { c.t = t; passwordSecret(c) }) {
		return
	}
	if !t.Run("docker kill with the disk buffer on a volume", func(t *testing.T) { c.t = t; killWithDiskBuffer(c) }) {
		return
	}
	t.Run("log lines", func(t *testing.T) {
		// Every line logshipper wrote in every container of the run: valid
		// for Elasticsearch when shipped by the Docker log driver.
		logs := must(t, "service", "logs", "--raw", service)
		testes.CheckLogLines(t, logs)
		if !strings.Contains(logs, `"message":"shutting down`) {
			t.Error("no shutdown line in the service's logs")
		}
	})
}

// cleanup removes what a run leaves: the stack, the test's containers,
// service, secret and volume. It waits for the stack's network to go, or
// the next deploy would find it half-removed.
func cleanup(t *testing.T, report bool) {
	ctx := context.Background()
	var leftovers []string
	ids, _ := docker(ctx, "ps", "-aq", "--filter", "name=swarmtest-")
	for _, id := range strings.Fields(ids) {
		docker(ctx, "rm", "-f", id)
	}
	docker(ctx, "service", "rm", "swarmtest-esauth")
	docker(ctx, "stack", "rm", stack)
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _ := docker(ctx, "network", "ls", "-q", "--filter", "name="+network)
		svcs, _ := docker(ctx, "service", "ls", "-q", "--filter", "name=swarmtest-")
		if strings.TrimSpace(out) == "" && strings.TrimSpace(svcs) == "" {
			break
		}
		if time.Now().After(deadline) {
			leftovers = append(leftovers, "network "+network)
			break
		}
		time.Sleep(500 * time.Millisecond) // dockerd removes it in the background
	}
	// Containers of the stack linger after the network is gone; the volume
	// can go only with them.
	for range 60 {
		if out, _ := docker(ctx, "ps", "-aq", "--filter", "label=com.docker.stack.namespace="+stack); strings.TrimSpace(out) == "" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := docker(ctx, "volume", "rm", stack+"_logshipper-data"); err != nil && !strings.Contains(strings.ToLower(err.Error()), "no such volume") {
		leftovers = append(leftovers, err.Error())
	}
	docker(ctx, "secret", "rm", "es_password")
	if report && len(leftovers) > 0 {
		t.Logf("left behind: %v", leftovers)
	}
}

// buildImages builds the image from the unchanged Dockerfile, and a second
// one for the rolling update.
func buildImages(t *testing.T) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := docker(ctx, "build", "-q", "--build-arg", "VERSION=swarmtest-1", "-t", imageV1, repoRoot(t)); err != nil {
		return err
	}
	t.Logf("docker build (legacy builder, from the Dockerfile as is): %s", time.Since(start).Round(time.Second))
	// The second image of the rolling update: the same binary, a new image
	// ID (what a release changes, as Swarm sees it).
	_, err := dockerIn(ctx, []byte("FROM "+imageV1+"\nLABEL org.opencontainers.image.version=swarmtest-2\n"), "build", "-q", "-t", imageV2, "-")
	return err
}

// checkImage checks what the Dockerfile promises.
func checkImage(t *testing.T) {
	var img struct {
		Size   int64
		Config struct {
			User         string
			ExposedPorts map[string]any
			Healthcheck  struct{ Test []string }
		}
	}
	out := must(t, "image", "inspect", "--format", "{{json .}}", imageV1)
	if err := json.Unmarshal([]byte(out), &img); err != nil {
		t.Fatal(err)
	}
	if img.Config.User == "" || strings.HasPrefix(img.Config.User, "0") || strings.HasPrefix(img.Config.User, "root") {
		t.Errorf("image runs as %q, want an unprivileged user", img.Config.User)
	}
	for _, p := range []string{"10514/tcp", "10514/udp", "9600/tcp"} {
		if _, ok := img.Config.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, img.Config.ExposedPorts)
		}
	}
	if !strings.Contains(strings.Join(img.Config.Healthcheck.Test, " "), "logshipper health") {
		t.Errorf("healthcheck: %v", img.Config.Healthcheck.Test)
	}
	// A static binary on scratch: tens of MB would mean a base image crept in.
	if img.Size > 40<<20 {
		t.Errorf("image is %d MB, want under 40", img.Size>>20)
	}
	t.Logf("image %s: user %s, %.1f MB", imageV1, img.Config.User, float64(img.Size)/(1<<20))
	if v := must(t, "run", "--rm", imageV1, "version"); !strings.Contains(v, "swarmtest-1") {
		t.Errorf("logshipper version: %q", v)
	}
}

func deployStack(c *cluster) {
	t := c.t
	start := time.Now()
	c.deploy(variant{})
	c.waitHealthy(stack+"_es", esImage, 1, 3*time.Minute)
	c.waitHealthy(service, imageV1, 2, 2*time.Minute)
	t.Logf("stack deployed: es and 2 logshipper replicas healthy after %s", time.Since(start).Round(time.Second))
	must(t, "run", "-d", "--name", toolbox, "--network", network, baseImage, "sleep", "infinity")
	if ips := c.replicaIPs(); len(ips) != 2 {
		t.Fatalf("tasks.logshipper resolves to %v, want 2 addresses", ips)
	}
}

// seedSend is the seed's check: yes test | nc, through the service name.
func seedSend(c *cluster) {
	t := c.t
	const n = 100000
	start := time.Now()
	c.sh(fmt.Sprintf("yes test | head -n %d | nc -N logshipper 10514", n))
	waitFor(t, "100000 test documents", 2*time.Minute, func() (bool, string) {
		got := c.count(`{"match":{"message":"test"}}`)
		return got == n, strconv.Itoa(got)
	})
	t.Logf("yes test | head -n %d | nc -N logshipper 10514: all indexed after %s", n, time.Since(start).Round(100*time.Millisecond))
}

// loader sends batches of sequence-numbered lines over new connections
// to logshipper:10514 until stopped; every connection resolves the name
// again, so new replicas get connections.
type loader struct {
	c      *cluster
	prefix string
	per    int
	stop   chan struct{}
	done   chan int // how many lines were sent
}

func startLoader(c *cluster, prefix string, per int) *loader {
	l := &loader{c: c, prefix: prefix, per: per, stop: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		sent := 0
		for {
			select {
			case <-l.stop:
				l.done <- sent
				return
			default:
			}
			_, err := docker(context.Background(), "exec", toolbox, "sh", "-c", seqLines(prefix, sent, per)+" | nc -N logshipper 10514")
			if err != nil {
				l.c.t.Errorf("loader: %v", err)
				l.done <- sent
				return
			}
			sent += per
			time.Sleep(250 * time.Millisecond) // pacing the load, not waiting for anything
		}
	}()
	return l
}

func (l *loader) finish() int {
	close(l.stop)
	return <-l.done
}

func scaleUnderLoad(c *cluster) {
	t := c.t
	l := startLoader(c, "scale-", 500)
	start := time.Now()
	must(t, "service", "scale", "--detach=false", service+"=3")
	c.waitHealthy(service, imageV1, 3, 2*time.Minute)
	t.Logf("docker service scale %s=3 under load: 3 healthy replicas after %s", service, time.Since(start).Round(time.Second))
	// Load on, until every replica has served connections of its own.
	ips := c.replicaIPs()
	if len(ips) != 3 {
		t.Fatalf("tasks.logshipper: %v, want 3", ips)
	}
	waitFor(t, "every replica receiving", time.Minute, func() (bool, string) {
		var got []string
		all := true
		for _, ip := range ips {
			v := c.metric(ip, "logshipper_events_received_total")
			got = append(got, fmt.Sprintf("%s:%.0f", ip, v))
			all = all && v > 0
		}
		return all, strings.Join(got, " ")
	})
	sent := l.finish()
	waitFor(t, "scale- documents", 2*time.Minute, func() (bool, string) {
		got := c.count(`{"prefix":{"logsource":"scale-"}}`)
		return got >= sent, strconv.Itoa(got)
	})
	c.checkEachOnce("scale-", sent)
	t.Logf("%d lines over new connections during the scale: each indexed once", sent)
	must(t, "service", "scale", "--detach=false", service+"=2")
	c.waitHealthy(service, imageV1, 2, 2*time.Minute)
}

// rsyslogSender is the shell script of one sender container: rsyslog
// forwarding over TCP to logshipper:10514 with a queue and endless
// retries, as sites configure it, fed through a local imtcp port by a
// generator of lines <prefix><seq> at about 250 a second, until /tmp/stop
// exists; the number sent goes to /tmp/sent.
func rsyslogSender(prefix string) string {
	return `cat > /tmp/rsyslog.conf <<'EOF'
global(workDirectory="/tmp")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="5140" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="logshipper" port="10514" protocol="tcp"
         queue.type="LinkedList" queue.size="1000000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
EOF
rsyslogd -n -f /tmp/rsyslog.conf -i /tmp/rsyslogd.pid &
until nc -z 127.0.0.1 5140; do sleep 0.1; done
awk 'BEGIN {
  for (i = 0; ; i++) {
    if (i % 50 == 0) { if (system("test -e /tmp/stop") == 0) break; system("sleep 0.2") }
    printf "<13>Dec  5 10:00:00 ` + prefix + `%06d seqtest: rolling update\n", i; fflush()
  }
  print i > "/tmp/sent"
}' | nc -N 127.0.0.1 5140
wait`
}

func rollingUpdate(c *cluster) {
	t := c.t
	const senders = 8
	for k := range senders {
		must(t, "run", "-d", "--name", fmt.Sprintf("%s%d", senderPrefix, k), "--network", network, baseImage,
			"sh", "-c", rsyslogSender(fmt.Sprintf("rolling%d-", k)))
	}
	// Load flowing through both replicas before the update.
	waitFor(t, "rsyslog senders delivering", time.Minute, func() (bool, string) {
		got := c.count(`{"prefix":{"logsource":"rolling"}}`)
		return got > 2000, strconv.Itoa(got)
	})

	// Watch the health of every logshipper container during the update,
	// with the time of each change since the update began.
	start := time.Now()
	var mu sync.Mutex
	seen := map[string][]string{} // container → states, in order
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		known := map[string]bool{}
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			for id := range c.containers(service) {
				known[id] = true
			}
			for id := range known {
				h := health(id)
				mu.Lock()
				if s := seen[id]; len(s) == 0 || !strings.HasPrefix(s[len(s)-1], h+" ") {
					seen[id] = append(s, fmt.Sprintf("%s (%.1fs)", h, time.Since(start).Seconds()))
				}
				mu.Unlock()
			}
			time.Sleep(200 * time.Millisecond) // sampling container states
		}
	}()

	must(t, "service", "update", "--detach=false", "--image", imageV2, service)
	took := time.Since(start)
	close(stopWatch)
	watch.Wait()
	c.waitHealthy(service, imageV2, 2, time.Minute)
	t.Logf("docker service update --image (start-first, parallelism 1, delay 10s, monitor 30s): every replica on the new image, update converged after %s", took.Round(time.Second))
	for id, states := range seen {
		t.Logf("container %s: %s", id[:12], strings.Join(states, " → "))
	}

	// Stop the generators, then wait for rsyslog to deliver what it holds.
	want := make([]int, senders)
	for k := range senders {
		name := fmt.Sprintf("%s%d", senderPrefix, k)
		must(t, "exec", name, "touch", "/tmp/stop")
	}
	total := 0
	for k := range senders {
		name := fmt.Sprintf("%s%d", senderPrefix, k)
		var n int
		waitFor(t, name+" generator stopped", 30*time.Second, func() (bool, string) {
			out, err := docker(context.Background(), "exec", name, "cat", "/tmp/sent")
			if err != nil {
				return false, err.Error()
			}
			n, err = strconv.Atoi(strings.TrimSpace(out))
			return err == nil, out
		})
		want[k] = n
		total += n
	}
	waitFor(t, "every rsyslog line indexed", 2*time.Minute, func() (bool, string) {
		got := c.count(`{"prefix":{"logsource":"rolling"}}`)
		return got >= total, fmt.Sprintf("%d of %d", got, total)
	})
	for k := range senders {
		c.checkEachOnce(fmt.Sprintf("rolling%d-", k), want[k])
	}
	t.Logf("%d rsyslog senders, %d lines during the update: each indexed exactly once", senders, total)
	for k := range senders {
		docker(context.Background(), "rm", "-f", fmt.Sprintf("%s%d", senderPrefix, k))
	}
}

// passwordSecret puts a password-checking proxy (nginx, basic auth) in
// front of es, gives logshipper the password as a docker secret through
// elasticsearch.password_file, and checks that documents arrive through it.
func passwordSecret(c *cluster) {
	t := c.t
	if _, err := dockerIn(context.Background(), []byte("s3cret-from-a-docker-secret\n"), "secret", "create", "es_password", "-"); err != nil {
		t.Fatal(err)
	}
	conf := `events {}
http {
  access_log /dev/stdout;
  log_format auth '$remote_user $request $status';
  server {
    listen 9200;
    client_max_body_size 200m;
    access_log /dev/stdout auth;
    location / {
      auth_basic es;
      auth_basic_user_file /tmp/htpasswd;
      proxy_pass http://es:9200;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}`
	script := fmt.Sprintf("printf '%%s\\n' 'logshipper:{PLAIN}s3cret-from-a-docker-secret' > /tmp/htpasswd && cat > /tmp/nginx.conf <<'EOF'\n%s\nEOF\nexec nginx -c /tmp/nginx.conf -g 'daemon off;'", conf)
	must(t, "service", "create", "--detach=false", "--name", "swarmtest-esauth", "--network", network,
		"--endpoint-mode", "dnsrr", baseImage, "sh", "-c", script)
	// The proxy refuses a request without the password: the check is real.
	if out := c.sh("curl -s -o /dev/null -w '%{http_code}' http://swarmtest-esauth:9200/"); out != "401" {
		t.Fatalf("esauth without a password answered %s, want 401", out)
	}
	must(t, "service", "update", "--detach=false",
		"--secret-add", "source=es_password,target=es_password",
		"--env-add", "LOGSHIPPER_ELASTICSEARCH_URLS=http://swarmtest-esauth:9200",
		"--env-add", "LOGSHIPPER_ELASTICSEARCH_USERNAME=logshipper",
		"--env-add", "LOGSHIPPER_ELASTICSEARCH_PASSWORD_FILE=/run/secrets/es_password",
		service)
	c.waitHealthy(service, imageV2, 2, time.Minute)
	const n = 2000
	c.sh(seqLines("secret-", 0, n) + " | nc -N logshipper 10514")
	waitFor(t, "documents through the password-checking proxy", time.Minute, func() (bool, string) {
		got := c.count(`{"prefix":{"logsource":"secret-"}}`)
		return got >= n, strconv.Itoa(got)
	})
	c.checkEachOnce("secret-", n)
	logs := must(t, "service", "logs", "--raw", "swarmtest-esauth")
	if !strings.Contains(logs, "logshipper POST /_bulk") {
		t.Errorf("the proxy logged no authenticated bulk request:\n%s", tail(logs, 10))
	}
	if strings.Contains(logs, "s3cret") {
		t.Error("the password appears in the proxy's log")
	}
	if strings.Contains(must(t, "service", "logs", "--raw", service), "s3cret") {
		t.Error("the password appears in logshipper's logs")
	}
	t.Logf("%d documents through nginx's basic auth with the password from the docker secret es_password", n)
}

// killWithDiskBuffer redeploys the stack with the disk buffer as the stack
// file's comments describe it, holds events in a replica's buffer while es
// is away, kills that replica with docker kill, and checks that Swarm's
// restart delivers them all.
func killWithDiskBuffer(c *cluster) {
	t := c.t
	start := time.Now()
	c.deploy(variant{image: imageV2, diskBuffer: true})
	waitFor(t, "replicas with the disk buffer", 3*time.Minute, func() (bool, string) {
		cs := c.containers(service)
		ok := 0
		for id := range cs {
			env := must(t, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", id)
			if strings.Contains(env, "LOGSHIPPER_BUFFER_TYPE=disk") && health(id) == "healthy" {
				ok++
			}
		}
		return ok == 2 && len(cs) == 2, fmt.Sprintf("%d of %d", ok, len(cs))
	})
	t.Logf("redeployed with the disk buffer (stop-first): 2 healthy replicas after %s", time.Since(start).Round(time.Second))

	// es away: a constraint no node meets stops its only task; its data
	// stays in the bind-mounted directory.
	// (--detach: the CLI's progress display waits forever for a global
	// service that no node may run.)
	must(t, "service", "update", "--detach", "--constraint-add", "node.labels.es==away", stack+"_es")
	waitFor(t, "es stopped", time.Minute, func() (bool, string) {
		n := len(c.containers(stack + "_es"))
		return n == 0, fmt.Sprintf("%d running", n)
	})
	ips := c.replicaIPs()
	if len(ips) != 2 {
		t.Fatalf("tasks.logshipper: %v", ips)
	}
	target := ips[0]
	const n = 20000
	c.sh(seqLines("kill-", 0, n) + " | nc -N " + target + " 10514")
	waitFor(t, "events in the disk buffer", time.Minute, func() (bool, string) {
		v := c.metric(target, "logshipper_buffer_events")
		return v >= n, fmt.Sprint(v)
	})
	var victim string
	for id := range c.containers(service) {
		if strings.Contains(must(t, "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", id), target) {
			victim = id
		}
	}
	if victim == "" {
		t.Fatalf("no container has address %s", target)
	}
	must(t, "kill", victim)
	t.Logf("docker kill %s with %d events in its disk buffer", victim[:12], n)
	c.waitHealthy(service, imageV2, 2, 2*time.Minute)
	must(t, "service", "update", "--detach=false", "--constraint-rm", "node.labels.es==away", stack+"_es")
	c.waitHealthy(stack+"_es", esImage, 1, 3*time.Minute)
	waitFor(t, "the killed replica's events indexed", 3*time.Minute, func() (bool, string) {
		got := c.count(`{"prefix":{"logsource":"kill-"}}`)
		return got >= n, strconv.Itoa(got)
	})
	c.checkEachOnce("kill-", n)
	t.Logf("Swarm restarted the killed replica in its slot; all %d events from its disk buffer indexed once", n)
}
