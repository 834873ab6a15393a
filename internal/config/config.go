// Package config resolves logshipper's settings once at start, from
// defaults < YAML file (--config) < environment (LOGSHIPPER_*) < flags,
// and validates them, so a bad value stops the start with one line naming
// the key, the value and what is allowed.
package config

import (
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/inputs/syslog"
	"github.com/logshipper/logshipper/internal/kafkaconn"
	"github.com/logshipper/logshipper/internal/redisconn"
	"github.com/logshipper/logshipper/outputs/elasticsearch"
	"github.com/logshipper/logshipper/pipeline"
)

// EnvPrefix is prepended to every environment variable: elasticsearch.urls
// is LOGSHIPPER_ELASTICSEARCH_URLS.
const EnvPrefix = "LOGSHIPPER"

// Config is every setting of logshipper.
type Config struct {
	Listen         string        `mapstructure:"listen"`
	MaxMessageSize int           `mapstructure:"max_message_size"`
	Timezone       string        `mapstructure:"timezone"`
	MaxConnections int           `mapstructure:"max_connections"`
	IdleTimeout    time.Duration `mapstructure:"idle_timeout"`
	UDP            struct {
		ReadBuffer int `mapstructure:"read_buffer"`
		Readers    int `mapstructure:"readers"`
	} `mapstructure:"udp"`
	TLS syslog.TLSConfig `mapstructure:"tls"`
	// ProxyProtocol and ProxyProtocolTrusted: PROXY protocol v1/v2 from
	// load balancers on the syslog listeners (inputs/syslog/proxyproto.go).
	ProxyProtocol        string   `mapstructure:"proxy_protocol"`
	ProxyProtocolTrusted []string `mapstructure:"proxy_protocol_trusted"`
	Input                struct {
		Type string `mapstructure:"type"`
	} `mapstructure:"input"`
	Output struct {
		Type string `mapstructure:"type"`
	} `mapstructure:"output"`
	Elasticsearch elasticsearch.Config `mapstructure:"elasticsearch"`
	Kafka         kafkaconn.Config     `mapstructure:"kafka"`
	Redis         redisconn.Config     `mapstructure:"redis"`
	Pipeline      pipeline.Config      `mapstructure:"pipeline"`
	Buffer        struct {
		Type     string `mapstructure:"type"`
		Path     string `mapstructure:"path"`
		MaxBytes int    `mapstructure:"max_bytes"`
		Fsync    string `mapstructure:"fsync"`
	} `mapstructure:"buffer"`
	DeadLetter struct {
		Path string `mapstructure:"path"`
	} `mapstructure:"dead_letter"`
	HTTP struct {
		Listen string `mapstructure:"listen"`
	} `mapstructure:"http"`
	Log struct {
		Level         string        `mapstructure:"level"`
		Format        string        `mapstructure:"format"`
		StatsInterval time.Duration `mapstructure:"stats_interval"`
	} `mapstructure:"log"`
	Shutdown struct {
		GracePeriod  time.Duration `mapstructure:"grace_period"`
		DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	} `mapstructure:"shutdown"`

	// Location is Timezone resolved; set by Load.
	Location *time.Location `mapstructure:"-"`
}

// InputTypes are the values of input.type: the inputs cmd/logshipper's
// registry builds (a test there keeps the two lists the same).
var InputTypes = []string{"syslog", "kafka", "redis"}

// OutputTypes are the values of output.type: the outputs cmd/logshipper's
// registry builds (a test there keeps the two lists the same).
var OutputTypes = []string{"elasticsearch", "kafka", "redis"}

// Setting is one key: its default and its one-line help. The list below is
// the single source for defaults, flags, --help and the example file test.
type Setting struct {
	Key     string
	Default any
	Help    string
}

