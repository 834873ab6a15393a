package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
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

var osClient = &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

func osDo(method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := osClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func osCount(osURL string) (int64, error) {
	if _, _, err := osDo("POST", osURL+"/"+osIndex+"/_refresh", nil); err != nil {
		return 0, err
	}
	code, b, err := osDo("GET", osURL+"/"+osIndex+"/_count", nil)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("_count: %d %s", code, b)
	}
	var c struct {
		Count int64 `json:"count"`
	}
	err = json.Unmarshal(b, &c)
	return c.Count, err
}

func osDeleteIndex(osURL string) error {
	code, b, err := osDo("DELETE", osURL+"/"+osIndex, nil)
	if err != nil {
		return err
	}
	if code != 200 && code != 404 {
		return fmt.Errorf("DELETE /%s: %d %s", osIndex, code, b)
	}
	return nil
}

func selfCPU() float64 {
	c, _ := procCPU(os.Getpid())
	return c
}

func (r *Runner) runOpenSearch(osURL string, osPID, workers, batch int, outRoot string) error {
	osURL = strings.TrimSuffix(osURL, "/")
	if code, b, err := osDo("GET", osURL+"/", nil); err != nil || code != 200 {
		return fmt.Errorf("OpenSearch at %s does not answer: %v %s", osURL, err, b)
	}
	if osPID > 0 {
		if _, err := procCPU(osPID); err != nil {
			return fmt.Errorf("OpenSearch pid %d: %w", osPID, err)
		}
	}
	raw, err := os.Create(filepath.Join(r.OutDir, "opensearch.jsonl"))
	if err != nil {
		return err
	}
	defer raw.Close()
	record := func(res OSResult) {
		b, _ := json.Marshal(res)
		raw.Write(append(b, '\n'))
		log.Printf("opensearch %-10s round %d: %9.0f msgs/s  client cpu %6.2fs  opensearch cpu %6.2fs  bulks %d (%.1f ms each, %.2f in flight)  indexed %d  %s",
			res.Kind, res.Round, res.RateMsgs, res.ClientCPU, res.OSCPU, res.Bulks, 1000*res.BulkSeconds/float64(max(res.Bulks, 1)), res.BulkBusy, res.Indexed, res.Error)
	}

	// Warm-up (not counted): warms the JVM, installs logshipper's template
	// and gives the sample document the direct loader copies.
	warm := r.Messages / 10
	if warm < 10000 {
		warm = 10000
	}
	log.Printf("opensearch: warm-up, %d messages through logshipper", warm)
	wres := r.osLogshipperRun(osURL, osPID, 0, warm)
	if wres.Error != "" {
		return fmt.Errorf("warm-up: %s", wres.Error)
	}
	sample, err := osSample(osURL)
	if err != nil {
		return err
	}
	log.Printf("opensearch: sample document: %s", sample)
	bodies, err := buildBodies(sample, r.Messages, batch)
	if err != nil {
		return err
	}
	if _, err := r.osDirectRun(osURL, osPID, 0, bodies, warm, workers); err != nil {
		log.Printf("opensearch: direct warm-up: %v", err)
	}

	var results []OSResult
	for round := 1; round <= r.Rounds; round++ {
		order := []string{"logshipper", "direct"}
		if round%2 == 0 {
			order = []string{"direct", "logshipper"}
		}
		for _, kind := range order {
			var res OSResult
			if kind == "logshipper" {
				res = r.osLogshipperRun(osURL, osPID, round, r.Messages)
			} else {
				res, _ = r.osDirectRun(osURL, osPID, round, bodies, r.Messages, workers)
			}
			record(res)
			results = append(results, res)
		}
	}
	_ = osDeleteIndex(osURL)

	md := r.osMarkdown(results, osURL, workers, batch)
	if err := os.WriteFile(filepath.Join(r.OutDir, "opensearch.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if writeLatest {
		_ = os.WriteFile(filepath.Join(outRoot, "latest-opensearch.md"), []byte(md), 0o644)
	}
	fmt.Println(md)
	return nil
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

func (r *Runner) osDirectRun(osURL string, osPID, round int, bodies [][]byte, n int64, workers int) (OSResult, error) {
	res := OSResult{Kind: "direct", Round: round, Messages: n}
	if err := osDeleteIndex(osURL); err != nil {
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
				req, _ := http.NewRequest("POST", osURL+"/_bulk", bytes.NewReader(b))
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
	res.Indexed, _ = osCount(osURL)
	if firstErr != nil {
		res.Error = firstErr.Error()
	} else if res.Indexed != docs {
		res.Error = fmt.Sprintf("_count %d, want %d", res.Indexed, docs)
	}
	return res, firstErr
}

func (r *Runner) osLogshipperRun(osURL string, osPID, round int, n int64) OSResult {
	res := OSResult{Kind: "logshipper", Round: round, Messages: n}
	if err := osDeleteIndex(osURL); err != nil {
		res.Error = err.Error()
		return res
	}
	work := filepath.Join(r.WorkDir, fmt.Sprintf("os-logshipper-r%d", round))
	if err := os.MkdirAll(work, 0o755); err != nil {
		res.Error = err.Error()
		return res
	}
	port, err := freePort()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	p, err := startLogshipper(r, work, port, osURL, false)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	metricsURL := r.currentMetrics
	defer p.stop(15 * time.Second)
	if err := waitTCP(port, 20*time.Second, p.alive); err != nil {
		res.Error = err.Error()
		return res
	}
	// Ready when it answers /readyz (OpenSearch reachable). The first bulk
	// request creates the index, as for the direct loader.
	readyURL := strings.Replace(metricsURL, "/metrics", "/readyz", 1)
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cpu0, _ := procCPU(p.pid)
	cpuOS0, _ := procCPU(osPID)
	sc := Scenario{Name: "os", Proto: "tcp", Conns: 1, Format: "rfc3164"}
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
	res.PeakRSSMiB = float64(procStatus(p.pid, "VmHWM")["VmHWM"]) / 1024
	res.ClientCPU = cpu1 - cpu0
	res.OSCPU = cpuOS1 - cpuOS0
	res.Seconds = end.Sub(time.Unix(0, lr.FirstSendNS)).Seconds()
	res.RateMsgs = float64(n) / res.Seconds
	res.BulkBusy = res.BulkSeconds / res.Seconds
	p.stop(15 * time.Second)
	res.Indexed, _ = osCount(osURL)
	if res.Error == "" && res.Indexed != n {
		res.Error = fmt.Sprintf("_count %d, want %d", res.Indexed, n)
	}
	return res
}

func (r *Runner) osMarkdown(results []OSResult, osURL string, workers, batch int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Into a real OpenSearch 2.19 node (testenv/opensearch.sh, 1 GiB heap, same machine)\n\n")
	for _, e := range machineInfo(r.PeersDir, r.LogshipperBin) {
		fmt.Fprintf(&b, "- %s\n", e)
	}
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
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nRuns with errors:\n\n%s\n", strings.Join(errs, "\n"))
	}
	return b.String()
}
