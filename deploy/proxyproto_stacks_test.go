package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
)

// The two stacks that keep the senders' addresses (issue 11): logshipper on
// host-mode ports without a balancer, and HAProxy in front speaking the
// PROXY protocol.
const (
	hostModeStackPath = "docker-stack-hostmode.yml"
	haproxyStackPath  = "docker-stack-haproxy.yml"
	haproxyConfigPath = "haproxy/haproxy.cfg"
)

// ipamStack is a stack file with the networks' address plans.
type ipamStack struct {
	stackFile
	Networks map[string]ipamNetwork
}

type ipamNetwork struct {
	Driver string `yaml:"driver"`
	IPAM   struct {
		Config []struct {
			Subnet string `yaml:"subnet"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

func loadStackFile(t *testing.T, name string) (ipamStack, []byte) {
	t.Helper()
	raw := readFile(t, name)
	var st ipamStack
	var nets struct {
		Networks map[string]ipamNetwork `yaml:"networks"`
	}
	if err := yaml.Unmarshal(raw, &st.stackFile); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := yaml.Unmarshal(raw, &nets); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	st.Networks = nets.Networks
	return st, raw
}

// stackLogshipper checks what every stack's logshipper service must be:
// LOGSHIPPER_* names that exist (in the comments too), an environment the
// binary starts with, the image, Elasticsearch URLs naming a service, a
// stop grace period above shutdown.grace_period, a memory limit above
// GOMEMLIMIT.
func stackLogshipper(t *testing.T, file string, st ipamStack, raw []byte) (service, *config.Config) {
	t.Helper()
	ls, ok := st.Services["logshipper"]
	if !ok {
		t.Fatalf("%s: no service logshipper", file)
	}
	known := envNames()
	for _, tok := range envToken.FindAllString(string(raw), -1) {
		if _, ok := known[tok]; !ok {
			t.Errorf("%s mentions %s, which is no configuration key's variable", file, tok)
		}
	}
	cfg, err := loadConfig(ls.env(t))
	if err != nil {
		t.Fatalf("%s: logshipper would not start with the stack's environment: %v", file, err)
	}
	if ls.Image != "logshipper:latest" {
		t.Errorf("%s: image %q", file, ls.Image)
	}
	for _, u := range cfg.Elasticsearch.URLs {
		host := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		host, _, _ = strings.Cut(host, ":")
		if _, ok := st.Services[host]; !ok {
			t.Errorf("%s: elasticsearch.urls %s is not a service of the stack", file, u)
		}
	}
	if stop, err := time.ParseDuration(ls.StopGracePeriod); err != nil || stop <= cfg.Shutdown.GracePeriod {
		t.Errorf("%s: stop_grace_period %q not longer than shutdown.grace_period %s", file, ls.StopGracePeriod, cfg.Shutdown.GracePeriod)
	}
	limit, err := composeBytes(ls.Deploy.Resources.Limits.Memory)
	if err != nil || limit < 128<<20 {
		t.Errorf("%s: memory limit %q", file, ls.Deploy.Resources.Limits.Memory)
	}
	if gl, err := goMemLimit(ls.env(t)["GOMEMLIMIT"]); err != nil || gl >= limit {
		t.Errorf("%s: GOMEMLIMIT must be below the memory limit", file)
	}
	if hc := ls.Healthcheck.Test; len(hc) != 3 || path.Base(hc[1]) != "logshipper" || hc[2] != "health" {
		t.Errorf("%s: healthcheck %q", file, hc)
	}
	return ls, cfg
}

// Host mode: a task per node, 514 published in host mode for TCP and UDP to
// the listen port, no PROXY protocol (no balancer), stop-first updates (the
// new task cannot bind the node's port while the old one holds it).
func TestHostModeStack(t *testing.T) {
	st, raw := loadStackFile(t, hostModeStackPath)
	ls, cfg := stackLogshipper(t, hostModeStackPath, st, raw)
	if ls.Deploy.Mode != "global" {
		t.Errorf("deploy.mode %q, want global: every node's port needs a task", ls.Deploy.Mode)
	}
	if cfg.ProxyProtocol != "off" {
		t.Errorf("proxy_protocol %q: no balancer in front, want off", cfg.ProxyProtocol)
	}
	if o := ls.Deploy.UpdateConfig.Order; o != "stop-first" {
		t.Errorf("update_config.order %q, want stop-first with host-mode ports", o)
	}
	seen := map[string]bool{}
	for _, p := range ls.Ports {
		if p.Target != port(t, cfg.Listen) {
			continue
		}
		if fmt.Sprint(p.Published) != "514" || p.Mode != "host" {
			t.Errorf("port %d/%s: published %v mode %q, want 514 in host mode", p.Target, p.Protocol, p.Published, p.Mode)
		}
		seen[p.Protocol] = true
	}
	if !seen["tcp"] || !seen["udp"] {
		t.Errorf("ports %v: want 514 → %d for tcp and udp", seen, port(t, cfg.Listen))
	}
	dockerStackConfig(t, hostModeStackPath)
}

// HAProxy in front: logshipper requires the PROXY protocol and trusts
// exactly the subnet of the network it shares with HAProxy alone, publishes
// nothing; HAProxy publishes 514 in host mode (it must see the senders),
// gets its configuration from this directory as a Swarm config, and sends
// v2 headers to the tasks on the listen port.
func TestHAProxyStack(t *testing.T) {
	st, raw := loadStackFile(t, haproxyStackPath)
	ls, cfg := stackLogshipper(t, haproxyStackPath, st, raw)
	if cfg.ProxyProtocol != "required" {
		t.Errorf("proxy_protocol %q, want required", cfg.ProxyProtocol)
	}
	if len(ls.Ports) != 0 {
		t.Errorf("logshipper publishes %v: it must be reached through HAProxy only", ls.Ports)
	}
	hp, ok := st.Services["haproxy"]
	if !ok {
		t.Fatal("no haproxy service")
	}
	// The network HAProxy and logshipper share, and nothing else is on.
	var shared string
	for _, n := range hp.networks(t) {
		if slices.Contains(ls.networks(t), n) {
			shared = n
		}
	}
	if shared == "" {
		t.Fatal("haproxy and logshipper share no network")
	}
	for name, s := range st.Services {
		if name != "haproxy" && name != "logshipper" && slices.Contains(s.networks(t), shared) {
			t.Errorf("service %s is on %s: it could forge PROXY headers logshipper believes", name, shared)
		}
	}
	net := st.Networks[shared]
	if net.Driver != "overlay" || len(net.IPAM.Config) != 1 {
		t.Fatalf("network %s: %+v, want an overlay with one ipam subnet", shared, net)
	}
	subnet, err := netip.ParsePrefix(net.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ProxyProtocolTrusted) != 1 || cfg.ProxyProtocolTrusted[0] != subnet.String() {
		t.Errorf("proxy_protocol_trusted %q, want exactly %s's subnet %s", cfg.ProxyProtocolTrusted, shared, subnet)
	}

	found := false
	for _, p := range hp.Ports {
		if fmt.Sprint(p.Published) == "514" && p.Mode == "host" && (p.Protocol == "" || p.Protocol == "tcp") {
			found = true
		}
	}
	if !found {
		t.Errorf("haproxy ports %+v: want 514/tcp in host mode (the routing mesh would hide the senders from HAProxy too)", hp.Ports)
	}
	c, ok := st.Configs["haproxy_config"]
	if !ok || path.Clean(c.File) != haproxyConfigPath {
		t.Errorf("configs.haproxy_config.file %q, want ./%s", c.File, haproxyConfigPath)
	}
	if len(hp.Configs) != 1 || hp.Configs[0].Source != "haproxy_config" || hp.Configs[0].Target != "/usr/local/etc/haproxy/haproxy.cfg" {
		t.Errorf("haproxy configs %+v: want haproxy_config at the image's /usr/local/etc/haproxy/haproxy.cfg", hp.Configs)
	}

	hc := string(readFile(t, haproxyConfigPath))
	server := regexp.MustCompile(`(?m)^\s*server(?:-template)?\s.*$`).FindAllString(hc, -1)
	if len(server) == 0 {
		t.Fatalf("%s: no server lines", haproxyConfigPath)
	}
	target := fmt.Sprintf("tasks.logshipper:%d", port(t, cfg.Listen))
	for _, l := range server {
		if !strings.Contains(l, "send-proxy-v2") || !strings.Contains(l, target) {
			t.Errorf("%s: %q: want send-proxy-v2 to %s", haproxyConfigPath, strings.TrimSpace(l), target)
		}
	}
	for _, p := range hp.Ports {
		if !strings.Contains(hc, fmt.Sprintf("bind :%d", p.Target)) {
			t.Errorf("%s binds no :%d, the port the stack publishes", haproxyConfigPath, p.Target)
		}
	}
	// HAProxy's own check of the file, with the binary testenv/haproxy.sh
	// unpacks (the e2e suite's), when there is one.
	if bin := os.Getenv("LOGSHIPPER_TEST_HAPROXY"); bin != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, bin, "-c", "-f", haproxyConfigPath).CombinedOutput(); err != nil {
			t.Errorf("haproxy -c -f %s: %v\n%s", haproxyConfigPath, err, out)
		}
	}
	dockerStackConfig(t, haproxyStackPath)
}

// dockerStackConfig has the docker CLI load a stack file when it is
// installed (no engine needed), as TestStackDockerLoader does.
func dockerStackConfig(t *testing.T, file string) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, docker, "stack", "config", "-c", file)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("unknown command")) && !bytes.Contains(out, []byte("Cannot connect to the Docker daemon")) {
		t.Errorf("docker stack config -c %s: %v\n%s", file, err, out)
	}
}
