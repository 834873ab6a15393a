// Package elasticsearch is logshipper's output: it encodes events as JSON
// documents (Logstash's syslog fields or ECS), sends them with the _bulk
// API and reports per event whether Elasticsearch took it, wants it again
// later, or refused it for good. It never retries by itself; the pipeline
// does. See README.md in this directory.
package elasticsearch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Config is the elasticsearch.* section of logshipper's configuration.
type Config struct {
	// URLs of the nodes (or of the one load-balanced service address).
	URLs  []string `mapstructure:"urls"`
	Index string   `mapstructure:"index"` // name or pattern, e.g. syslog-msg-%{+yyyy.MM.dd}

	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"` // secret: never logged
	// APIKey is sent as "Authorization: ApiKey <key>": either the base64
	// "encoded" value Elasticsearch returns, or "id:api_key", which is
	// base64-encoded here (as Logstash's api_key option does).
	APIKey string `mapstructure:"api_key"` // secret: never logged

	CAFile             string `mapstructure:"ca_file"`              // PEM bundle trusted for https
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"` // do not check the server certificate

	Gzip bool `mapstructure:"gzip"` // compress request bodies; see README.md for the measurement
	// Sniff discovers the cluster's nodes and talks to them directly. Off by
	// default: the addresses nodes publish are container addresses that are
	// not reachable through the Docker Swarm routing mesh (or any load
	// balancer), and with sniffing on New needs Elasticsearch to be up.
	Sniff bool `mapstructure:"sniff"`

	// Timeout bounds one request (a bulk, a ping, a template install).
	Timeout time.Duration `mapstructure:"timeout"`
	Schema  string        `mapstructure:"schema"` // "logstash" or "ecs"

	Template TemplateConfig `mapstructure:"template"`

	// DocumentID is "event" (the default): every event is sent with its own
	// _id and op_type create, so a re-sent event is answered 409 and counted
	// as indexed instead of being indexed twice. "auto" lets Elasticsearch
	// pick ids: cheaper to index, but a retry whose first answer was lost
	// (a timeout, a node restart) indexes the event twice.
	DocumentID string `mapstructure:"document_id"`

	// PasswordFile and APIKeyFile name files holding the secret (Docker
	// secrets: /run/secrets/<name>); read once at start, trailing newline
	// dropped. They exclude Password and APIKey.
	PasswordFile string `mapstructure:"password_file"`
	APIKeyFile   string `mapstructure:"api_key_file"`
}

// Document ID modes.
const (
	DocumentIDEvent = "event"
	DocumentIDAuto  = "auto"
)

// TemplateConfig controls the index template installed at start.
type TemplateConfig struct {
	Enabled bool   `mapstructure:"enabled"`
	Name    string `mapstructure:"name"`
	// Shards and Replicas go into the template's index settings.
	Shards   int `mapstructure:"shards"`
	Replicas int `mapstructure:"replicas"`
	// Priority of the composable template (ignored by the legacy API,
	// where it becomes "order").
	Priority int `mapstructure:"priority"`
	// Overwrite replaces an existing template of the same name. Off by
	// default, as in Logstash: an operator's edited template is kept.
	Overwrite bool `mapstructure:"overwrite"`
}

// Schemas.
const (
	SchemaNameLogstash = "logstash"
	SchemaNameECS      = "ecs"
)

// DefaultConfig is the configuration when nothing is set.
//
// Replicas defaults to 1, Elasticsearch's own default: a production
// cluster of several nodes keeps a copy of every shard, and losing a node
// loses no logs. On a single node the replica cannot be allocated and the
// indices stay yellow; that is harmless for indexing (and /readyz does not
// look at the colour), and it is the honest signal that there is no
// redundancy. Single-node setups set elasticsearch.template.replicas: 0.
// One shard: syslog indices are daily and small (a few GB), and every
// extra shard costs heap on every node for as long as the index lives.
func DefaultConfig() Config {
	return Config{
		URLs:       []string{"http://es:9200"},
		Index:      "syslog-msg",
		Timeout:    30 * time.Second,
		Schema:     SchemaNameLogstash,
		DocumentID: DocumentIDEvent,
		Template: TemplateConfig{
			Enabled:  true,
			Name:     "logshipper",
			Shards:   1,
			Replicas: 1,
			Priority: 200,
		},
	}
}

const keyPrefix = "elasticsearch."

func cfgErr(key, format string, args ...any) error {
	return errors.New(keyPrefix + key + ": " + fmt.Sprintf(format, args...))
}