// Settings lists every key in the order --help and configs/logshipper.yaml show them.
var Settings = []Setting{
	{"input.type", "syslog", "where events come from: " + strings.Join(InputTypes, ", ")},
	{"listen", ":10514", "syslog listen address, TCP and UDP both"},
	{"max_message_size", 65536, "longer messages are truncated and tagged _truncated (bytes)"},
	{"timezone", "UTC", "time zone of RFC3164 timestamps, which carry none (IANA name, e.g. Europe/Berlin)"},
	{"max_connections", 4096, "TCP and TLS connections open at once; more are reset (each idle one costs ~10 KiB)"},
	{"idle_timeout", 5 * time.Minute, "close a TCP or TLS connection silent this long (0 = never)"},
	{"udp.read_buffer", 32 << 20, "UDP socket receive buffer asked of the kernel (bytes; capped by net.core.rmem_max unless running with CAP_NET_ADMIN)"},
	{"udp.readers", 1, "goroutines reading the UDP socket"},
	{"tls.listen", "", "RFC5425 syslog over TLS listen address, e.g. :6514 (empty = off)"},
	{"tls.cert_file", "", "PEM server certificate (chain) for tls.listen"},
	{"tls.key_file", "", "PEM private key of tls.cert_file"},
	{"tls.client_ca_file", "", "PEM CA certificates; when set, clients must present a certificate they signed"},
	{"tls.min_version", "1.2", "lowest TLS version accepted: 1.2 or 1.3"},
	{"tls.handshake_timeout", 10 * time.Second, "time a client has to complete the TLS handshake"},
	{"proxy_protocol", syslog.ProxyOff, "PROXY protocol v1/v2 header from a load balancer (TCP, TLS; v2 on UDP) naming the real sender: off, optional (used when present) or required (connections and datagrams without one are refused)"},
	{"proxy_protocol_trusted", []string{}, "load balancers whose PROXY headers are believed, CIDRs or addresses, comma-separated (required unless proxy_protocol is off; a header from anyone else is refused)"},
	{"output.type", "elasticsearch", "where events go: " + strings.Join(OutputTypes, ", ")},
	{"elasticsearch.urls", []string{"http://es:9200"}, "Elasticsearch URLs, comma-separated"},
	{"elasticsearch.index", "syslog-msg", "index name; may hold a date pattern such as syslog-msg-%{+yyyy.MM.dd}"},
	{"elasticsearch.username", "", "basic auth user"},
	{"elasticsearch.password", "", "basic auth password (prefer the environment)"},
	{"elasticsearch.password_file", "", "file holding the password (Docker secrets: /run/secrets/NAME); excludes elasticsearch.password"},
	{"elasticsearch.api_key", "", "API key, base64 of id:key, sent as Authorization: ApiKey"},
	{"elasticsearch.api_key_file", "", "file holding the API key (Docker secrets); excludes elasticsearch.api_key"},
	{"elasticsearch.ca_file", "", "PEM file of the CA that signed Elasticsearch's https certificate"},
	{"elasticsearch.insecure_skip_verify", false, "do not verify Elasticsearch's certificate (testing only)"},
	{"elasticsearch.gzip", false, "gzip bulk request bodies (costs CPU; see README)"},
	{"elasticsearch.sniff", false, "discover nodes from the cluster (breaks behind the Swarm routing mesh)"},
	{"elasticsearch.timeout", 30 * time.Second, "timeout of one bulk request"},
	{"elasticsearch.document_id", "event", "event: each event has its own _id (op_type create), so a re-send is never indexed twice; auto: Elasticsearch picks ids"},
	{"elasticsearch.schema", "logstash", "document fields: logstash (Logstash syslog input names) or ecs"},
	{"elasticsearch.template.enabled", true, "install an index template for the index pattern at start"},
	{"elasticsearch.template.name", "logshipper", "index template name"},
	{"elasticsearch.template.shards", 1, "number_of_shards in the template"},
	{"elasticsearch.template.replicas", 1, "number_of_replicas in the template"},
	{"elasticsearch.template.priority", 200, "priority of the composable template (order of a legacy one)"},
	{"elasticsearch.template.overwrite", false, "replace an existing template of that name (off: an operator's edited template is kept, as in Logstash)"},
	{"elasticsearch.template.mode", "compatible", "mappings: compatible (strings also as <field>.keyword, as dashboards made on Logstash's indices expect) or lean (less cluster CPU per document; see README)"},
	{"elasticsearch.data_stream", false, "elasticsearch.index names a data stream: the template declares it and every event goes with op_type create (index must be a plain name)"},
	{"elasticsearch.lifecycle.policy", "", "install this ILM (Elasticsearch) / ISM (OpenSearch) policy if missing and attach it to new indices through the template (empty = none)"},
	{"elasticsearch.lifecycle.delete_after", "30d", "the policy deletes an index this long after its creation (data stream: after its daily rollover); Nd or Nh"},
	{"kafka.brokers", kafkaconn.DefaultConfig().Brokers, "output.type or input.type kafka: seed brokers, host:port, comma-separated"},
	{"kafka.topic", kafkaconn.DefaultConfig().Topic, "the topic: the edge writes each event's document to it (headers: _id and index), the indexers read it"},
	{"kafka.client_id", kafkaconn.DefaultConfig().ClientID, "client id shown to the brokers (quotas, broker logs)"},
	{"kafka.timeout", kafkaconn.DefaultConfig().Timeout, "timeout of one produce batch (edge) or offset commit (indexer)"},
	{"kafka.compression", kafkaconn.DefaultConfig().Compression, "output.type kafka: record batch compression: " + strings.Join(kafkaconn.Compressions, ", ") + " (see README: measured)"},
	{"kafka.partition_key", kafkaconn.DefaultConfig().PartitionKey, "output.type kafka: record key: source_ip (one sender's order kept), host (the header's hostname) or none (spread)"},
	{"kafka.max_record_bytes", kafkaconn.DefaultConfig().MaxRecordBytes, "output.type kafka: largest record batch sent; keep it at the topic's max.message.bytes (larger records are dead-lettered)"},
	{"kafka.group", kafkaconn.DefaultConfig().Group, "input.type kafka: the indexers' consumer group"},
	{"kafka.start_offset", kafkaconn.DefaultConfig().StartOffset, "input.type kafka: where a new group starts: earliest (everything in the topic) or latest"},
	{"kafka.fetch_max_bytes", kafkaconn.DefaultConfig().FetchMaxBytes, "input.type kafka: the largest fetch, in compressed bytes (about 7x once decompressed)"},
	{"kafka.fetch_min_bytes", kafkaconn.DefaultConfig().FetchMinBytes, "input.type kafka: a broker answers a fetch once it holds this many bytes for it, or after kafka.fetch_max_wait (fuller fetches cost less per record)"},
	{"kafka.fetch_max_wait", kafkaconn.DefaultConfig().FetchMaxWait, "input.type kafka: the longest a broker holds a fetch waiting for kafka.fetch_min_bytes (the latency a quiet topic adds)"},
	{"kafka.session_timeout", kafkaconn.DefaultConfig().SessionTimeout, "input.type kafka: an indexer silent this long (crashed) leaves the group; its partitions go to the others"},
	{"kafka.tls.enabled", false, "connect to the brokers with TLS"},
	{"kafka.tls.ca_file", "", "PEM file of the CA that signed the brokers' certificates"},
	{"kafka.tls.insecure_skip_verify", false, "do not verify the brokers' certificates (testing only)"},
	{"kafka.sasl.mechanism", "", "SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty = none)"},
	{"kafka.sasl.username", "", "SASL user"},
	{"kafka.sasl.password", "", "SASL password (prefer kafka.sasl.password_file)"},
	{"kafka.sasl.password_file", "", "file holding the SASL password (Docker secrets); excludes kafka.sasl.password"},
	{"redis.url", redisconn.DefaultConfig().URL, "output.type or input.type redis: the server, redis://[user:password@]host:port[/db] (rediss:// for TLS)"},
	{"redis.password_file", "", "file holding the Redis password (Docker secrets); replaces one in redis.url"},
	{"redis.ca_file", "", "PEM file of the CA that signed Redis's certificate (rediss://)"},
	{"redis.insecure_skip_verify", false, "do not verify Redis's certificate (testing only)"},
	{"redis.stream", redisconn.DefaultConfig().Stream, "the stream: the edge appends each event to it (XADD) with its document, _id and index; the indexer reads it"},
	{"redis.max_len", redisconn.DefaultConfig().MaxLen, "output.type redis: while this many entries wait for the indexers (unread or unacknowledged), wait (back-pressure) instead of trimming them; acknowledged entries are trimmed (0 = no bound)"},
	{"redis.group", redisconn.DefaultConfig().Group, "input.type redis: the indexers' consumer group on the stream"},
	{"redis.consumer", "", "input.type redis: this indexer's name in the group (empty = host name and process id)"},
	{"redis.claim_idle", redisconn.DefaultConfig().ClaimIdle, "input.type redis: claim entries another indexer read and left unacknowledged this long (it crashed)"},
	{"redis.timeout", redisconn.DefaultConfig().Timeout, "timeout of one round trip to Redis"},
	{"pipeline.queue_size", 32768, "events waiting between listeners and batcher; when full TCP reads stop and UDP drops"},
	{"pipeline.queue_bytes", 16 << 20, "message bytes held in memory from listener to confirmation; same effect as queue_size when reached"},
	{"pipeline.batch_count", 1000, "a bulk request holds at most this many events"},
	{"pipeline.batch_bytes", 5 << 20, "a bulk request holds at most about this many message bytes"},
	{"pipeline.flush_interval", time.Second, "a partial batch is sent after this long"},
	{"pipeline.workers", 2, "bulk requests in flight at once"},
	{"pipeline.retry_initial", 100 * time.Millisecond, "first retry wait after a 429, 5xx or unreachable Elasticsearch"},
	{"pipeline.retry_max", 5 * time.Second, "longest retry wait (exponential backoff with full jitter)"},
	{"buffer.type", "memory", "memory, or disk: a write-ahead log that keeps events through crashes, restarts and outages"},
	{"buffer.path", "data/buffer", "directory of the disk buffer"},
	{"buffer.max_bytes", 1 << 30, "disk buffer size limit; when full, TCP senders wait and UDP datagrams are dropped (reason buffer_full)"},
	{"buffer.fsync", "batch", "disk buffer durability: batch (fsync before taking in more from a connection, within 2 ms if it sends nothing more), always, or never (OS decides)"},
	{"dead_letter.path", "data/dead-letter.ndjson", "file of events Elasticsearch rejected for good (JSON lines)"},
	{"http.listen", ":9600", "address of /healthz, /readyz and /metrics"},
	{"log.level", "info", "debug, info, warn or error"},
	{"log.format", "json", "json or console"},
	{"log.stats_interval", 30 * time.Second, "how often counters are logged when they changed (0 turns it off)"},
	{"shutdown.grace_period", 10 * time.Second, "on SIGTERM, time to drain connections and flush queued events before exiting (keep below Docker's stop grace period)"},
	{"shutdown.drain_timeout", 5 * time.Second, "on SIGTERM, how long open TCP connections are still read after their senders were told to reconnect elsewhere (0 = cut them at once); at most half of grace_period, so the flush keeps the rest"},
}

