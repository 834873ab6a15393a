// Package nginxstream writes the configuration of nginx's stream module as the
// end-to-end tests and the benches run it (Debian's nginx, fetched by
// testenv/nginx.sh): a layer-4 balancer standing in for Swarm's routing
// mesh, or a PROXY protocol balancer in front of logshipper.
package nginxstream

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is one balancer: where it listens, where it sends.
type Config struct {
	Dir       string   // nginx's prefix: nginx.conf, error.log and nginx.pid go here
	Module    string   // ngx_stream_module.so (StreamModule finds it)
	Listen    string   // host:port
	Upstreams []string // host:port of each backend
	// UDP balances UDP on Listen too, over the same group: a backend that
	// refused a TCP connect is skipped for UDP as well during fail_timeout;
	// otherwise nginx never notices a stopped UDP backend.
	UDP bool
	// ProxyProtocol sends a PROXY v1 line naming the client first; from
	// ProxyBind, the balancer's own address towards the backends.
	ProxyProtocol bool
	ProxyBind     string
}

// StreamModule returns ngx_stream_module.so beside the nginx binary in
// Debian's layout (<root>/usr/sbin/nginx, <root>/usr/lib/nginx/modules/).
func StreamModule(nginx string) (string, error) {
	root := filepath.Dir(filepath.Dir(filepath.Dir(nginx)))
	module := filepath.Join(root, "usr/lib/nginx/modules/ngx_stream_module.so")
	if _, err := os.Stat(module); err != nil {
		return "", fmt.Errorf("stream module next to %s: %w", nginx, err)
	}
	return module, nil
}

// Write writes Dir/nginx.conf and returns nginx's arguments to run it in
// the foreground.
func (n Config) Write() ([]string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 1;
error_log %[1]s/error.log info;
pid %[1]s/nginx.pid;
load_module %[2]s;
events {}
stream {
    upstream backends {
`, n.Dir, n.Module)
	for _, u := range n.Upstreams {
		// A refused connect marks the backend down for a second; the
		// connection goes to the next one (proxy_next_upstream).
		fmt.Fprintf(&b, "        server %s max_fails=1 fail_timeout=1s;\n", u)
	}
	fmt.Fprintf(&b, `    }
    server {
        listen %s;
        proxy_pass backends;
        # A backend's FIN reaches the sender while the sender's data still
        # flows to the backend, as through IPVS, which is layer 4.
        proxy_half_close on;
        proxy_next_upstream on;
        proxy_connect_timeout 1s;
        proxy_timeout 10m;
`, n.Listen)
	if n.ProxyProtocol {
		fmt.Fprintf(&b, "        proxy_protocol on;\n        proxy_bind %s;\n", n.ProxyBind)
	}
	b.WriteString("    }\n")
	if n.UDP {
		fmt.Fprintf(&b, `    server {
        listen %s udp;
        proxy_pass backends;
        proxy_responses 0;
    }
`, n.Listen)
	}
	b.WriteString("}\n")
	conf := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return []string{"-p", n.Dir + "/", "-c", conf, "-e", filepath.Join(n.Dir, "error.log")}, nil
}
