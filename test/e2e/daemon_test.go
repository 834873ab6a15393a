package e2e

import (
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/testes"
)

// The balancers and proxies the tests put in front of logshipper or of the
// node: nginx (testenv/nginx.sh) and HAProxy (testenv/haproxy.sh).
const (
	envNginx   = "LOGSHIPPER_TEST_NGINX"   // the nginx binary unpacked by testenv/nginx.sh
	envHAProxy = "LOGSHIPPER_TEST_HAPROXY" // the haproxy binary unpacked by testenv/haproxy.sh
)

// toolBinary returns the binary $env names, which testenv/<script>
// provides; without it the test skips, or fails in CI
// (LOGSHIPPER_REQUIRE_ES=1).
func toolBinary(t *testing.T, env, script string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		why := env + " is not set; run testenv/" + script + " and export " + env + "=$(bash testenv/" + script + " path)"
		if os.Getenv(testes.EnvRequire) == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return bin
}

func nginxBinary(t *testing.T) string   { return toolBinary(t, envNginx, "nginx.sh") }
func haproxyBinary(t *testing.T) string { return toolBinary(t, envHAProxy, "haproxy.sh") }

// runDaemon starts bin in its own process group (a master and its workers
// stop together), waits until it accepts TCP connections on every addr,
// and stops it at the end of the test (SIGTERM, SIGKILL after 5 s). When
// the test failed, it logs what logs makes of the daemon's output (its log
// files read too, as the caller knows them).
func runDaemon(t *testing.T, name string, addrs []string, logs func(output string) string, bin string, args ...string) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	report := func() string { return logs(out.String()) }
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // nginx and HAProxy: fast shutdown of all processes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, report())
		}
	})
	for _, addr := range addrs {
		waitListening(t, name, addr, exited, report)
	}
}

// waitListening waits until addr accepts a TCP connection.
func waitListening(t *testing.T, name, addr string, exited <-chan struct{}, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited during start:\n%s", name, logs())
		case <-time.After(50 * time.Millisecond): // polling an external process
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept on %s after 10s: %v\n%s", name, addr, err, logs())
		}
	}
}

// withLogFile returns a logs function for runDaemon: the output, then the
// file, the last n lines of both.
func withLogFile(file string, n int) func(string) string {
	return func(out string) string {
		b, _ := os.ReadFile(file)
		return tail(out+string(b), n)
	}
}
