package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log"
	"math/bits"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sink is the http.Handler. The zero value is not usable; use NewSink.
type Sink struct {
	Quiet bool
	// Delay is added to every bulk request, to see how a shipper behaves
	// with Elasticsearch's latency (how many requests it keeps in flight).
	Delay time.Duration
	// FullResponses answers every bulk item in full, as Elasticsearch does
	// when a proxy drops the query string or a client asks for no
	// filter_path: a shipper then reads about 200 bytes per item instead
	// of about 20.
	FullResponses bool
	version       string
	inflight      atomic.Int64

	bufs  sync.Pool // *bytes.Buffer, request bodies
	resps sync.Pool // *[]byte, responses
	gzs   sync.Pool // *gzip.Reader

	mu        sync.Mutex
	c         counters
	runs      map[string]*runStats
	sample    []byte
	sampleAct []byte
	templates map[string][]byte // "_index_template/NAME" or "_template/NAME" -> body
	indices   map[string]bool
	other     map[string]int
	seqNo     int64
}

type counters struct {
	Docs         int64 `json:"docs"`
	Unique       int64 `json:"unique"`
	Duplicates   int64 `json:"duplicates"`
	NoSeq        int64 `json:"no_seq"`
	Bytes        int64 `json:"bytes"`
	WireBytes    int64 `json:"wire_bytes"`
	BulkRequests int64 `json:"bulk_requests"`
	Requests     int64 `json:"requests"`
	BadLines     int64 `json:"bad_lines"`
	// MaxInflight is the most bulk requests that were being served at once.
	MaxInflight int64 `json:"max_inflight_bulks"`
	FirstDocNS  int64 `json:"first_doc_ns"`
	LastDocNS   int64 `json:"last_doc_ns"`
}

type runStats struct {
	docs, unique, dups int64
	minSeq, maxSeq     int64
	firstNS, lastNS    int64
	bits               []uint64
}

// maxSeq bounds the bitmap (seq has 9 digits): 125 MB at worst.
const maxSeq = 999_999_999

// NewSink returns a sink that reports version (e.g. "7.17.0") on GET /.
func NewSink(version string) *Sink {
	s := &Sink{version: version}
	s.resetLocked(true)
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.resps.New = func() any { b := make([]byte, 0, 64<<10); return &b }
	return s
}

func (s *Sink) resetLocked(all bool) {
	s.c = counters{}
	s.runs = map[string]*runStats{}
	s.sample, s.sampleAct = nil, nil
	s.other = map[string]int{}
	if all || s.templates == nil {
		s.templates = map[string][]byte{}
		s.indices = map[string]bool{}
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":`+
		strconv.Quote(what+" missing")+`}],"type":"resource_not_found_exception","reason":`+strconv.Quote(what+" missing")+`},"status":404}`)
}

const ack = `{"acknowledged":true}`

// ServeHTTP routes the Elasticsearch-shaped API.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	if p == "" {
		parts = nil
	}
	if len(parts) > 0 && parts[len(parts)-1] == "_bulk" && len(parts) <= 2 && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		idx := ""
		if len(parts) == 2 {
			idx = parts[0]
		}
		s.handleBulk(w, r, idx)
		return
	}
	s.mu.Lock()
	s.c.Requests++
	s.mu.Unlock()
	switch {
	case len(parts) == 0:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, `{"error":"method not allowed","status":405}`)
			return
		}
		writeJSON(w, http.StatusOK, s.rootJSON())
	case parts[0] == "_sink":
		s.handleSink(w, r, parts[1:])
	case parts[0] == "_cluster" && len(parts) >= 2 && parts[1] == "health":
		writeJSON(w, http.StatusOK, `{"cluster_name":"sink","status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":1,"active_shards":1,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0,"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":100.0}`)
	case parts[0] == "_nodes":
		host := r.Host
		if host == "" {
			host = "127.0.0.1:9200"
		}
		writeJSON(w, http.StatusOK, `{"_nodes":{"total":1,"successful":1,"failed":0},"cluster_name":"sink","nodes":{"sink0":{"name":"sink","host":"127.0.0.1","ip":"127.0.0.1","version":`+
			strconv.Quote(s.version)+`,"roles":["data","master","ingest"],"http":{"bound_address":[`+strconv.Quote(host)+`],"publish_address":`+strconv.Quote(host)+`}}}}`)
	case (parts[0] == "_index_template" || parts[0] == "_template") && len(parts) == 2:
		s.handleTemplate(w, r, parts[0], parts[1])
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_"):
		s.handleIndex(w, r, parts[0])
	default:
		s.noteOther(r)
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			notFound(w, r.URL.Path)
		default:
			writeJSON(w, http.StatusOK, ack)
		}
	}
}

