// Package deploy holds no code: these tests check the deployment files beside
// them (the Swarm stack, the Prometheus configuration, the Kibana/OpenSearch
// Dashboards saved objects and the Grafana dashboard) against the code they
// describe: the configuration keys of internal/config, the fields
// outputs/elasticsearch writes and maps, and the instruments registered in
// metrics, statically (and by the docker CLI's own loader when it is
// installed), without an engine. test/swarm deploys the stacks on a real
// Swarm.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logshipper/logshipper/inputs/syslog"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/metrics"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
)

const (
	stackPath      = "docker-stack.yml"
	prometheusPath = "prometheus.yml"
	grafanaPath    = "grafana/logshipper-dashboard.json"
	kibanaPath     = "kibana/kibana-saved-objects.ndjson"
	osdPath        = "kibana/opensearch-dashboards-saved-objects.ndjson"
	readmePath     = "README.md"
	dockerfilePath = "../Dockerfile"
)

// ---------------------------------------------------------------------------
// The stack file.

type stackFile struct {
	Networks map[string]struct {
		Driver string `yaml:"driver"`
	} `yaml:"networks"`
	Configs map[string]struct {
		File string `yaml:"file"`
	} `yaml:"configs"`
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string    `yaml:"image"`
	Environment yaml.Node `yaml:"environment"`
	Networks    yaml.Node `yaml:"networks"`
	Ports       []struct {
		Target    int    `yaml:"target"`
		Published any    `yaml:"published"`
		Protocol  string `yaml:"protocol"`
		Mode      string `yaml:"mode"`
	} `yaml:"ports"`
	Volumes []struct {
		Type   string `yaml:"type"`
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"volumes"`
	Configs []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
	Healthcheck struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
	Deploy          struct {
		Mode      string `yaml:"mode"`
		Replicas  *int   `yaml:"replicas"`
		Placement struct {
			Constraints []string `yaml:"constraints"`
		} `yaml:"placement"`
		UpdateConfig struct {
			Parallelism   *int   `yaml:"parallelism"`
			Order         string `yaml:"order"`
			FailureAction string `yaml:"failure_action"`
		} `yaml:"update_config"`
		Resources struct {
			Limits struct {
				Memory string `yaml:"memory"`
			} `yaml:"limits"`
		} `yaml:"resources"`
	} `yaml:"deploy"`
}

// env returns the service's environment, from either compose form (a map, or
// a list of KEY=VALUE).
func (s service) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch s.Environment.Kind {
	case 0:
	case yaml.MappingNode:
		var m map[string]*string
		if err := s.Environment.Decode(&m); err != nil {
			t.Fatalf("environment: %v", err)
		}
		for k, v := range m {
			if v == nil {
				t.Errorf("environment: %s has no value (it would be taken from the shell of docker stack deploy)", k)
				continue
			}
			out[k] = *v
		}
	case yaml.SequenceNode:
		var l []string
		if err := s.Environment.Decode(&l); err != nil {
			t.Fatalf("environment: %v", err)
		}
		for _, kv := range l {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Errorf("environment: %q has no value", kv)
			}
			out[k] = v
		}
	default:
		t.Fatalf("environment: neither a map nor a list")
	}
	return out
}

func (s service) networks(t *testing.T) []string {
	t.Helper()
	switch s.Networks.Kind {
	case yaml.SequenceNode:
		var l []string
		if err := s.Networks.Decode(&l); err != nil {
			t.Fatalf("networks: %v", err)
		}
		return l
	case yaml.MappingNode:
		var m map[string]any
		if err := s.Networks.Decode(&m); err != nil {
			t.Fatalf("networks: %v", err)
		}
		var l []string
		for k := range m {
			l = append(l, k)
		}
		return l
	}
	return nil
}

func intp(p *int) string {
	if p == nil {
		return "not set"
	}
	return strconv.Itoa(*p)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadStack(t *testing.T) (stackFile, []byte) {
	t.Helper()
	raw := readFile(t, stackPath)
	var st stackFile
	if err := yaml.Unmarshal(raw, &st); err != nil {
		t.Fatalf("%s: %v", stackPath, err)
	}
	return st, raw
}

func mustService(t *testing.T, st stackFile, name string) service {
	t.Helper()
	s, ok := st.Services[name]
	if !ok {
		t.Fatalf("%s: no service %q", stackPath, name)
	}
	return s
}

// envNames maps every configuration key's environment variable to its key.
func envNames() map[string]string {
	m := map[string]string{}
	for _, s := range config.Settings {
		m[config.EnvName(s.Key)] = s.Key
	}
	return m
}

// loadConfig resolves logshipper's configuration from env, exactly as the
// binary does at start (defaults < environment), so a bad value fails here
// as it would fail the container.
func loadConfig(env map[string]string) (*config.Config, error) {
	fs := pflag.NewFlagSet("logshipper", pflag.ContinueOnError)
	config.Flags(fs)
	if err := fs.Parse(nil); err != nil {
		return nil, err
	}
	return config.Load(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func port(t *testing.T, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// composeBytes parses a compose byte value: 256M, 1G, 512m, 1024k, 100b
// (binary units, as docker does).
func composeBytes(s string) (int64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "b")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult = 1 << 10
	case strings.HasSuffix(s, "m"):
		mult = 1 << 20
	case strings.HasSuffix(s, "g"):
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// goMemLimit parses a GOMEMLIMIT value: a number of bytes with an optional
// B, KiB, MiB, GiB or TiB suffix.
func goMemLimit(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			n, err := strconv.ParseInt(strings.TrimSuffix(s, u.suffix), 10, 64)
			return n * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

var (
	envToken        = regexp.MustCompile(`LOGSHIPPER_[A-Z0-9_]*[A-Z0-9]`)
	commentedEnvVar = regexp.MustCompile(`(?m)^\s*#\s*(LOGSHIPPER_[A-Z0-9_]+):\s*"([^"]*)"\s*$`)
)

func TestStackLogshipperService(t *testing.T) {
	st, raw := loadStack(t)
	ls := mustService(t, st, "logshipper")
	env := ls.env(t)

	known := envNames()
	for k := range env {
		if strings.HasPrefix(k, config.EnvPrefix+"_") {
			if _, ok := known[k]; !ok {
				t.Errorf("logshipper environment: %s is no configuration key's variable (internal/config Settings)", k)
			}
		}
	}
	// Every LOGSHIPPER_* name mentioned anywhere (comments and the README
	// included) must exist, so the documentation cannot drift either.
	for _, f := range []string{stackPath, readmePath} {
		for _, tok := range envToken.FindAllString(string(readFile(t, f)), -1) {
			if _, ok := known[tok]; !ok {
				t.Errorf("%s mentions %s, which is no configuration key's variable", f, tok)
			}
		}
	}

	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatalf("logshipper would not start with the stack's environment: %v", err)
	}

	if ls.Image != "logshipper:latest" {
		t.Errorf("image %q, want logshipper:latest (built from the repository's Dockerfile)", ls.Image)
	}
	if r := ls.Deploy.Replicas; r == nil || *r != 2 {
		t.Errorf("deploy.replicas: %s, want 2", intp(r))
	}
	if m := ls.Deploy.Mode; m != "" && m != "replicated" {
		t.Errorf("deploy.mode %q, want replicated", m)
	}

	// Syslog published on 514 for TCP and for UDP, to the listen port.
	listenPort := port(t, cfg.Listen)
	httpPort := port(t, cfg.HTTP.Listen)
	seen := map[string]bool{}
	for _, p := range ls.Ports {
		if p.Target == httpPort {
			t.Errorf("port %d (/metrics, /healthz) is published; it is scraped over the overlay network", httpPort)
		}
		if p.Target != listenPort {
			continue
		}
		if fmt.Sprint(p.Published) != "514" {
			t.Errorf("port %d/%s published on %v, want 514", p.Target, p.Protocol, p.Published)
		}
		if p.Mode != "" && p.Mode != "ingress" {
			t.Errorf("port %d/%s mode %q, want ingress (the routing mesh, as in the seed)", p.Target, p.Protocol, p.Mode)
		}
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		seen[proto] = true
	}
	for _, proto := range []string{"tcp", "udp"} {
		if !seen[proto] {
			t.Errorf("no %s port publishing 514 to the listen port %d", proto, listenPort)
		}
	}

	// Rolling updates.
	uc := ls.Deploy.UpdateConfig
	if uc.Parallelism == nil || *uc.Parallelism != 1 {
		t.Errorf("update_config.parallelism %s, want 1", intp(uc.Parallelism))
	}
	wantOrder := "start-first"
	if cfg.Buffer.Type == "disk" {
		// The buffer directory is locked by one process: the new task could
		// not open it while the old one runs.
		wantOrder = "stop-first"
	}
	if uc.Order != wantOrder {
		t.Errorf("update_config.order %q, want %s (buffer.type %s)", uc.Order, wantOrder, cfg.Buffer.Type)
	}
	if uc.FailureAction != "rollback" {
		t.Errorf("update_config.failure_action %q, want rollback", uc.FailureAction)
	}

	// Docker's SIGKILL must come after logshipper's own flush deadline.
	stop, err := time.ParseDuration(ls.StopGracePeriod)
	if err != nil {
		t.Fatalf("stop_grace_period %q: %v", ls.StopGracePeriod, err)
	}
	if stop <= cfg.Shutdown.GracePeriod {
		t.Errorf("stop_grace_period %s is not longer than shutdown.grace_period %s: Docker would kill the flush", stop, cfg.Shutdown.GracePeriod)
	}

	// The health check is the binary's own subcommand, at the path the
	// Dockerfile installs it to.
	hc := ls.Healthcheck.Test
	if len(hc) != 3 || hc[0] != "CMD" || path.Base(hc[1]) != "logshipper" || hc[2] != "health" {
		t.Errorf("healthcheck.test %q, want [CMD /usr/local/bin/logshipper health]", hc)
	} else if !bytes.Contains(readFile(t, dockerfilePath), []byte(hc[1])) {
		t.Errorf("healthcheck runs %s, which the Dockerfile does not install", hc[1])
	}
	if d, err := time.ParseDuration(ls.Healthcheck.Timeout); err != nil || d <= 3*time.Second {
		t.Errorf("healthcheck.timeout %q: want a duration above the 3s logshipper health waits for /healthz", ls.Healthcheck.Timeout)
	}

	// Memory: a limit, and GOMEMLIMIT below it.
	limit, err := composeBytes(ls.Deploy.Resources.Limits.Memory)
	if err != nil || limit < 128<<20 {
		t.Errorf("deploy.resources.limits.memory %q: want a limit of at least 128M", ls.Deploy.Resources.Limits.Memory)
	}
	if v, ok := env["GOMEMLIMIT"]; ok {
		if gl, err := goMemLimit(v); err != nil || gl >= limit {
			t.Errorf("GOMEMLIMIT %q must be a size below the memory limit %d", v, limit)
		}
	}

	// Elasticsearch URLs name services of the stack.
	for _, u := range cfg.Elasticsearch.URLs {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Services[pu.Hostname()]; !ok {
			t.Errorf("elasticsearch.urls: %s is not a service of the stack", u)
		}
	}
	if !slices.Contains(ls.networks(t), "elknet") {
		t.Errorf("logshipper is not on elknet")
	}

	// The commented alternatives (disk buffer, daily index) must be a valid
	// configuration too, once uncommented.
	alt := map[string]string{}
	for k, v := range env {
		alt[k] = v
	}
	commented := commentedEnvVar.FindAllStringSubmatch(string(raw), -1)
	if len(commented) == 0 {
		t.Fatalf("no commented LOGSHIPPER_* alternatives found (disk buffer)")
	}
	for _, m := range commented {
		alt[m[1]] = m[2]
	}
	altCfg, err := loadConfig(alt)
	if err != nil {
		t.Fatalf("the commented alternatives would not start: %v", err)
	}
	if altCfg.Buffer.Type == "disk" && !strings.Contains(altCfg.Buffer.Path, "{{.Task.Slot}}") {
		t.Errorf("buffer.path %q: two replicas on one node would share (and lock each other out of) one directory; use {{.Task.Slot}}", altCfg.Buffer.Path)
	}
}

