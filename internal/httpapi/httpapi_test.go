package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "logshipper_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	var esDown atomic.Bool
	s, err := New("127.0.0.1:0", reg, []Check{{Name: "elasticsearch", Func: func(context.Context) error {
		if esDown.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr().String()

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	esDown.Store(true)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "elasticsearch: connection refused") {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "logshipper_test_total 3") {
		t.Fatalf("/metrics lacks the counter:\n%s", body)
	}
}

func TestBusyPortIsAStartError(t *testing.T) {
	s, err := New("127.0.0.1:0", prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if _, err := New(s.Addr().String(), prometheus.NewRegistry(), nil); err == nil || !strings.HasPrefix(err.Error(), "http.listen: ") {
		t.Fatalf("err = %v", err)
	}
}

// Each failing check is named once, whether or not its error already
// starts with its name.
func TestReadyzNamesEachCheckOnce(t *testing.T) {
	s, err := New("127.0.0.1:0", prometheus.NewRegistry(), []Check{
		{Name: "kafka", Func: func(context.Context) error { return errors.New("kafka: no broker answers") }},
		{Name: "disk", Func: func(context.Context) error { return errors.New("buffer: read-only file system") }},
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())
	code, body := get(t, "http://"+s.Addr().String()+"/readyz")
	if code != 503 || body != "not ready: kafka: no broker answers\ndisk: buffer: read-only file system\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
}