func (s *Sink) noteOther(r *http.Request) {
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	if len(s.other) < 100 || s.other[key] > 0 {
		s.other[key]++
	}
	s.mu.Unlock()
	if !s.Quiet {
		log.Printf("sink: unhandled %s", key)
	}
}

func (s *Sink) rootJSON() string {
	return `{"name":"sink","cluster_name":"sink","cluster_uuid":"c2lua3NpbmtzaW5rc2lua3","version":{"number":` + strconv.Quote(s.version) +
		`,"build_flavor":"default","build_type":"tar","build_hash":"bee86328705acaa9a6daede7140defd4d9ec56bd","build_date":"2022-01-28T08:36:04.875279988Z","build_snapshot":false,"lucene_version":"8.11.1","minimum_wire_compatibility_version":"6.8.0","minimum_index_compatibility_version":"6.0.0-beta1"},"tagline":"You Know, for Search"}`
}

func (s *Sink) handleTemplate(w http.ResponseWriter, r *http.Request, kind, name string) {
	key := kind + "/" + name
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if len(body) == 0 {
			body = []byte("{}")
		}
		s.mu.Lock()
		s.templates[key] = body
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, ack)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.templates, key)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, ack)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		body, ok := s.templates[key]
		s.mu.Unlock()
		if !ok || !json.Valid(body) {
			notFound(w, key)
			return
		}
		if kind == "_index_template" {
			writeJSON(w, http.StatusOK, `{"index_templates":[{"name":`+strconv.Quote(name)+`,"index_template":`+string(body)+`}]}`)
		} else {
			writeJSON(w, http.StatusOK, `{`+strconv.Quote(name)+`:`+string(body)+`}`)
		}
	default:
		writeJSON(w, http.StatusMethodNotAllowed, `{"error":"method not allowed","status":405}`)
	}
}

func (s *Sink) handleIndex(w http.ResponseWriter, r *http.Request, name string) {
	switch r.Method {
	case http.MethodPut:
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.indices[name] = true
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, `{"acknowledged":true,"shards_acknowledged":true,"index":`+strconv.Quote(name)+`}`)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.indices, name)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, ack)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		ok := s.indices[name]
		s.mu.Unlock()
		if !ok {
			notFound(w, "index ["+name+"]")
			return
		}
		writeJSON(w, http.StatusOK, `{`+strconv.Quote(name)+`:{"aliases":{},"mappings":{},"settings":{}}}`)
	default:
		s.noteOther(r)
		writeJSON(w, http.StatusOK, ack)
	}
}

// --- _sink ---------------------------------------------------------------

// RunStats is one run's part of Stats.
type RunStats struct {
	Docs       int64 `json:"docs"`
	Unique     int64 `json:"unique"`
	Duplicates int64 `json:"duplicates"`
	MinSeq     int64 `json:"min_seq"`
	MaxSeq     int64 `json:"max_seq"`
	FirstDocNS int64 `json:"first_doc_ns"`
	LastDocNS  int64 `json:"last_doc_ns"`
	// Missing is set when the request gave expect=N: sequence numbers in
	// [0, N) that never arrived.
	Missing *int64 `json:"missing,omitempty"`
}

// Stats is what GET /_sink/stats returns.
type Stats struct {
	counters
	FirstDoc  string              `json:"first_doc,omitempty"`
	LastDoc   string              `json:"last_doc,omitempty"`
	Runs      map[string]RunStats `json:"runs"`
	Templates []string            `json:"templates"`
	Indices   []string            `json:"indices"`
	Other     map[string]int      `json:"other_requests,omitempty"`
}