func TestStackElasticsearchAndKibana(t *testing.T) {
	st, _ := loadStack(t)
	if n, ok := st.Networks["elknet"]; !ok || n.Driver != "overlay" {
		t.Errorf("network elknet: %+v, want an overlay network", n)
	}
	for name, s := range st.Services {
		if !slices.Contains(s.networks(t), "elknet") {
			t.Errorf("service %s is not on elknet", name)
		}
	}

	es := mustService(t, st, "es")
	esEnv := es.env(t)
	if es.Deploy.Mode != "global" {
		t.Errorf("es: deploy.mode %q, want global (one node per labelled swarm node, data on its disk)", es.Deploy.Mode)
	}
	bound := false
	for _, v := range es.Volumes {
		if v.Type == "bind" && v.Target == "/usr/share/elasticsearch/data" && strings.HasPrefix(strings.TrimPrefix(v.Source, "${ES_DATA:-"), "/") {
			bound = true
		}
	}
	if !bound {
		t.Errorf("es: no bind mount of an absolute host path on /usr/share/elasticsearch/data")
	}
	switch {
	case esEnv["discovery.type"] == "single-node":
		// Global mode with single-node discovery: only one node may run it,
		// or every node would be a cluster of its own behind the name es.
		if len(es.Deploy.Placement.Constraints) == 0 {
			t.Errorf("es: single-node discovery in global mode without a placement constraint starts one cluster per swarm node")
		}
	case strings.Contains(esEnv["discovery.seed_hosts"], "tasks.es"):
	default:
		t.Errorf("es: neither discovery.type=single-node nor discovery.seed_hosts=tasks.es")
	}
	for k := range esEnv {
		if strings.HasPrefix(k, "discovery.zen.") {
			t.Errorf("es: %s no longer exists in Elasticsearch 7+", k)
		}
	}
	sec, ok := esEnv["xpack.security.enabled"]
	if !ok {
		t.Errorf("es: xpack.security.enabled not set: Elasticsearch 8 would enable it with generated https certificates and passwords")
	}
	var xms, xmx string
	for _, f := range strings.Fields(esEnv["ES_JAVA_OPTS"]) {
		if strings.HasPrefix(f, "-Xms") {
			xms = f[4:]
		}
		if strings.HasPrefix(f, "-Xmx") {
			xmx = f[4:]
		}
	}
	if xms == "" || xms != xmx {
		t.Errorf("es: ES_JAVA_OPTS %q: want equal -Xms and -Xmx", esEnv["ES_JAVA_OPTS"])
	} else if heap, err := composeBytes(xmx); err != nil {
		t.Errorf("es: heap %q: %v", xmx, err)
	} else if limit, err := composeBytes(es.Deploy.Resources.Limits.Memory); err != nil || heap*2 > limit {
		t.Errorf("es: heap %s is more than half the memory limit %q", xmx, es.Deploy.Resources.Limits.Memory)
	}

	// logshipper and Kibana speak the scheme the security choice implies.
	lsCfg, err := loadConfig(mustService(t, st, "logshipper").env(t))
	if err != nil {
		t.Fatal(err)
	}
	kb := mustService(t, st, "kibana")
	scheme := "http://"
	if sec == "true" {
		scheme = "https://"
	}
	for _, u := range append(slices.Clone(lsCfg.Elasticsearch.URLs), kb.env(t)["ELASTICSEARCH_HOSTS"]) {
		if !strings.HasPrefix(u, scheme+"es:") {
			t.Errorf("%s: want %ses:9200 with xpack.security.enabled=%s", u, scheme, sec)
		}
	}
	if r := kb.Deploy.Replicas; r == nil || *r != 1 {
		t.Errorf("kibana: replicas %s, want 1", intp(r))
	}
	if len(kb.Ports) == 0 || kb.Ports[0].Target != 5601 || fmt.Sprint(kb.Ports[0].Published) != "5601" {
		t.Errorf("kibana: 5601 not published")
	}
	tag := func(image string) string { return image[strings.LastIndex(image, ":")+1:] }
	if tag(kb.Image) != tag(es.Image) {
		t.Errorf("kibana %s and elasticsearch %s: versions must match", kb.Image, es.Image)
	}
}