// Validate checks every setting and returns one line per problem, each
// naming the key, the value and what is allowed.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.URLs) == 0 {
		add(cfgErr("urls", "empty; give at least one URL like http://es:9200"))
	}
	for _, u := range c.URLs {
		add(validateURL(u))
	}
	if c.Index == "" {
		add(cfgErr("index", `empty; give an index name like "syslog-msg" or "syslog-msg-%%{+yyyy.MM.dd}"`))
	} else if _, err := ParseIndex(c.Index); err != nil {
		add(cfgErr("index", "%v", err))
	}
	if c.Password != "" && c.Username == "" {
		add(cfgErr("password", "set without elasticsearch.username"))
	}
	if c.APIKey != "" && c.Username != "" {
		add(cfgErr("api_key", "set together with elasticsearch.username; use one of them"))
	}
	if c.Timeout <= 0 {
		add(cfgErr("timeout", "%q must be positive, e.g. 30s", c.Timeout.String()))
	}
	if c.DocumentID != DocumentIDEvent && c.DocumentID != DocumentIDAuto {
		add(cfgErr("document_id", "%q is not allowed; use %q or %q", c.DocumentID, DocumentIDEvent, DocumentIDAuto))
	}
	if _, err := ParseSchema(c.Schema); err != nil {
		add(cfgErr("schema", "%q is not a schema; use %q or %q", c.Schema, SchemaNameLogstash, SchemaNameECS))
	}
	if c.Template.Enabled {
		if err := checkTemplateName(c.Template.Name); err != nil {
			add(cfgErr("template.name", "%q %v", c.Template.Name, err))
		}
		if c.Template.Shards < 1 {
			add(cfgErr("template.shards", "%d must be at least 1", c.Template.Shards))
		}
		if c.Template.Replicas < 0 {
			add(cfgErr("template.replicas", "%d must be 0 or more", c.Template.Replicas))
		}
		if c.Template.Priority < 0 {
			add(cfgErr("template.priority", "%d must be 0 or more", c.Template.Priority))
		}
	}
	return errors.Join(errs...)
}

func validateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return cfgErr("urls", "%q is not a URL; use http://host:port or https://host:port", redactURL(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return cfgErr("urls", "%q has a query or fragment; use http://host:port", redactURL(s))
	}
	return nil
}

// checkTemplateName applies Elasticsearch's rules for template names.
func checkTemplateName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty; give a name like \"logshipper\"")
	case strings.ToLower(name) != name:
		return errors.New("must be lower case")
	case strings.HasPrefix(name, "_"):
		return errors.New("must not start with '_'")
	case strings.ContainsAny(name, ` ,#*?"<>|\/`):
		return errors.New(`must not contain space , # * ? " < > | \ /`)
	}
	return nil
}

// redactURL hides a password written into a URL (http://user:pass@host).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			// Unparsable, but maybe credentials: keep only what follows '@'.
			return "xxxxx@" + s[i+1:]
		}
		return s
	}
	return u.Redacted()
}

const redacted = "xxxxx"

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// String shows the configuration with its secrets replaced by xxxxx.
func (c Config) String() string {
	urls := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		urls[i] = redactURL(u)
	}
	return fmt.Sprintf("urls=%v index=%q username=%q password=%q api_key=%q ca_file=%q insecure_skip_verify=%t gzip=%t sniff=%t timeout=%s schema=%q "+
		"template.enabled=%t template.name=%q template.shards=%d template.replicas=%d template.priority=%d template.overwrite=%t",
		urls, c.Index, c.Username, redact(c.Password), redact(c.APIKey), c.CAFile, c.InsecureSkipVerify, c.Gzip, c.Sniff, c.Timeout, c.Schema,
		c.Template.Enabled, c.Template.Name, c.Template.Shards, c.Template.Replicas, c.Template.Priority, c.Template.Overwrite)
}

// GoString keeps %#v from printing the secrets too.
func (c Config) GoString() string { return "elasticsearch.Config{" + c.String() + "}" }

// MarshalZerologObject logs the configuration with its secrets redacted:
// log.Info().Object("elasticsearch", cfg).
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	urls := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		urls[i] = redactURL(u)
	}
	e.Strs("urls", urls).
		Str("index", c.Index).
		Str("username", c.Username).
		Str("password", redact(c.Password)).
		Str("api_key", redact(c.APIKey)).
		Str("ca_file", c.CAFile).
		Bool("insecure_skip_verify", c.InsecureSkipVerify).
		Bool("gzip", c.Gzip).
		Bool("sniff", c.Sniff).
		Dur("timeout", c.Timeout).
		Str("schema", c.Schema).
		Dict("template", zerolog.Dict().
			Bool("enabled", c.Template.Enabled).
			Str("name", c.Template.Name).
			Int("shards", c.Template.Shards).
			Int("replicas", c.Template.Replicas).
			Int("priority", c.Template.Priority).
			Bool("overwrite", c.Template.Overwrite))
}
