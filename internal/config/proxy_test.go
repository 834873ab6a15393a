package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// proxy_protocol and proxy_protocol_trusted from the environment, the file
// (a list or a comma-separated string; YAML's unquoted off is the mode, not
// false) and flags, and every bad value refused with one line naming the key
// and quoting the value.
func TestProxyProtocolSettings(t *testing.T) {
	c, err := load(t, nil, map[string]string{
		"LOGSHIPPER_PROXY_PROTOCOL":         "required",
		"LOGSHIPPER_PROXY_PROTOCOL_TRUSTED": "10.0.0.0/8, 192.0.2.7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyProtocol != "required" || !slices.Equal(c.ProxyProtocolTrusted, []string{"10.0.0.0/8", "192.0.2.7"}) {
		t.Errorf("from the environment: %q %q", c.ProxyProtocol, c.ProxyProtocolTrusted)
	}

	c, err = load(t, []string{"--proxy_protocol=optional", "--proxy_protocol_trusted=fd00::/8,10.1.0.0/16"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyProtocol != "optional" || !slices.Equal(c.ProxyProtocolTrusted, []string{"fd00::/8", "10.1.0.0/16"}) {
		t.Errorf("from flags: %q %q", c.ProxyProtocol, c.ProxyProtocolTrusted)
	}

	dir := t.TempDir()
	for name, yaml := range map[string]string{
		"list":   "proxy_protocol: optional\nproxy_protocol_trusted:\n  - 10.0.0.0/8\n  - 192.0.2.7\n",
		"string": "proxy_protocol: optional\nproxy_protocol_trusted: \"10.0.0.0/8,192.0.2.7\"\n",
	} {
		path := filepath.Join(dir, name+".yaml")
		os.WriteFile(path, []byte(yaml), 0o600)
		c, err := load(t, []string{"--config", path}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.ProxyProtocol != "optional" || !slices.Equal(c.ProxyProtocolTrusted, []string{"10.0.0.0/8", "192.0.2.7"}) {
			t.Errorf("%s: %q %q", name, c.ProxyProtocol, c.ProxyProtocolTrusted)
		}
	}
	path := filepath.Join(dir, "off.yaml")
	os.WriteFile(path, []byte("proxy_protocol: off\n"), 0o600)
	if c, err := load(t, []string{"--config", path}, nil); err != nil || c.ProxyProtocol != "off" {
		t.Errorf("unquoted off in YAML: %v, %+v", err, c)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL": "v2"}, `proxy_protocol: "v2" is not allowed; use off (the default), optional or required`},
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL": "required"}, `proxy_protocol: "required" needs proxy_protocol_trusted`},
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL": "optional", "LOGSHIPPER_PROXY_PROTOCOL_TRUSTED": " , "}, `proxy_protocol: "optional" needs proxy_protocol_trusted`},
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL": "required", "LOGSHIPPER_PROXY_PROTOCOL_TRUSTED": "10.0.0.0/33"}, `proxy_protocol_trusted: "10.0.0.0/33" is not an address range`},
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL": "required", "LOGSHIPPER_PROXY_PROTOCOL_TRUSTED": "10.0.0.0/8,lb.example"}, `proxy_protocol_trusted: "lb.example" is not an address range`},
		{map[string]string{"LOGSHIPPER_PROXY_PROTOCOL_TRUSTED": "10.0.0.0/8"}, `proxy_protocol_trusted is set ("10.0.0.0/8") but proxy_protocol is off`},
	} {
		_, err := load(t, nil, tc.env)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v\nwant an error starting %s", tc.env, err, tc.want)
		}
	}
}
