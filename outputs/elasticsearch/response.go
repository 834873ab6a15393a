package elasticsearch

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Reading the _bulk response.
//
// The request asks for filter_path=errors,items.*.status,items.*.error, so
// a batch that went through answers {"errors":false,"items":[{"index":
// {"status":201}},...]}: about 25 bytes per document. Nothing in it needs
// decoding: scanBulkResponse walks it once, counts the items and, only when
// "errors" is not false, reads each item's status and decodes the "error"
// object of the items that failed (encoding/json, one small struct each).
// Without filter_path (a proxy that drops the query, an old node) the
// answer is longer but reads the same way: unknown keys are skipped.
//
// The scanner is strict: it accepts only valid JSON of the expected shape
// and gives up on anything else (a syntax error, a type it does not expect,
// a duplicate key, a key that encoding/json would match case-insensitively,
// nesting deeper than maxScanDepth). Then decodeBulkResponse decodes the
// body with encoding/json, which defines the result (FuzzBulkResponse
// checks that both agree) and gives encoding/json's error messages.

// bulkAnswer is what judge needs from a bulk response.
type bulkAnswer struct {
	items    int           // items in the response
	failures []itemFailure // the items that did not succeed, in order
}

// itemFailure is an item whose status is not 2xx.
type itemFailure struct {
	pos    int    // index of the item (= of the document) in the request
	status int    // 0 if the item carried no status
	reason string // "status 400: type: reason (caused by: type: reason)"
}

// errorDetails is the "error" object of a failed item.
type errorDetails struct {
	Type     string         `json:"type"`
	Reason   string         `json:"reason"`
	CausedBy map[string]any `json:"caused_by"`
}

// String is "type: reason (caused by: type: reason)".
func (d *errorDetails) String() string {
	return formatDetails(d.Type, d.Reason, d.CausedBy)
}

func formatDetails(typ, reason string, causedBy map[string]any) string {
	s := typ + ": " + reason
	if causedBy != nil {
		t, _ := causedBy["type"].(string)
		r, _ := causedBy["reason"].(string)
		if t != "" || r != "" {
			s += " (caused by: " + t + ": " + r + ")"
		}
	}
	return s
}

const noStatusReason = "bulk response carries no status for this item"

func newFailure(pos, status int, details *errorDetails) itemFailure {
	if status == 0 {
		return itemFailure{pos: pos, reason: noStatusReason}
	}
	r := "status " + strconv.Itoa(status)
	if details != nil {
		r += ": " + details.String()
	}
	return itemFailure{pos: pos, status: status, reason: r}
}

func isSuccess(status int) bool { return status >= 200 && status < 300 }

// parseBulkResponse reads a 2xx _bulk response. failures is reused for the
// answer's failures.
func parseBulkResponse(body []byte, failures []itemFailure) (bulkAnswer, error) {
	if a, ok := scanBulkResponse(body, failures); ok {
		return a, nil
	}
	return decodeBulkResponse(body)
}