// TestStackDockerLoader has the docker CLI load the stack file (compose
// schema, interpolation) when the CLI is installed; that needs no engine.
func TestStackDockerLoader(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, docker, "stack", "config", "-c", stackPath)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("unknown command")) || bytes.Contains(out, []byte("Cannot connect to the Docker daemon")) {
			t.Skipf("this docker CLI cannot check offline: %s", out)
		}
		t.Fatalf("docker stack config: %v\n%s", err, out)
	}
}

// ---------------------------------------------------------------------------
// Prometheus.

type promConfig struct {
	ScrapeConfigs []struct {
		JobName      string `yaml:"job_name"`
		MetricsPath  string `yaml:"metrics_path"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Type  string   `yaml:"type"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

const promJob = "logshipper"

func TestPrometheusScrapesEveryReplica(t *testing.T) {
	var pc promConfig
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, prometheusPath)))
	if err := dec.Decode(&pc); err != nil {
		t.Fatalf("%s: %v", prometheusPath, err)
	}
	st, _ := loadStack(t)
	cfg, err := loadConfig(mustService(t, st, "logshipper").env(t))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sc := range pc.ScrapeConfigs {
		if sc.JobName != promJob {
			continue
		}
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("metrics_path %q", sc.MetricsPath)
		}
		for _, d := range sc.DNSSDConfigs {
			if slices.Contains(d.Names, "tasks.logshipper") && d.Type == "A" && d.Port == port(t, cfg.HTTP.Listen) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("%s: no job %q with dns_sd_configs names [tasks.logshipper], type A, port of http.listen (%s)", prometheusPath, promJob, cfg.HTTP.Listen)
	}
	// The stack mounts this very file.
	c, ok := st.Configs["prometheus_config"]
	if !ok || path.Clean(c.File) != prometheusPath {
		t.Errorf("%s: configs.prometheus_config.file %q, want ./%s", stackPath, c.File, prometheusPath)
	}
	if p, ok := st.Services["prometheus"]; ok && !slices.Contains(p.networks(t), "elknet") {
		t.Errorf("prometheus is not on elknet: tasks.logshipper would not resolve")
	}
}

