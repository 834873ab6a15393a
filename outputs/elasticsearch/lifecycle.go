package elasticsearch

// The index lifecycle policy (elasticsearch.lifecycle.*): an example
// retention policy that logshipper installs at start and attaches to new
// indices through the index template, so that old logs go away without an
// operator's cron job. Elasticsearch has ILM and OpenSearch has ISM; they
// differ in API, in body and in how a policy reaches new indices, so the
// cluster's distribution is read from GET / first.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Rollover thresholds of the data-stream policy: a new backing index every
// day, or sooner at 50 GB in one primary shard, the upper end of the shard
// size Elasticsearch's and OpenSearch's sizing guides give for logs.
const (
	rolloverAge       = "1d"
	rolloverShardSize = "50gb"
)

// clusterInfo is what GET / says about the cluster.
type clusterInfo struct {
	OpenSearch bool
	Version    string
}

func (c clusterInfo) String() string {
	if c.OpenSearch {
		return "OpenSearch " + c.Version
	}
	return "Elasticsearch " + c.Version
}

// detectCluster reads the root endpoint: OpenSearch answers
// version.distribution "opensearch", Elasticsearch has no such field.
func (o *Output) detectCluster(ctx context.Context) (clusterInfo, error) {
	_, body, err := o.call(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return clusterInfo{}, &LifecycleError{Op: "reading the cluster's distribution", Path: "/", Err: err}
	}
	var root struct {
		Version struct {
			Distribution string `json:"distribution"`
			Number       string `json:"number"`
		} `json:"version"`
	}
	if err := json.Unmarshal(body, &root); err != nil {
		return clusterInfo{}, &LifecycleError{Op: "reading the cluster's distribution", Path: "/", Err: fmt.Errorf("the answer is not JSON: %v", err)}
	}
	return clusterInfo{OpenSearch: root.Version.Distribution == "opensearch", Version: root.Version.Number}, nil
}

// ILMPolicy is the body of PUT _ilm/policy/<name> (Elasticsearch).
//
// Daily indices: a delete phase only, whose min_age ILM counts from the
// index's creation. Data stream: the hot phase rolls the backing index over
// daily or at 50gb per primary shard, and the delete phase's min_age then
// counts from that rollover (ILM's rule once an index has rolled over).
func (o *Output) ILMPolicy() map[string]any {
	phases := map[string]any{
		"delete": map[string]any{
			"min_age": o.cfg.Lifecycle.DeleteAfter,
			"actions": map[string]any{"delete": map[string]any{}},
		},
	}
	if o.cfg.DataStream {
		phases["hot"] = map[string]any{
			"min_age": "0ms",
			"actions": map[string]any{"rollover": map[string]any{
				"max_age":                rolloverAge,
				"max_primary_shard_size": rolloverShardSize,
			}},
		}
	}
	return map[string]any{"policy": map[string]any{"phases": phases}}
}

// ISMPolicy is the body of PUT _plugins/_ism/policies/<name> (OpenSearch).
//
// Its ism_template carries the index template's pattern: that is how
// OpenSearch attaches a policy to new indices (the policy_id index setting
// in a template is deprecated and no longer applied, see README.md). For a
// data stream ISM matches the pattern against the stream's name and manages
// its backing indices.
func (o *Output) ISMPolicy() map[string]any {
	after := o.cfg.Lifecycle.DeleteAfter
	hot := map[string]any{
		"name":    "hot",
		"actions": []any{},
		"transitions": []any{map[string]any{
			"state_name": "delete",
			"conditions": map[string]any{"min_index_age": after},
		}},
	}
	description := "logshipper: delete indices " + after + " after their creation"
	if o.cfg.DataStream {
		hot["actions"] = []any{map[string]any{"rollover": map[string]any{
			"min_index_age":          rolloverAge,
			"min_primary_shard_size": rolloverShardSize,
		}}}
		hot["transitions"] = []any{map[string]any{
			"state_name": "delete",
			"conditions": map[string]any{"min_rollover_age": after},
		}}
		description = "logshipper: roll data stream backing indices over daily or at " + rolloverShardSize +
			" per primary shard, delete them " + after + " after the rollover"
	}
	return map[string]any{"policy": map[string]any{
		"description":   description,
		"default_state": "hot",
		"states": []any{hot, map[string]any{
			"name":        "delete",
			"actions":     []any{map[string]any{"delete": map[string]any{}}},
			"transitions": []any{},
		}},
		"ism_template": []any{map[string]any{
			"index_patterns": []string{o.index.TemplatePattern()},
			"priority":       o.cfg.Template.Priority,
		}},
	}}
}

// installPolicy puts the policy in place before the template that refers
// to it (on Elasticsearch an index.lifecycle.name setting is refused by a
// cluster without ILM, so the policy call is also the test for ILM). Like
// the template, an existing policy of that name is kept unless
// Template.Overwrite is on. It returns what it did, for the log.
func (o *Output) installPolicy(ctx context.Context, c clusterInfo) (string, error) {
	if c.OpenSearch {
		return o.installISM(ctx, c)
	}
	return o.installILM(ctx, c)
}

