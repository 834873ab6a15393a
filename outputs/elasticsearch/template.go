package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/olivere/elastic/v7"
)

// templateVersion is written into the template ("version"), so that an
// operator can see which logshipper layout an index was created with.
// Bump it when the mappings change.
const templateVersion = 3

// stringSD maps structured-data values (always strings, of unknown names)
// as keywords instead of Elasticsearch's default text + .keyword.
func stringSD(path string) map[string]any {
	return map[string]any{"structured_data_strings": map[string]any{
		"path_match":         path,
		"match_mapping_type": "string",
		"mapping":            map[string]any{"type": "keyword", "ignore_above": 1024},
	}}
}

var (
	keyword = map[string]any{"type": "keyword"}
	integer = map[string]any{"type": "integer"}
	long    = map[string]any{"type": "long"}
	date    = map[string]any{"type": "date"}
	text    = map[string]any{"type": "text"}
)

// dashboardKeyword is a keyword that also answers to "<field>.keyword".
// The seed's Logstash wrote to syslog-msg, which no Logstash template
// matches, so Elasticsearch's dynamic mapping made every string text with a
// .keyword sub-field, and the dashboards built on those indices aggregate
// on program.keyword, logsource.keyword, host.keyword and so on. The
// sub-field keeps them working; it costs a second doc-values column for
// these short fields only (message, the long one, has none).
var dashboardKeyword = map[string]any{"type": "keyword", "fields": map[string]any{"keyword": keyword}}

func props(p map[string]any) map[string]any { return map[string]any{"properties": p} }

// Mappings returns the index mappings for a schema in the compatible
// (default) mode; MappingsFor gives either mode.
//
// date_detection is off: structured-data values are free text, and a first
// value that looks like a date would otherwise make the field a date and
// reject every later value that does not.
func Mappings(s Schema) map[string]any {
	if s == SchemaECS {
		return map[string]any{
			"date_detection":    false,
			"dynamic_templates": []any{stringSD("log.syslog.structured_data.*")},
			"properties": map[string]any{
				"@timestamp": date,
				"@version":   keyword,
				"message":    text,
				"tags":       keyword,
				"service":    props(map[string]any{"type": keyword}),
				"log": props(map[string]any{"syslog": props(map[string]any{
					"priority":        long,
					"facility":        props(map[string]any{"code": long, "name": keyword}),
					"severity":        props(map[string]any{"code": long, "name": keyword}),
					"msgid":           keyword,
					"version":         keyword,
					"structured_data": map[string]any{"type": "object", "dynamic": true},
				})}),
				"host":    props(map[string]any{"ip": map[string]any{"type": "ip"}, "hostname": keyword}),
				"process": props(map[string]any{"name": keyword, "pid": long}),
				// The load balancer a PROXY protocol header came through.
				"observer": props(map[string]any{"ip": map[string]any{"type": "ip"}}),
				"event": props(map[string]any{
					// ECS: kept in _source only, not searchable.
					"original": map[string]any{"type": "keyword", "index": false, "doc_values": false},
				}),
			},
		}
	}
	return map[string]any{
		"date_detection":    false,
		"dynamic_templates": []any{stringSD("structured_data.*")},
		"properties": map[string]any{
			"@timestamp":      date,
			"@version":        keyword,
			"message":         text,
			"host":            dashboardKeyword,
			"proxy_host":      dashboardKeyword,
			"logsource":       dashboardKeyword,
			"program":         dashboardKeyword,
			"pid":             dashboardKeyword,
			"priority":        integer,
			"facility":        integer,
			"severity":        integer,
			"facility_label":  dashboardKeyword,
			"severity_label":  dashboardKeyword,
			"timestamp":       dashboardKeyword,
			"timestamp8601":   dashboardKeyword,
			"msgid":           dashboardKeyword,
			"version":         integer,
			"structured_data": map[string]any{"type": "object", "dynamic": true},
			"tags":            dashboardKeyword,
		},
	}
}