// ---------------------------------------------------------------------------
// Kibana / OpenSearch Dashboards saved objects.

type savedObject struct {
	ID                   string            `json:"id"`
	Type                 string            `json:"type"`
	Attributes           map[string]any    `json:"attributes"`
	References           []reference       `json:"references"`
	MigrationVersion     map[string]string `json:"migrationVersion"`
	CoreMigrationVersion string            `json:"coreMigrationVersion"`
	TypeMigrationVersion string            `json:"typeMigrationVersion"`
}

type reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// osdMigrations is the newest migration OpenSearch Dashboards (a fork of
// Kibana 7.10.2) knows per type: an object claiming a newer one is refused
// on import ("belongs to a more recent version").
var osdMigrations = map[string]string{
	"index-pattern": "7.6.0",
	"visualization": "7.10.0",
	"search":        "7.9.3",
	"dashboard":     "7.9.3",
}

// Legacy aggregation-based visualization types that Kibana 7.10+, Kibana 8
// and OpenSearch Dashboards all render.
var portableVisTypes = []string{"histogram", "line", "area", "pie", "table", "metric"}

// fieldInfo is a field of the logstash-schema mappings and its type.
type fieldInfo map[string]string

// logstashFields walks elasticsearch.MappingsFor(SchemaLogstash, mode): every
// property (dotted for objects) and every multi-field (name.keyword), with
// its type, followed by " without doc values" (nothing can aggregate on it)
// and " not indexed" (the dashboards cannot filter on it: field_caps calls
// it not searchable) where the mapping says so.
func logstashFields(t *testing.T, mode string) fieldInfo {
	t.Helper()
	fi := fieldInfo{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for name, d := range props {
			def, _ := d.(map[string]any)
			full := prefix + name
			typ, _ := def["type"].(string)
			typ += mappingTraits(def)
			if sub, ok := def["properties"].(map[string]any); ok {
				if typ == "" {
					typ = "object"
				}
				walk(full+".", sub)
			}
			fi[full] = typ
			if mf, ok := def["fields"].(map[string]any); ok {
				for sub, sd := range mf {
					st, _ := sd.(map[string]any)["type"].(string)
					fi[full+"."+sub] = st + mappingTraits(sd.(map[string]any))
				}
			}
		}
	}
	props, ok := elasticsearch.MappingsFor(elasticsearch.SchemaLogstash, mode)["properties"].(map[string]any)
	if !ok {
		t.Fatalf("MappingsFor(SchemaLogstash, %s) has no properties", mode)
	}
	walk("", props)
	for _, f := range []string{"@timestamp", "message", "logsource", "program", "severity_label", "tags"} {
		if _, ok := fi[f]; !ok {
			t.Fatalf("the logstash mappings lack %s; the walk is wrong", f)
		}
	}
	return fi
}

func mappingTraits(def map[string]any) string {
	var s string
	if def["doc_values"] == false {
		s += " without doc values"
	}
	if def["index"] == false {
		s += " not indexed"
	}
	return s
}

// searchable: a query or a filter on the field finds documents, and the
// dashboards offer to filter on it.
func searchable(typ string) bool {
	return typ != "" && typ != "object" && !strings.HasSuffix(typ, " not indexed")
}

func aggregatable(typ string) bool {
	switch strings.TrimSuffix(typ, " not indexed") {
	case "keyword", "integer", "long", "short", "byte", "date", "ip", "boolean", "float", "double":
		return true
	}
	return false
}

