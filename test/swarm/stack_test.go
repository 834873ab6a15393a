package swarm

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// variant says how the deployed stack differs from its file in deploy/.
type variant struct {
	// image is the logshipper image (built from the Dockerfile by the test).
	image string
	// esImage replaces Elasticsearch's official image, which this machine
	// cannot pull: OpenSearch from Maven jars (testenv/docker.sh).
	esImage string
	// esPort publishes es's 9200 on the host (mode: host) for the test's
	// counting.
	esPort int
	// hostPorts maps a host-mode port of the file to a free port of this
	// machine (514 may be taken, and the test must not take it from others).
	hostPorts map[int]int
	// diskBuffer turns on what the stack file's comments describe for the
	// disk buffer: the commented environment lines, the volume, and
	// stop-first updates.
	diskBuffer bool
}

// testStack returns the stack the test deploys: a stack file of deploy/,
// changed only where this machine needs it, each change named here:
//   - the routing mesh and service VIPs need the kernel's IPVS, which these
//     machines lack: every service gets endpoint_mode dnsrr (the name
//     resolves to every task's address) and ingress ports go (senders run
//     on the overlay network and reach logshipper:10514, as Kibana reaches
//     es); es publishes 9200 in host mode for the test; other host-mode
//     ports move to free ones (v.hostPorts);
//   - images this machine cannot pull (Docker Hub, Elastic's registry) are
//     replaced: es by OpenSearch from Maven jars with its own environment
//     in place of Elasticsearch's settings, haproxy by Debian's haproxy
//     (the same configuration file, Debian's binary path); kibana and
//     prometheus are left out with what only they use.
func testStack(src []byte, v variant) ([]byte, error) {
	var stack map[string]any
	if err := yaml.Unmarshal(src, &stack); err != nil {
		return nil, err
	}
	services, ok := stack["services"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no services")
	}
	es, ok1 := services["es"].(map[string]any)
	ls, ok2 := services["logshipper"].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("services es and logshipper must exist")
	}
	delete(services, "kibana")
	delete(services, "prometheus")
	if configs, ok := stack["configs"].(map[string]any); ok {
		delete(configs, "prometheus_config")
		if len(configs) == 0 {
			delete(stack, "configs")
		}
	}
	if vols, ok := stack["volumes"].(map[string]any); ok {
		delete(vols, "prometheus-data")
	}

	for name, svc := range services {
		svc := svc.(map[string]any)
		dnsrr(svc)
		var ports []any
		for _, p := range asList(svc["ports"]) {
			p, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("service %s: ports in the short syntax; use the long one", name)
			}
			if p["mode"] != "host" {
				continue // ingress: needs IPVS
			}
			pub, _ := p["published"].(int)
			if to, ok := v.hostPorts[pub]; ok {
				p["published"] = to
			}
			ports = append(ports, p)
		}
		if len(ports) > 0 {
			svc["ports"] = ports
		} else {
			delete(svc, "ports")
		}
	}

	es["image"] = v.esImage
	es["environment"] = map[string]any{"OPENSEARCH_HEAP": "512m"}
	es["ports"] = []any{map[string]any{"target": 9200, "published": v.esPort, "protocol": "tcp", "mode": "host"}}

	if hp, ok := services["haproxy"].(map[string]any); ok {
		hp["image"] = baseImage
		// The official image's command with Debian's binary: the
		// configuration file where the stack mounts it, in the foreground.
		hp["command"] = []any{"haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"}
	}

	ls["image"] = v.image

	if v.diskBuffer {
		env, ok := ls["environment"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("logshipper has no environment map")
		}
		lines := commentedBufferEnv.FindAllSubmatch(src, -1)
		if len(lines) < 3 {
			return nil, fmt.Errorf("the stack file's commented disk-buffer lines are gone (found %d)", len(lines))
		}
		for _, m := range lines {
			env[string(m[1])] = string(m[2])
		}
		vols, _ := stack["volumes"].(map[string]any)
		if vols == nil {
			vols = map[string]any{}
			stack["volumes"] = vols
		}
		vols["logshipper-data"] = map[string]any{}
		ls["volumes"] = []any{map[string]any{"type": "volume", "source": "logshipper-data", "target": "/var/lib/logshipper/data"}}
		deploy := ls["deploy"].(map[string]any)
		for _, k := range []string{"update_config", "rollback_config"} {
			if c, ok := deploy[k].(map[string]any); ok {
				c["order"] = "stop-first"
			}
		}
	}
	return yaml.Marshal(stack)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// commentedBufferEnv finds the stack file's commented disk-buffer settings