// decodeBulkResponse is the reference reading of a response, with
// encoding/json: "errors":false means every item succeeded; otherwise each
// item's status decides, an item without status is a failure.
func decodeBulkResponse(body []byte) (bulkAnswer, error) {
	type item struct {
		Status int           `json:"status"`
		Error  *errorDetails `json:"error"`
	}
	var r struct {
		Errors *bool              `json:"errors"`
		Items  []map[string]*item `json:"items"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return bulkAnswer{}, err
	}
	a := bulkAnswer{items: len(r.Items)}
	if r.Errors != nil && !*r.Errors {
		return a, nil
	}
	for pos, m := range r.Items {
		// One key, the action ("index"); were there more, take the first
		// non-null one in key order, so that the answer is deterministic.
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var it *item
		for _, k := range keys {
			if m[k] != nil {
				it = m[k]
				break
			}
		}
		if it == nil {
			a.failures = append(a.failures, newFailure(pos, 0, nil))
		} else if !isSuccess(it.Status) {
			a.failures = append(a.failures, newFailure(pos, it.Status, it.Error))
		}
	}
	return a, nil
}

// maxScanDepth bounds the scanner's recursion; deeper input goes to
// encoding/json.
const maxScanDepth = 64

// jsonScanner walks JSON without building anything.
type jsonScanner struct {
	b     []byte
	i     int
	depth int

	// the last failed item's status, raw error and reason
	lastStatus int
	lastErr    []byte
	lastReason string
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c (after whitespace) if it is next.
func (s *jsonScanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// lit consumes the literal lit if it is next (after whitespace).
func (s *jsonScanner) lit(lit string) bool {
	s.ws()
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// str consumes a string and returns its raw (still escaped) contents and
// whether it holds escapes.
func (s *jsonScanner) str() (raw []byte, escaped, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], escaped, true
		case c == '\\':
			escaped = true
			if j+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s.b) || !isHex(s.b[j+2]) || !isHex(s.b[j+3]) || !isHex(s.b[j+4]) || !isHex(s.b[j+5]) {
					return nil, false, false
				}
				j += 6
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			j++
		}
	}
	return nil, false, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) num() bool {
	s.ws()
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	s.i = i
	return true
}

// int consumes a number that encoding/json would store in an int: an
// integer without fraction or exponent (statuses have three digits; more
// than 18 are left to encoding/json).
func (s *jsonScanner) int() (int, bool) {
	s.ws()
	start := s.i
	if !s.num() {
		return 0, false
	}
	digits := s.b[start:s.i]
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	if len(digits) > 18 {
		return 0, false
	}
	v := 0
	for _, c := range digits {
		if !isDigit(c) {
			return 0, false // a fraction or an exponent: not an int for encoding/json
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// skip consumes any value.
func (s *jsonScanner) skip() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		if s.depth++; s.depth > maxScanDepth {
			return false
		}
		s.i++
		if !s.eat('}') {
			for {
				if _, _, ok := s.str(); !ok || !s.eat(':') || !s.skip() {
					return false
				}
				if s.eat(',') {
					continue
				}
				if !s.eat('}') {
					return false
				}
				break
			}
		}
		s.depth--
		return true
	case '[':
		if s.depth++; s.depth > maxScanDepth {
			return false
		}
		s.i++
		if !s.eat(']') {
			for {
				if !s.skip() {
					return false
				}
				if s.eat(',') {
					continue
				}
				if !s.eat(']') {
					return false
				}
				break
			}
		}
		s.depth--
		return true
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	return s.num()
}

// Keys that encoding/json matches to struct fields, case-insensitively.
var (
	keyErrors = []byte("errors")
	keyItems  = []byte("items")
	keyStatus = []byte("status")
	keyError  = []byte("error")
)

// key consumes an object key and its colon. It fails (so that
// encoding/json decides) for keys with escapes and for keys that match one
// of fields only case-insensitively, which encoding/json would take for
// that field.
func (s *jsonScanner) key(fields ...[]byte) ([]byte, bool) {
	k, escaped, ok := s.str()
	if !ok || escaped || !s.eat(':') {
		return nil, false
	}
	for _, f := range fields {
		if !bytes.Equal(k, f) && bytes.EqualFold(k, f) {
			return nil, false
		}
	}
	return k, true
}

// scanBulkResponse reads the response without encoding/json when it can;
// ok false means decodeBulkResponse must decide.
func scanBulkResponse(body []byte, failures []itemFailure) (a bulkAnswer, ok bool) {
	s := jsonScanner{b: body}
	a.failures = failures[:0]
	if !s.eat('{') {
		return a, false
	}
	var errorsFalse, seenErrors, seenItems bool
	if !s.eat('}') {
		for {
			k, ok := s.key(keyErrors, keyItems)
			if !ok {
				return a, false
			}
			switch string(k) {
			case "errors":
				if seenErrors {
					return a, false
				}
				seenErrors = true
				switch {
				case s.lit("false"):
					errorsFalse = true
				case s.lit("true"), s.lit("null"):
				default:
					return a, false
				}
			case "items":
				if seenItems {
					return a, false
				}
				seenItems = true
				if !s.items(&a) {
					return a, false
				}
			default:
				if !s.skip() {
					return a, false
				}
			}
			if s.eat(',') {
				continue
			}
			if !s.eat('}') {
				return a, false
			}
			break
		}
	}
	if !s.end() {
		return a, false
	}
	if errorsFalse {
		a.failures = a.failures[:0] // "errors" came after "items"
	}
	return a, true
}

// items consumes the items array, counting the items and recording the
// failed ones.
func (s *jsonScanner) items(a *bulkAnswer) bool {
	if s.lit("null") {
		return true
	}
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	s.depth++
	for {
		// Read as items even after "errors":false (their failures are
		// dropped at the end): encoding/json refuses an item that is not
		// one, and so must the scanner (FuzzBulkResponse found [0]).
		if !s.item(a) {
			return false
		}
		a.items++
		if s.eat(',') {
			continue
		}
		s.depth--
		return s.eat(']')
	}
}

// item consumes {"index":{"status":N,"error":{...},...}} and records a
// failure unless the status is 2xx.
func (s *jsonScanner) item(a *bulkAnswer) bool {
	pos := a.items
	if s.lit("null") {
		a.failures = append(a.failures, newFailure(pos, 0, nil))
		return true
	}
	if !s.eat('{') {
		return false
	}
	found, status := false, 0
	var errRaw []byte
	if !s.eat('}') {
		for n := 0; ; n++ {
			if n > 0 {
				return false // more than one action: leave it to encoding/json
			}
			if _, ok := s.key(); !ok {
				return false
			}
			if !s.lit("null") {
				var ok bool
				if status, errRaw, ok = s.itemBody(); !ok {
					return false
				}
				found = true
			}
			if s.eat(',') {
				continue
			}
			if !s.eat('}') {
				return false
			}
			break
		}
	}
	switch {
	case !found:
		a.failures = append(a.failures, newFailure(pos, 0, nil))
	case !isSuccess(status):
		// Items pushed back together (429) often carry the same error.
		if status == s.lastStatus && errRaw != nil && bytes.Equal(errRaw, s.lastErr) {
			a.failures = append(a.failures, itemFailure{pos: pos, status: status, reason: s.lastReason})
			return true
		}
		var d *errorDetails
		if errRaw != nil {
			d = new(errorDetails)
			if !decodeDetails(errRaw, d) && json.Unmarshal(errRaw, d) != nil {
				return false
			}
		}
		f := newFailure(pos, status, d)
		a.failures = append(a.failures, f)
		s.lastStatus, s.lastErr, s.lastReason = status, errRaw, f.reason
	}
	return true
}

var (
	keyType     = []byte("type")
	keyReason   = []byte("reason")
	keyCausedBy = []byte("caused_by")
)

// decodeDetails reads an item's "error" object into d without
// encoding/json, as json.Unmarshal would; false means it could not (then
// json.Unmarshal decides). It keeps only what the reason shows: type,
// reason, and caused_by's type and reason.
func decodeDetails(raw []byte, d *errorDetails) bool {
	s := jsonScanner{b: raw}
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return s.end()
	}
	var seen [3]bool
	for {
		k, ok := s.key(keyType, keyReason, keyCausedBy)
		if !ok {
			return false
		}
		switch string(k) {
		case "type", "reason":
			i, dst := 0, &d.Type
			if k[0] == 'r' {
				i, dst = 1, &d.Reason
			}
			if seen[i] {
				return false
			}
			seen[i] = true
			if !s.lit("null") {
				if *dst, ok = s.text(); !ok {
					return false
				}
			}
		case "caused_by":
			if seen[2] {
				return false
			}
			seen[2] = true
			if !s.lit("null") {
				if d.CausedBy, ok = s.causedBy(); !ok {
					return false
				}
			}
		default:
			if !s.skip() {
				return false
			}
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}') && s.end()
	}
}

// end reports whether only whitespace is left.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// causedBy reads the caused_by object, keeping its string type and reason
// (the only entries formatDetails reads).
func (s *jsonScanner) causedBy() (map[string]any, bool) {
	if !s.eat('{') {
		return nil, false
	}
	m := map[string]any{}
	if s.eat('}') {
		return m, true
	}
	for {
		k, escaped, ok := s.str()
		if !ok || escaped || !s.eat(':') {
			return nil, false
		}
		if _, dup := m[string(k)]; dup {
			return nil, false
		}
		s.ws()
		if (string(k) == "type" || string(k) == "reason") && s.i < len(s.b) && s.b[s.i] == '"' {
			v, ok := s.text()
			if !ok {
				return nil, false
			}
			m[string(k)] = v
		} else {
			if !s.skip() {
				return nil, false
			}
			m[string(k)] = nil // present, not a string: formatDetails reads ""
		}
		if s.eat(',') {
			continue
		}
		return m, s.eat('}')
	}
}

// text reads a string value as encoding/json would decode it.
func (s *jsonScanner) text() (string, bool) {
	s.ws()
	start := s.i
	raw, escaped, ok := s.str()
	if !ok {
		return "", false
	}
	if !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	var v string // escapes, or invalid UTF-8 that encoding/json replaces
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		return "", false
	}
	return v, true
}

// itemBody consumes the object inside an item: its status, and the raw
// "error" object if there is one.
func (s *jsonScanner) itemBody() (status int, errRaw []byte, ok bool) {
	if !s.eat('{') {
		return 0, nil, false
	}
	if s.eat('}') {
		return 0, nil, true
	}
	var seenStatus, seenError bool
	for {
		k, ok := s.key(keyStatus, keyError)
		if !ok {
			return 0, nil, false
		}
		switch string(k) {
		case "status":
			if seenStatus {
				return 0, nil, false
			}
			seenStatus = true
			if !s.lit("null") {
				if status, ok = s.int(); !ok {
					return 0, nil, false
				}
			}
		case "error":
			if seenError {
				return 0, nil, false
			}
			seenError = true
			if !s.lit("null") {
				s.ws()
				if s.i >= len(s.b) || s.b[s.i] != '{' {
					return 0, nil, false
				}
				start := s.i
				if !s.skip() {
					return 0, nil, false
				}
				errRaw = s.b[start:s.i]
			}
		default:
			if !s.skip() {
				return 0, nil, false
			}
		}
		if s.eat(',') {
			continue
		}
		if !s.eat('}') {
			return 0, nil, false
		}
		return status, errRaw, true
	}
}