// Flags registers one flag per setting, named like the key, plus --config.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML configuration file (see configs/logshipper.yaml)")
	for _, s := range Settings {
		switch d := s.Default.(type) {
		case string:
			fs.String(s.Key, d, s.Help)
		case int:
			fs.Int(s.Key, d, s.Help)
		case bool:
			fs.Bool(s.Key, d, s.Help)
		case time.Duration:
			fs.Duration(s.Key, d, s.Help)
		case []string:
			fs.StringSlice(s.Key, d, s.Help)
		default:
			panic(fmt.Sprintf("config: setting %s has unsupported default type %T", s.Key, d))
		}
	}
}

// EnvName is the environment variable of a key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load resolves the configuration from fs (already parsed) and the
// environment given as os.Environ-style lookups.
func Load(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (*Config, error) {
	v := viper.New()
	for _, s := range Settings {
		v.SetDefault(s.Key, s.Default)
	}
	if path, _ := fs.GetString("config"); path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %q: %v", path, err)
		}
		if err := checkUnknownKeys(v); err != nil {
			return nil, fmt.Errorf("config file %q: %v", path, err)
		}
	}
	// Environment: set explicitly rather than through viper.AutomaticEnv so
	// the lookup is injectable in tests and an empty variable still counts.
	for _, s := range Settings {
		if val, ok := lookupEnv(EnvName(s.Key)); ok {
			v.Set(s.Key, val)
		}
	}
	// Flags last: viper's Set outranks everything, so apply them after the
	// environment.
	for _, s := range Settings {
		f := fs.Lookup(s.Key)
		if f == nil || !f.Changed {
			continue
		}
		if _, isList := s.Default.([]string); isList {
			list, _ := fs.GetStringSlice(s.Key)
			v.Set(s.Key, list)
		} else {
			v.Set(s.Key, f.Value.String())
		}
	}

	var c Config
	for _, s := range Settings {
		if err := decode(v, s, &c); err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// decode reads one key with the type of its default, so a bad value is
// reported with its key instead of as a generic decoding failure.
func decode(v *viper.Viper, s Setting, c *Config) error {
	raw := v.Get(s.Key)
	bad := func(want string) error {
		return fmt.Errorf("%s: %q is not %s (set by %s, --%s or the config file)", s.Key, fmt.Sprint(raw), want, EnvName(s.Key), s.Key)
	}
	str := strings.TrimSpace(fmt.Sprint(raw))
	var (
		sv  string
		iv  int
		bv  bool
		dv  time.Duration
		lv  []string
		err error
	)
	switch s.Default.(type) {
	case string:
		sv = fmt.Sprint(raw)
	case int:
		if iv, err = strconv.Atoi(str); err != nil {
			return bad("a whole number")
		}
	case bool:
		if bv, err = strconv.ParseBool(str); err != nil {
			return bad("true or false")
		}
	case time.Duration:
		if d, ok := raw.(time.Duration); ok {
			dv = d
		} else if dv, err = time.ParseDuration(str); err != nil {
			return bad("a duration such as 10s or 500ms")
		}
	case []string:
		switch x := raw.(type) {
		case []string:
			lv = x
		case []any:
			for _, e := range x {
				lv = append(lv, fmt.Sprint(e))
			}
		default:
			lv = strings.Split(str, ",")
		}
		// Never nil: an empty list from the file ([]) equals the default.
		out := make([]string, 0, len(lv))
		for _, e := range lv {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		lv = out
	}
	var val any
	switch s.Default.(type) {
	case string:
		val = sv
	case int:
		val = iv
	case bool:
		val = bv
	case time.Duration:
		val = dv
	case []string:
		val = lv
	}
	return setByKey(reflect.ValueOf(c).Elem(), s.Key, val)
}

// setByKey stores val in the field whose mapstructure tags spell key
// ("elasticsearch.template.shards"), so that the component configs can be
// embedded as they are and no key is mapped by hand.
func setByKey(v reflect.Value, key string, val any) error {
	name, rest, nested := strings.Cut(key, ".")
	t := v.Type()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ","); tag != name {
			continue
		}
		f := v.Field(i)
		if nested {
			return setByKey(f, rest, val)
		}
		rv := reflect.ValueOf(val)
		if !rv.Type().AssignableTo(f.Type()) {
			return fmt.Errorf("config: setting %s is %s, field is %s", key, rv.Type(), f.Type())
		}
		f.Set(rv)
		return nil
	}
	return fmt.Errorf("config: setting %s has no field", key)
}

