//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// httpc talks to 127.0.0.1 only, never through a proxy.
var httpc = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}

// node is the soak's own OpenSearch node, started and stopped with
// testenv/opensearch.sh on a free port with its data in the work directory.
type node struct {
	root string
	port int
	data string
}

func (n *node) url() string { return "http://127.0.0.1:" + strconv.Itoa(n.port) }

// start runs `opensearch.sh start` (which waits for a yellow cluster) and
// returns how long that took. clean wipes the data directory first (only
// the first start); settings are key=value node settings.
func (n *node) start(ctx context.Context, clean bool, settings ...string) (time.Duration, error) {
	args := []string{filepath.Join(n.root, "testenv/opensearch.sh"), "start", "--port", strconv.Itoa(n.port), "--data", n.data}
	if clean {
		args = append(args, "--clean")
	}
	args = append(args, settings...)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, "bash", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("opensearch.sh start %s: %v\n%s", strings.Join(settings, " "), err, tailLines(string(out), 60))
	}
	return time.Since(t0), nil
}

// stop runs `opensearch.sh stop`: SIGTERM, then SIGKILL after 30 s.
func (n *node) stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(n.root, "testenv/opensearch.sh"), "stop",
		"--port", strconv.Itoa(n.port), "--data", n.data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("opensearch.sh stop: %v\n%s", err, out)
	}
	return nil
}

// kill SIGKILLs the JVM named by node.pid and waits until it is gone (a
// zombie counts as gone: the script's node is re-parented to init, which
// reaps it in its own time) and its HTTP port is free.
func (n *node) kill(ctx context.Context) (int, error) {
	b, err := os.ReadFile(filepath.Join(n.data, "node.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("node.pid: %q", b)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, fmt.Errorf("kill -KILL %d: %v", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for processAlive(pid) || portOpen(n.port) {
		if time.Now().After(deadline) {
			return pid, fmt.Errorf("OpenSearch pid %d still there 30s after SIGKILL", pid)
		}
		if err := sleepFor(ctx, 50*time.Millisecond); err != nil { // polling another process
			return pid, err
		}
	}
	os.Remove(filepath.Join(n.data, "node.pid"))
	return pid, nil
}

// processAlive: the process exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func portOpen(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// do sends one request with a timeout; code 0 and an error when no answer.
func (n *node) do(ctx context.Context, timeout time.Duration, method, path, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.url()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// search runs a query and decodes the answer into v; any non-200 is an error.
func (n *node) search(ctx context.Context, path, body string, v any) error {
	code, b, err := n.do(ctx, 2*time.Minute, "POST", path, body)
	if err != nil {
		return fmt.Errorf("POST %s: %v", path, err)
	}
	if code != 200 {
		return fmt.Errorf("POST %s %s: %d %s", path, body, code, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

// count returns the documents matching query ("" = all) after a refresh.
func (n *node) count(ctx context.Context, index, query string) (int64, error) {
	body := ""
	if query != "" {
		body = `{"query":` + query + `}`
	}
	var r struct{ Count int64 }
	if err := n.search(ctx, "/"+index+"/_count", body, &r); err != nil {
		return 0, err
	}
	return r.Count, nil
}

func (n *node) refresh(ctx context.Context, index string) error {
	code, b, err := n.do(ctx, time.Minute, "POST", "/"+index+"/_refresh", "")
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("refresh: %d %s", code, b)
	}
	return nil
}

// writeRejections is the node's write thread pool rejection count (reset
// by a restart): each one a 429 answered to a shard-level bulk request.
func (n *node) writeRejections(ctx context.Context) (int64, error) {
	code, b, err := n.do(ctx, 5*time.Second, "GET", "/_nodes/stats/thread_pool", "")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("_nodes/stats: %d %s", code, b)
	}
	var r struct {
		Nodes map[string]struct {
			ThreadPool map[string]struct {
				Rejected  int64 `json:"rejected"`
				Completed int64 `json:"completed"`
			} `json:"thread_pool"`
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, err
	}
	var sum int64
	for _, nd := range r.Nodes {
		sum += nd.ThreadPool["write"].Rejected
	}
	return sum, nil
}

// freePort finds a port free for both TCP and UDP on 127.0.0.1.
func freePort() int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	panic("no free port on 127.0.0.1")
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// refreshQuick and countQuick are the sampler's: short timeouts, so a
// sample is skipped rather than late.
func (n *node) refreshQuick(ctx context.Context, index string) error {
	code, b, err := n.do(ctx, 2*time.Second, "POST", "/"+index+"/_refresh", "")
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("refresh: %d %s", code, b)
	}
	return nil
}

func (n *node) countQuick(ctx context.Context, index string) (int64, error) {
	code, b, err := n.do(ctx, 2*time.Second, "GET", "/"+index+"/_count", "")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("_count: %d %s", code, b)
	}
	var r struct{ Count int64 }
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, err
	}
	return r.Count, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// waitIndex waits until the index's primary shards are active again
// (health yellow or green for that index): after a restart, the node
// answers before it has recovered the index from its translog.
func (n *node) waitIndex(ctx context.Context, index string) error {
	code, b, err := n.do(ctx, 70*time.Second, "GET", "/_cluster/health/"+index+"?wait_for_status=yellow&timeout=60s", "")
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("index %s not yellow 60s after the node's start: %d %s", index, code, b)
	}
	return nil
}
