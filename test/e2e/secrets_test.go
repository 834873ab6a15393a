package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Credentials never appear in logs or in /metrics, whether Elasticsearch
// answers or not (error paths log the most).
func TestSecretsNeverLogged(t *testing.T) {
	const password = "pw-Zq8vT3secret"
	const apiKey = "apikey-Lm4xR9secret"
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"basic auth", []string{"LOGSHIPPER_ELASTICSEARCH_USERNAME=shipper", "LOGSHIPPER_ELASTICSEARCH_PASSWORD=" + password}},
		{"api key", []string{"LOGSHIPPER_ELASTICSEARCH_API_KEY=" + apiKey}},
		{"url with userinfo", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := esURL(t)
			// The first URL is dead, so the error paths log; the second works.
			dead := "http://127.0.0.1:1"
			if tc.env == nil {
				dead = "http://shipper:" + password + "@127.0.0.1:1"
			}
			env := append([]string{"LOGSHIPPER_ELASTICSEARCH_URLS=" + dead + "," + es, "LOGSHIPPER_LOG_LEVEL=debug"}, tc.env...)
			s := startShipperAt(t, es, uniqueIndex(t, es), env...)
			var lines strings.Builder
			for i := range 200 {
				fmt.Fprintf(&lines, "<13>Nov 26 12:00:00 host app: secret test %d\n", i)
			}
			sendTCP(t, s.addr, []byte(lines.String()))
			deadline := time.Now().Add(30 * time.Second)
			for s.metric("logshipper_events_retried_total") == 0 && s.metric("logshipper_events_indexed_total") < 200 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			resp, err := http.Get("http://" + s.httpAddr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metricsText, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			s.stop()
			for where, text := range map[string]string{"log": s.logs.String(), "/metrics": string(metricsText)} {
				for _, secret := range []string{password, apiKey} {
					if strings.Contains(text, secret) {
						t.Errorf("%s contains a secret:\n%s", where, text)
					}
				}
			}
		})
	}
}
