package parser

import (
	"strings"
	"time"

	"github.com/logshipper/logshipper/event"
)

const bom = "\xEF\xBB\xBF"

// parse5424 parses s[i:] (right after the PRI) as
// VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG].
// It reports false, leaving ev half filled, when the line is not RFC 5424:
// no VERSION and space, or a TIMESTAMP that is neither "-" nor starts like
// a date ("2003-10-11T"). Past that point the line is RFC 5424 even when it
// breaks the grammar: every field that is valid is kept, what cannot be
// read as structured data is left in Message, and Malformed says so.
func (p *Parser) parse5424(ev *event.Event, s string, i int) bool {
	ver, i := num(s, i, 1, 3)
	if i < 0 || i >= len(s) || s[i] != ' ' {
		return false
	}
	i++

	ts, i, clean := headerField(s, i)
	malformed := !clean
	if ts != "-" {
		if t, end, ok := parseISO(ts, 0, true, time.UTC); ok && end == len(ts) {
			ev.Timestamp = t
			// TIME-SECFRAC has at most 6 digits: "2003-10-11T22:14:15.003Z".
			malformed = malformed || (len(ts) > 26 && ts[19] == '.' && isDigit(ts[26]))
		} else if dateShaped(ts) {
			// No UTC offset: in Options.Location, as an RFC 3164 stamp.
			// Not a time at all: the receive time stands in.
			malformed = true
			if t, end, ok := parseISO(ts, 0, false, p.loc); ok && end == len(ts) {
				ev.Timestamp = t
			}
		} else {
			return false
		}
		ev.TimestampRaw = ts
	}
	ev.Format = event.FormatRFC5424
	ev.Version = int16(ver) // at most 3 digits
	var f string
	for n := 0; n < 4; n++ {
		if i >= len(s) { // the line ends inside the header
			ev.Malformed = true
			return true
		}
		f, i, clean = headerField(s, i)
		// An empty field (two spaces), a byte RFC 5424 does not allow, or
		// a field over its length limit.
		malformed = malformed || !clean || len(f) > fieldLimits[n]
		if f == "-" {
			f = ""
		}
		switch n {
		case 0:
			ev.Hostname = f
		case 1:
			ev.Program = f
		case 2:
			ev.PID = f
		case 3:
			ev.MsgID = f
		}
	}

	sdOK := false
	switch {
	case i >= len(s): // no STRUCTURED-DATA
	case s[i] == '-' && (i+1 == len(s) || s[i+1] == ' '):
		i++
		sdOK = true
	case s[i] == '[':
		if sd, next, lenient := structuredData(s, i); next > 0 {
			ev.StructuredData, i, sdOK = sd, next, !lenient
		}
	case s[i] == ' ': // an empty STRUCTURED-DATA field ("- -  info")
		for i < len(s) && s[i] == ' ' {
			i++
		}
		i-- // the space before MSG
	}
	switch {
	case i >= len(s):
	case s[i] == ' ':
		ev.Message = strings.TrimPrefix(s[i+1:], bom)
	default: // what could not be read as STRUCTURED-DATA stays in MSG
		ev.Message = s[i:]
		sdOK = false
	}
	ev.Malformed = malformed || !sdOK
	return true
}

// fieldLimits are RFC 5424's longest HOSTNAME, APP-NAME, PROCID and MSGID.
// Longer fields are kept whole, and flagged.
var fieldLimits = [4]int{255, 48, 128, 32}

// sdNameLimit is RFC 5424's longest SD-NAME (SD-IDs and PARAM-NAMEs).
const sdNameLimit = 32

// dateShaped reports whether ts starts like an RFC 3339 date: "dddd-dd-ddT".
func dateShaped(ts string) bool {
	return len(ts) >= 11 && ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' &&
		isDigit(ts[0]) && isDigit(ts[1]) && isDigit(ts[2]) && isDigit(ts[3]) &&
		isDigit(ts[5]) && isDigit(ts[6]) && isDigit(ts[8]) && isDigit(ts[9])
}