// kqlFields returns the field names of a KQL (or Lucene) query string: the
// names before a colon outside quotes.
func kqlFields(q string) []string {
	var out []string
	isName := func(c byte) bool {
		return c == '_' || c == '@' || c == '.' || c == '*' || c == '-' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	}
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == '"':
			i++
			for i < len(q) && q[i] != '"' {
				if q[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case isName(c):
			j := i
			for j < len(q) && isName(q[j]) {
				j++
			}
			k := j
			for k < len(q) && q[k] == ' ' {
				k++
			}
			if k < len(q) && q[k] == ':' {
				out = append(out, q[i:j])
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// fieldUse is one place a saved object names a field.
type fieldUse struct {
	object, where, field string
	aggregation          bool
}

func decodeJSONString(t *testing.T, obj savedObject, attr string, v any) bool {
	t.Helper()
	s, ok := obj.Attributes[attr].(string)
	if !ok {
		return false
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Errorf("%s %s: %s is not JSON: %v", obj.Type, obj.ID, attr, err)
		return false
	}
	return true
}

type searchSource struct {
	Query *struct {
		Query    any    `json:"query"`
		Language string `json:"language"`
	} `json:"query"`
	Filter []struct {
		Meta struct {
			Key          string `json:"key"`
			IndexRefName string `json:"indexRefName"`
		} `json:"meta"`
		Query map[string]any `json:"query"`
	} `json:"filter"`
	IndexRefName string `json:"indexRefName"`
}

type visState struct {
	Title string `json:"title"`
	Type  string `json:"type"`
	Aggs  []struct {
		ID     string         `json:"id"`
		Type   string         `json:"type"`
		Schema string         `json:"schema"`
		Params map[string]any `json:"params"`
	} `json:"aggs"`
}

// checkSavedObjects parses one NDJSON file and returns its objects by id and
// every field use found in them.
func checkSavedObjects(t *testing.T, file string) (map[string]savedObject, []fieldUse, []visState) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := map[string]savedObject{}
	var order []savedObject
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			t.Errorf("%s:%d: empty line", file, line)
			continue
		}
		var o savedObject
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("%s:%d: %v", file, line, err)
		}
		if o.ID == "" || o.Type == "" || o.Attributes == nil {
			t.Fatalf("%s:%d: want id, type and attributes", file, line)
		}
		if _, dup := objs[o.ID]; dup {
			t.Errorf("%s:%d: id %s twice", file, line, o.ID)
		}
		objs[o.ID] = o
		order = append(order, o)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	var uses []fieldUse
	var vises []visState
	use := func(o savedObject, where, field string, agg bool) {
		uses = append(uses, fieldUse{o.Type + " " + o.ID, where, field, agg})
	}
	queryFields := func(o savedObject, where string, q any) {
		switch q := q.(type) {
		case string:
			for _, f := range kqlFields(q) {
				use(o, where, f, false)
			}
		case map[string]any:
			// A DSL query (match_all and the like): no field names expected.
			if _, ok := q["match_all"]; !ok && len(q) > 0 {
				t.Errorf("%s %s: %s: DSL query %v not checked", o.Type, o.ID, where, q)
			}
		}
	}
	for _, o := range order {
		refs := map[string]reference{}
		for _, r := range o.References {
			refs[r.Name] = r
			target, ok := objs[r.ID]
			if !ok || target.Type != r.Type {
				t.Errorf("%s %s: reference %s to %s %s, which is not in %s", o.Type, o.ID, r.Name, r.Type, r.ID, file)
			}
		}
		if meta, ok := o.Attributes["kibanaSavedObjectMeta"].(map[string]any); ok {
			if s, ok := meta["searchSourceJSON"].(string); ok {
				var ss searchSource
				if err := json.Unmarshal([]byte(s), &ss); err != nil {
					t.Errorf("%s %s: searchSourceJSON: %v", o.Type, o.ID, err)
				}
				if ss.IndexRefName != "" {
					if _, ok := refs[ss.IndexRefName]; !ok {
						t.Errorf("%s %s: indexRefName %s has no reference", o.Type, o.ID, ss.IndexRefName)
					}
				}
				if ss.Query != nil {
					queryFields(o, "searchSourceJSON query", ss.Query.Query)
				}
				for _, fl := range ss.Filter {
					if fl.Meta.Key != "" {
						use(o, "filter", fl.Meta.Key, false)
					}
					if fl.Meta.IndexRefName != "" {
						if _, ok := refs[fl.Meta.IndexRefName]; !ok {
							t.Errorf("%s %s: filter indexRefName %s has no reference", o.Type, o.ID, fl.Meta.IndexRefName)
						}
					}
				}
			}
		}
		switch o.Type {
		case "index-pattern":
			if tf, _ := o.Attributes["timeFieldName"].(string); tf != "" {
				use(o, "timeFieldName", tf, true)
			}
		case "visualization":
			var vs visState
			if !decodeJSONString(t, o, "visState", &vs) {
				t.Errorf("visualization %s: no visState", o.ID)
				continue
			}
			if !slices.Contains(portableVisTypes, vs.Type) {
				t.Errorf("visualization %s: type %q; use one of %v, which Kibana 7/8 and OpenSearch Dashboards all import", o.ID, vs.Type, portableVisTypes)
			}
			for _, a := range vs.Aggs {
				if f, ok := a.Params["field"].(string); ok {
					use(o, "aggregation "+a.Type, f, true)
				}
				if a.Type == "filters" {
					fl, _ := a.Params["filters"].([]any)
					for _, x := range fl {
						in, _ := x.(map[string]any)["input"].(map[string]any)
						queryFields(o, "filters aggregation", in["query"])
					}
				}
			}
			vises = append(vises, vs)
		case "search":
			cols, _ := o.Attributes["columns"].([]any)
			for _, c := range cols {
				if s, _ := c.(string); s != "_source" {
					use(o, "column", s, false)
				}
			}
			srt, _ := o.Attributes["sort"].([]any)
			for _, s := range srt {
				if pair, ok := s.([]any); ok && len(pair) > 0 {
					use(o, "sort", fmt.Sprint(pair[0]), true)
				}
			}
		case "dashboard":
			var panels []struct {
				PanelRefName string `json:"panelRefName"`
			}
			if !decodeJSONString(t, o, "panelsJSON", &panels) || len(panels) == 0 {
				t.Errorf("dashboard %s: no panels", o.ID)
			}
			for _, p := range panels {
				if _, ok := refs[p.PanelRefName]; !ok {
					t.Errorf("dashboard %s: panel %q has no reference", o.ID, p.PanelRefName)
				}
			}
			var opts map[string]any
			decodeJSONString(t, o, "optionsJSON", &opts)
		}
	}
	return objs, uses, vises
}

func versionLE(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return true
}

// templateModes are elasticsearch.template.mode's values: the dashboards
// must work on the indices of either.
var templateModes = []string{elasticsearch.TemplateModeCompatible, elasticsearch.TemplateModeLean}

func TestSavedObjects(t *testing.T) {
	fields := map[string]fieldInfo{}
	for _, mode := range templateModes {
		fields[mode] = logstashFields(t, mode)
	}
	st, raw := loadStack(t)
	lsEnv := mustService(t, st, "logshipper").env(t)
	// The index names the stack may write to: the one set and the commented
	// alternatives.
	indices := []string{lsEnv[config.EnvName("elasticsearch.index")]}
	for _, m := range commentedEnvVar.FindAllStringSubmatch(string(raw), -1) {
		if m[1] == config.EnvName("elasticsearch.index") {
			indices = append(indices, m[2])
		}
	}

	ids := map[string][]string{}
	for _, file := range []string{kibanaPath, osdPath} {
		t.Run(path.Base(file), func(t *testing.T) {
			objs, uses, vises := checkSavedObjects(t, file)
			for id := range objs {
				ids[file] = append(ids[file], id)
			}
			sort.Strings(ids[file])

			// Fields: each one logshipper writes (logstash schema), and
			// aggregations only on aggregatable ones, in every template mode.
			for _, mode := range templateModes {
				for _, u := range uses {
					typ, ok := fields[mode][u.field]
					if !ok {
						t.Errorf("%s: %s: field %q is not one logshipper maps (outputs/elasticsearch MappingsFor, logstash schema, template mode %s)", u.object, u.where, u.field, mode)
						continue
					}
					if u.aggregation && !aggregatable(typ) {
						t.Errorf("%s: %s: field %q is %s in template mode %s, not aggregatable", u.object, u.where, u.field, typ, mode)
					}
					// A column is read from _source; every other use
					// queries the field (a click on a bucket filters on
					// the aggregated field).
					if u.where != "column" && !searchable(typ) {
						t.Errorf("%s: %s: field %q is %s in template mode %s, not searchable", u.object, u.where, u.field, typ, mode)
					}
				}
			}

			// The index pattern on @timestamp covers the stack's indices.
			var patterns int
			for _, o := range objs {
				if o.Type != "index-pattern" {
					continue
				}
				patterns++
				title, _ := o.Attributes["title"].(string)
				if title != "syslog-msg*" || o.Attributes["timeFieldName"] != "@timestamp" {
					t.Errorf("index-pattern %s: title %q timeFieldName %v, want syslog-msg* on @timestamp", o.ID, title, o.Attributes["timeFieldName"])
				}
				for _, ixName := range indices {
					ix, err := elasticsearch.ParseIndex(ixName)
					if err != nil {
						t.Fatal(err)
					}
					name := ix.Name(time.Now())
					if ok, _ := path.Match(title, name); !ok {
						t.Errorf("index-pattern %q does not match %s (elasticsearch.index %s)", title, name, ixName)
					}
				}
			}
			if patterns != 1 {
				t.Errorf("%d index patterns, want 1", patterns)
			}

			// The dashboard's content.
			var dashboards int
			for _, o := range objs {
				if o.Type == "dashboard" {
					dashboards++
				}
			}
			if dashboards != 1 {
				t.Errorf("%d dashboards, want 1", dashboards)
			}
			want := map[string]bool{"severity over time": false, "hosts": false, "programs": false, "parse failures": false}
			for _, vs := range vises {
				var dateHist bool
				for _, a := range vs.Aggs {
					f, _ := a.Params["field"].(string)
					switch {
					case a.Type == "date_histogram":
						dateHist = true
					case a.Type == "terms" && strings.HasPrefix(f, "severity_label") && dateHist:
						want["severity over time"] = true
					case a.Type == "terms" && (strings.HasPrefix(f, "logsource") || strings.HasPrefix(f, "host")):
						want["hosts"] = true
					case a.Type == "terms" && strings.HasPrefix(f, "program"):
						want["programs"] = true
					case a.Type == "filters":
						if b, _ := json.Marshal(a.Params); bytes.Contains(b, []byte("_grokparsefailure_sysloginput")) {
							want["parse failures"] = true
						}
					}
				}
			}
			for what, ok := range want {
				if !ok {
					t.Errorf("no visualization of %s", what)
				}
			}

			if file == osdPath {
				for _, o := range objs {
					if o.CoreMigrationVersion != "" || o.TypeMigrationVersion != "" {
						t.Errorf("%s %s: coreMigrationVersion/typeMigrationVersion are Kibana 8 export fields; OpenSearch Dashboards refuses them", o.Type, o.ID)
					}
					max, ok := osdMigrations[o.Type]
					if !ok {
						t.Errorf("%s %s: type unknown to this test's OpenSearch Dashboards table", o.Type, o.ID)
						continue
					}
					for typ, v := range o.MigrationVersion {
						if !versionLE(v, max) {
							t.Errorf("%s %s: migrationVersion %s %s is newer than OpenSearch Dashboards' %s: its import would refuse it", o.Type, o.ID, typ, v, max)
						}
					}
				}
			}
		})
	}
	if !slices.Equal(ids[kibanaPath], ids[osdPath]) {
		t.Errorf("the two files hold different objects: %v and %v", ids[kibanaPath], ids[osdPath])
	}
}

func TestKQLFields(t *testing.T) {
	for q, want := range map[string][]string{
		`tags:"_grokparsefailure_sysloginput"`:    {"tags"},
		`tags : _truncated and not program:"a:b"`: {"tags", "program"},
		`severity_label.keyword:Error or "x:y"`:   {"severity_label.keyword"},
		``:                                        nil,
	} {
		if got := kqlFields(q); !slices.Equal(got, want) {
			t.Errorf("kqlFields(%q) = %q, want %q", q, got, want)
		}
	}
}

// ---------------------------------------------------------------------------
// Grafana.

// registeredMetrics returns every sample name /metrics can show: the
// registry's metric names (Describe, so vectors without children count too)
// plus _bucket/_sum/_count for histograms and _sum/_count for summaries.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	// Every component's instruments on one registry, as cmd/logshipper
	// wires them (the buffer gauges exist only with a disk buffer).
	reg := metrics.NewRegistry()
	metrics.NewEvents(reg)
	metrics.NewDisk(reg)
	syslog.NewMetrics(reg)
	elasticsearch.NewMetrics(reg)
	metrics.RegisterBuffer(reg, func() (int64, int64) { return 0, 0 })
	// Edge role (output.type kafka or redis); a histogram vector shows its
	// _bucket series once it has a child, as the output makes at start.
	metrics.NewProducer(reg).Latency.WithLabelValues(metrics.QueueKafka)
	metrics.NewConsumer(reg) // indexer role: input.type kafka or redis

	names := map[string]bool{}
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	if !names["logshipper_events_received_total"] {
		t.Fatal("could not read metric names from the registry's descriptors")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		n := mf.GetName()
		names[n] = true
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[n+"_sum"], names[n+"_count"] = true, true
		}
	}
	return names
}

