package elasticsearch

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// FastReader reads a _bulk response with github.com/valyala/fastjson (a
// reused Parser). fastjson's Parser is lenient (it takes "1-2", NaN, a
// string with bad escapes or control characters) and its Validate misses
// control characters in strings, so to refuse what encoding/json refuses
// the reader sends any body with a control character (a byte < 0x20 other
// than ' ', '\t', '\n', '\r' outside strings is invalid anyway; those three
// inside a string are too) to encoding/json, then validates with
// fastjson.ValidateBytes, then parses. Duplicate names that matter and
// case-insensitive matches go to encoding/json, as with the scanner.
type FastReader struct {
	p    fastjson.Parser
	raw  []byte // a string's raw text
	eraw []byte // an error object's text

	lastStatus int
	lastErr    []byte
	lastReason string
}

// Parse is parseBulkResponse with the fastjson reader.
func (r *FastReader) Parse(body []byte, failures []itemFailure) (bulkAnswer, error) {
	if a, ok := r.scan(body, failures); ok {
		return a, nil
	}
	return decodeBulkResponse(body)
}

// hasControl reports a byte < 0x20 other than a space, tab, CR or LF, or
// a tab, CR or LF inside a string: the cheap over-approximation is any
// tab, CR or LF at all, which sends pretty-printed answers to
// encoding/json (Elasticsearch answers on one line unless ?pretty).
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// fields looks up names of o: idx[i] is the value of fields[i] or nil. ok
// is false for a duplicate of a field or a case-insensitive match.
func fields(o *fastjson.Object, idx []*fastjson.Value, fields ...string) bool {
	ok := true
	o.Visit(func(k []byte, v *fastjson.Value) {
		for i, f := range fields {
			if string(k) == f {
				if idx[i] != nil {
					ok = false
				}
				idx[i] = v
				return
			}
			if bytes.EqualFold(k, []byte(f)) {
				ok = false
			}
		}
	})
	return ok
}

func (r *FastReader) scan(body []byte, failures []itemFailure) (a bulkAnswer, ok bool) {
	a.failures = failures[:0]
	r.lastStatus, r.lastErr, r.lastReason = 0, r.lastErr[:0], ""
	if hasControl(body) || fastjson.ValidateBytes(body) != nil {
		return a, false
	}
	v, err := r.p.ParseBytes(body)
	if err != nil {
		return a, false
	}
	o, err := v.Object()
	if err != nil {
		return a, false
	}
	var top [2]*fastjson.Value
	if !fields(o, top[:], "errors", "items") {
		return a, false
	}
	errorsFalse := false
	if e := top[0]; e != nil {
		switch e.Type() {
		case fastjson.TypeFalse:
			errorsFalse = true
		case fastjson.TypeTrue, fastjson.TypeNull:
		default:
			return a, false
		}
	}
	if it := top[1]; it != nil && it.Type() != fastjson.TypeNull {
		items, err := it.Array()
		if err != nil {
			return a, false
		}
		a.items = len(items)
		// Read as items even with "errors":false, as the hand-written
		// scanner does: encoding/json refuses an item it cannot decode
		// (FuzzReaders found a status of 0.0 under "stAtus").
		for pos, item := range items {
			if !r.item(&a, pos, item) {
				return a, false
			}
		}
		if errorsFalse {
			a.failures = a.failures[:0]
		}
	}
	return a, true
}

func (r *FastReader) item(a *bulkAnswer, pos int, item *fastjson.Value) bool {
	var body *fastjson.Value
	switch item.Type() {
	case fastjson.TypeNull:
	case fastjson.TypeObject:
		o, _ := item.Object()
		if o.Len() > 1 {
			return false // more than one action: leave it to encoding/json
		}
		o.Visit(func(_ []byte, v *fastjson.Value) { body = v })
		if body != nil && body.Type() == fastjson.TypeNull {
			body = nil
		}
	default:
		return false
	}
	if body == nil {
		a.failures = append(a.failures, newFailure(pos, 0, nil))
		return true
	}
	bo, err := body.Object()
	if err != nil {
		return false
	}
	var kv [2]*fastjson.Value
	if !fields(bo, kv[:], "status", "error") {
		return false
	}
	status := 0
	if s := kv[0]; s != nil && s.Type() != fastjson.TypeNull {
		if s.Type() != fastjson.TypeNumber {
			return false
		}
		r.raw = s.MarshalTo(r.raw[:0])
		n, err := strconv.ParseInt(string(r.raw), 10, 64) // as encoding/json does for an int
		if err != nil {
			return false
		}
		status = int(n)
	}
	if isSuccess(status) {
		return true
	}
	var errRaw *fastjson.Value
	if e := kv[1]; e != nil && e.Type() != fastjson.TypeNull {
		if e.Type() != fastjson.TypeObject {
			return false
		}
		errRaw = e
	}
	var d *errorDetails
	if errRaw != nil {
		// Items pushed back together (429) often carry the same error.
		r.eraw = errRaw.MarshalTo(r.eraw[:0])
		if status == r.lastStatus && bytes.Equal(r.eraw, r.lastErr) {
			a.failures = append(a.failures, itemFailure{pos: pos, status: status, reason: r.lastReason})
			return true
		}
		d = new(errorDetails)
		if !r.details(errRaw, d) {
			return false
		}
	}
	f := newFailure(pos, status, d)
	a.failures = append(a.failures, f)
	if errRaw != nil {
		r.lastStatus, r.lastErr, r.lastReason = status, append(r.lastErr[:0], r.eraw...), f.reason
	}
	return true
}

// text reads v if it is a string, as encoding/json decodes it (isStr
// false: not a string). It must see v before v.Type() does, which
// unescapes in place: fastjson's own unescaping differs for bad surrogates
// and keeps invalid UTF-8, so strings with escapes or invalid UTF-8 go to
// encoding/json, as in the scanner.
func (r *FastReader) text(v *fastjson.Value) (s string, isStr, ok bool) {
	r.raw = v.MarshalTo(r.raw[:0]) // a string not yet unescaped: the raw quoted string
	if r.raw[0] != '"' {
		return "", false, true
	}
	raw := r.raw[1 : len(r.raw)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true, true
	}
	if json.Unmarshal(r.raw, &s) != nil {
		return "", true, false
	}
	return s, true, true
}

func (r *FastReader) details(e *fastjson.Value, d *errorDetails) bool {
	o, _ := e.Object()
	var kv [3]*fastjson.Value
	if !fields(o, kv[:], "type", "reason", "caused_by") {
		return false
	}
	for i, dst := range []*string{&d.Type, &d.Reason} {
		v := kv[i]
		if v == nil {
			continue
		}
		str, isStr, ok := r.text(v)
		switch {
		case !ok:
			return false
		case isStr:
			*dst = str
		case v.Type() != fastjson.TypeNull:
			return false
		}
	}
	if cb := kv[2]; cb != nil && cb.Type() != fastjson.TypeNull {
		co, err := cb.Object()
		if err != nil {
			return false
		}
		m := map[string]any{}
		ok := true
		co.Visit(func(k []byte, v *fastjson.Value) {
			if !ok {
				return
			}
			if _, dup := m[string(k)]; dup {
				ok = false
				return
			}
			if string(k) == "type" || string(k) == "reason" {
				s, isStr, good := r.text(v)
				if !good {
					ok = false
					return
				}
				if isStr {
					m[string(k)] = s
					return
				}
				m[string(k)] = nil
			} else {
				m[string(k)] = nil // present, not a string: formatDetails reads ""
			}
		})
		if !ok {
			return false
		}
		d.CausedBy = m
	}
	return true
}
