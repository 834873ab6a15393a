package syslog

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logshipper/logshipper/metrics"
)

// Metrics are the syslog input's own instruments. What it receives,
// truncates and drops goes into the shared account (Config.Events).
type Metrics struct {
	Connections      prometheus.Gauge
	ConnectionsLimit prometheus.Gauge
	Errors           *prometheus.CounterVec // by kind
	// ProxyHeaders counts the PROXY protocol headers believed, by version
	// ("1", "2") and command ("proxy": a sender named; "local": the
	// balancer's own connection, its health check). Refused ones are
	// Errors of the proxy_* kinds.
	ProxyHeaders *prometheus.CounterVec
}

// inputErrorKinds are the Errors label values, pre-created so they read 0.
var inputErrorKinds = []string{kindOversize, kindBadOctetCount, kindAccept, kindTCPRead, kindUDPRead,
	kindMaxConnections, kindIdleTimeout, kindTLSHandshake,
	kindProxyMissing, kindProxyUntrusted, kindProxyInvalid, kindProxyTimeout}

// NewMetrics makes the input's instruments and registers them on reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logshipper_tcp_connections",
			Help: "Open TCP syslog connections, plain and TLS.",
		}),
		ConnectionsLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logshipper_tcp_connections_limit",
			Help: "The most TCP syslog connections (plain and TLS) open at once (max_connections); more are refused and counted in logshipper_input_errors_total{kind=\"max_connections\"}.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_input_errors_total",
			Help: "Problems with received data and connections, by kind: framing (oversize, bad_octet_count), connections (max_connections, idle_timeout, tls_handshake, accept, tcp_read, udp_read), PROXY protocol headers refused (proxy_missing, proxy_untrusted, proxy_invalid, proxy_timeout).",
		}, []string{"kind"}),
		ProxyHeaders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logshipper_proxy_headers_total",
			Help: "PROXY protocol headers believed (from a peer in proxy_protocol_trusted), by version (1, 2) and command (proxy: the header names the sender; local: the balancer's own connection, the peer address is kept).",
		}, []string{"version", "command"}),
	}
	for _, k := range inputErrorKinds {
		m.Errors.WithLabelValues(k)
	}
	for _, v := range []string{"1", "2"} {
		for _, c := range []string{"proxy", "local"} {
			m.ProxyHeaders.WithLabelValues(v, c)
		}
	}
	if reg != nil {
		reg.MustRegister(m.Connections, m.ConnectionsLimit, m.Errors, m.ProxyHeaders)
	}
	return m
}

// counters are the instruments a server adds to, resolved once:
// WithLabelValues hashes its labels on every call.
type counters struct {
	receivedTCP, receivedUDP, receivedTLS                prometheus.Counter
	truncated                                            prometheus.Counter
	droppedShutdown, droppedUDPKernel                    prometheus.Counter
	dropped                                              *prometheus.CounterVec
	connections                                          prometheus.Gauge
	errOversize, errBadOctetCount, errAccept, errTCPRead prometheus.Counter
	errUDPRead, errMaxConnections, errIdleTimeout        prometheus.Counter
	errTLSHandshake                                      prometheus.Counter
	// PROXY protocol: refusals by kind, headers by version and command.
	errProxy     map[string]prometheus.Counter
	proxyHeaderN [3][2]prometheus.Counter // [version][local]
}

// proxyRefused is the counter of a proxy_* kind.
func (c *counters) proxyRefused(kind string) prometheus.Counter { return c.errProxy[kind] }

// proxyHeaders is the counter of a believed header.
func (c *counters) proxyHeaders(r proxyResult) prometheus.Counter {
	local := 0
	if r.local {
		local = 1
	}
	return c.proxyHeaderN[r.version][local]
}

func newCounters(e *metrics.Events, m *Metrics) counters {
	kind := func(k string) prometheus.Counter { return m.Errors.WithLabelValues(k) }
	return counters{
		receivedTCP:       e.Received.WithLabelValues("tcp"),
		receivedUDP:       e.Received.WithLabelValues("udp"),
		receivedTLS:       e.Received.WithLabelValues("tls"),
		truncated:         e.Truncated,
		droppedShutdown:   e.Dropped.WithLabelValues(metrics.DropShutdown),
		droppedUDPKernel:  e.Dropped.WithLabelValues(metrics.DropUDPKernel),
		dropped:           e.Dropped,
		connections:       m.Connections,
		errOversize:       kind(kindOversize),
		errBadOctetCount:  kind(kindBadOctetCount),
		errAccept:         kind(kindAccept),
		errTCPRead:        kind(kindTCPRead),
		errUDPRead:        kind(kindUDPRead),
		errMaxConnections: kind(kindMaxConnections),
		errIdleTimeout:    kind(kindIdleTimeout),
		errTLSHandshake:   kind(kindTLSHandshake),
		errProxy: map[string]prometheus.Counter{
			kindProxyMissing:   kind(kindProxyMissing),
			kindProxyUntrusted: kind(kindProxyUntrusted),
			kindProxyInvalid:   kind(kindProxyInvalid),
			kindProxyTimeout:   kind(kindProxyTimeout),
		},
		proxyHeaderN: [3][2]prometheus.Counter{
			1: {m.ProxyHeaders.WithLabelValues("1", "proxy"), m.ProxyHeaders.WithLabelValues("1", "local")},
			2: {m.ProxyHeaders.WithLabelValues("2", "proxy"), m.ProxyHeaders.WithLabelValues("2", "local")},
		},
	}
}