// Snapshot returns the counters; with run != "" and expect > 0 that run's
// Missing is computed from its bitmap.
func (s *Sink) Snapshot(run string, expect int64) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{counters: s.c, Runs: map[string]RunStats{}, Other: map[string]int{}}
	if s.c.FirstDocNS > 0 {
		st.FirstDoc = time.Unix(0, s.c.FirstDocNS).UTC().Format(time.RFC3339Nano)
		st.LastDoc = time.Unix(0, s.c.LastDocNS).UTC().Format(time.RFC3339Nano)
	}
	for id, rs := range s.runs {
		if run != "" && id != run {
			continue
		}
		out := RunStats{Docs: rs.docs, Unique: rs.unique, Duplicates: rs.dups, MinSeq: rs.minSeq, MaxSeq: rs.maxSeq, FirstDocNS: rs.firstNS, LastDocNS: rs.lastNS}
		if expect > 0 {
			m := expect - rs.countBelow(expect)
			out.Missing = &m
		}
		st.Runs[id] = out
	}
	if run != "" && expect > 0 {
		if _, ok := st.Runs[run]; !ok {
			m := expect
			st.Runs[run] = RunStats{MinSeq: -1, MaxSeq: -1, Missing: &m}
		}
	}
	for k := range s.templates {
		st.Templates = append(st.Templates, k)
	}
	for k := range s.indices {
		st.Indices = append(st.Indices, k)
	}
	sort.Strings(st.Templates)
	sort.Strings(st.Indices)
	for k, v := range s.other {
		st.Other[k] = v
	}
	return st
}

func (rs *runStats) countBelow(n int64) int64 {
	var c int64
	full := n / 64
	for i := int64(0); i < full && i < int64(len(rs.bits)); i++ {
		c += int64(bits.OnesCount64(rs.bits[i]))
	}
	if rem := n % 64; rem != 0 && full < int64(len(rs.bits)) {
		c += int64(bits.OnesCount64(rs.bits[full] & (1<<uint(rem) - 1)))
	}
	return c
}

func (s *Sink) handleSink(w http.ResponseWriter, r *http.Request, parts []string) {
	what := ""
	if len(parts) > 0 {
		what = parts[0]
	}
	switch what {
	case "stats":
		q := r.URL.Query()
		expect, _ := strconv.ParseInt(q.Get("expect"), 10, 64)
		b, _ := json.Marshal(s.Snapshot(q.Get("run"), expect))
		writeJSON(w, http.StatusOK, string(b))
	case "reset":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, `{"error":"POST /_sink/reset","status":405}`)
			return
		}
		s.mu.Lock()
		s.resetLocked(r.URL.Query().Get("all") != "")
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, ack)
	case "sample":
		s.mu.Lock()
		b := append([]byte(nil), s.sample...)
		if r.URL.Query().Get("action") != "" {
			b = append(b[:0], s.sampleAct...)
		}
		s.mu.Unlock()
		if len(b) == 0 {
			notFound(w, "sample")
			return
		}
		writeJSON(w, http.StatusOK, string(b))
	default:
		notFound(w, r.URL.Path)
	}
}

// --- _bulk ---------------------------------------------------------------

// seqRef is one document's sequence number, with the index into the
// request's distinct run ids.
type seqRef struct {
	run int32
	seq int64
}

type bulkResult struct {
	docs, noSeq, bad int64
	seqs             []seqRef
	runs             [][]byte
	lastDoc          []byte
	lastAction       []byte
}

