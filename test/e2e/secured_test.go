package e2e

// https, basic auth and API keys against a real node. The test node has no
// security plugin (testenv/README.md: the OpenSearch security plugin is on
// Maven Central only as a 2.19.4 distribution zip, pinned to that exact
// server version, and it has no Elasticsearch-style API keys), so nginx
// stands in front of the real node as Elasticsearch's own security layer
// would: it terminates TLS with a certificate from a CA made here, checks
// basic auth against an htpasswd file on one port and an
// "Authorization: ApiKey …" header on another, and proxies to the node.
// What is under test is logshipper's side: the CA file, the credentials on
// every request (template and _bulk), and what happens when either is
// wrong: one log line that says what and where, and no event lost.

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/testes"
)

const (
	securedUser     = "shipper"
	securedPassword = "s3cret-Pw-for-nginx"
	securedKeyID    = "ls-key-id"
	securedKeyValue = "ls-key-secret-Qw7"
)

// securedNode is nginx in front of the shared test node: https on two
// ports, one checking basic auth and one an API key.
type securedNode struct {
	es          string // the node itself, plain http, for counting
	basicURL    string // https, basic auth
	apiKeyURL   string // https, API key
	caFile      string // the CA that signed nginx's certificate
	wrongCAFile string // another CA
	dir         string
}

