package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":10514" || c.HTTP.Listen != ":9600" || c.Elasticsearch.Index != "syslog-msg" ||
		len(c.Elasticsearch.URLs) != 1 || c.Elasticsearch.URLs[0] != "http://es:9200" ||
		c.Shutdown.GracePeriod != 10*time.Second || c.Location != time.UTC || c.MaxMessageSize != 65536 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("listen: \":1000\"\nelasticsearch:\n  index: from-file\n  urls: [http://a:9200]\nhttp:\n  listen: \":1001\"\n"), 0o600)
	env := map[string]string{
		"LOGSHIPPER_ELASTICSEARCH_INDEX": "from-env",
		"LOGSHIPPER_ELASTICSEARCH_URLS":  "http://e1:9200, http://e2:9200",
		"LOGSHIPPER_HTTP_LISTEN":         ":2001",
		"LOGSHIPPER_PIPELINE_WORKERS":    "3",
	}
	c, err := load(t, []string{"--config", file, "--http.listen", ":3001"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":1000" {
		t.Errorf("listen = %q, want the file's", c.Listen)
	}
	if c.Elasticsearch.Index != "from-env" {
		t.Errorf("index = %q, want the environment's", c.Elasticsearch.Index)
	}
	if got := strings.Join(c.Elasticsearch.URLs, " "); got != "http://e1:9200 http://e2:9200" {
		t.Errorf("urls = %q", got)
	}
	if c.HTTP.Listen != ":3001" {
		t.Errorf("http.listen = %q, want the flag's", c.HTTP.Listen)
	}
	if c.Pipeline.Workers != 3 {
		t.Errorf("workers = %d", c.Pipeline.Workers)
	}
}

func TestBadValuesNameKeyAndValue(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LOGSHIPPER_LISTEN": "10514"}, `listen: "10514" is not host:port; use e.g. ":10514"`},
		{map[string]string{"LOGSHIPPER_ELASTICSEARCH_URLS": "es:9200"}, `elasticsearch.urls: "es:9200" is not a URL; use http://host:port or https://host:port`},
		{map[string]string{"LOGSHIPPER_PIPELINE_WORKERS": "many"}, `pipeline.workers: "many" is not a whole number (set by LOGSHIPPER_PIPELINE_WORKERS, --pipeline.workers or the config file)`},
		{map[string]string{"LOGSHIPPER_SHUTDOWN_GRACE_PERIOD": "10"}, `shutdown.grace_period: "10" is not a duration such as 10s or 500ms`},
		{map[string]string{"LOGSHIPPER_SHUTDOWN_DRAIN_TIMEOUT": "-1s"}, `shutdown.drain_timeout: -1s is negative; use 0 to cut connections at once`},
		{map[string]string{"LOGSHIPPER_TIMEZONE": "Mars/Olympus"}, `timezone: "Mars/Olympus" is not a known time zone`},
		{map[string]string{"LOGSHIPPER_ELASTICSEARCH_SCHEMA": "gelf"}, `elasticsearch.schema: "gelf" is not a schema; use "logstash" or "ecs"`},
		{map[string]string{"LOGSHIPPER_MAX_MESSAGE_SIZE": "10"}, `max_message_size: 10 is out of range`},
		{map[string]string{"LOGSHIPPER_LOG_LEVEL": "loud"}, `log.level: "loud" is not allowed`},
		{map[string]string{"LOGSHIPPER_ELASTICSEARCH_GZIP": "maybe"}, `elasticsearch.gzip: "maybe" is not true or false`},
		{map[string]string{"LOGSHIPPER_OUTPUT_TYPE": "kafak"}, `output.type: "kafak" is not an output; use one of: elasticsearch, kafka, redis`},
		{map[string]string{"LOGSHIPPER_INPUT_TYPE": "gelf"}, `input.type: "gelf" is not an input; use one of: syslog, kafka, redis`},
		{map[string]string{"LOGSHIPPER_INPUT_TYPE": "kafka", "LOGSHIPPER_BUFFER_TYPE": "disk"}, `buffer.type: disk with input.type kafka: the broker keeps every record until it is indexed`},
		{map[string]string{"LOGSHIPPER_INPUT_TYPE": "redis", "LOGSHIPPER_OUTPUT_TYPE": "kafka"}, `output.type: kafka with input.type redis: an indexer reads the queue tier into Elasticsearch`},
		{map[string]string{"LOGSHIPPER_OUTPUT_TYPE": "kafka", "LOGSHIPPER_KAFKA_BROKERS": "kafka"}, `kafka.brokers: "kafka" is not host:port`},
		{map[string]string{"LOGSHIPPER_INPUT_TYPE": "kafka", "LOGSHIPPER_KAFKA_START_OFFSET": "oldest"}, `kafka.start_offset: "oldest" is not allowed; use earliest or latest`},
		{map[string]string{"LOGSHIPPER_OUTPUT_TYPE": "kafka", "LOGSHIPPER_KAFKA_COMPRESSION": "brotli"}, `kafka.compression: "brotli" is not a codec`},
		{map[string]string{"LOGSHIPPER_INPUT_TYPE": "redis", "LOGSHIPPER_REDIS_URL": "localhost:6379"}, `redis.url: "localhost:6379" is not a Redis URL`},
	}
	for _, tc := range cases {
		_, err := load(t, nil, tc.env)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("env %v: err = %v, want prefix %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("elasticsearch:\n  indx: typo\n"), 0o600)
	_, err := load(t, []string{"--config", file}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "elasticsearch.indx"`) {
		t.Fatalf("err = %v", err)
	}
}

// The example file documents every key, and its values are the defaults.
func TestExampleFileListsEveryKeyWithDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "logshipper.yaml")
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !v.IsSet(s.Key) {
			t.Errorf("configs/logshipper.yaml lacks %s", s.Key)
		}
	}
	fromFile, err := load(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults, _ := load(t, nil, nil)
	if !reflect.DeepEqual(fromFile, defaults) {
		t.Errorf("file values differ from defaults:\nfile    %+v\ndefault %+v", fromFile, defaults)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "es_password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	c, err := load(t, nil, map[string]string{
		"LOGSHIPPER_ELASTICSEARCH_USERNAME":      "shipper",
		"LOGSHIPPER_ELASTICSEARCH_PASSWORD_FILE": pw,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Elasticsearch.Password != "s3cret" {
		t.Fatalf("password = %q", c.Elasticsearch.Password)
	}
	_, err = load(t, nil, map[string]string{
		"LOGSHIPPER_ELASTICSEARCH_USERNAME":      "shipper",
		"LOGSHIPPER_ELASTICSEARCH_PASSWORD":      "other",
		"LOGSHIPPER_ELASTICSEARCH_PASSWORD_FILE": pw,
	})
	if err == nil || !strings.Contains(err.Error(), "set together with elasticsearch.password") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v", err)
	}
	_, err = load(t, nil, map[string]string{"LOGSHIPPER_ELASTICSEARCH_API_KEY_FILE": filepath.Join(dir, "missing")})
	if err == nil || !strings.HasPrefix(err.Error(), "elasticsearch.api_key_file: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestLifecycleAndDataStreamKeys(t *testing.T) {
	c, err := load(t, nil, map[string]string{
		"LOGSHIPPER_ELASTICSEARCH_INDEX":                  "syslog-msg",
		"LOGSHIPPER_ELASTICSEARCH_DATA_STREAM":            "true",
		"LOGSHIPPER_ELASTICSEARCH_LIFECYCLE_POLICY":       "logshipper-30d",
		"LOGSHIPPER_ELASTICSEARCH_LIFECYCLE_DELETE_AFTER": "14d",
	})
	if err != nil {
		t.Fatal(err)
	}
	es := c.Elasticsearch
	if !es.DataStream || es.Lifecycle.Policy != "logshipper-30d" || es.Lifecycle.DeleteAfter != "14d" {
		t.Errorf("elasticsearch = %v", es)
	}
	if d, _ := load(t, nil, nil); d.Elasticsearch.DataStream || d.Elasticsearch.Lifecycle.Policy != "" || d.Elasticsearch.Lifecycle.DeleteAfter != "30d" {
		t.Errorf("defaults: %v", d.Elasticsearch)
	}
	for _, tc := range []struct{ env, value, want string }{
		{"LOGSHIPPER_ELASTICSEARCH_LIFECYCLE_DELETE_AFTER", "1 month",
			`elasticsearch.lifecycle.delete_after: "1 month" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"LOGSHIPPER_ELASTICSEARCH_DATA_STREAM", "yes please", `elasticsearch.data_stream: "yes please" is not true or false`},
	} {
		_, err := load(t, nil, map[string]string{tc.env: tc.value})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: err = %v, want one line starting %q", tc.env, tc.value, err, tc.want)
		}
	}
	_, err = load(t, []string{"--elasticsearch.data_stream", "--elasticsearch.index", "syslog-msg-%{+yyyy.MM.dd}"}, nil)
	if want := `elasticsearch.data_stream: true with the date pattern "syslog-msg-%{+yyyy.MM.dd}" in elasticsearch.index; a data stream rolls over by itself, so give it a plain name such as "syslog-msg", or set elasticsearch.data_stream to false to keep daily indices`; err == nil || err.Error() != want {
		t.Errorf("data stream with a date: %v", err)
	}
}