func (s *Sink) handleBulk(w http.ResponseWriter, r *http.Request, pathIndex string) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	s.mu.Lock()
	if n > s.c.MaxInflight {
		s.c.MaxInflight = n
	}
	s.mu.Unlock()
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)

	var wire int64
	var err error
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "gzip") {
		cr := &countingReader{r: r.Body}
		var zr *gzip.Reader
		if v := s.gzs.Get(); v != nil {
			zr = v.(*gzip.Reader)
			err = zr.Reset(cr)
		} else {
			zr, err = gzip.NewReader(cr)
		}
		if err == nil {
			_, err = buf.ReadFrom(zr)
			s.gzs.Put(zr)
		}
		wire = cr.n
	} else {
		_, err = buf.ReadFrom(r.Body)
		wire = int64(buf.Len())
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, `{"error":{"type":"parse_exception","reason":`+strconv.Quote(err.Error())+`},"status":400}`)
		return
	}

	respP := s.resps.Get().(*[]byte)
	defer s.resps.Put(respP)
	var res bulkResult
	filter := parseFilterPath(r.URL.Query().Get("filter_path"))
	if s.FullResponses {
		filter = parseFilterPath("")
	}

	s.mu.Lock()
	seqBase := s.seqNo
	s.mu.Unlock()

	resp, nItems := s.scanBulk((*respP)[:0], buf.Bytes(), pathIndex, &res, filter, seqBase)
	*respP = resp
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}

	now := time.Now().UnixNano()
	s.mu.Lock()
	s.seqNo += int64(nItems)
	s.c.Requests++
	s.c.BulkRequests++
	s.c.Bytes += int64(buf.Len())
	s.c.WireBytes += wire
	s.c.Docs += res.docs
	s.c.NoSeq += res.noSeq
	s.c.BadLines += res.bad
	if res.docs > 0 {
		if s.c.FirstDocNS == 0 {
			s.c.FirstDocNS = now
		}
		s.c.LastDocNS = now
		s.sample = append(s.sample[:0], res.lastDoc...)
		s.sampleAct = append(s.sampleAct[:0], res.lastAction...)
	}
	runs := make([]*runStats, len(res.runs))
	for i, id := range res.runs {
		rs := s.runs[string(id)]
		if rs == nil {
			rs = &runStats{minSeq: -1, maxSeq: -1, firstNS: now}
			s.runs[string(id)] = rs
		}
		rs.lastNS = now
		runs[i] = rs
	}
	for _, ref := range res.seqs {
		rs := runs[ref.run]
		rs.docs++
		if rs.add(ref.seq) {
			rs.unique++
			s.c.Unique++
		} else {
			rs.dups++
			s.c.Duplicates++
		}
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Elastic-Product", "Elasticsearch")
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

func (rs *runStats) add(seq int64) bool {
	w := seq >> 6
	if w >= int64(len(rs.bits)) {
		n := int64(len(rs.bits)) * 2
		if n < w+1 {
			n = w + 1
		}
		if n < 1024 {
			n = 1024
		}
		nb := make([]uint64, n)
		copy(nb, rs.bits)
		rs.bits = nb
	}
	if rs.minSeq < 0 || seq < rs.minSeq {
		rs.minSeq = seq
	}
	if seq > rs.maxSeq {
		rs.maxSeq = seq
	}
	m := uint64(1) << uint(seq&63)
	if rs.bits[w]&m != 0 {
		return false
	}
	rs.bits[w] |= m
	return true
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// filterPath is what the response keeps under ?filter_path=.
type filterPath struct {
	on         bool
	took       bool
	errors     bool
	items      bool     // whole items
	itemFields []string // items.*.FIELD
}

func parseFilterPath(v string) filterPath {
	if v == "" {
		return filterPath{}
	}
	f := filterPath{on: true}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "took":
			f.took = true
		case p == "errors":
			f.errors = true
		case p == "items" || p == "items.*" || p == "items.*.*":
			f.items = true
		case strings.HasPrefix(p, "items.*."):
			f.itemFields = append(f.itemFields, strings.TrimPrefix(p, "items.*."))
		}
	}
	return f
}

func (f filterPath) keep(field string) bool {
	if !f.on || f.items {
		return true
	}
	for _, x := range f.itemFields {
		if x == field || x == "*" {
			return true
		}
	}
	return false
}

// scanBulk walks the NDJSON body, counts documents into res and appends the
// response to dst. It returns the response and the number of items.
func (s *Sink) scanBulk(dst, body []byte, pathIndex string, res *bulkResult, f filterPath, seqBase int64) ([]byte, int) {
	// Items that survive the filter: with only "error" (and no errors) ES
	// drops the empty objects and so the whole "items" array.
	itemsOut := !f.on || f.items
	if f.on && !f.items {
		for _, x := range f.itemFields {
			if x != "error" && x != "error.*" {
				itemsOut = true
			}
		}
	}
	if !f.on || f.took {
		dst = append(dst, `{"took":1,`...)
	} else {
		dst = append(dst, '{')
	}
	if !f.on || f.errors {
		dst = append(dst, `"errors":false,`...)
	}
	if itemsOut {
		dst = append(dst, `"items":[`...)
	}
	n := 0
	for len(body) > 0 {
		line := nextLine(&body)
		if len(line) == 0 {
			continue
		}
		action, meta, ok := parseAction(line)
		if !ok {
			res.bad++
			continue
		}
		idx := jsonStringField(meta, "_index")
		if idx == nil {
			idx = []byte(pathIndex)
		}
		id := jsonStringField(meta, "_id")
		if action != "delete" {
			var doc []byte
			for len(body) > 0 && len(doc) == 0 {
				doc = nextLine(&body)
			}
			if len(doc) == 0 {
				res.bad++
				break
			}
			res.docs++
			res.lastDoc = doc
			res.lastAction = line
			countDoc(doc, res)
		}
		if itemsOut {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendItem(dst, action, idx, id, seqBase+int64(n), f)
		}
		n++
	}
	if itemsOut {
		if dst[len(dst)-1] == ',' && n == 0 {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, "]}"...)
	} else {
		if dst[len(dst)-1] == ',' {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, '}')
	}
	return dst, n
}

func nextLine(body *[]byte) []byte {
	b := *body
	i := bytes.IndexByte(b, '\n')
	var line []byte
	if i < 0 {
		line, *body = b, nil
	} else {
		line, *body = b[:i], b[i+1:]
	}
	return bytes.TrimSpace(line)
}

