package elasticsearch

import (
	"bytes"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// TextReader reads a _bulk response with jsontext's streaming Decoder
// (github.com/go-json-experiment/json/jsontext; built with
// GOEXPERIMENT=jsonv2 that package is an alias of the standard library's
// encoding/json/jsontext, so the same code measures both). It does the
// scanner's job: the Decoder validates the JSON (syntax, UTF-8, duplicate
// names) and anything it refuses, or a shape the reader does not expect,
// goes to decodeBulkResponse, as with the scanner.
type TextReader struct {
	buf  bytes.Buffer // the Decoder parses a bytes.Buffer in place
	dec  jsontext.Decoder
	eraw []byte
	ebuf bytes.Buffer
	edec jsontext.Decoder // for an item's error object

	lastStatus int
	lastErr    []byte
	lastReason string
}

// Parse is parseBulkResponse with the jsontext reader.
func (r *TextReader) Parse(body []byte, failures []itemFailure) (bulkAnswer, error) {
	if a, ok := r.scan(body, failures); ok {
		return a, nil
	}
	return decodeBulkResponse(body)
}

// name reads an object name and tells which of fields it is (-1: none). ok
// is false for a name that matches a field only case-insensitively
// (encoding/json would take it for that field).
func name(dec *jsontext.Decoder, fields ...string) (int, bool) {
	v, err := dec.ReadValue()
	if err != nil {
		return -1, false
	}
	k := v[1 : len(v)-1] // raw, still escaped
	if bytes.IndexByte(k, '\\') >= 0 {
		u, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return -1, false
		}
		k = u
	}
	for i, f := range fields {
		if string(k) == f {
			return i, true
		}
		if bytes.EqualFold(k, []byte(f)) {
			return -1, false
		}
	}
	return -1, true
}

func (r *TextReader) scan(body []byte, failures []itemFailure) (a bulkAnswer, ok bool) {
	a.failures = failures[:0]
	r.lastStatus, r.lastErr, r.lastReason = 0, r.lastErr[:0], ""
	r.buf = *bytes.NewBuffer(body)
	dec := &r.dec
	dec.Reset(&r.buf)
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return a, false
	}
	var errorsFalse bool
	for dec.PeekKind() == '"' {
		f, ok := name(dec, "errors", "items")
		if !ok {
			return a, false
		}
		switch f {
		case 0:
			t, err := dec.ReadToken()
			if err != nil {
				return a, false
			}
			switch t.Kind() {
			case 'f':
				errorsFalse = true
			case 't', 'n':
			default:
				return a, false
			}
		case 1:
			if !r.items(&a) {
				return a, false
			}
		default:
			if dec.SkipValue() != nil {
				return a, false
			}
		}
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
		return a, false
	}
	if _, err := dec.ReadToken(); err != io.EOF { // one value, then the end
		return a, false
	}
	if errorsFalse {
		a.failures = a.failures[:0]
	}
	return a, true
}

func (r *TextReader) items(a *bulkAnswer) bool {
	dec := &r.dec
	t, err := dec.ReadToken()
	if err != nil {
		return false
	}
	switch t.Kind() {
	case 'n':
		return true
	case '[':
	default:
		return false
	}
	for dec.PeekKind() != ']' {
		// Read as items even after "errors":false (their failures are
		// dropped at the end), as the hand-written scanner does.
		if !r.item(a) {
			return false
		}
		a.items++
	}
	_, err = dec.ReadToken()
	return err == nil
}

