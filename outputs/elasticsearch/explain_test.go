package elasticsearch

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/logshipper/logshipper/internal/testes"
	"github.com/logshipper/logshipper/pipeline"
)

// writePEMCert writes a DER certificate as a PEM file.
func writePEMCert(t *testing.T, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A node whose certificate logshipper does not trust: the bulk request,
// the template and the ping each fail with one line naming the URL, what
// is wrong and elasticsearch.ca_file; with the right CA file all goes.
func TestExplainUntrustedCertificate(t *testing.T) {
	node := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answerBulk(201)(w, &seenRequest{Path: r.URL.Path, Body: mustRead(r)})
	}))
	node.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	node.StartTLS()
	t.Cleanup(node.Close)
	wrong := testes.NewCA(t, "another CA").CAFile
	for _, tc := range []struct {
		name, caFile, want string
	}{
		{"wrong ca_file", wrong, "the node's certificate is not signed by the CA in elasticsearch.ca_file (" + wrong + ")"},
		{"no ca_file", "", "the node's certificate is not signed by a CA this system trusts: set elasticsearch.ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(node.URL)
			cfg.CAFile = tc.caFile
			cfg.Template.Enabled = true
			o := newTestOutput(t, cfg)
			_, err := o.WriteBatch(context.Background(), testEvents(2))
			ping := o.Ping(context.Background())
			for what, err := range map[string]error{"WriteBatch": err, "Ping": ping} {
				if err == nil {
					t.Fatalf("%s: no error through an untrusted certificate", what)
				}
				msg := err.Error()
				if !strings.Contains(msg, node.URL) || !strings.Contains(msg, "x509: certificate signed by unknown authority") ||
					!strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
					t.Errorf("%s: %s\nwant one line with the URL, the x509 error and %q", what, msg, tc.want)
				}
			}
			t.Logf("%v", err)
		})
	}
	cfg := testConfig(node.URL)
	cfg.CAFile = writePEMCert(t, node.Certificate().Raw)
	if res, err := newTestOutput(t, cfg).WriteBatch(context.Background(), testEvents(2)); err != nil || res[0].Status != pipeline.Delivered {
		t.Errorf("with the right CA: %v %v", res, err)
	}
}

func mustRead(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

// 401: the line names the URL and the setting behind the credentials in
// use. The template is not given up for it (as it is for a 403, Logstash's
// way): nothing can be indexed without valid credentials either, and once
// they are fixed on the cluster's side, within the same run, the template
// must go in before the first index is made.
func TestExplainUnauthorized(t *testing.T) {
	var accept atomic.Bool
	es := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) {
		if !accept.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user [shipper] for REST request [/_bulk]"},"status":401}`)
			return
		}
		if strings.Contains(r.Path, "_index_template") && r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		answerBulk(201)(w, r)
	})
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"password", func(c *Config) { c.Username, c.Password = "shipper", "wrong" },
			`the node refused user "shipper" and its password: check elasticsearch.username and elasticsearch.password (or password_file)`},
		{"api key", func(c *Config) { c.APIKey = "id:wrong" }, "the node refused the API key: check elasticsearch.api_key (or api_key_file)"},
		{"none", func(*Config) {}, "the node wants credentials: set elasticsearch.username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accept.Store(false)
			cfg := testConfig(es.URL)
			cfg.Template.Enabled = true
			tc.set(&cfg)
			o := newTestOutput(t, cfg)
			err := o.InstallTemplate(context.Background())
			var te *TemplateError
			if !errors.As(err, &te) || te.Permanent() {
				t.Errorf("InstallTemplate = %v; want a TemplateError that is not permanent", err)
			}
			_, err = o.WriteBatch(context.Background(), testEvents(2))
			want := es.URL + ": HTTP 401: security_exception: unable to authenticate user [shipper] for REST request [/_bulk]; " + tc.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("WriteBatch = %v\nwant it to say %s", err, want)
			}
			t.Logf("%v", err)
			if o.tmplDone.Load() {
				t.Error("the template was given up after a 401")
			}
			accept.Store(true) // the password is fixed on the cluster's side
			if res, err := o.WriteBatch(context.Background(), testEvents(2)); err != nil || res[0].Status != pipeline.Delivered {
				t.Errorf("after the fix: %v %v", res, err)
			}
			if !o.tmplDone.Load() {
				t.Error("the template was not installed after the fix")
			}
		})
	}
}

// The bulk request's answer names the node it came from: with several
// URLs that is the one to look at.
func TestExplainNamesTheNode(t *testing.T) {
	up := newFakeES(t, func(w http.ResponseWriter, r *seenRequest) { w.WriteHeader(http.StatusServiceUnavailable) })
	cfg := testConfig(up.URL)
	cfg.URLs = []string{"http://user:secret@" + strings.TrimPrefix(up.URL, "http://")}
	_, err := newTestOutput(t, cfg).WriteBatch(context.Background(), testEvents(1))
	if want := "http://user:xxxxx@" + strings.TrimPrefix(up.URL, "http://") + ": HTTP 503 Service Unavailable"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("WriteBatch = %v; want it to end with %s", err, want)
	}
}
