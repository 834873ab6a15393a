package parser

import (
	"strings"
	"time"

	"github.com/logshipper/logshipper/event"
)

const bom = "\xEF\xBB\xBF"

// parse5424 parses s[i:] (right after the PRI) as
// VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG].
// It reports false, leaving ev half filled, when the grammar does not match.
func parse5424(ev *event.Event, s string, i int) bool {
	ver, i := num(s, i, 1, 3)
	if i < 0 || i >= len(s) || s[i] != ' ' {
		return false
	}
	i++

	var ts string
	if ts, i = headerField(s, i); i < 0 {
		return false
	}
	if ts != "-" {
		t, end, ok := parseISO(ts, 0, true, time.UTC)
		if !ok || end != len(ts) {
			return false
		}
		ev.Timestamp = t
		ev.TimestampRaw = ts
	}
	var f string
	for n := 0; n < 4; n++ {
		if f, i = headerField(s, i); i < 0 {
			return false
		}
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

	if i >= len(s) {
		return false
	}
	switch s[i] {
	case '-':
		i++
	case '[':
		var sd event.StructuredData
		if sd, i = structuredData(s, i); i < 0 {
			return false
		}
		ev.StructuredData = sd
	default:
		return false
	}
	if i < len(s) {
		if s[i] != ' ' {
			return false
		}
		ev.Message = strings.TrimPrefix(s[i+1:], bom)
	}
	ev.Format = event.FormatRFC5424
	ev.Version = int16(ver) // at most 3 digits
	return true
}

// headerField reads 1*PRINTUSASCII at s[i:] and the SP after it. It returns
// the field and the index after the SP, or -1.
func headerField(s string, i int) (string, int) {
	j := i
	for j+8 <= len(s) && print8(load8(s, j)) {
		j += 8
	}
	for j < len(s) && s[j] > ' ' && s[j] < 0x7F {
		j++
	}
	if j == i || j >= len(s) || s[j] != ' ' {
		return "", -1
	}
	return s[i:j], j + 1
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
// index after the last ']', or -1.
func structuredData(s string, i int) (event.StructuredData, int) {
	var markBuf [sdStackElems]sdMark
	var paramBuf [sdStackParams]event.SDParam
	marks, params := markBuf[:0], paramBuf[:0]
	for i < len(s) && s[i] == '[' {
		i++
		id, j := sdName(s, i)
		if j < 0 {
			return nil, -1
		}
		i = j
		for {
			if i >= len(s) {
				return nil, -1
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ' ' {
				return nil, -1
			}
			name, j := sdName(s, i+1)
			if j < 0 || j+1 >= len(s) || s[j] != '=' || s[j+1] != '"' {
				return nil, -1
			}
			i = j + 2
			start, escaped := i, false
			for i+8 <= len(s) && plainValue8(load8(s, i)) {
				i += 8
			}
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					escaped = true
					i++
				}
				i++
			}
			if i >= len(s) {
				return nil, -1
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
	return buildSD(marks, params), i
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
