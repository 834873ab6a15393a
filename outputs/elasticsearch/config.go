// Package elasticsearch is logshipper's output: it encodes events as JSON
// documents (Logstash's syslog fields or ECS), sends them with the _bulk
// API and reports per event whether Elasticsearch took it, wants it again
// later, or refused it for good. It never retries by itself; the pipeline
// does. See README.md in this directory.
package elasticsearch

import (
	"errors"
	"fmt"
	"github.com/logshipper/logshipper/metrics"
	"net/url"
	"strconv"
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

	// DataStream makes Index the name of a data stream: the template
	// declares it ("data_stream": {}) and every document goes with op_type
	// create, the only one a data stream takes. The stream rolls over by
	// itself, so Index must be a plain name, not a date pattern.
	DataStream bool `mapstructure:"data_stream"`

	Lifecycle LifecycleConfig `mapstructure:"lifecycle"`

	// Events is the shared account the output adds to (already indexed);
	// Metrics its own instruments. nil: private ones (tests).
	Events  *metrics.Events `mapstructure:"-"`
	Metrics *Metrics        `mapstructure:"-"`
}

// LifecycleConfig is the example retention policy logshipper installs
// (ILM on Elasticsearch, ISM on OpenSearch) and attaches to new indices
// through the index template. See lifecycle.go.
type LifecycleConfig struct {
	// Policy names the policy; empty (the default) installs none.
	Policy string `mapstructure:"policy"`
	// DeleteAfter is how long an index lives: after its creation (daily
	// indices) or after its rollover (data streams). "30d" or "12h".
	DeleteAfter string `mapstructure:"delete_after"`
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
	// Mode is the mappings' layout: "compatible" (the default: every
	// string a dashboard may facet on also answers to <field>.keyword) or
	// "lean" (less CPU per document for the cluster; see template.go).
	Mode string `mapstructure:"mode"`
}

// Template modes.
const (
	TemplateModeCompatible = "compatible"
	TemplateModeLean       = "lean"
)

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
		Lifecycle:  LifecycleConfig{DeleteAfter: "30d"},
		Template: TemplateConfig{
			Enabled:  true,
			Name:     "logshipper",
			Shards:   1,
			Replicas: 1,
			Priority: 200,
			Mode:     TemplateModeCompatible,
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
		if m := c.Template.Mode; m != TemplateModeCompatible && m != TemplateModeLean {
			add(cfgErr("template.mode", "%q is not a template mode; use %q (the default) or %q", m, TemplateModeCompatible, TemplateModeLean))
		}
	}
	add(c.validateDataStream())
	add(c.validateLifecycle())
	return errors.Join(errs...)
}

// validateDataStream: a data stream rolls over by itself, so a date in its
// name would only make a new stream every day, each with its own backing
// indices and template match, which defeats it.
func (c *Config) validateDataStream() error {
	if !c.DataStream {
		return nil
	}
	ix, err := ParseIndex(c.Index)
	if err != nil {
		return nil // reported for elasticsearch.index
	}
	if !ix.Static() {
		return cfgErr("data_stream", "true with the date pattern %q in elasticsearch.index; a data stream rolls over by itself, "+
			"so give it a plain name such as %q, or set elasticsearch.data_stream to false to keep daily indices", c.Index, ix.plainPrefix())
	}
	if strings.HasPrefix(c.Index, ".") {
		return cfgErr("data_stream", "true with elasticsearch.index %q; data stream names must not start with '.' (backing indices are named .ds-<name>-000001); use e.g. \"syslog-msg\"", c.Index)
	}
	return nil
}

// validateLifecycle checks elasticsearch.lifecycle.*. delete_after is
// checked even without a policy, so a typo does not wait for the day the
// policy is turned on.
func (c *Config) validateLifecycle() error {
	var errs []error
	if _, err := parseRetention(c.Lifecycle.DeleteAfter); err != nil {
		errs = append(errs, cfgErr("lifecycle.delete_after", "%q %v", c.Lifecycle.DeleteAfter, err))
	}
	p := c.Lifecycle.Policy
	if p == "" {
		return errors.Join(errs...)
	}
	ix, ixErr := ParseIndex(c.Index)
	nameErr := checkPolicyName(p)
	switch {
	case nameErr != nil:
		errs = append(errs, cfgErr("lifecycle.policy", "%q %v", p, nameErr))
	case !c.Template.Enabled:
		errs = append(errs, cfgErr("lifecycle.policy", "%q is set but elasticsearch.template.enabled is false; the policy reaches new indices "+
			"through the index template, so enable the template or unset the policy", p))
	case ixErr == nil && ix.Static() && !c.DataStream:
		// One plain index, deleted whole delete_after after its creation,
		// would take every log with it: refuse rather than surprise.
		errs = append(errs, cfgErr("lifecycle.policy", "%q with the plain index name %q would delete that one index, with all its documents, "+
			"%s after its creation; use a date pattern such as %q, or elasticsearch.data_stream: true", p, c.Index, c.Lifecycle.DeleteAfter, c.Index+"-%{+yyyy.MM.dd}"))
	}
	return errors.Join(errs...)
}

// parseRetention accepts a positive whole number of days or hours ("30d",
// "12h"): units both Elasticsearch's ILM and OpenSearch's ISM read the
// same way. It returns the value as the policies carry it.
func parseRetention(s string) (string, error) {
	bad := errors.New(`is not a positive whole number of days or hours; use e.g. "30d" or "12h"`)
	if len(s) < 2 || (s[len(s)-1] != 'd' && s[len(s)-1] != 'h') {
		return "", bad
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 31)
	if err != nil || n == 0 || s[0] == '0' || s[0] == '+' {
		return "", bad
	}
	return s, nil
}

// checkPolicyName keeps policy names to what both ILM and ISM accept and
// what needs no escaping in a URL path.
func checkPolicyName(name string) error {
	if len(name) > 255 {
		return errors.New("is longer than 255 bytes")
	}
	if strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") {
		return errors.New("must not start with '_' or '-'")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errors.New(`may hold only letters, digits, '-', '_' and '.'; e.g. "logshipper-30d"`)
		}
	}
	return nil
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
		"template.enabled=%t template.name=%q template.shards=%d template.replicas=%d template.priority=%d template.overwrite=%t template.mode=%q "+
		"data_stream=%t lifecycle.policy=%q lifecycle.delete_after=%q",
		urls, c.Index, c.Username, redact(c.Password), redact(c.APIKey), c.CAFile, c.InsecureSkipVerify, c.Gzip, c.Sniff, c.Timeout, c.Schema,
		c.Template.Enabled, c.Template.Name, c.Template.Shards, c.Template.Replicas, c.Template.Priority, c.Template.Overwrite, c.Template.Mode,
		c.DataStream, c.Lifecycle.Policy, c.Lifecycle.DeleteAfter)
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
			Bool("overwrite", c.Template.Overwrite).
			Str("mode", c.Template.Mode)).
		Bool("data_stream", c.DataStream).
		Dict("lifecycle", zerolog.Dict().
			Str("policy", c.Lifecycle.Policy).
			Str("delete_after", c.Lifecycle.DeleteAfter))
}
