package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/logshipper/logshipper/event"
)

// The _bulk request, built and sent without olivere's BulkService (see
// README.md, "Performance", for the profile that made us replace it).

// bulkFilterPath trims the response to what judge reads: Elasticsearch
// then serialises, and we read, ~25 bytes per item instead of ~200.
// OpenSearch 2.19 (tested) and Elasticsearch 7 honour it; Logstash's
// elasticsearch output sends the same filter.
const bulkFilterPath = "errors,items.*.status,items.*.error"

// bulkQuery is the query string of every _bulk request.
var bulkQuery = url.Values{"filter_path": {bulkFilterPath}}.Encode()

// gzipLevel: a reused writer at BestSpeed costs ~1.5 µs per ~430-byte
// document for a ratio of 7.6; the default level ~3.4 µs for 10.1
// (BenchmarkGzip, README.md).
const gzipLevel = gzip.BestSpeed

// Response bodies are read into memory up to maxResponseBytes: 1 MiB plus
// 16 KiB per document, far above what Elasticsearch sends (~25 bytes per
// succeeded item, a few hundred per failed one) and small enough that a
// broken proxy cannot make us buffer without bound. A larger answer fails
// the request as a whole. Error answers (non-2xx) are read up to
// maxErrorBytes.
const (
	maxErrorBytes      = 1 << 20
	maxResponsePerItem = 16 << 10
)

func maxResponseBytes(items int) int64 { return 1<<20 + int64(items)*maxResponsePerItem }

// maxPooledBytes: buffers that grew beyond this are dropped instead of
// kept for the next batch (batch_bytes is 5 MiB by default).
const maxPooledBytes = 8 << 20

// docRef is one document's place in the body.
type docRef struct {
	index      string
	start, end int
	create     bool // sent with op_type create and its own _id: a 409 means already indexed
}

// batch is one bulk request's memory, reused from batch to batch: the
// NDJSON body with the encoded documents in place, the gzipped body, the
// response. Two parties hold it: WriteBatch, and the HTTP transport for as
// long as it may read the request body (http.RoundTripper may read it after
// RoundTrip returned, until it closes it). The last to let go returns it to
// the pool.
type batch struct {
	pool *sync.Pool
	refs atomic.Int32

	body     []byte // NDJSON: action line, document, newline, per event
	docs     []docRef
	zbody    bytes.Buffer // body gzipped, when gzip is on
	gzipped  bool
	resp     bytes.Buffer // the 2xx response
	failures []itemFailure
}

// payload is what goes on the wire.
func (b *batch) payload() []byte {
	if b.gzipped {
		return b.zbody.Bytes()
	}
	return b.body
}

func (b *batch) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.body) > maxPooledBytes || b.zbody.Cap() > maxPooledBytes || b.resp.Cap() > maxPooledBytes {
		return // let the GC have it
	}
	b.pool.Put(b)
}

// newReader returns a request body over the payload that holds a
// reference to b until it is closed.
func (b *batch) newReader() *bodyReader {
	b.refs.Add(1)
	return &bodyReader{b: b, data: b.payload()}
}

// bodyReader is a request body over a pooled buffer. After Close it reads
// nothing more (Read and Close are serialised), so the buffer may be reused.
type bodyReader struct {
	mu     sync.Mutex
	b      *batch
	data   []byte
	closed bool
}

var errBodyClosed = errors.New("bulk request body read after close")

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// writeTo writes up to n bytes of what is left to w in one Write. The
// lock is not held while writing, so Close does not wait for a slow peer:
// a reference of its own keeps the buffer from being reused meanwhile.
func (r *bodyReader) writeTo(w io.Writer, n int64) (int64, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, errBodyClosed
	}
	data := r.data[:min(int64(len(r.data)), max(n, 0))]
	r.b.refs.Add(1)
	r.mu.Unlock()
	defer r.b.release()
	if len(data) == 0 {
		return 0, nil
	}
	written, err := w.Write(data)
	r.mu.Lock()
	if !r.closed {
		r.data = r.data[written:]
	}
	r.mu.Unlock()
	return int64(written), err
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.data = nil
		r.b.release()
	}
	return nil
}

// actionLine is the cached action line for one index name.
type actionLine struct {
	index  string
	line   []byte // {"index":{"_index":"<index>"}}\n ("create" for a data stream)
	create []byte // {"create":{"_index":"<index>","_id":   (the ID and "}}\n" follow)
}