// The lean mode's field types. Nothing in log search is ranked by
// relevance (hits are sorted by @timestamp), so message keeps no norms;
// fields nobody aggregates or sorts on keep no doc values (they stay
// searchable); the fields the shipped dashboards facet on (deploy/kibana:
// logsource, program, severity_label) are searched under their own name
// and aggregated under the .keyword sub-field those dashboards name, so
// each keeps one doc-values column, the sub-field's; and what nobody
// searches (@version, "1" everywhere; the header's time string beside
// @timestamp) is kept in _source only. The settings: leanSettings.
var (
	leanText = map[string]any{"type": "text", "norms": false}
	// searchOnly: found by a query, never aggregated or sorted on.
	searchOnly        = map[string]any{"type": "keyword", "doc_values": false}
	searchOnlyInteger = map[string]any{"type": "integer", "doc_values": false}
	// sourceOnly: in _source (Discover shows it, a reindex keeps it),
	// neither searchable nor aggregatable.
	sourceOnly = map[string]any{"type": "keyword", "index": false, "doc_values": false}
	// facetKeyword: searched as <field> (program:sshd), aggregated and
	// filtered by a click on a slice as <field>.keyword.
	facetKeyword = map[string]any{"type": "keyword", "doc_values": false, "fields": map[string]any{"keyword": keyword}}
)

// MappingsFor returns the index mappings for a schema and a template mode
// (TemplateModeCompatible or TemplateModeLean).
func MappingsFor(s Schema, mode string) map[string]any {
	m := Mappings(s)
	if mode != TemplateModeLean {
		return m
	}
	p := m["properties"].(map[string]any)
	p["message"] = leanText
	// "1" in every document: nothing to search for.
	p["@version"] = sourceOnly
	if s == SchemaECS {
		// ECS has keyword fields only already, no .keyword copies, and
		// event.original is in _source only in both modes.
		return m
	}
	for _, f := range []string{"logsource", "program", "severity_label"} {
		p[f] = facetKeyword
	}
	for _, f := range []string{"host", "facility_label", "msgid", "tags"} {
		p[f] = keyword
	}
	// The header's time as sent: @timestamp holds the same instant, and
	// is the field to search, sort and bucket on.
	for _, f := range []string{"timestamp", "timestamp8601"} {
		p[f] = sourceOnly
	}
	// The pid and the balancer's address are looked up, not counted.
	for _, f := range []string{"pid", "proxy_host"} {
		p[f] = searchOnly
	}
	// priority is facility*8+severity: aggregate on those two.
	p["priority"] = searchOnlyInteger
	return m
}

// leanTimestampFormat is @timestamp's format in the lean mode on
// OpenSearch 2.12 and later: rfc3339_lenient, OpenSearch's own parser for
// the ISO 8601 times logshipper writes, where the default
// (strict_date_optional_time||epoch_millis) goes through java.time, which
// copies its parse state at every optional part: 5-8% of OpenSearch 2.19's
// indexing CPU in profiles of the bench (bench/profiles/opensearch.md). It
// stands alone because OpenSearch 2.19 cannot combine it: in a list
// ("rfc3339_lenient||…") its parser does not report how far it read, so
// every value counts as refused and is parsed again by the next format,
// which made the list dearer than the default. Alone it still takes dates
// without a time (2026-11-26) and offsets, in documents and in queries;
// what it refuses is epoch milliseconds, which logshipper never writes.
// Elasticsearch has no such format name (8.14 and later parse the
// default fast already) and would refuse the template.
const leanTimestampFormat = "rfc3339_lenient"

// leanMessage is message's mapping in the lean mode on OpenSearch 2.12
// and later: match_only_text indexes which documents hold a word, without
// the positions and frequencies text keeps for phrases and scoring (a
// phrase query still works: it checks the candidates' _source). With
// varied messages it took 5% off OpenSearch's indexing CPU and 9% off the
// index (bench/README.md, "Index templates"). Elasticsearch has it from 7.14
// too, but not in every distribution (the x-pack-less test node lacks the
// module), so there message stays leanText.
var leanMessage = map[string]any{"type": "match_only_text"}

