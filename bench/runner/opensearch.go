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

func (r *Runner) osLogshipperRun(node osNode, osPID, round int, n int64) OSResult {
	res := OSResult{Kind: "logshipper", Round: round, Messages: n}
	if err := node.deleteIndex(osIndex); err != nil {
		res.Error = err.Error()
		return res
	}
	work, err := r.workDir("os-logshipper-r%d", round)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	p, port, metricsURL, err := startOn(15*time.Second, func(port int) (*proc, string, error) {
		return r.startLogshipper(work, port, node.url)
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
	lr, err := r.loadgen(tcpRFC3164, port, fmt.Sprintf("os%d", round), n)
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