// startSecuredNode makes the CAs and nginx's certificate (for 127.0.0.1),
// the htpasswd file, and starts nginx; it is stopped at the end of the test.
func startSecuredNode(t *testing.T) *securedNode {
	t.Helper()
	es := esURL(t)
	bin := nginxBinary(t)
	upstream, err := url.Parse(es)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, wrongCA := testes.NewCA(t, "logshipper test CA"), testes.NewCA(t, "some other CA")
	node := ca.Server("node")
	certFile, keyFile, caFile, wrongCAFile := node.CertFile, node.KeyFile, ca.CAFile, wrongCA.CAFile

	// {SSHA}: salted SHA-1, one of the schemes nginx's auth_basic reads.
	salt := []byte("lsalt123")
	sum := sha1.Sum(append([]byte(securedPassword), salt...))
	htpasswd := securedUser + ":{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}

	basicAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	apiKeyAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	apiKey := base64.StdEncoding.EncodeToString([]byte(securedKeyID + ":" + securedKeyValue))
	// The API-key port answers a wrong key as Elasticsearch does (JSON, 401
	// security_exception); the basic-auth port with nginx's own HTML page,
	// as a node whose security layer does not speak JSON (OpenSearch's
	// security plugin answers a bare "Unauthorized").
	// nginx run as root hands requests to workers as "nobody", who could not
	// read the htpasswd file in the test's private directory.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off;
%[8]s
master_process on;
worker_processes 1;
error_log %[1]s/error.log info;
pid %[1]s/nginx.pid;
events {}
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    # Bulk bodies are megabytes; nginx's default limit is 1m.
    client_max_body_size 0;
    ssl_certificate %[2]s;
    ssl_certificate_key %[3]s;
    upstream node {
        server %[4]s;
        keepalive 16;
    }
    map $http_authorization $api_key_ok {
        "ApiKey %[7]s" 1;
        default 0;
    }
    server {
        listen %[5]s ssl;
        auth_basic "logshipper test";
        auth_basic_user_file %[1]s/htpasswd;
        location / {
            proxy_pass http://node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
        }
    }
    server {
        listen %[6]s ssl;
        location / {
            if ($api_key_ok = 0) {
                add_header WWW-Authenticate "ApiKey" always;
                return 401 '{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}';
            }
            proxy_pass http://node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
        }
    }
}
`, dir, certFile, keyFile, upstream.Host, basicAddr, apiKeyAddr, apiKey, user)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	runDaemon(t, "nginx", []string{basicAddr, apiKeyAddr}, withLogFile(filepath.Join(dir, "error.log"), 30),
		bin, "-p", dir+"/", "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	return &securedNode{
		es: es, basicURL: "https://" + basicAddr, apiKeyURL: "https://" + apiKeyAddr,
		caFile: caFile, wrongCAFile: wrongCAFile, dir: dir,
	}
}

// shipSecured sends n sequence-numbered messages through logshipper
// configured with env against url and checks that each is indexed once,
// with logshipper's template in place (installed through nginx too).
func shipSecured(t *testing.T, sn *securedNode, url string, n int, env ...string) {
	t.Helper()
	index := uniqueIndex(t, sn.es)
	t.Cleanup(func() { esDo(t, sn.es, "DELETE", "/_index_template/"+index, "") })
	s := launch(t, url, index, "/readyz", env...)
	if err := <-seqSender(t, s.addr, n); err != nil {
		t.Fatal(err)
	}
	s.waitSettled(n, settleTimeout)
	checkExactlyOnce(t, sn.es, index, n)
	if code, b := esDo(t, sn.es, "GET", "/_index_template/"+index, ""); code != 200 {
		t.Errorf("logshipper's template is not on the node: HTTP %d %s", code, b)
	}
	s.stop()
	if line := checkBalanced(t, s.logs.String()); line["lost"].(float64) != 0 {
		t.Errorf("lost events: %v", line)
	}
}

// TestSecuredNode: https with the right CA file, and each way of giving
// credentials: every message indexed once.
func TestSecuredNode(t *testing.T) {
	sn := startSecuredNode(t)
	const n = 5000
	t.Run("basic-password", func(t *testing.T) {
		shipSecured(t, sn, sn.basicURL, n, "LOGSHIPPER_ELASTICSEARCH_CA_FILE="+sn.caFile,
			"LOGSHIPPER_ELASTICSEARCH_USERNAME="+securedUser, "LOGSHIPPER_ELASTICSEARCH_PASSWORD="+securedPassword)
	})
	t.Run("basic-password-file", func(t *testing.T) {
		// A Docker secret ends in a newline, which is not part of the password.
		pw := filepath.Join(t.TempDir(), "es_password")
		if err := os.WriteFile(pw, []byte(securedPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		shipSecured(t, sn, sn.basicURL, n, "LOGSHIPPER_ELASTICSEARCH_CA_FILE="+sn.caFile,
			"LOGSHIPPER_ELASTICSEARCH_USERNAME="+securedUser, "LOGSHIPPER_ELASTICSEARCH_PASSWORD_FILE="+pw)
	})
	t.Run("apikey-id-key", func(t *testing.T) {
		shipSecured(t, sn, sn.apiKeyURL, n, "LOGSHIPPER_ELASTICSEARCH_CA_FILE="+sn.caFile,
			"LOGSHIPPER_ELASTICSEARCH_API_KEY="+securedKeyID+":"+securedKeyValue)
	})
	t.Run("apikey-encoded-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "es_api_key")
		enc := base64.StdEncoding.EncodeToString([]byte(securedKeyID + ":" + securedKeyValue))
		if err := os.WriteFile(f, []byte(enc+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		shipSecured(t, sn, sn.apiKeyURL, n, "LOGSHIPPER_ELASTICSEARCH_CA_FILE="+sn.caFile,
			"LOGSHIPPER_ELASTICSEARCH_API_KEY_FILE="+f)
	})
}

// failsThenRecovers runs logshipper with a disk buffer and a broken setting
// (bad) against url: nothing may be indexed, and the log must say what is
// wrong, and where, in one line that contains every string of want. After
// SIGTERM nothing is lost (all n events left in the buffer); started again
// on the same buffer with the setting fixed (good), it indexes each once.
func failsThenRecovers(t *testing.T, sn *securedNode, url string, n int, bad, good []string, want ...string) {
	t.Helper()
	index := uniqueIndex(t, sn.es)
	t.Cleanup(func() { esDo(t, sn.es, "DELETE", "/_index_template/"+index, "") })
	buf := filepath.Join(t.TempDir(), "buffer")
	// /healthz: /readyz stays 503 while the node refuses us, by design. A
	// short grace period: nothing can be flushed at SIGTERM anyway.
	s := launch(t, url, index, "/healthz", diskEnv(buf, append([]string{"LOGSHIPPER_SHUTDOWN_GRACE_PERIOD=1s"}, bad...)...)...)
	if err := <-seqSender(t, s.addr, n); err != nil {
		t.Fatal(err)
	}
	s.waitMetric("logshipper_buffer_events", func(v float64) bool { return v == float64(n) }, time.Minute)
	s.waitMetric("logshipper_events_retried_total", func(v float64) bool { return v > 0 }, time.Minute)
	if got := s.metric("logshipper_events_indexed_total"); got != 0 {
		t.Errorf("%v events indexed through a node that refuses us", got)
	}
	var clear string
	for line := range strings.Lines(s.logs.String()) {
		hasAll := true
		for _, w := range want {
			hasAll = hasAll && strings.Contains(line, w)
		}
		if hasAll {
			clear = strings.TrimSpace(line)
			break
		}
	}
	if clear == "" {
		t.Errorf("no log line says all of %q:\n%s", want, tail(s.logs.String(), 20))
	} else {
		t.Logf("the line: %s", clear)
	}
	// Not a word of "indexing without the template": nothing is indexed.
	if strings.Contains(s.logs.String(), "indexing without it") {
		t.Errorf("the log claims indexing goes on without the template:\n%s", tail(s.logs.String(), 20))
	}
	s.stop()
	final := checkBalanced(t, s.logs.String())
	if final["lost"].(float64) != 0 || final["left_in_buffer"].(float64) != float64(n) {
		t.Errorf("shutdown: lost %v, left in the buffer %v, want 0 and %d", final["lost"], final["left_in_buffer"], n)
	}

	s2 := launch(t, url, index, "/readyz", diskEnv(buf, good...)...)
	s2.waitMetric("logshipper_buffer_events", func(v float64) bool { return v == 0 }, settleTimeout)
	checkExactlyOnce(t, sn.es, index, n)
	if code, b := esDo(t, sn.es, "GET", "/_index_template/"+index, ""); code != 200 {
		t.Errorf("logshipper's template is not on the node after the fix: HTTP %d %s", code, b)
	}
	s2.stop()
	if line := checkBalanced(t, s2.logs.String()); line["recovered"].(float64) != float64(n) {
		t.Errorf("the restart recovered %v events, want %d", line["recovered"], n)
	}
}

// TestSecuredNodeRefuses: a wrong CA file and a wrong password or API key.
// Each is said in one line naming the URL and the setting to look at;
// nothing is lost, and once the setting is fixed every event is indexed.
func TestSecuredNodeRefuses(t *testing.T) {
	sn := startSecuredNode(t)
	const n = 3000
	basic := []string{"LOGSHIPPER_ELASTICSEARCH_USERNAME=" + securedUser, "LOGSHIPPER_ELASTICSEARCH_PASSWORD=" + securedPassword}
	t.Run("wrong-ca", func(t *testing.T) {
		failsThenRecovers(t, sn, sn.basicURL, n,
			append([]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.wrongCAFile}, basic...),
			append([]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile}, basic...),
			sn.basicURL, "certificate", "elasticsearch.ca_file")
	})
	t.Run("no-ca-file", func(t *testing.T) {
		failsThenRecovers(t, sn, sn.basicURL, n, basic,
			append([]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile}, basic...),
			sn.basicURL, "certificate", "elasticsearch.ca_file")
	})
	t.Run("wrong-password", func(t *testing.T) {
		failsThenRecovers(t, sn, sn.basicURL, n,
			[]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile, "LOGSHIPPER_ELASTICSEARCH_USERNAME=" + securedUser,
				"LOGSHIPPER_ELASTICSEARCH_PASSWORD=not-" + securedPassword},
			append([]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile}, basic...),
			sn.basicURL, "HTTP 401", "elasticsearch.username")
	})
	t.Run("wrong-apikey", func(t *testing.T) {
		failsThenRecovers(t, sn, sn.apiKeyURL, n,
			[]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile, "LOGSHIPPER_ELASTICSEARCH_API_KEY=" + securedKeyID + ":wrong"},
			[]string{"LOGSHIPPER_ELASTICSEARCH_CA_FILE=" + sn.caFile, "LOGSHIPPER_ELASTICSEARCH_API_KEY=" + securedKeyID + ":" + securedKeyValue},
			sn.apiKeyURL, "HTTP 401", "security_exception", "elasticsearch.api_key")
	})
}