func (r *TextReader) item(a *bulkAnswer) bool {
	dec := &r.dec
	pos := a.items
	t, err := dec.ReadToken()
	if err != nil {
		return false
	}
	switch t.Kind() {
	case 'n':
		a.failures = append(a.failures, newFailure(pos, 0, nil))
		return true
	case '{':
	default:
		return false
	}
	found, status := false, 0
	var errRaw []byte
	for n := 0; dec.PeekKind() == '"'; n++ {
		if n > 0 {
			return false // more than one action: leave it to encoding/json
		}
		if _, ok := name(dec); !ok {
			return false
		}
		if dec.PeekKind() == 'n' {
			dec.ReadToken()
			continue
		}
		var ok bool
		if status, errRaw, ok = r.itemBody(); !ok {
			return false
		}
		found = true
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
		return false
	}
	switch {
	case !found:
		a.failures = append(a.failures, newFailure(pos, 0, nil))
	case !isSuccess(status):
		if status == r.lastStatus && errRaw != nil && bytes.Equal(errRaw, r.lastErr) {
			a.failures = append(a.failures, itemFailure{pos: pos, status: status, reason: r.lastReason})
			return true
		}
		var d *errorDetails
		if errRaw != nil {
			d = new(errorDetails)
			if !r.details(errRaw, d) {
				return false
			}
		}
		f := newFailure(pos, status, d)
		a.failures = append(a.failures, f)
		r.lastStatus, r.lastErr, r.lastReason = status, append(r.lastErr[:0], errRaw...), f.reason
	}
	return true
}

// itemBody reads {"status":N,"error":{...},...}; errRaw is a copy of the
// error object (the Decoder's Values last until the next read).
func (r *TextReader) itemBody() (status int, errRaw []byte, ok bool) {
	dec := &r.dec
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return 0, nil, false
	}
	for dec.PeekKind() == '"' {
		f, ok := name(dec, "status", "error")
		if !ok {
			return 0, nil, false
		}
		switch f {
		case 0:
			v, err := dec.ReadValue()
			if err != nil {
				return 0, nil, false
			}
			switch v.Kind() {
			case 'n':
			case '0':
				n, err := strconv.ParseInt(string(v), 10, 64) // as encoding/json does for an int
				if err != nil {
					return 0, nil, false
				}
				status = int(n)
			default:
				return 0, nil, false
			}
		case 1:
			v, err := dec.ReadValue()
			if err != nil {
				return 0, nil, false
			}
			switch v.Kind() {
			case 'n':
			case '{':
				r.eraw = append(r.eraw[:0], v...)
				errRaw = r.eraw
			default:
				return 0, nil, false
			}
		default:
			if dec.SkipValue() != nil {
				return 0, nil, false
			}
		}
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
		return 0, nil, false
	}
	return status, errRaw, true
}

// details decodes an error object (already validated) as json.Unmarshal
// would into errorDetails.
func (r *TextReader) details(raw []byte, d *errorDetails) bool {
	dec := &r.edec
	r.ebuf = *bytes.NewBuffer(raw)
	dec.Reset(&r.ebuf)
	dec.ReadToken() // '{'
	for dec.PeekKind() == '"' {
		f, ok := name(dec, "type", "reason", "caused_by")
		if !ok {
			return false
		}
		switch f {
		case 0, 1:
			t, err := dec.ReadToken()
			if err != nil {
				return false
			}
			switch t.Kind() {
			case 'n':
			case '"':
				if f == 0 {
					d.Type = t.String()
				} else {
					d.Reason = t.String()
				}
			default:
				return false
			}
		case 2:
			t, err := dec.ReadToken()
			if err != nil {
				return false
			}
			switch t.Kind() {
			case 'n':
			case '{':
				m := map[string]any{}
				for dec.PeekKind() == '"' {
					kt, err := dec.ReadToken()
					if err != nil {
						return false
					}
					k := kt.String()
					if (k == "type" || k == "reason") && dec.PeekKind() == '"' {
						vt, _ := dec.ReadToken()
						m[k] = vt.String()
					} else {
						if dec.SkipValue() != nil {
							return false
						}
						m[k] = nil // present, not a string: formatDetails reads ""
					}
				}
				dec.ReadToken() // '}'
				d.CausedBy = m
			default:
				return false
			}
		default:
			if dec.SkipValue() != nil {
				return false
			}
		}
	}
	return true
}
