package nginxstream

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, c := range []Config{
		{Listen: "127.0.0.1:1", Upstreams: []string{"127.0.0.1:2", "127.0.0.1:3"}, UDP: true},
		{Listen: "127.0.0.1:1", Upstreams: []string{"127.0.0.1:2"}, ProxyProtocol: true, ProxyBind: "127.0.0.9"},
	} {
		c.Dir, c.Module = t.TempDir(), "/nonexistent/ngx_stream_module.so"
		args, err := c.Write()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(args[3])
		if err != nil {
			t.Fatal(err)
		}
		conf := string(b)
		for _, want := range []string{"listen 127.0.0.1:1;", "server 127.0.0.1:2 max_fails=1", "proxy_half_close on;"} {
			if !strings.Contains(conf, want) {
				t.Errorf("no %q in:\n%s", want, conf)
			}
		}
		if got := strings.Contains(conf, "listen 127.0.0.1:1 udp;"); got != c.UDP {
			t.Errorf("UDP %v, config:\n%s", c.UDP, conf)
		}
		if got := strings.Contains(conf, "proxy_protocol on;\n        proxy_bind 127.0.0.9;"); got != c.ProxyProtocol {
			t.Errorf("PROXY protocol %v, config:\n%s", c.ProxyProtocol, conf)
		}
		// nginx itself checks the syntax when testenv/nginx.sh provided it.
		if bin := os.Getenv("LOGSHIPPER_TEST_NGINX"); bin != "" {
			module, err := StreamModule(bin)
			if err != nil {
				t.Fatal(err)
			}
			c.Module = module
			args, err := c.Write()
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, append([]string{"-t", "-q"}, args...)...).CombinedOutput(); err != nil {
				t.Errorf("nginx -t: %v\n%s", err, out)
			}
		}
	}
}