// promqlKeywords are identifiers in PromQL that are not metric names.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true, "inf": true, "nan": true,
}

// selector is one metric name in a PromQL expression and its label matchers.
type selector struct {
	name, matchers string
}

// promqlSelectors returns the metric names of expr with their {…} matchers.
// Enough PromQL for dashboards: strings, label lists after by/without/on/
// ignoring/group_*, ranges [..], function calls and aggregation operators.
func promqlSelectors(expr string) ([]selector, error) {
	var out []selector
	isStart := func(c byte) bool { return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
	isPart := func(c byte) bool { return isStart(c) || (c >= '0' && c <= '9') }
	skipSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\n' || expr[i] == '\t') {
			i++
		}
		return i
	}
	closing := func(i int, open, close byte) (int, error) { // i at open
		depth := 0
		for j := i; j < len(expr); j++ {
			switch expr[j] {
			case '"':
				for j++; j < len(expr) && expr[j] != '"'; j++ {
					if expr[j] == '\\' {
						j++
					}
				}
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, expr)
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '[':
			j, err := closing(i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = j + 1
		case c == '{': // matchers without a name: {__name__=...} is not used here
			return nil, fmt.Errorf("selector without a metric name in %q", expr)
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.') {
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word := expr[i:j]
			k := skipSpace(j)
			switch {
			case word == "by" || word == "without" || word == "on" || word == "ignoring" || word == "group_left" || word == "group_right":
				if k < len(expr) && expr[k] == '(' {
					e, err := closing(k, '(', ')')
					if err != nil {
						return nil, err
					}
					j = e + 1
				}
			case promqlKeywords[strings.ToLower(word)]:
			case k < len(expr) && expr[k] == '(': // a function
			default:
				s := selector{name: word}
				if k < len(expr) && expr[k] == '{' {
					e, err := closing(k, '{', '}')
					if err != nil {
						return nil, err
					}
					s.matchers = expr[k+1 : e]
					j = e + 1
				}
				out = append(out, s)
			}
			i = j
		default:
			i++
		}
	}
	return out, nil
}