// ("#   LOGSHIPPER_BUFFER_TYPE: "disk""): the test turns on exactly what
// the comment tells an operator to uncomment.
var commentedBufferEnv = regexp.MustCompile(`(?m)^\s*#\s+(LOGSHIPPER_(?:BUFFER|DEAD_LETTER)_[A-Z_]+):\s*"([^"]*)"\s*$`)

func dnsrr(svc map[string]any) {
	deploy, _ := svc["deploy"].(map[string]any)
	if deploy == nil {
		deploy = map[string]any{}
		svc["deploy"] = deploy
	}
	deploy["endpoint_mode"] = "dnsrr"
}

// TestStackVariant checks the variant on the real stack file without an
// engine: what it changes and that it keeps the rest.
func TestStackVariant(t *testing.T) {
	src := readStack(t, "docker-stack.yml")
	out, err := testStack(src, variant{image: "ls:1", esImage: "os:1", esPort: 19999, diskBuffer: true})
	if err != nil {
		t.Fatal(err)
	}
	var got, orig map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, &orig); err != nil {
		t.Fatal(err)
	}
	ls := got["services"].(map[string]any)["logshipper"].(map[string]any)
	ols := orig["services"].(map[string]any)["logshipper"].(map[string]any)
	for _, k := range []string{"healthcheck", "stop_grace_period", "networks"} {
		if fmt.Sprint(ls[k]) != fmt.Sprint(ols[k]) {
			t.Errorf("logshipper %s changed: %v, was %v", k, ls[k], ols[k])
		}
	}
	env := ls["environment"].(map[string]any)
	for k, v := range ols["environment"].(map[string]any) {
		if env[k] != v {
			t.Errorf("environment %s = %v, the stack file says %v", k, env[k], v)
		}
	}
	if env["LOGSHIPPER_BUFFER_TYPE"] != "disk" || !strings.Contains(fmt.Sprint(env["LOGSHIPPER_BUFFER_PATH"]), "{{.Task.Slot}}") {
		t.Errorf("disk buffer settings not taken from the comments: %v", env)
	}
	d := ls["deploy"].(map[string]any)
	if d["endpoint_mode"] != "dnsrr" || d["update_config"].(map[string]any)["order"] != "stop-first" || d["replicas"] != 2 {
		t.Errorf("deploy: %v", d)
	}
	if _, ok := ls["ports"]; ok {
		t.Error("logshipper still publishes ports (ingress needs IPVS)")
	}
	if len(got["services"].(map[string]any)) != 2 {
		t.Errorf("services: %v", got["services"])
	}
}

// TestStackVariantPorts checks the other two stacks' variants: host-mode
// ports kept (moved to the given free ports), HAProxy on Debian's binary.
func TestStackVariantPorts(t *testing.T) {
	for _, file := range []string{"docker-stack-hostmode.yml", "docker-stack-haproxy.yml"} {
		out, err := testStack(readStack(t, file), variant{image: "ls:1", esImage: "os:1", esPort: 19999, hostPorts: map[int]int{514: 20514}})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var got map[string]any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		front := "logshipper"
		if file == "docker-stack-haproxy.yml" {
			front = "haproxy"
			hp := got["services"].(map[string]any)["haproxy"].(map[string]any)
			if hp["image"] != baseImage || len(asList(hp["command"])) == 0 {
				t.Errorf("%s: haproxy %v", file, hp)
			}
		}
		ports := asList(got["services"].(map[string]any)[front].(map[string]any)["ports"])
		if len(ports) == 0 {
			t.Fatalf("%s: %s publishes nothing", file, front)
		}
		for _, p := range ports {
			p := p.(map[string]any)
			if p["published"] != 20514 || p["mode"] != "host" {
				t.Errorf("%s: %s port %v", file, front, p)
			}
		}
	}
}