func (o *Output) installILM(ctx context.Context, c clusterInfo) (string, error) {
	path := "/_ilm/policy/" + url.PathEscape(o.cfg.Lifecycle.Policy)
	if !o.cfg.Template.Overwrite {
		_, _, err := o.call(ctx, http.MethodGet, path, nil)
		switch {
		case err == nil:
			return "ILM policy kept", nil
		case ilmPolicyMissing(err):
		case noLifecycleAPI(err):
			return "", o.noLifecycleAPIError(c, http.MethodGet, path, err)
		default:
			return "", &LifecycleError{Op: "installing lifecycle policy", Path: path, Err: err}
		}
	}
	// ILM's PUT creates or replaces; two instances starting together put
	// the same body.
	if _, _, err := o.call(ctx, http.MethodPut, path, o.ILMPolicy()); err != nil {
		if noLifecycleAPI(err) {
			return "", o.noLifecycleAPIError(c, http.MethodPut, path, err)
		}
		return "", &LifecycleError{Op: "installing lifecycle policy", Path: path, Err: err}
	}
	return "ILM policy installed", nil
}

// installISM creates the policy with a plain PUT, which ISM refuses with
// 409 when the policy exists; replacing it needs the current revision's
// _seq_no and _primary_term.
func (o *Output) installISM(ctx context.Context, c clusterInfo) (string, error) {
	path := "/_plugins/_ism/policies/" + url.PathEscape(o.cfg.Lifecycle.Policy)
	_, _, err := o.call(ctx, http.MethodPut, path, o.ISMPolicy())
	switch {
	case err == nil:
		return "ISM policy installed", nil
	case noLifecycleAPI(err):
		return "", o.noLifecycleAPIError(c, http.MethodPut, path, err)
	case errStatus(err) != http.StatusConflict:
		return "", &LifecycleError{Op: "installing lifecycle policy", Path: path, Err: err}
	case !o.cfg.Template.Overwrite:
		return "ISM policy kept", nil
	}
	_, body, err := o.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", &LifecycleError{Op: "installing lifecycle policy", Path: path, Err: err}
	}
	var cur struct {
		SeqNo       *int64 `json:"_seq_no"`
		PrimaryTerm *int64 `json:"_primary_term"`
	}
	if json.Unmarshal(body, &cur) != nil || cur.SeqNo == nil || cur.PrimaryTerm == nil {
		return "", &LifecycleError{Op: "installing lifecycle policy", Path: path,
			Err: fmt.Errorf("GET %s answered without _seq_no and _primary_term, which replacing the policy needs", path)}
	}
	q := "?if_seq_no=" + strconv.FormatInt(*cur.SeqNo, 10) + "&if_primary_term=" + strconv.FormatInt(*cur.PrimaryTerm, 10)
	if _, _, err := o.call(ctx, http.MethodPut, path+q, o.ISMPolicy()); err != nil {
		return "", &LifecycleError{Op: "installing lifecycle policy", Path: path, Err: err}
	}
	return "ISM policy replaced", nil
}

// ilmPolicyMissing: GET _ilm/policy/<name> of a policy that does not exist
// answers 404 resource_not_found_exception ("Lifecycle policy not found").
func ilmPolicyMissing(err error) bool {
	return errStatus(err) == http.StatusNotFound && strings.Contains(errText(err), "resource_not_found_exception")
}

// noLifecycleAPI: the cluster does not know the URL. OpenSearch without
// the index-management plugin and Elasticsearch without ILM answer 400
// "no handler found for uri"; others read the path as an index name
// (invalid_index_name_exception) or answer 404/405.
func noLifecycleAPI(err error) bool {
	switch errStatus(err) {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	case http.StatusBadRequest:
		t := strings.ToLower(errText(err))
		return strings.Contains(t, "no handler found") || strings.Contains(t, "invalid_index_name") ||
			strings.Contains(t, "incorrect http method")
	}
	return false
}

func (o *Output) noLifecycleAPIError(c clusterInfo, method, path string, err error) error {
	fix := "unset the setting, or install the opensearch-index-management plugin (ISM) on every node"
	if !c.OpenSearch {
		fix = "unset the setting, or run an Elasticsearch distribution with ILM (the default one, free under the basic license; not OSS)"
	}
	return &ClusterError{
		Key:     keyPrefix + "lifecycle.policy",
		Value:   strconv.Quote(o.cfg.Lifecycle.Policy),
		Problem: fmt.Sprintf("this cluster (%s) has no index lifecycle API (%s %s answered %s)", c, method, path, describeErr(bare(err))),
		Fix:     fix,
	}
}

// LifecycleError is a failed policy installation, or a failed GET / before it.
type LifecycleError struct {
	Op   string // "installing lifecycle policy", ...
	Path string // /_ilm/policy/<name>, /_plugins/_ism/policies/<name>, /
	Err  error
}

func (e *LifecycleError) Error() string {
	return "elasticsearch: " + e.Op + " " + e.Path + ": " + describeErr(e.Err)
}

func (e *LifecycleError) Unwrap() error { return e.Err }

// Permanent reports whether trying again cannot help without an operator
// (a 4xx other than 429 and 401: no privilege, a policy the cluster
// refuses; see TemplateError.Permanent for 401).
func (e *LifecycleError) Permanent() bool { return permanentStatus(errStatus(e.Err)) }

// ClusterError is a setting this cluster cannot honour: a lifecycle policy
// without a lifecycle API, a data stream without composable templates. No
// retry helps; the operator changes the setting or the cluster, so
// logshipper refuses to start on it (cmd/logshipper).
type ClusterError struct {
	Key     string // elasticsearch.lifecycle.policy
	Value   string // as shown: "logshipper-30d", true
	Problem string
	Fix     string
}

func (e *ClusterError) Error() string {
	return e.Key + ": " + e.Value + ": " + e.Problem + "; " + e.Fix
}