// parseAction reads {"ACTION":{...}} and returns ACTION and the inner bytes.
func parseAction(line []byte) (string, []byte, bool) {
	i := bytes.IndexByte(line, '"')
	if i < 0 {
		return "", nil, false
	}
	j := bytes.IndexByte(line[i+1:], '"')
	if j < 0 {
		return "", nil, false
	}
	name := line[i+1 : i+1+j]
	var action string
	switch string(name) {
	case "index":
		action = "index"
	case "create":
		action = "create"
	case "update":
		action = "update"
	case "delete":
		action = "delete"
	default:
		return "", nil, false
	}
	return action, line[i+1+j+1:], true
}

// jsonStringField finds "key" : "value" in b and returns value's raw bytes
// (escapes kept, so it can be copied into JSON as is), or nil.
func jsonStringField(b []byte, key string) []byte {
	for {
		i := bytes.Index(b, []byte(`"`+key+`"`))
		if i < 0 {
			return nil
		}
		b = b[i+len(key)+2:]
		k := 0
		for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
			k++
		}
		if k >= len(b) || b[k] != ':' {
			continue
		}
		k++
		for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
			k++
		}
		if k >= len(b) || b[k] != '"' {
			return nil
		}
		v := b[k+1:]
		e := 0
		for e < len(v) && v[e] != '"' {
			if v[e] == '\\' {
				e++
			}
			e++
		}
		if e > len(v) {
			return nil
		}
		return v[:e]
	}
}

var (
	seqKey = []byte("seq=")
	runKey = []byte("run=")
)

// countDoc finds "seq=DIGITS" (and "run=TOKEN") in a document.
func countDoc(doc []byte, res *bulkResult) {
	i := bytes.Index(doc, seqKey)
	if i < 0 {
		res.noSeq++
		return
	}
	d := doc[i+len(seqKey):]
	var seq int64
	k := 0
	for k < len(d) && k < 10 && d[k] >= '0' && d[k] <= '9' {
		seq = seq*10 + int64(d[k]-'0')
		k++
	}
	if k == 0 || seq > maxSeq {
		res.noSeq++
		return
	}
	var run []byte
	if j := bytes.Index(doc, runKey); j >= 0 {
		t := doc[j+len(runKey):]
		e := 0
		for e < len(t) && isTokenByte(t[e]) {
			e++
		}
		run = t[:e]
	}
	ri := -1
	for x := len(res.runs) - 1; x >= 0; x-- {
		if bytes.Equal(res.runs[x], run) {
			ri = x
			break
		}
	}
	if ri < 0 {
		res.runs = append(res.runs, run)
		ri = len(res.runs) - 1
	}
	res.seqs = append(res.seqs, seqRef{run: int32(ri), seq: seq})
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func appendItem(dst []byte, action string, idx, id []byte, seqNo int64, f filterPath) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, action...)
	dst = append(dst, `":{`...)
	start := len(dst)
	field := func(name string) bool {
		if !f.keep(name) {
			return false
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		return true
	}
	if field("_index") {
		dst = append(dst, `"_index":"`...)
		dst = append(dst, idx...)
		dst = append(dst, '"')
	}
	if field("_type") {
		dst = append(dst, `"_type":"_doc"`...)
	}
	if field("_id") {
		dst = append(dst, `"_id":"`...)
		if id != nil {
			dst = append(dst, id...)
		} else {
			dst = append(dst, "sink"...)
			dst = strconv.AppendInt(dst, seqNo, 36)
		}
		dst = append(dst, '"')
	}
	if field("_version") {
		dst = append(dst, `"_version":1`...)
	}
	result, status := "created", "201"
	switch action {
	case "update":
		result, status = "updated", "200"
	case "delete":
		result, status = "deleted", "200"
	}
	if field("result") {
		dst = append(dst, `"result":"`...)
		dst = append(dst, result...)
		dst = append(dst, '"')
	}
	if field("_shards") {
		dst = append(dst, `"_shards":{"total":1,"successful":1,"failed":0}`...)
	}
	if field("_seq_no") {
		dst = append(dst, `"_seq_no":`...)
		dst = strconv.AppendInt(dst, seqNo, 10)
	}
	if field("_primary_term") {
		dst = append(dst, `"_primary_term":1`...)
	}
	if field("status") {
		dst = append(dst, `"status":`...)
		dst = append(dst, status...)
	}
	return append(dst, "}}"...)
}
