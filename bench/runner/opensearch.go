package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The OpenSearch comparison: logshipper's rate for r.Messages RFC3164
// messages into a real OpenSearch node, beside the rate of a direct loader
// that posts pre-built bulk bodies of the same documents (OpenSearch's own
// ceiling on this machine), with logshipper's CPU beside OpenSearch's.

const osIndex = "syslog-msg"

// OSResult is one run of the OpenSearch comparison.
type OSResult struct {
	Kind       string  `json:"kind"` // "logshipper" or "direct"
	Round      int     `json:"round"`
	Messages   int64   `json:"messages"`
	Indexed    int64   `json:"indexed"` // _count after the run
	Seconds    float64 `json:"seconds"`
	RateMsgs   float64 `json:"msgs_per_s"`
	ClientCPU  float64 `json:"client_cpu_s"` // logshipper's, or the direct loader's (this process)
	OSCPU      float64 `json:"opensearch_cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	Bulks      int64   `json:"bulk_requests"`
	// BulkSeconds is the summed duration of the bulk requests (logshipper:
	// logshipper_bulk_duration_seconds_sum); BulkBusy = BulkSeconds / Seconds,
	// the mean number of requests in flight (at most the workers, 2).
	BulkSeconds float64 `json:"bulk_seconds"`
	BulkBusy    float64 `json:"bulk_busy"`
	Error       string  `json:"error,omitempty"`
}

func selfCPU() float64 {
	c, _ := procCPU(os.Getpid())
	return c
}

func (r *Runner) runOpenSearch(node osNode, osPID, workers, batch int, outRoot string, latest bool) error {
	if err := node.check(); err != nil {
		return err
	}
	if osPID > 0 {
		if _, err := procCPU(osPID); err != nil {
			return fmt.Errorf("OpenSearch pid %d: %w", osPID, err)
		}
	}
	if *osTemplates != "" {
		return r.runOSTemplates(node, osPID, splitList(*osTemplates), outRoot, latest)
	}
	return r.frame("opensearch", false, outRoot, latest, func(_ []string, record func(any)) (string, error) {
		// Warm-up (not counted): warms the JVM, installs logshipper's
		// template and gives the sample document the direct loader copies.
		warm := max(r.Messages/10, 10000)
		log.Printf("opensearch: warm-up, %d messages through logshipper", warm)
		if wres := r.osLogshipperRun(node, osPID, 0, warm); wres.Error != "" {
			return "", fmt.Errorf("warm-up: %s", wres.Error)
		}
		sample, err := osSample(node.url)
		if err != nil {
			return "", err
		}
		log.Printf("opensearch: sample document: %s", sample)
		bodies, err := buildBodies(sample, r.Messages, batch)
		if err != nil {
			return "", err
		}
		if _, err := r.osDirectRun(node, osPID, 0, bodies, warm, workers); err != nil {
			log.Printf("opensearch: direct warm-up: %v", err)
		}
		var results []OSResult
		for round := 1; round <= r.Rounds; round++ {
			for _, kind := range rotated([]string{"logshipper", "direct"}, round) {
				var res OSResult
				if kind == "logshipper" {
					res = r.osLogshipperRun(node, osPID, round, r.Messages)
				} else {
					res, _ = r.osDirectRun(node, osPID, round, bodies, r.Messages, workers)
				}
				record(res)
				log.Printf("opensearch %-10s round %d: %9.0f msgs/s  client cpu %6.2fs  opensearch cpu %6.2fs  bulks %d (%.1f ms each, %.2f in flight)  indexed %d  %s",
					res.Kind, res.Round, res.RateMsgs, res.ClientCPU, res.OSCPU, res.Bulks, 1000*res.BulkSeconds/float64(max(res.Bulks, 1)), res.BulkBusy, res.Indexed, res.Error)
				results = append(results, res)
			}
		}
		_ = node.deleteIndex(osIndex)
		return r.osMarkdown(results, workers, batch), nil
	})
}

func osSample(osURL string) ([]byte, error) {
	code, b, err := osDo("GET", osURL+"/"+osIndex+"/_search?size=1", nil)
	if err != nil || code != 200 {
		return nil, fmt.Errorf("sample document: %v %d %s", err, code, b)
	}
	var sr struct {
		Hits struct {
			Hits []struct {
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &sr); err != nil || len(sr.Hits.Hits) == 0 {
		return nil, fmt.Errorf("sample document: %v %s", err, b)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, sr.Hits.Hits[0].Source); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildBodies makes the direct loader's bulk bodies: n copies of the sample
// document (as logshipper indexed it) with sequence numbers 0..n-1, batch
// documents per body, with the action line logshipper sends.
func buildBodies(sample []byte, n int64, batch int) ([][]byte, error) {
	i := bytes.Index(sample, []byte("seq="))
	if i < 0 {
		return nil, errors.New("sample document has no seq=")
	}
	prefix := sample[:i+4]
	suffix := sample[i+4+9:]
	// A fresh run id, so these documents are told apart from logshipper's.
	if j := bytes.Index(prefix, []byte("run=")); j >= 0 {
		e := j + 4
		for e < len(prefix) && prefix[e] != ' ' {
			e++
		}
		prefix = append(append(append([]byte{}, prefix[:j+4]...), "direct"...), prefix[e:]...)
	}
	action := []byte(`{"index":{"_index":"` + osIndex + `"}}` + "\n")
	var bodies [][]byte
	for start := int64(0); start < n; start += int64(batch) {
		end := start + int64(batch)
		if end > n {
			end = n
		}
		b := make([]byte, 0, (end-start)*int64(len(action)+len(sample)+2))
		for s := start; s < end; s++ {
			b = append(b, action...)
			b = append(b, prefix...)
			d := strconv.FormatInt(s, 10)
			for k := len(d); k < 9; k++ {
				b = append(b, '0')
			}
			b = append(b, d...)
			b = append(b, suffix...)
			b = append(b, '\n')
		}
		bodies = append(bodies, b)
	}
	return bodies, nil
}

func (r *Runner) osDirectRun(node osNode, osPID, round int, bodies [][]byte, n int64, workers int) (OSResult, error) {
	res := OSResult{Kind: "direct", Round: round, Messages: n}
	if err := node.deleteIndex(osIndex); err != nil {
		res.Error = err.Error()
		return res, err
	}
	// As for logshipper, the first bulk request creates the index (with
	// logshipper's template, installed in the cluster by the warm-up).
	// Bodies needed for n documents.
	var use [][]byte
	var docs int64
	for _, b := range bodies {
		if docs >= n {
			break
		}
		use = append(use, b)
		docs += int64(bytes.Count(b, []byte("\n")) / 2)
	}
	res.Messages = docs
	res.Bulks = int64(len(use))
	cpuOS0, _ := procCPU(osPID)
	cpu0 := selfCPU()
	var mu sync.Mutex
	var firstErr error
	var bulkSecs float64
	next := make(chan []byte)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", node.url+"/_bulk", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := osClient.Do(req)
				if err == nil {
					var body []byte
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || !bytes.Contains(body[:min(len(body), 64)], []byte(`"errors":false`))) {
						err = fmt.Errorf("bulk: %d %.300s", resp.StatusCode, body)
					}
				}
				mu.Lock()
				bulkSecs += time.Since(t0).Seconds()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, b := range use {
		next <- b
	}
	close(next)
	wg.Wait()
	el := time.Since(start)
	cpuOS1, _ := procCPU(osPID)
	res.ClientCPU = selfCPU() - cpu0
	res.OSCPU = cpuOS1 - cpuOS0
	res.Seconds = el.Seconds()
	res.RateMsgs = float64(docs) / el.Seconds()
	res.BulkSeconds = bulkSecs
	res.BulkBusy = bulkSecs / el.Seconds()
	res.Indexed, _ = node.refreshCount(osIndex)
	if firstErr != nil {
		res.Error = firstErr.Error()
	} else if res.Indexed != docs {
		res.Error = fmt.Sprintf("_count %d, want %d", res.Indexed, docs)
	}
	return res, firstErr
}

// osLogshipperRun ships n messages through a new logshipper (env on top of
// its defaults) into the node and measures both.
func (r *Runner) osLogshipperRun(node osNode, osPID, round int, n int64, env ...string) OSResult {
	res := OSResult{Kind: "logshipper", Round: round, Messages: n}
	if err := node.deleteIndex(osIndex); err != nil {
		res.Error = err.Error()
		return res
	}
	r.runSeq++
	work, err := r.workDir("os-logshipper-%03d-r%d", r.runSeq, round)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	p, port, metricsURL, err := startOn(15*time.Second, func(port int) (*proc, string, error) {
		return r.startLogshipper(work, port, node.url, env...)
	})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer p.stop(15 * time.Second)
	// Ready when it answers /readyz (OpenSearch reachable). The first bulk
	// request creates the index, as for the direct loader.
	waitReady(metricsURL, 100, 100*time.Millisecond)
	cpu0, _ := procCPU(p.pid)
	cpuOS0, _ := procCPU(osPID)
	sc := tcpRFC3164
	sc.Vary = *osVary
	lr, err := r.loadgen(sc, port, fmt.Sprintf("os%d", round), n)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	// Done when logshipper counts every event as indexed (acknowledged by
	// OpenSearch), as the direct loader is done when its last bulk answers.
	var end time.Time
	lastVal, lastChange := -1.0, time.Now()
	for {
		m := scrapeMetrics(metricsURL, "logshipper_events_indexed_total")
		v := m["logshipper_events_indexed_total"]
		if v >= float64(n) {
			end = time.Now()
			break
		}
		if v != lastVal {
			lastVal, lastChange = v, time.Now()
		}
		if time.Since(lastChange) > 60*time.Second || !p.alive() {
			res.Error = fmt.Sprintf("logshipper indexed %.0f of %d, then stalled", v, n)
			end = time.Now()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cpu1, _ := procCPU(p.pid)
	cpuOS1, _ := procCPU(osPID)
	for k, v := range scrapeMetrics(metricsURL, "logshipper_bulk_") {
		switch {
		case strings.HasPrefix(k, "logshipper_bulk_requests_total"):
			res.Bulks += int64(v)
		case strings.HasPrefix(k, "logshipper_bulk_duration_seconds_sum"):
			res.BulkSeconds += v
		}
	}
	res.PeakRSSMiB = peakRSSMiB(p.pid)
	res.ClientCPU = cpu1 - cpu0
	res.OSCPU = cpuOS1 - cpuOS0
	res.Seconds = end.Sub(time.Unix(0, lr.FirstSendNS)).Seconds()
	res.RateMsgs = float64(n) / res.Seconds
	res.BulkBusy = res.BulkSeconds / res.Seconds
	p.stop(15 * time.Second)
	res.Indexed, _ = node.refreshCount(osIndex)
	if res.Error == "" && res.Indexed != n {
		res.Error = fmt.Sprintf("_count %d, want %d", res.Indexed, n)
	}
	return res
}

func (r *Runner) osMarkdown(results []OSResult, workers, batch int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Into a real OpenSearch 2.19 node (testenv/opensearch.sh, 1 GiB heap, same machine)\n\n")
	writeList(&b, machineInfo(r.PeersDir, r.LogshipperBin))
	fmt.Fprintf(&b, "- %d RFC3164 messages per run, %d rounds (medians), index `%s` deleted before every run\n", r.Messages, r.Rounds, osIndex)
	fmt.Fprintf(&b, "- direct loader: pre-built `_bulk` bodies of %d copies of the document logshipper indexed (taken from the index), %d per request, %d requests in flight (logshipper's defaults: batch 1000, 2 workers)\n\n", r.Messages, batch, workers)
	fmt.Fprintf(&b, "| loader | msgs/s | client CPU-s | OpenSearch CPU-s | client/OpenSearch CPU | docs per bulk | ms per bulk | mean requests in flight | indexed (_count) | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	med := map[string]float64{}
	for _, kind := range []string{"logshipper", "direct"} {
		var rate, ccpu, oscpu []float64
		var idx, perBulk, msBulk, busy []float64
		ok, n := 0, 0
		for _, res := range results {
			if res.Kind != kind {
				continue
			}
			n++
			if res.Error == "" {
				ok++
			}
			rate = append(rate, res.RateMsgs)
			ccpu = append(ccpu, res.ClientCPU)
			oscpu = append(oscpu, res.OSCPU)
			idx = append(idx, float64(res.Indexed))
			if res.Bulks > 0 {
				perBulk = append(perBulk, float64(res.Messages)/float64(res.Bulks))
				msBulk = append(msBulk, 1000*res.BulkSeconds/float64(res.Bulks))
			}
			busy = append(busy, res.BulkBusy)
		}
		med[kind] = median(rate)
		ratio := 0.0
		if median(oscpu) > 0 {
			ratio = median(ccpu) / median(oscpu)
		}
		name := "logshipper (syslog TCP → _bulk)"
		if kind == "direct" {
			name = "direct `_bulk` loader (ceiling)"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.3f | %.0f | %.1f | %.2f | %.0f | %d/%d |\n", name, median(rate), median(ccpu), median(oscpu), ratio, median(perBulk), median(msBulk), median(busy), median(idx), ok, n)
	}
	if med["direct"] > 0 {
		fmt.Fprintf(&b, "\nlogshipper reaches %.0f%% of the direct loader's rate.\n", 100*med["logshipper"]/med["direct"])
	}
	var errs []string
	for _, res := range results {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("- %s round %d: %s", res.Kind, res.Round, res.Error))
		}
	}
	writeErrors(&b, "\n", errs)
	return b.String()
}

// The template comparison (bench/os.sh with TEMPLATES): the same
// logshipper run under each index template, rounds rotating, with
// OpenSearch's CPU and the index's size on disk.

var (
	osTemplates = flag.String("opensearch-templates", "", "with -opensearch: compare index templates instead, comma-separated: "+
		"compatible and lean (logshipper's elasticsearch.template.mode), logstash7 (Logstash 7's default template, -logstash7-template), "+
		"or a file NAME.json holding a template body (composable if it has \"template\", else legacy) for variants")
	osVary = flag.Bool("opensearch-vary", false, "with -opensearch: varied content (loadgen -vary: a pool of 8192 distinct "+
		"hosts, programs, times and messages) instead of copies of one message that differ in their sequence number")
	osDocumentID = flag.String("opensearch-document-id", "event", "with -opensearch-templates: logshipper's elasticsearch.document_id, "+
		"event (its own _id per event, op_type create: the default) or auto (the cluster assigns the _id, as Logstash does by default)")
	osLogstash7 = flag.String("logstash7-template", "outputs/elasticsearch/testdata/logstash-template/elasticsearch-7x.json",
		"with -opensearch-templates: Logstash 7's template file (logstash-output-elasticsearch's ecs-disabled/elasticsearch-7x.json)")
)

// OSTemplateResult is one run of the template comparison.
type OSTemplateResult struct {
	OSResult
	Template string `json:"template"`
	// After the run: refresh + flush, then the primaries' store; then a
	// forcemerge to one segment (+ flush) and the store again. The CPU
	// OpenSearch spends on each, which the run's figure does not hold.
	StoreBytes       int64   `json:"store_bytes"`
	Segments         int64   `json:"segments"`
	FlushCPU         float64 `json:"flush_opensearch_cpu_s"`
	MergedStoreBytes int64   `json:"merged_store_bytes"`
	MergedSegments   int64   `json:"merged_segments"`
	MergeCPU         float64 `json:"forcemerge_opensearch_cpu_s"`
}

// osTemplateEnv is how logshipper runs under each template. logstash7:
// logshipper installs none (its composable template would win over the
// legacy one); the runner has put Logstash's in place.
var osTemplateEnv = map[string][]string{
	"compatible": {"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_MODE=compatible", "LOGSHIPPER_ELASTICSEARCH_TEMPLATE_OVERWRITE=true"},
	"lean":       {"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_MODE=lean", "LOGSHIPPER_ELASTICSEARCH_TEMPLATE_OVERWRITE=true"},
	"logstash7":  {"LOGSHIPPER_ELASTICSEARCH_TEMPLATE_ENABLED=false"},
}

// benchTemplate reads a template body from a file (Logstash's, or a
// variant) and points it at the bench's index: its index_patterns
// (logstash-* in Logstash's) replaced, nothing else.
func benchTemplate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t["index_patterns"] = []string{osIndex + "*"}
	return json.Marshal(t)
}

func (r *Runner) runOSTemplates(node osNode, osPID int, templates []string, outRoot string, latest bool) error {
	// Bodies the runner installs itself (logshipper's template off), by
	// the name in the table.
	bodies := map[string][]byte{}
	var names []string
	for _, t := range templates {
		switch {
		case t == "logstash7":
			b, err := benchTemplate(*osLogstash7)
			if err != nil {
				return err
			}
			bodies[t] = b
		case strings.HasSuffix(t, ".json"):
			b, err := benchTemplate(t)
			if err != nil {
				return err
			}
			t = strings.TrimSuffix(filepath.Base(t), ".json")
			bodies[t] = b
		case osTemplateEnv[t] == nil:
			return fmt.Errorf("-opensearch-templates: unknown template %q; use compatible, logstash7, lean or a file NAME.json", t)
		}
		names = append(names, t)
	}
	templates = names
	// prepare leaves the node with only this run's template.
	prepare := func(t string) error {
		if err := node.reset(osIndex); err != nil {
			return err
		}
		body, ok := bodies[t]
		if !ok {
			return nil
		}
		api := "_template"
		if bytes.Contains(body, []byte(`"template":`)) {
			api = "_index_template"
		}
		if code, b, err := osDo("PUT", node.url+"/"+api+"/bench-"+t, body); err != nil || code != 200 {
			return fmt.Errorf("PUT %s/bench-%s: %v %d %.300s", api, t, err, code, b)
		}
		return nil
	}
	if *osDocumentID != "event" && *osDocumentID != "auto" {
		return fmt.Errorf("-opensearch-document-id: %q is not a document_id; use event or auto", *osDocumentID)
	}
	env := func(t string) []string {
		e, ok := osTemplateEnv[t]
		if !ok {
			e = osTemplateEnv["logstash7"] // installed by the runner
		}
		return append(slices.Clip(e), "LOGSHIPPER_ELASTICSEARCH_DOCUMENT_ID="+*osDocumentID)
	}
	name := "opensearch-templates"
	if *osVary {
		name += "-varied"
	}
	if *osDocumentID == "auto" {
		name += "-auto-id"
	}
	return r.frame(name, false, outRoot, latest, func(_ []string, record func(any)) (string, error) {
		// Warm-up (not counted) under every template, so the JVM has
		// compiled each one's paths (text analysis, doc values, the
		// codec) before any run is measured. A tenth of a run was not
		// enough: Logstash's template kept getting cheaper until its
		// third round (38.7, 29.2, 26.0, 24.5, 25.3 CPU-s per million,
		// lean 24.5, 19.8, 18.4, 20.1, 20.4; bench/profiles/opensearch.md),
		// which favoured whichever template needs less compiled code. So
		// each template gets a whole uncounted run first.
		warm := max(r.Messages, 10000)
		for _, t := range templates {
			log.Printf("opensearch templates: warm-up, %d messages through logshipper under %s", warm, t)
			if err := prepare(t); err != nil {
				return "", err
			}
			if wres := r.osLogshipperRun(node, osPID, 0, warm, env(t)...); wres.Error != "" {
				return "", fmt.Errorf("warm-up under %s: %s", t, wres.Error)
			}
		}
		var results []OSTemplateResult
		for round := 1; round <= r.Rounds; round++ {
			for _, t := range rotated(templates, round) {
				res := OSTemplateResult{Template: t}
				if err := prepare(t); err != nil {
					res.Error = err.Error()
				} else {
					res.OSResult = r.osLogshipperRun(node, osPID, round, r.Messages, env(t)...)
					res.Template = t
					if err := r.osStore(node, osPID, &res); err != nil && res.Error == "" {
						res.Error = err.Error()
					}
				}
				record(res)
				log.Printf("opensearch template %-10s round %d: %9.0f msgs/s  logshipper cpu %6.2fs  opensearch cpu %6.2fs (+%.2fs flush, +%.2fs forcemerge)  store %d B (%d segments), merged %d B (%d)  indexed %d  %s",
					t, round, res.RateMsgs, res.ClientCPU, res.OSCPU, res.FlushCPU, res.MergeCPU, res.StoreBytes, res.Segments, res.MergedStoreBytes, res.MergedSegments, res.Indexed, res.Error)
				results = append(results, res)
			}
		}
		_ = node.reset(osIndex)
		return r.osTemplatesMarkdown(results, templates), nil
	})
}

// osStore measures the index on disk after the run: refresh + flush (what
// is indexed is in segments, the translog trimmed), then forcemerge to one
// segment. Merges still running after the flush are part of the store at
// that moment; the forcemerged size is the settled one.
func (r *Runner) osStore(node osNode, osPID int, res *OSTemplateResult) error {
	cpu0, _ := procCPU(osPID)
	_ = node.refresh(osIndex)
	if code, b, err := osDo("POST", node.url+"/"+osIndex+"/_flush", nil); err != nil || code != 200 {
		return fmt.Errorf("_flush: %v %d %.200s", err, code, b)
	}
	cpu1, _ := procCPU(osPID)
	res.FlushCPU = cpu1 - cpu0
	var err error
	if res.StoreBytes, res.Segments, err = node.storeStats(osIndex); err != nil {
		return err
	}
	if code, b, err := osDo("POST", node.url+"/"+osIndex+"/_forcemerge?max_num_segments=1", nil); err != nil || code != 200 {
		return fmt.Errorf("_forcemerge: %v %d %.200s", err, code, b)
	}
	// The merged-away segments' files go only once no searcher holds them:
	// refresh, then commit.
	_ = node.refresh(osIndex)
	_, _, _ = osDo("POST", node.url+"/"+osIndex+"/_flush", nil)
	cpu2, _ := procCPU(osPID)
	res.MergeCPU = cpu2 - cpu1
	res.MergedStoreBytes, res.MergedSegments, err = node.storeStats(osIndex)
	return err
}

func (r *Runner) osTemplatesMarkdown(results []OSTemplateResult, templates []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Index templates: OpenSearch's CPU and disk per 1,000,000 documents (OpenSearch 2.19 node, testenv/opensearch.sh, 1 GiB heap, same machine)\n\n")
	writeList(&b, machineInfo(r.PeersDir, r.LogshipperBin))
	ids := "own `_id`, op_type create"
	if *osDocumentID == "auto" {
		ids = "`document_id: auto`: the cluster assigns each `_id`, as Logstash does by default"
	}
	fmt.Fprintf(&b, "- %d RFC3164 messages per run through logshipper (batch 1000, 2 workers, %s), %d rounds (medians), templates in rotating order, index `%s` and every template deleted before each run\n", r.Messages, ids, r.Rounds, osIndex)
	fmt.Fprintf(&b, "- templates: `compatible` and `lean` are logshipper's `elasticsearch.template.mode` (installed by logshipper); `logstash7` is Logstash 7's default template (outputs/elasticsearch/testdata/logstash-template/, logstash-output-elasticsearch ecs-disabled/elasticsearch-7x.json) installed by the runner as `_template` for `%s*`, logshipper's template off\n", osIndex)
	fmt.Fprintf(&b, "- OpenSearch CPU = utime+stime of the JVM from the first message sent until logshipper counted the last one indexed; + flush = the refresh and flush after it; store = the primary's segment files (`_cat/segments?bytes=b`; `_stats/store` lags by up to 10 s) after refresh + flush, and after `_forcemerge?max_num_segments=1` + refresh + flush\n")
	if *osVary {
		fmt.Fprintf(&b, "- varied content (`loadgen -vary`): a seeded pool of 8192 distinct messages (hosts, programs, pids, times, priorities, 60 B-1 KiB texts with quotes and UTF-8) sent in turn, each with its sequence number\n\n")
	} else {
		fmt.Fprintf(&b, "- the bench's messages differ only in their sequence number (same host, program, time): real logs compress less, so read the disk columns as relative\n\n")
	}
	fmt.Fprintf(&b, "| template | msgs/s | OpenSearch CPU-s per 1M | vs logstash7 | + refresh/flush CPU-s | forcemerge CPU-s | store B per 1M (segments) | after forcemerge B per 1M (segments) | logshipper CPU-s per 1M | indexed | rounds ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	per1M := func(v float64, n int64) float64 { return v / float64(max(n, 1)) * 1e6 }
	meds := map[string]float64{}
	for _, t := range templates {
		var cpu []float64
		for _, res := range results {
			if res.Template == t {
				cpu = append(cpu, per1M(res.OSCPU, res.Messages))
			}
		}
		meds[t] = median(cpu)
	}
	for _, t := range templates {
		var rate, cpu, flush, merge, store, segs, merged, msegs, lcpu, idx []float64
		ok, n := 0, 0
		for _, res := range results {
			if res.Template != t {
				continue
			}
			n++
			if res.Error == "" {
				ok++
			}
			rate = append(rate, res.RateMsgs)
			cpu = append(cpu, per1M(res.OSCPU, res.Messages))
			flush = append(flush, per1M(res.FlushCPU, res.Messages))
			merge = append(merge, per1M(res.MergeCPU, res.Messages))
			store = append(store, per1M(float64(res.StoreBytes), res.Messages))
			segs = append(segs, float64(res.Segments))
			merged = append(merged, per1M(float64(res.MergedStoreBytes), res.Messages))
			msegs = append(msegs, float64(res.MergedSegments))
			lcpu = append(lcpu, per1M(res.ClientCPU, res.Messages))
			idx = append(idx, float64(res.Indexed))
		}
		vs := "n/a"
		if base := meds["logstash7"]; base > 0 {
			vs = fmt.Sprintf("%.2fx", median(cpu)/base)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %.2f | %.2f | %.0f (%.0f) | %.0f (%.0f) | %.2f | %.0f | %d/%d |\n",
			t, median(rate), median(cpu), vs, median(flush), median(merge), median(store), median(segs), median(merged), median(msegs), median(lcpu), median(idx), ok, n)
	}
	fmt.Fprintf(&b, "\nPer round (OpenSearch CPU-s per 1M, in run order):\n\n")
	for _, res := range results {
		fmt.Fprintf(&b, "- round %d %s: %.2f\n", res.Round, res.Template, per1M(res.OSCPU, res.Messages))
	}
	var errs []string
	for _, res := range results {
		if res.Error != "" {
			errs = append(errs, fmt.Sprintf("- %s round %d: %s", res.Template, res.Round, res.Error))
		}
	}
	writeErrors(&b, "\n", errs)
	return b.String()
}