// action returns the action lines for index, from a one-entry cache: the
// index changes at most once a day (an hour with HH) in steady state. A
// data stream takes only op_type create, so there even an event without
// an ID goes as create (without _id: the data stream picks one).
func (o *Output) action(index string) *actionLine {
	if a := o.lastAction.Load(); a != nil && a.index == index {
		return a
	}
	op := `{"index":{"_index":`
	if o.cfg.DataStream {
		op = `{"create":{"_index":`
	}
	line := appendString([]byte(op), index)
	line = append(line, "}}\n"...)
	create := appendString([]byte(`{"create":{"_index":`), index)
	create = append(create, `,"_id":`...)
	a := &actionLine{index: index, line: line, create: create}
	o.lastAction.Store(a)
	return a
}

// build writes the NDJSON body of events into b: per event the action line
// naming its index, the document (encoded in place), a newline. An event
// with an ID goes as {"create":{"_index":…,"_id":ID}}, so that sending it
// again (a retry whose first answer was lost, a replay from the disk
// buffer after a crash) cannot index it twice. An event that arrives as a
// finished document (Event.Document: the indexer's input) goes as it is,
// to its own index.
func (o *Output) build(b *batch, events []*event.Event) {
	buf, docs := b.body[:0], b.docs[:0]
	var lastSec int64 = -1 << 63
	var index string
	var action *actionLine
	for _, ev := range events {
		if d := ev.Document; d != nil {
			// Encoded at the edge (read from Kafka or Redis): its index
			// is resolved already.
			if d.Index != index || action == nil {
				index, action = d.Index, o.action(d.Index)
			}
			lastSec = -1 << 63
		} else if s := ev.Time().Unix(); s != lastSec {
			// Most batches fall in one second: skip even the cache lookup.
			lastSec = s
			if name := o.index.Name(ev.Time()); name != index || action == nil {
				index, action = name, o.action(name)
			}
		}
		create := ev.ID != "" && o.cfg.DocumentID == DocumentIDEvent
		if create {
			buf = append(buf, action.create...)
			buf = appendString(buf, ev.ID)
			buf = append(buf, "}}\n"...)
		} else {
			buf = append(buf, action.line...)
		}
		start := len(buf)
		if ev.Document != nil {
			buf = append(buf, ev.Document.Body...)
		} else {
			buf = o.schema.AppendDocument(buf, ev)
		}
		docs = append(docs, docRef{index: index, start: start, end: len(buf), create: create})
		buf = append(buf, '\n')
	}
	b.body, b.docs = buf, docs
	b.gzipped = false
}

// doc is the i-th document as sent; valid until b is released.
func (b *batch) doc(i int) []byte { d := b.docs[i]; return b.body[d.start:d.end] }

// compress gzips the body into zbody with a pooled writer.
func (o *Output) compress(b *batch) error {
	zw := o.gzipWriters.Get().(*gzip.Writer)
	defer o.gzipWriters.Put(zw)
	b.zbody.Reset()
	zw.Reset(&b.zbody)
	if _, err := zw.Write(b.body); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	b.gzipped = true
	return nil
}

