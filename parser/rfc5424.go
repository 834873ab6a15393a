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
	ev.Version = ver
	return true
}

// headerField reads 1*PRINTUSASCII at s[i:] and the SP after it. It returns
// the field and the index after the SP, or -1.
func headerField(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] > ' ' && s[j] < 0x7F {
		j++
	}
	if j == i || j >= len(s) || s[j] != ' ' {
		return "", -1
	}
	return s[i:j], j + 1
}

// structuredData reads 1*SD-ELEMENT at s[i:] (s[i] is '['). It returns the
// index after the last ']', or -1.
func structuredData(s string, i int) (event.StructuredData, int) {
	sd := make(event.StructuredData, 1)
	for i < len(s) && s[i] == '[' {
		i++
		id, j := sdName(s, i)
		if j < 0 {
			return nil, -1
		}
		i = j
		params := sd[id]
		if params == nil {
			params = make(map[string]string)
			sd[id] = params
		}
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
			params[name] = value
			i++ // closing quote
		}
	}
	return sd, i
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