// openSearchLean: the cluster has what the lean mode uses beyond plain
// mappings, rfc3339_lenient and match_only_text (OpenSearch ≥ 2.12).
func openSearchLean(c *clusterInfo) bool {
	if c == nil || !c.OpenSearch {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(c.Version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 2 || major == 2 && minor >= 12
}

// mappings are the template's: MappingsFor, and in the lean mode on a
// cluster that has them, leanTimestampFormat and leanMessage.
func (o *Output) mappings() map[string]any {
	m := MappingsFor(o.schema, o.cfg.Template.Mode)
	if o.cfg.Template.Mode == TemplateModeLean && openSearchLean(o.cluster) {
		p := m["properties"].(map[string]any)
		p["@timestamp"] = map[string]any{"type": "date", "format": leanTimestampFormat}
		p["message"] = leanMessage
	}
	return m
}

// The lean mode's index settings (bench/os.sh, README.md):
//
//   - refresh_interval 10s instead of the default 1s: a tenth of the
//     segment flushes, and fewer small segments to merge; new logs show up
//     in searches and dashboards up to 10 s after they are indexed, and a
//     shard nobody searches no longer skips its refreshes (the default's
//     search-idle saving). Logstash's own template sets 5s.
//   - merge.policy.segments_per_tier 20 instead of 10: each merge tier holds
//     twice the segments before they are merged, so each document is
//     rewritten by fewer merges; a search visits up to twice the segments.
//
// Left out: index.codec best_compression (a fifth less disk, 3-23% more
// CPU per document and more at every merge), translog.durability async
// (loses acknowledged documents in a crash), and replica changes.
var leanSettings = map[string]any{
	"refresh_interval": "10s",
	"merge":            map[string]any{"policy": map[string]any{"segments_per_tier": 20}},
}

// templateSettings: shards and replicas, in the lean mode leanSettings,
// and on Elasticsearch the ILM policy (index.lifecycle.name) when one is
// configured. OpenSearch's ISM attaches its policy through the policy's
// own ism_template instead, so nothing goes into the settings there.
func (o *Output) templateSettings() map[string]any {
	index := map[string]any{
		"number_of_shards":   o.cfg.Template.Shards,
		"number_of_replicas": o.cfg.Template.Replicas,
	}
	if o.cfg.Template.Mode == TemplateModeLean {
		for k, v := range leanSettings {
			index[k] = v
		}
	}
	if c := o.cluster; o.cfg.Lifecycle.Policy != "" && c != nil && !c.OpenSearch {
		index["lifecycle"] = map[string]any{"name": o.cfg.Lifecycle.Policy}
	}
	return map[string]any{"index": index}
}

// ComposableTemplate is the body of PUT _index_template/<name>. With
// DataStream it declares the data stream ("data_stream": {}, whose
// timestamp field is @timestamp, mapped as a date below).
func (o *Output) ComposableTemplate() map[string]any {
	t := map[string]any{
		"index_patterns": []string{o.index.TemplatePattern()},
		"priority":       o.cfg.Template.Priority,
		"version":        templateVersion,
		"_meta":          o.templateMeta(),
		"template": map[string]any{
			"settings": o.templateSettings(),
			"mappings": o.mappings(),
		},
	}
	if o.cfg.DataStream {
		t["data_stream"] = map[string]any{}
	}
	return t
}

// templateMeta tells an operator who made the template and how; the mode
// only when lean, so the compatible template stays as it was.
func (o *Output) templateMeta() map[string]any {
	meta := map[string]any{"managed_by": "logshipper", "schema": o.schema.String()}
	if o.cfg.Template.Mode == TemplateModeLean {
		meta["template_mode"] = TemplateModeLean
	}
	return meta
}

// LegacyTemplate is the body of PUT _template/<name>, for Elasticsearch
// before 7.8.
func (o *Output) LegacyTemplate() map[string]any {
	return map[string]any{
		"index_patterns": []string{o.index.TemplatePattern()},
		"order":          o.cfg.Template.Priority,
		"version":        templateVersion,
		"settings":       o.templateSettings(),
		"mappings":       o.mappings(),
	}
}

// InstallTemplate installs the index template unless Template.Enabled is
// false. It uses the composable API (Elasticsearch ≥ 7.8, OpenSearch) and
// falls back to the legacy one when the composable API does not exist.
// Without Template.Overwrite an existing template of that name is kept.
// With Lifecycle.Policy it installs the policy first (lifecycle.go). A
// setting the cluster cannot honour is a *ClusterError.
//
// WriteBatch calls it before the first bulk request, so no index is
// created before its template; calling it at start only reports problems
// early.
func (o *Output) InstallTemplate(ctx context.Context) error {
	if !o.cfg.Template.Enabled {
		return nil
	}
	o.tmplMu.Lock()
	defer o.tmplMu.Unlock()
	if o.tmplDone.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	policy := ""
	if o.cfg.Lifecycle.Policy != "" {
		if o.cluster == nil {
			c, err := o.detectCluster(ctx)
			if err != nil {
				return err
			}
			o.cluster = &c
		}
		var err error
		if policy, err = o.installPolicy(ctx, *o.cluster); err != nil {
			return err
		}
	}
	if o.cfg.Template.Mode == TemplateModeLean && o.cluster == nil {
		// Which @timestamp format the cluster takes (mappings). Without
		// an answer the template goes in without the faster format, which
		// every cluster takes.
		if c, err := o.detectCluster(ctx); err == nil {
			o.cluster = &c
		} else {
			o.log.Warn().Err(err).Msg("elasticsearch: could not tell the cluster's distribution; the lean template keeps @timestamp's default format")
		}
	}
	api, err := o.installTemplate(ctx)
	if err != nil {
		return err
	}
	o.tmplDone.Store(true)
	ev := o.log.Info().Str("template", o.cfg.Template.Name).Str("api", api).
		Str("mode", o.cfg.Template.Mode).Str("index_pattern", o.index.TemplatePattern()).Bool("data_stream", o.cfg.DataStream)
	if policy != "" {
		ev = ev.Str("lifecycle_policy", o.cfg.Lifecycle.Policy).Str("lifecycle", policy).
			Str("delete_after", o.cfg.Lifecycle.DeleteAfter).Str("cluster", o.cluster.String())
	}
	ev.Msg("elasticsearch index template in place")
	return nil
}

// installTemplate returns which API it used, and "kept" in it when an
// existing template was left alone.
func (o *Output) installTemplate(ctx context.Context) (string, error) {
	name := o.cfg.Template.Name
	composable := "/_index_template/" + name
	legacy := "/_template/" + name

	if !o.cfg.Template.Overwrite {
		status, err := o.request(ctx, http.MethodGet, composable, nil)
		if err == nil && status == http.StatusOK {
			return "composable (kept existing)", nil
		}
		if err != nil && !isFallbackStatus(err) {
			return "", templateErr(composable, err)
		}
	}
	_, err := o.request(ctx, http.MethodPut, composable+o.createParam(), o.ComposableTemplate())
	if err == nil || o.alreadyExists(err) {
		return "composable", nil
	}
	if o.cfg.DataStream && errStatus(err) == http.StatusBadRequest && strings.Contains(errText(err), "unknown field [data_stream]") {
		return "", &ClusterError{
			Key:   keyPrefix + "data_stream",
			Value: "true",
			Problem: fmt.Sprintf("this cluster's index templates cannot declare a data stream (PUT %s answered %s; "+
				"Elasticsearch OSS and Elasticsearch without x-pack have no data streams)", composable, describeErr(bare(err))),
			Fix: "set elasticsearch.data_stream to false (a date pattern in elasticsearch.index gives daily indices), " +
				"or use a cluster with data streams (Elasticsearch ≥ 7.9, default distribution; OpenSearch)",
		}
	}
	if !isFallbackStatus(err) {
		return "", templateErr(composable, err)
	}
	if o.cfg.DataStream {
		return "", &ClusterError{
			Key:   keyPrefix + "data_stream",
			Value: "true",
			Problem: fmt.Sprintf("this cluster has no composable index templates (PUT %s answered %s), "+
				"and a legacy _template cannot declare a data stream (Elasticsearch ≥ 7.9 and OpenSearch can)", composable, describeErr(bare(err))),
			Fix: "set elasticsearch.data_stream to false (a date pattern in elasticsearch.index gives daily indices), or upgrade the cluster",
		}
	}

	o.log.Info().Err(err).Msg("elasticsearch has no composable index templates (before 7.8); using the legacy _template API")
	if !o.cfg.Template.Overwrite {
		status, err := o.request(ctx, http.MethodHead, legacy, nil)
		if err == nil && status == http.StatusOK {
			return "legacy (kept existing)", nil
		}
		if err != nil && errStatus(err) != http.StatusNotFound {
			return "", templateErr(legacy, err)
		}
	}
	_, err = o.request(ctx, http.MethodPut, legacy+o.createParam(), o.LegacyTemplate())
	if err == nil || o.alreadyExists(err) {
		return "legacy", nil
	}
	return "", templateErr(legacy, err)
}

// createParam makes PUT fail rather than replace, so that two logshipper
// instances starting together do not race an operator's template away.
func (o *Output) createParam() string {
	if o.cfg.Template.Overwrite {
		return ""
	}
	return "?create=true"
}

func (o *Output) alreadyExists(err error) bool {
	return !o.cfg.Template.Overwrite && errStatus(err) == http.StatusBadRequest &&
		strings.Contains(errText(err), "already exists")
}

func templateErr(path string, err error) error { return &TemplateError{Path: path, Err: err} }

// TemplateError is a failed template installation.
type TemplateError struct {
	Path string // /_index_template/<name> or /_template/<name>
	Err  error
}

func (e *TemplateError) Error() string {
	return "elasticsearch: installing index template " + e.Path + ": " + describeErr(e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// Permanent reports whether trying again cannot help without an operator:
// Elasticsearch answered with a 4xx other than 429 (no privilege, a
// conflicting template of the same priority, a bad setting). Not 401: the
// credentials are refused for _bulk too, so going on without the template
// indexes nothing, and once they are fixed on the cluster's side (a user
// created, a password reset) the template must go in before the first
// index is made.
func (e *TemplateError) Permanent() bool { return permanentStatus(errStatus(e.Err)) }

func permanentStatus(s int) bool {
	return s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusUnauthorized
}

// isFallbackStatus: the composable template API is not there (Elasticsearch
// before 7.8 reads /_index_template/x as an index name).
func isFallbackStatus(err error) bool {
	switch errStatus(err) {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	case http.StatusBadRequest:
		t := strings.ToLower(errText(err))
		return strings.Contains(t, "invalid_index_name") || strings.Contains(t, "unknown") ||
			strings.Contains(t, "no handler") || strings.Contains(t, "incorrect http method")
	}
	return false
}

// request performs one call and returns its HTTP status; non-2xx is an
// *elastic.Error.
func (o *Output) request(ctx context.Context, method, path string, body any) (int, error) {
	status, _, err := o.call(ctx, method, path, body)
	return status, err
}

// errorStatuses makes olivere hand every answer back unread, so that call
// can read error bodies olivere cannot (see answerError).
var errorStatuses = func() []int {
	s := make([]int, 0, 300)
	for code := 300; code < 600; code++ {
		s = append(s, code)
	}
	return s
}()

// call performs one request and returns the status and body of the answer;
// a non-2xx answer is also returned as an *elastic.Error.
func (o *Output) call(ctx context.Context, method, path string, body any) (int, json.RawMessage, error) {
	opt := elastic.PerformRequestOptions{Method: method, Path: path, IgnoreErrors: errorStatuses}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		if o.cfg.Gzip {
			if b, err = o.gzipBytes(b); err != nil {
				return 0, nil, err
			}
			opt.Headers = http.Header{"Content-Encoding": {"gzip"}}
		}
		opt.Body = string(b)
		opt.ContentType = "application/json"
	}
	res, err := o.client.PerformRequest(ctx, opt)
	if err != nil {
		return errStatus(err), nil, o.explain(err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		err := answerError(res.StatusCode, res.Body)
		if u := o.onlyURL(); u != "" {
			err = answeredBy(u, err)
		}
		return res.StatusCode, res.Body, o.explain(err)
	}
	return res.StatusCode, res.Body, nil
}

// answerError reads an error answer: {"error":{"type":…,"reason":…},
// "status":N} as olivere does, and also the {"error":"no handler found for
// uri …"} that a node answers for an API it does not have, which olivere
// reduces to the bare status.
func answerError(status int, body []byte) error {
	e := &elastic.Error{Status: status}
	var answer struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &answer) != nil || len(answer.Error) == 0 {
		return e
	}
	var d elastic.ErrorDetails
	var text string
	switch {
	case json.Unmarshal(answer.Error, &d) == nil && (d.Type != "" || d.Reason != ""):
		e.Details = &d
	case json.Unmarshal(answer.Error, &text) == nil && text != "":
		e.Details = &elastic.ErrorDetails{Reason: text}
	}
	return e
}

// errStatus is the HTTP status of an Elasticsearch error, 0 if the
// request got no answer.
func errStatus(err error) int {
	var e *elastic.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func errText(err error) string {
	var e *elastic.Error
	if errors.As(err, &e) && e.Details != nil {
		return detailsReason(e.Details)
	}
	return err.Error()
}

// describeErr renders an error for logs: "HTTP 403: security_exception: …"
// for an answer, the transport error otherwise; with the node and a hint
// when explain added them (explain.go).
func describeErr(err error) string {
	if ne, ok := err.(*nodeError); ok {
		return ne.Error()
	}
	var e *elastic.Error
	if errors.As(err, &e) {
		if e.Details != nil {
			return fmt.Sprintf("HTTP %d: %s", e.Status, detailsReason(e.Details))
		}
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return err.Error()
}

// detailsReason is "type: reason (caused by: type: reason)", or the bare
// reason of an answer that gave only a text.
func detailsReason(d *elastic.ErrorDetails) string {
	if d.Type == "" && d.CausedBy == nil {
		return d.Reason
	}
	return formatDetails(d.Type, d.Reason, d.CausedBy)
}
