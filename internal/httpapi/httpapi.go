// Package httpapi serves logshipper's operational endpoints: /healthz
// (the process is alive), /readyz (listeners up and Elasticsearch
// reachable) and /metrics (Prometheus).
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition; nil means ready.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Server is the HTTP endpoint.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// New binds addr. Binding here, not in Serve, makes a busy port a start
// error instead of a log line after the start.
func New(addr string, reg prometheus.Gatherer, checks []Check) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %q: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var errs []error
		for _, c := range checks {
			if err := c.Func(ctx); err != nil {
				// Name the check once: most components' errors already
				// start with their name ("kafka: no broker answers").
				if !strings.HasPrefix(err.Error(), c.Name+": ") {
					err = fmt.Errorf("%s: %w", c.Name, err)
				}
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &Server{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, letting in-flight requests finish within ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