// checkUnknownKeys catches typos in the file: an unknown key would
// otherwise be ignored silently and the default used.
func checkUnknownKeys(v *viper.Viper) error {
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Key] = true
	}
	for _, k := range v.AllKeys() {
		if !known[k] {
			return fmt.Errorf("unknown key %q; see configs/logshipper.yaml for the keys", k)
		}
	}
	return nil
}

func (c *Config) validate() error {
	if err := checkHostPort("listen", c.Listen, ":10514"); err != nil {
		return err
	}
	if err := checkHostPort("http.listen", c.HTTP.Listen, ":9600"); err != nil {
		return err
	}
	if c.MaxMessageSize < 480 || c.MaxMessageSize > 16<<20 {
		// RFC 3164 allows 1024 bytes and RFC 5424 requires receivers to take 480.
		return fmt.Errorf("max_message_size: %d is out of range; use 480 to 16777216 bytes (default 65536)", c.MaxMessageSize)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		return fmt.Errorf("timezone: %q is not a known time zone; use an IANA name such as UTC or Europe/Berlin", c.Timezone)
	}
	c.Location = loc
	if c.MaxConnections < 1 || c.MaxConnections > 1<<20 {
		return fmt.Errorf("max_connections: %d is out of range; use 1 to 1048576 (default 4096)", c.MaxConnections)
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("idle_timeout: %s is negative; use 0 to never close idle connections", c.IdleTimeout)
	}
	if !slices.Contains(InputTypes, c.Input.Type) {
		return fmt.Errorf("input.type: %q is not an input; use one of: %s", c.Input.Type, strings.Join(InputTypes, ", "))
	}
	if !slices.Contains(OutputTypes, c.Output.Type) {
		return fmt.Errorf("output.type: %q is not an output; use one of: %s", c.Output.Type, strings.Join(OutputTypes, ", "))
	}
	switch c.Buffer.Type {
	case "memory":
	case "disk":
		if c.Buffer.Path == "" {
			return fmt.Errorf("buffer.path: empty; give a directory such as /var/lib/logshipper/buffer")
		}
		if c.Buffer.MaxBytes < 1<<20 {
			return fmt.Errorf("buffer.max_bytes: %d is too small; use at least 1048576 (default 1073741824)", c.Buffer.MaxBytes)
		}
	default:
		return fmt.Errorf("buffer.type: %q is not allowed; use memory or disk", c.Buffer.Type)
	}
	if _, err := buffer.ParseFsyncPolicy(c.Buffer.Fsync); err != nil {
		return err
	}
	if err := syslog.CheckProxyProtocol(c.ProxyProtocol, c.ProxyProtocolTrusted); err != nil {
		return err
	}
	if c.UDP.ReadBuffer < 0 {
		return fmt.Errorf("udp.read_buffer: %d is negative; use bytes, e.g. 33554432", c.UDP.ReadBuffer)
	}
	if c.UDP.Readers < 1 || c.UDP.Readers > 64 {
		return fmt.Errorf("udp.readers: %d is out of range; use 1 to 64 (default 1)", c.UDP.Readers)
	}
	if err := readSecretFile("elasticsearch.password", &c.Elasticsearch.Password, c.Elasticsearch.PasswordFile); err != nil {
		return err
	}
	if err := readSecretFile("elasticsearch.api_key", &c.Elasticsearch.APIKey, c.Elasticsearch.APIKeyFile); err != nil {
		return err
	}
	if c.Output.Type == "kafka" || c.Input.Type == "kafka" {
		if err := c.Kafka.Validate(); err != nil {
			return err
		}
	}
	if c.Output.Type == "redis" || c.Input.Type == "redis" {
		if err := c.Redis.Validate(); err != nil {
			return err
		}
	}
	if c.Input.Type != "syslog" && c.Buffer.Type == "disk" {
		return fmt.Errorf("buffer.type: disk with input.type %s: the broker keeps every record until it is indexed, a disk buffer would only store it twice; use buffer.type memory", c.Input.Type)
	}
	if c.Input.Type != "syslog" && c.Output.Type != "elasticsearch" {
		return fmt.Errorf("output.type: %s with input.type %s: an indexer reads the queue tier into Elasticsearch; use output.type elasticsearch", c.Output.Type, c.Input.Type)
	}
	if err := c.Elasticsearch.Validate(); err != nil {
		return err
	}
	if c.Elasticsearch.CAFile != "" {
		if _, err := os.Stat(c.Elasticsearch.CAFile); err != nil {
			return fmt.Errorf("elasticsearch.ca_file: %q cannot be read: %v", c.Elasticsearch.CAFile, err)
		}
	}
	if err := c.Pipeline.Validate(); err != nil {
		return err
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not allowed; use debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		return fmt.Errorf("log.format: %q is not allowed; use json or console", c.Log.Format)
	}
	if c.Log.StatsInterval < 0 {
		return fmt.Errorf("log.stats_interval: %s is negative; use 0 to turn it off", c.Log.StatsInterval)
	}
	if c.Shutdown.GracePeriod <= 0 {
		return fmt.Errorf("shutdown.grace_period: %s must be positive, e.g. 10s", c.Shutdown.GracePeriod)
	}
	if c.Shutdown.DrainTimeout < 0 {
		return fmt.Errorf("shutdown.drain_timeout: %s is negative; use 0 to cut connections at once", c.Shutdown.DrainTimeout)
	}
	return nil
}

// readSecretFile fills *secret from file, as Docker secrets are handed
// over; the error never shows the secret.
func readSecretFile(key string, secret *string, file string) error {
	if file == "" {
		return nil
	}
	if *secret != "" {
		return fmt.Errorf("%s_file: %q is set together with %s; set one of them", key, file, key)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%s_file: %q cannot be read: %v", key, file, err)
	}
	*secret = strings.TrimRight(string(b), "\r\n")
	if *secret == "" {
		return fmt.Errorf("%s_file: %q is empty", key, file)
	}
	return nil
}

func checkHostPort(key, addr, example string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port; use e.g. %q", key, addr, example)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s: %q has a bad port; use 0 to 65535, e.g. %q", key, addr, example)
	}
	return nil
}
