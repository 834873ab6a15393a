package elasticsearch

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

// Behind a PROXY protocol balancer: host is the sender the header named,
// the balancer goes to proxy_host (logstash schema, Logstash tcp input's
// name) or observer.ip (ECS), and both are mapped. Without a balancer
// neither field is written.
func TestProxyFields(t *testing.T) {
	ev := &event.Event{
		Received:  time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Transport: "tcp",
		SourceIP:  "192.0.2.7",
		ProxyIP:   "fe80::2%eth0",
		Raw:       []byte("x"),
		Message:   "x",
		Priority:  13,
	}
	m := checkDocument(t, AppendDocument(nil, ev))
	if m["host"] != "192.0.2.7" || m["proxy_host"] != "fe80::2%eth0" {
		t.Errorf("logstash: host %v proxy_host %v", m["host"], m["proxy_host"])
	}
	m = checkDocument(t, SchemaECS.AppendDocument(nil, ev))
	host, _ := m["host"].(map[string]any)
	obs, _ := m["observer"].(map[string]any)
	if host["ip"] != "192.0.2.7" || obs["ip"] != "fe80::2" {
		t.Errorf("ecs: host %v observer %v (the zone stripped: ip type)", m["host"], m["observer"])
	}

	ev.ProxyIP = ""
	for _, s := range []Schema{SchemaLogstash, SchemaECS} {
		m := checkDocument(t, s.AppendDocument(nil, ev))
		if _, ok := m["proxy_host"]; ok {
			t.Errorf("%s: proxy_host without a balancer", s)
		}
		if _, ok := m["observer"]; ok {
			t.Errorf("%s: observer without a balancer", s)
		}
	}

	lp := Mappings(SchemaLogstash)["properties"].(map[string]any)
	if lp["proxy_host"] == nil {
		t.Error("logstash mappings: no proxy_host")
	}
	ep := Mappings(SchemaECS)["properties"].(map[string]any)
	o, _ := ep["observer"].(map[string]any)
	if ip, _ := o["properties"].(map[string]any)["ip"].(map[string]any); ip["type"] != "ip" {
		t.Errorf("ecs mappings: observer %v, want observer.ip of type ip", ep["observer"])
	}
}
