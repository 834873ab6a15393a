package elasticsearch

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Gzip || c.Sniff || !c.Template.Enabled || c.Template.Name != "logshipper" ||
		c.Template.Shards != 1 || c.Template.Replicas != 1 || c.Timeout != 30*time.Second ||
		c.Schema != "logstash" || c.Index != "syslog-msg" || len(c.URLs) != 1 || c.URLs[0] != "http://es:9200" {
		t.Errorf("unexpected defaults: %v", c)
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no urls", func(c *Config) { c.URLs = nil },
			`elasticsearch.urls: empty; give at least one URL like http://es:9200`},
		{"host:port", func(c *Config) { c.URLs = []string{"es:9200"} },
			`elasticsearch.urls: "es:9200" is not a URL; use http://host:port or https://host:port`},
		{"bare host", func(c *Config) { c.URLs = []string{"es"} },
			`elasticsearch.urls: "es" is not a URL; use http://host:port or https://host:port`},
		{"ftp", func(c *Config) { c.URLs = []string{"http://ok:9200", "ftp://es:9200"} },
			`elasticsearch.urls: "ftp://es:9200" is not a URL; use http://host:port or https://host:port`},
		{"no host", func(c *Config) { c.URLs = []string{"http://"} },
			`elasticsearch.urls: "http://" is not a URL; use http://host:port or https://host:port`},
		{"query", func(c *Config) { c.URLs = []string{"http://es:9200/?pretty"} },
			`elasticsearch.urls: "http://es:9200/?pretty" has a query or fragment; use http://host:port`},
		{"password in bad url is hidden", func(c *Config) { c.URLs = []string{"es://u:secret@es:9200"} },
			`elasticsearch.urls: "es://u:xxxxx@es:9200" is not a URL; use http://host:port or https://host:port`},
		{"empty index", func(c *Config) { c.Index = "" },
			`elasticsearch.index: empty; give an index name like "syslog-msg" or "syslog-msg-%{+yyyy.MM.dd}"`},
		{"bad index", func(c *Config) { c.Index = "Syslog" },
			`elasticsearch.index: "Syslog": index names must be lower case`},
		{"bad date", func(c *Config) { c.Index = "syslog-%{+yyyy.MM.dd.ss}" },
			`elasticsearch.index: "syslog-%{+yyyy.MM.dd.ss}": %{+yyyy.MM.dd.ss}: date field "ss" is not supported; use yyyy, yy, MM, dd, HH and literal text`},
		{"password alone", func(c *Config) { c.Password = "x" },
			`elasticsearch.password: set without elasticsearch.username`},
		{"api key and user", func(c *Config) { c.Username, c.Password, c.APIKey = "u", "p", "k" },
			`elasticsearch.api_key: set together with elasticsearch.username; use one of them`},
		{"zero timeout", func(c *Config) { c.Timeout = 0 },
			`elasticsearch.timeout: "0s" must be positive, e.g. 30s`},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second },
			`elasticsearch.timeout: "-1s" must be positive, e.g. 30s`},
		{"schema", func(c *Config) { c.Schema = "ECS8" },
			`elasticsearch.schema: "ECS8" is not a schema; use "logstash" or "ecs"`},
		{"empty schema", func(c *Config) { c.Schema = "" },
			`elasticsearch.schema: "" is not a schema; use "logstash" or "ecs"`},
		{"template name empty", func(c *Config) { c.Template.Name = "" },
			`elasticsearch.template.name: "" is empty; give a name like "logshipper"`},
		{"template name upper", func(c *Config) { c.Template.Name = "LogShipper" },
			`elasticsearch.template.name: "LogShipper" must be lower case`},
		{"template name space", func(c *Config) { c.Template.Name = "log shipper" },
			`elasticsearch.template.name: "log shipper" must not contain space , # * ? " < > | \ /`},
		{"template name underscore", func(c *Config) { c.Template.Name = "_x" },
			`elasticsearch.template.name: "_x" must not start with '_'`},
		{"shards", func(c *Config) { c.Template.Shards = 0 },
			`elasticsearch.template.shards: 0 must be at least 1`},
		{"replicas", func(c *Config) { c.Template.Replicas = -1 },
			`elasticsearch.template.replicas: -1 must be 0 or more`},
		{"priority", func(c *Config) { c.Template.Priority = -1 },
			`elasticsearch.template.priority: -1 must be 0 or more`},
		{"data stream with a date", func(c *Config) { c.DataStream, c.Index = true, "logs-%{+yyyy.MM.dd}" },
			`elasticsearch.data_stream: true with the date pattern "logs-%{+yyyy.MM.dd}" in elasticsearch.index; a data stream rolls over by itself, so give it a plain name such as "logs", or set elasticsearch.data_stream to false to keep daily indices`},
		{"data stream with a dot", func(c *Config) { c.DataStream, c.Index = true, ".logs" },
			`elasticsearch.data_stream: true with elasticsearch.index ".logs"; data stream names must not start with '.' (backing indices are named .ds-<name>-000001); use e.g. "syslog-msg"`},
		{"delete_after zero", func(c *Config) { c.Lifecycle.DeleteAfter = "0d" },
			`elasticsearch.lifecycle.delete_after: "0d" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"delete_after no unit", func(c *Config) { c.Lifecycle.DeleteAfter = "30" },
			`elasticsearch.lifecycle.delete_after: "30" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"delete_after weeks", func(c *Config) { c.Lifecycle.DeleteAfter = "4w" },
			`elasticsearch.lifecycle.delete_after: "4w" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"delete_after signed", func(c *Config) { c.Lifecycle.DeleteAfter = "+3d" },
			`elasticsearch.lifecycle.delete_after: "+3d" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"delete_after empty", func(c *Config) { c.Lifecycle.DeleteAfter = "" },
			`elasticsearch.lifecycle.delete_after: "" is not a positive whole number of days or hours; use e.g. "30d" or "12h"`},
		{"policy name", func(c *Config) { c.Index, c.Lifecycle.Policy = "s-%{+yyyy.MM.dd}", "30 days" },
			`elasticsearch.lifecycle.policy: "30 days" may hold only letters, digits, '-', '_' and '.'; e.g. "logshipper-30d"`},
		{"policy name underscore", func(c *Config) { c.Index, c.Lifecycle.Policy = "s-%{+yyyy.MM.dd}", "_x" },
			`elasticsearch.lifecycle.policy: "_x" must not start with '_' or '-'`},
		{"policy without template", func(c *Config) {
			c.Index, c.Lifecycle.Policy, c.Template.Enabled = "s-%{+yyyy.MM.dd}", "logshipper-30d", false
		}, `elasticsearch.lifecycle.policy: "logshipper-30d" is set but elasticsearch.template.enabled is false; the policy reaches new indices through the index template, so enable the template or unset the policy`},
		{"policy on one plain index", func(c *Config) { c.Lifecycle.Policy = "logshipper-30d" },
			`elasticsearch.lifecycle.policy: "logshipper-30d" with the plain index name "syslog-msg" would delete that one index, with all its documents, 30d after its creation; use a date pattern such as "syslog-msg-%{+yyyy.MM.dd}", or elasticsearch.data_stream: true`},
		{"template mode", func(c *Config) { c.Template.Mode = "leen" },
			`elasticsearch.template.mode: "leen" is not a template mode; use "compatible" (the default) or "lean"`},
		{"lean template mode", func(c *Config) { c.Template.Mode = TemplateModeLean }, ""},
		{"policy with daily indices", func(c *Config) { c.Index, c.Lifecycle.Policy = "syslog-msg-%{+yyyy.MM.dd}", "logshipper-30d" }, ""},
		{"policy with a data stream", func(c *Config) {
			c.DataStream, c.Lifecycle.Policy, c.Lifecycle.DeleteAfter = true, "Logs.Policy_1", "12h"
		}, ""},
		{"data stream with an operator's template", func(c *Config) { c.DataStream, c.Template.Enabled = true, false }, ""},
		{"template settings ignored when disabled", func(c *Config) { c.Template = TemplateConfig{} }, ""},
		{"zero replicas is fine", func(c *Config) { c.Template.Replicas = 0 }, ""},
		{"https with path", func(c *Config) { c.URLs = []string{"https://proxy.example.com/es"} }, ""},
		{"api key alone", func(c *Config) { c.APIKey = "abc" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate() = %v\nwant          %s", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.URLs = []string{"es:9200"}
	c.Schema = "x"
	c.Timeout = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("want 3 lines, got %d:\n%v", n, err)
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	c := DefaultConfig()
	c.URLs = []string{"http://user:urlsecret@es:9200"}
	c.Username, c.Password = "shipper", "pwsecret"
	c.APIKey = "keysecret"

	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("elasticsearch", c).Msg("config")
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(&c), buf.String()} {
		for _, secret := range []string{"urlsecret", "pwsecret", "keysecret"} {
			if strings.Contains(s, secret) {
				t.Errorf("secret %q leaked: %s", secret, s)
			}
		}
		if !strings.Contains(s, "shipper") || !strings.Contains(s, "xxxxx") {
			t.Errorf("expected the username and a redaction mark: %s", s)
		}
	}
}
