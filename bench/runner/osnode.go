package main

// A real OpenSearch node (testenv/opensearch.sh) as the benches against
// one use it: requests, _count, index and template clean-up, stop/start
// through the script, and the exact count of a run's sequence numbers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

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

// osNode is an OpenSearch node at url; script, port and data are what
// testenv/opensearch.sh needs to stop and start it (outage only).
type osNode struct {
	url, script, port, data string
}

// check fails when the node does not answer.
func (n osNode) check() error {
	if code, b, err := osDo("GET", n.url+"/", nil); err != nil || code != 200 {
		return fmt.Errorf("OpenSearch at %s does not answer: %v %s", n.url, err, b)
	}
	return nil
}

func (n osNode) healthy() bool {
	code, _, err := osDo("GET", n.url+"/_cluster/health?wait_for_status=yellow&timeout=30s", nil)
	return err == nil && code == 200
}

// run is "opensearch.sh VERB --port PORT --data DATA".
func (n osNode) run(verb string) error {
	out, err := exec.Command("bash", n.script, verb, "--port", n.port, "--data", n.data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("opensearch.sh %s: %v: %s", verb, err, lastLines(string(out), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func (n osNode) refresh(index string) error {
	_, _, err := osDo("POST", n.url+"/"+index+"/_refresh", nil)
	return err
}

// count is _count of index (0 when it does not exist yet).
func (n osNode) count(index string) (int64, error) {
	code, b, err := osDo("GET", n.url+"/"+index+"/_count", nil)
	if err != nil {
		return 0, err
	}
	if code == 404 {
		return 0, nil
	}
	if code != 200 {
		return 0, fmt.Errorf("_count: %d %.200s", code, b)
	}
	var c struct {
		Count int64 `json:"count"`
	}
	err = json.Unmarshal(b, &c)
	return c.Count, err
}

// refreshCount is count after a refresh: _count sees only what the last
// refresh made visible, and the default refresh interval (1 s) is a
// 10,000-30,000 documents step at the rates measured.
func (n osNode) refreshCount(index string) (int64, error) {
	_ = n.refresh(index)
	return n.count(index)
}

// storeStats is the size of index's primary segments on disk and their
// number, read from _cat/segments: _stats/store is cached for
// index.store.stats_refresh_interval (10 s), so right after a flush or a
// forcemerge it still shows the files before it.
func (n osNode) storeStats(index string) (bytes, segments int64, err error) {
	code, b, err := osDo("GET", n.url+"/_cat/segments/"+index+"?bytes=b&format=json&h=prirep,size", nil)
	if err != nil || code != 200 {
		return 0, 0, fmt.Errorf("_cat/segments: %v %d %.200s", err, code, b)
	}
	var segs []struct {
		PriRep string `json:"prirep"`
		Size   string `json:"size"`
	}
	if err := json.Unmarshal(b, &segs); err != nil {
		return 0, 0, err
	}
	for _, s := range segs {
		if s.PriRep != "p" {
			continue
		}
		v, err := strconv.ParseInt(s.Size, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("_cat/segments: size %q", s.Size)
		}
		bytes += v
		segments++
	}
	return bytes, segments, nil
}

func (n osNode) deleteIndex(index string) error {
	code, b, err := osDo("DELETE", n.url+"/"+index, nil)
	if err != nil || (code != 200 && code != 404) {
		return fmt.Errorf("DELETE /%s: %v %d %.200s", index, err, code, b)
	}
	return nil
}

// reset deletes the index and logshipper's index templates, so every
// shipper starts from the same empty node.
func (n osNode) reset(index string) error {
	if err := n.deleteIndex(index); err != nil {
		return err
	}
	for _, api := range []string{"_index_template", "_template"} {
		code, b, err := osDo("GET", n.url+"/"+api, nil)
		if err != nil || code != 200 {
			continue
		}
		var names []string
		if api == "_index_template" {
			var t struct {
				IndexTemplates []struct {
					Name string `json:"name"`
				} `json:"index_templates"`
			}
			_ = json.Unmarshal(b, &t)
			for _, x := range t.IndexTemplates {
				names = append(names, x.Name)
			}
		} else {
			var t map[string]json.RawMessage
			_ = json.Unmarshal(b, &t)
			for name := range t {
				names = append(names, name)
			}
		}
		for _, name := range names {
			_, _, _ = osDo("DELETE", n.url+"/"+api+"/"+name, nil)
		}
	}
	return nil
}

type seqCount struct {
	docs, distinct, dup, noSeq int64
	ranges                     [][2]int64 // missing, inclusive
}

// scrollSeqs fetches every document of index (its message field only) and
// counts the sequence numbers 0..n-1 of run.
func (n osNode) scrollSeqs(index, run string, total int64) (seqCount, error) {
	var sc seqCount
	if err := n.refresh(index); err != nil {
		return sc, err
	}
	seen := make([]uint8, total)
	marker := []byte("run=" + run + " seq=")
	code, b, err := osDo("POST", n.url+"/"+index+"/_search?scroll=2m",
		[]byte(`{"size":10000,"_source":["message"],"sort":["_doc"],"query":{"match_all":{}}}`))
	if err != nil {
		return sc, err
	}
	if code == 404 {
		b, code = []byte(`{"hits":{"hits":[]}}`), 200
	}
	var scrollID string
	for {
		if code != 200 {
			return sc, fmt.Errorf("scroll: %d %.300s", code, b)
		}
		var page struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					Source struct {
						Message string `json:"message"`
					} `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return sc, err
		}
		scrollID = page.ScrollID
		if len(page.Hits.Hits) == 0 {
			break
		}
		for _, h := range page.Hits.Hits {
			sc.docs++
			m := []byte(h.Source.Message)
			i := bytes.Index(m, marker)
			if i < 0 {
				sc.noSeq++
				continue
			}
			d := m[i+len(marker):]
			var seq int64
			k := 0
			for k < len(d) && k < 9 && d[k] >= '0' && d[k] <= '9' {
				seq = seq*10 + int64(d[k]-'0')
				k++
			}
			if k == 0 || seq >= total {
				sc.noSeq++
				continue
			}
			if seen[seq] < 255 {
				seen[seq]++
			}
		}
		code, b, err = osDo("POST", n.url+"/_search/scroll", []byte(`{"scroll":"2m","scroll_id":"`+scrollID+`"}`))
		if err != nil {
			return sc, err
		}
	}
	if scrollID != "" {
		_, _, _ = osDo("DELETE", n.url+"/_search/scroll", []byte(`{"scroll_id":"`+scrollID+`"}`))
	}
	start := int64(-1)
	for i := int64(0); i < total; i++ {
		if seen[i] > 0 {
			sc.distinct++
			if start >= 0 {
				sc.ranges = append(sc.ranges, [2]int64{start, i - 1})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		sc.ranges = append(sc.ranges, [2]int64{start, total - 1})
	}
	sc.dup = sc.docs - sc.noSeq - sc.distinct
	return sc, nil
}

// seqResult is what outage and rolling report of scrollSeqs.
type seqResult struct {
	Docs       int64 `json:"docs"` // documents fetched
	Distinct   int64 `json:"distinct"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	NoSeq      int64 `json:"no_seq"` // documents without this run's seq=
}

// countRun counts the sequence numbers 0..total-1 of run in index into
// res (scrollSeqs) and returns the missing ranges.
func (n osNode) countRun(index, run string, total int64, res *seqResult) ([][2]int64, error) {
	sc, err := n.scrollSeqs(index, run, total)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	res.Docs, res.Distinct, res.Duplicated, res.NoSeq = sc.docs, sc.distinct, sc.dup, sc.noSeq
	res.Lost = total - sc.distinct
	return sc.ranges, nil
}