func TestPromQLSelectors(t *testing.T) {
	got, err := promqlSelectors(`histogram_quantile(0.99, sum by (le) (rate(a_bucket{instance=~"$instance", x="}"}[$__rate_interval]))) / sum without(job) (b) + up{job="j"} offset 5m`)
	if err != nil {
		t.Fatal(err)
	}
	want := []selector{{"a_bucket", `instance=~"$instance", x="}"`}, {"b", ""}, {"up", `job="j"`}}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

type grafanaPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource map[string]any `json:"datasource"`
	GridPos    *struct {
		W, H int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

func TestGrafanaDashboard(t *testing.T) {
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []grafanaPanel `json:"panels"`
	}
	if err := json.Unmarshal(readFile(t, grafanaPath), &d); err != nil {
		t.Fatalf("%s: %v", grafanaPath, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard without uid or title")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "datasource" && v.Query != "prometheus" {
			t.Errorf("variable %s: query %v, want prometheus", v.Name, v.Query)
		}
	}
	if vars["datasource"] != "datasource" || vars["instance"] != "query" {
		t.Fatalf("templating: want a datasource variable \"datasource\" and a query variable \"instance\", have %v", vars)
	}

	known := registeredMetrics(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("panel %q: no gridPos", p.Title)
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q: no queries", p.Title)
			}
			if p.Datasource["uid"] != "${datasource}" {
				t.Errorf("panel %q: datasource %v, want uid ${datasource}", p.Title, p.Datasource)
			}
			for _, tg := range p.Targets {
				if tg.RefID == "" || tg.Datasource["uid"] != "${datasource}" {
					t.Errorf("panel %q: query without refId or not on ${datasource}", p.Title)
				}
				sels, err := promqlSelectors(tg.Expr)
				if err != nil {
					t.Errorf("panel %q: %v", p.Title, err)
					continue
				}
				if len(sels) == 0 {
					t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
				}
				for _, s := range sels {
					used[s.name] = true
					switch {
					case s.name == "up": // Prometheus's own, per scrape target
						if !strings.Contains(s.matchers, fmt.Sprintf(`job=%q`, promJob)) {
							t.Errorf("panel %q: up without job=%q (the job of %s)", p.Title, promJob, prometheusPath)
						}
					case !known[s.name]:
						t.Errorf("panel %q: %s is not a metric logshipper registers (metrics package)", p.Title, s.name)
					}
					if !strings.Contains(s.matchers, `instance=~"$instance"`) {
						t.Errorf("panel %q: %s{%s} ignores the instance variable", p.Title, s.name, s.matchers)
					}
				}
			}
		}
	}
	walk(d.Panels)

	for _, m := range []string{
		"logshipper_events_received_total", "logshipper_events_indexed_total", "logshipper_events_failed_total",
		"logshipper_events_dropped_total", "logshipper_events_retried_total", "logshipper_events_parse_failures_total",
		"logshipper_queue_events", "logshipper_buffer_events", "logshipper_buffer_bytes",
		"logshipper_bulk_requests_total", "logshipper_bulk_duration_seconds_bucket",
		"logshipper_tcp_connections", "logshipper_tcp_connections_limit",
	} {
		if !used[m] {
			t.Errorf("the dashboard shows no %s", m)
		}
	}
	// Every logshipper instrument should be on the dashboard; say which
	// are not, so a new one is not forgotten.
	var missing []string
	for n := range known {
		if strings.HasPrefix(n, "logshipper_") && !used[n] && !strings.HasSuffix(n, "_sum") && !strings.HasSuffix(n, "_count") &&
			!(strings.HasSuffix(n, "_seconds") && used[n+"_bucket"]) {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics registered but not on the Grafana dashboard: %v", missing)
	}
}