// gzipBytes compresses p (a template body) the same way.
func (o *Output) gzipBytes(p []byte) ([]byte, error) {
	zw := o.gzipWriters.Get().(*gzip.Writer)
	defer o.gzipWriters.Put(zw)
	var out bytes.Buffer
	zw.Reset(&out)
	if _, err := zw.Write(p); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// bulkSender sends one _bulk request: b's payload, and on a 2xx answer its
// body in b.resp. An error means no usable answer: transport failure,
// non-2xx for the whole request (*elastic.Error), an oversized answer.
type bulkSender interface {
	Send(ctx context.Context, b *batch) error
}

// httpSender posts _bulk with net/http, round-robin over the configured
// URLs. One attempt per call, except that a URL that cannot be connected
// to (the dial failed: nothing was sent, so nothing can be indexed twice)
// hands the call to the next URL; each URL is tried at most once per call,
// within the call's timeout. A URL that failed is skipped by the following
// calls for downFor, unless every URL failed. Everything else (a timeout,
// a reset after sending, a non-2xx answer) fails the call, and the
// pipeline retries the batch.
type httpSender struct {
	client    *http.Client
	endpoints []*endpoint
	next      atomic.Uint64
	header    http.Header // for plain bodies
	gzHeader  http.Header // for gzipped bodies
}

// downFor is how long a URL that failed is passed over.
const downFor = 5 * time.Second

type endpoint struct {
	url       string // as configured, for error messages
	bulkURL   string
	downUntil atomic.Int64 // unix nanoseconds
}

func newHTTPSender(cfg *Config, transport http.RoundTripper) *httpSender {
	s := &httpSender{
		client: &http.Client{
			Transport: transport,
			// Elasticsearch does not redirect; a proxy that does would turn
			// the POST into a GET. Report the 3xx as the request's failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		header: http.Header{
			"Content-Type": {"application/x-ndjson"},
			"User-Agent":   {"logshipper"},
		},
	}
	for _, u := range cfg.URLs {
		s.endpoints = append(s.endpoints, &endpoint{url: u, bulkURL: strings.TrimRight(u, "/") + "/_bulk?" + bulkQuery})
	}
	if cfg.Username != "" {
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(cfg.Username, cfg.Password)
		s.header["Authorization"] = req.Header["Authorization"]
	}
	if cfg.APIKey != "" {
		s.header["Authorization"] = []string{"ApiKey " + apiKeyHeader(cfg.APIKey)}
	}
	s.gzHeader = s.header.Clone()
	s.gzHeader["Content-Encoding"] = []string{"gzip"}
	return s
}

// order lists the endpoints to try: round-robin, those that did not fail
// lately first.
func (s *httpSender) order(dst []int) []int {
	n := len(s.endpoints)
	if n == 1 {
		return append(dst, 0)
	}
	start := int(s.next.Add(1) % uint64(n))
	now := time.Now().UnixNano()
	for k := range n {
		if i := (start + k) % n; s.endpoints[i].downUntil.Load() <= now {
			dst = append(dst, i)
		}
	}
	for k := range n {
		if i := (start + k) % n; s.endpoints[i].downUntil.Load() > now {
			dst = append(dst, i)
		}
	}
	return dst
}

func (s *httpSender) Send(ctx context.Context, b *batch) error {
	var buf [8]int
	order := s.order(buf[:0])
	var err error
	for _, i := range order {
		ep := s.endpoints[i]
		var answered bool
		answered, err = s.post(ctx, ep, b)
		switch {
		case err == nil:
			if ep.downUntil.Load() != 0 {
				ep.downUntil.Store(0)
			}
			return nil
		case answered || ctx.Err() != nil:
			return err // Elasticsearch's answer, or out of time
		}
		ep.downUntil.Store(time.Now().Add(downFor).UnixNano())
		if !isDialError(err) {
			return err // the request may have reached Elasticsearch
		}
	}
	if len(order) > 1 {
		return fmt.Errorf("none of the %d URLs could be connected to, the last: %w", len(order), err)
	}
	return err
}

// isDialError: the connection could not be made, so nothing was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// post makes one attempt; answered reports whether an HTTP answer came.
func (s *httpSender) post(ctx context.Context, ep *endpoint, b *batch) (answered bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.bulkURL, nil)
	if err != nil {
		return false, err
	}
	if b.gzipped {
		req.Header = s.gzHeader.Clone()
	} else {
		req.Header = s.header.Clone()
	}
	req.Body = b.newReader() // the transport closes it, even on errors
	req.ContentLength = int64(len(b.payload()))
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// With several URLs the log must say which node answered.
		return true, answeredBy(ep.url, responseError(resp))
	}
	limit := maxResponseBytes(len(b.docs))
	if resp.ContentLength > limit {
		return true, fmt.Errorf("bulk response of %d bytes is larger than the %d bytes allowed for %d documents", resp.ContentLength, limit, len(b.docs))
	}
	b.resp.Reset()
	if _, err := b.resp.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil {
		return true, fmt.Errorf("reading the bulk response: %w", err)
	}
	if int64(b.resp.Len()) > limit {
		return true, fmt.Errorf("bulk response is larger than the %d bytes allowed for %d documents", limit, len(b.docs))
	}
	return true, nil
}

// responseError reads a non-2xx answer as olivere does (so that errors look
// the same from every call): Elasticsearch's {"error":{...},"status":N} if
// the body is that, else just the status. It drains a little of what is
// left so that the connection can be reused.
func responseError(resp *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	e := new(elastic.Error)
	if err != nil || json.Unmarshal(data, e) != nil {
		return &elastic.Error{Status: resp.StatusCode}
	}
	if e.Status == 0 {
		e.Status = resp.StatusCode
	}
	return e
}

// olivereSender posts _bulk through olivere's PerformRequest. It is used
// only with sniff on, where olivere owns the list of nodes (discovered at
// start and every 15 minutes) and picks one per request. It costs one copy
// of the body (olivere takes a string).
type olivereSender struct {
	client *elastic.Client
}

func (s *olivereSender) Send(ctx context.Context, b *batch) error {
	opt := elastic.PerformRequestOptions{
		Method:          http.MethodPost,
		Path:            "/_bulk",
		Params:          url.Values{"filter_path": {bulkFilterPath}},
		Body:            string(b.payload()),
		ContentType:     "application/x-ndjson",
		MaxResponseSize: maxResponseBytes(len(b.docs)),
	}
	if b.gzipped {
		opt.Headers = http.Header{"Content-Encoding": {"gzip"}}
	}
	res, err := s.client.PerformRequest(ctx, opt)
	if err != nil {
		return err
	}
	b.resp.Reset()
	b.resp.Write(res.Body)
	return nil
}