// headerField reads a header field at s[i:]: the bytes up to the next
// space or the end of s, and that space. clean says the field is
// 1*PRINTUSASCII and a space followed it, as RFC 5424 wants.
func headerField(s string, i int) (field string, next int, clean bool) {
	j := i
	for j+8 <= len(s) && print8(load8(s, j)) {
		j += 8
	}
	for j < len(s) && s[j] > ' ' && s[j] < 0x7F {
		j++
	}
	if j < len(s) && s[j] == ' ' && j > i {
		return s[i:j], j + 1, true
	}
	for j < len(s) && s[j] != ' ' { // a byte RFC 5424 does not allow here
		j++
	}
	if j >= len(s) {
		return s[i:j], j, false
	}
	return s[i:j], j + 1, false
}

// Scratch space of structuredData, on the stack: a message with up to
// sdStackElems elements and sdStackParams params in all (nearly every one)
// is collected there, then copied by buildSD into one block or two.
const (
	sdStackElems  = 4
	sdStackParams = 16
)

// sdMark is an SD-ID and the end of its params in the flat params list.
type sdMark struct {
	id  string
	end int
}

// structuredData reads 1*SD-ELEMENT at s[i:] (s[i] is '['). It returns the
// index after the last ']', or -1. It forgives what rsyslog, syslog-ng and
// grok readers forgive, and then reports lenient: spaces around '=' and
// before ']' (RFC 5424's own example is printed with "eventSource=
// "Application""), and a PARAM-VALUE without quotes ("[meta
// sequenceId=10]"), which runs to the next space or ']'.
func structuredData(s string, i int) (sd event.StructuredData, next int, lenient bool) {
	var markBuf [sdStackElems]sdMark
	var paramBuf [sdStackParams]event.SDParam
	marks, params := markBuf[:0], paramBuf[:0]
	for i < len(s) && s[i] == '[' {
		i++
		id, j := sdName(s, i)
		if j < 0 {
			return nil, -1, false
		}
		lenient = lenient || len(id) > sdNameLimit
		i = j
		for {
			if i >= len(s) {
				return nil, -1, false
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ' ' {
				return nil, -1, false
			}
			i++
			if i < len(s) && (s[i] == ' ' || s[i] == ']') {
				lenient = true
				continue
			}
			name, j := sdName(s, i)
			if j < 0 {
				return nil, -1, false
			}
			lenient = lenient || len(name) > sdNameLimit
			i = j
			if i+1 < len(s) && s[i] == '=' && s[i+1] == '"' {
				i += 2
			} else {
				if i = skipSpaces(s, i); i >= len(s) || s[i] != '=' {
					return nil, -1, false
				}
				if i = skipSpaces(s, i+1); i >= len(s) {
					return nil, -1, false
				}
				lenient = true
				if s[i] != '"' { // unquoted
					start := i
					for i < len(s) && s[i] != ' ' && s[i] != ']' {
						i++
					}
					params = append(params, event.SDParam{Name: name, Value: s[start:i]})
					continue
				}
				i++
			}
			start, escaped := i, false
			for i+8 <= len(s) && plainValue8(load8(s, i)) {
				i += 8
			}
			for i < len(s) && s[i] != '"' {
				switch s[i] {
				case '\\':
					// Any other escape ("C:\Windows") is invalid, and §6.3.3
					// says how to read it: not flagged.
					if i+1 < len(s) {
						escaped = true
						i++
					}
				case ']': // must be escaped; accepted
					lenient = true
				}
				i++
			}
			if i >= len(s) {
				return nil, -1, false
			}
			value := s[start:i]
			if escaped {
				value = unescapeParam(value)
			}
			params = append(params, event.SDParam{Name: name, Value: value})
			i++ // closing quote
		}
		marks = append(marks, sdMark{id: id, end: len(params)})
	}
	sd = buildSD(marks, params)
	// A repeated SD-ID breaks RFC 5424 (a repeated PARAM-NAME does not).
	return sd, i, lenient || len(sd) < len(marks)
}

// buildSD copies what structuredData collected into one slice of elements
// and one of params (each element's Params a piece of it), then merges
// repeated SD-IDs and param names as event.StructuredData describes.
func buildSD(marks []sdMark, params []event.SDParam) event.StructuredData {
	var sd event.StructuredData
	var ps []event.SDParam
	// One element (by far the most common case) with few params: one
	// allocation holds both.
	switch n := len(params); {
	case len(marks) != 1 || n > 8:
		sd = make(event.StructuredData, len(marks))
		ps = make([]event.SDParam, n)
	case n <= 2:
		b := new(struct {
			e [1]event.SDElement
			p [2]event.SDParam
		})
		sd, ps = b.e[:], b.p[:n:n]
	case n <= 4:
		b := new(struct {
			e [1]event.SDElement
			p [4]event.SDParam
		})
		sd, ps = b.e[:], b.p[:n:n]
	default:
		b := new(struct {
			e [1]event.SDElement
			p [8]event.SDParam
		})
		sd, ps = b.e[:], b.p[:n:n]
	}
	copy(ps, params)
	start := 0
	for k, m := range marks {
		sd[k] = event.SDElement{ID: m.id, Params: ps[start:m.end:m.end]}
		start = m.end
	}
	sd = mergeIDs(sd)
	for k := range sd {
		sd[k].Params = mergeParams(sd[k].Params)
	}
	return sd
}

// linearLimit: up to this many elements (or params in an element),
// repeats are looked for by comparing with each earlier one; above it, with
// a map, so that a crafted line with thousands of them costs linear time.
const linearLimit = 32

// mergeIDs moves the params of a repeated SD-ID to the end of the first
// element with that ID (in place; an appended-to element gets a new array,
// each element's Params being capped at its own length).
func mergeIDs(sd event.StructuredData) event.StructuredData {
	return dedupe(sd, func(e *event.SDElement) string { return e.ID },
		func(first, later *event.SDElement) { first.Params = append(first.Params, later.Params...) })
}

// mergeParams keeps one param per name (in place): at the position of its
// first occurrence, with the value of its last.
func mergeParams(ps []event.SDParam) []event.SDParam {
	return dedupe(ps, func(p *event.SDParam) string { return p.Name },
		func(first, later *event.SDParam) { first.Value = later.Value })
}

// dedupe keeps one item per key, in place, at the position of the key's
// first occurrence, folding each later occurrence into it with merge.
func dedupe[T any](items []T, key func(*T) string, merge func(first, later *T)) []T {
	if len(items) < 2 {
		return items
	}
	var index map[string]int
	if len(items) > linearLimit {
		index = make(map[string]int, len(items))
	}
	n := 0 // items[:n] are the distinct keys so far
	for i := range items {
		k := key(&items[i])
		j := -1
		if index != nil {
			if v, ok := index[k]; ok {
				j = v
			} else {
				index[k] = n
			}
		} else {
			for m := range n {
				if key(&items[m]) == k {
					j = m
					break
				}
			}
		}
		if j >= 0 {
			merge(&items[j], &items[i])
			continue
		}
		if n != i { // only after a repeat: no needless write (barrier)
			items[n] = items[i]
		}
		n++
	}
	clear(items[n:])
	return items[:n]
}

// sdName reads an SD-NAME: 1*32 PRINTUSASCII except '=', SP, ']' and '"'
// (the length is not enforced).
func sdName(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] > ' ' && s[j] < 0x7F && s[j] != '=' && s[j] != ']' && s[j] != '"' {
		j++
	}
	if j == i {
		return "", -1
	}
	return s[i:j], j
}

// unescapeParam removes the backslash of \" \\ and \]; RFC 5424 §6.3.3
// says any other backslash is a literal one.
func unescapeParam(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\' || v[i+1] == ']') {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