// ---------------------------------------------------------------------------
// The two-tier stack (edge → Kafka → indexers).

const queueStackPath = "docker-stack-queue.yml"

// Both tiers' environments are valid configurations of the roles they
// claim: the edge listens and writes to Kafka, the indexer reads Kafka into
// es without a syslog port, both on the same topic and index pattern.
func TestQueueStack(t *testing.T) {
	var st stackFile
	if err := yaml.Unmarshal(readFile(t, queueStackPath), &st); err != nil {
		t.Fatalf("%s: %v", queueStackPath, err)
	}
	known := envNames()
	cfgs := map[string]*config.Config{}
	for _, name := range []string{"edge", "indexer"} {
		s, ok := st.Services[name]
		if !ok {
			t.Fatalf("%s: no service %q", queueStackPath, name)
		}
		env := s.env(t)
		for k := range env {
			if _, ok := known[k]; strings.HasPrefix(k, config.EnvPrefix+"_") && !ok {
				t.Errorf("%s %s: %s is no configuration key's variable", queueStackPath, name, k)
			}
		}
		cfg, err := loadConfig(env)
		if err != nil {
			t.Fatalf("%s %s: the container would not start: %v", queueStackPath, name, err)
		}
		cfgs[name] = cfg
		if s.Image != "logshipper:latest" {
			t.Errorf("%s %s: image %q", queueStackPath, name, s.Image)
		}
	}
	edge, ix := cfgs["edge"], cfgs["indexer"]
	if edge.Output.Type != "kafka" || edge.Input.Type != "syslog" || ix.Input.Type != "kafka" || ix.Output.Type != "elasticsearch" {
		t.Errorf("roles: edge %s→%s, indexer %s→%s", edge.Input.Type, edge.Output.Type, ix.Input.Type, ix.Output.Type)
	}
	if edge.Kafka.Topic != ix.Kafka.Topic || !slices.Equal(edge.Kafka.Brokers, ix.Kafka.Brokers) || edge.Elasticsearch.Index != ix.Elasticsearch.Index {
		t.Errorf("the tiers disagree: topic %s/%s brokers %v/%v index %s/%s", edge.Kafka.Topic, ix.Kafka.Topic,
			edge.Kafka.Brokers, ix.Kafka.Brokers, edge.Elasticsearch.Index, ix.Elasticsearch.Index)
	}
	if p := st.Services["indexer"].Ports; len(p) != 0 {
		t.Errorf("the indexer publishes ports %v; it opens no syslog port", p)
	}
	if _, ok := st.Services["kafka"]; !ok {
		t.Errorf("%s: no kafka service", queueStackPath)
	}
	for _, tok := range envToken.FindAllString(string(readFile(t, queueStackPath)), -1) {
		if _, ok := known[tok]; !ok {
			t.Errorf("%s mentions %s, which is no configuration key's variable", queueStackPath, tok)
		}
	}
}
