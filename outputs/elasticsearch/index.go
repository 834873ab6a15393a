package elasticsearch

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// IndexName is a parsed elasticsearch.index value: a plain name
// ("syslog-msg") or a pattern with Logstash-style date references
// ("syslog-msg-%{+yyyy.MM.dd}") filled from each event's @timestamp in UTC.
//
// Inside %{+...} these Joda-style fields are understood: yyyy and YYYY
// (the calendar year; in Joda, which Logstash uses, Y is the year of era,
// not a week year), yy and YY (two digits), MM, dd, HH; any other
// character that is not a letter is copied, and 'quoted text' is copied
// without its quotes. IndexName is safe for concurrent use.
type IndexName struct {
	pattern string
	parts   []indexPart
	static  bool
	// step is the length in seconds over which the name cannot change
	// (3600 with HH, otherwise a day); names are cached per step.
	step  int64
	cache atomic.Pointer[cachedName]
}

type cachedName struct {
	slot int64 // unix seconds / step
	name string
}

type partKind uint8

const (
	partLiteral partKind = iota
	partYear4
	partYear2
	partMonth
	partDay
	partHour
)

type indexPart struct {
	kind partKind
	text string // for partLiteral
}

// ParseIndex parses an index name or pattern. Its errors quote the value
// and say what is allowed.
func ParseIndex(pattern string) (*IndexName, error) {
	ix := &IndexName{pattern: pattern, step: 86400}
	if pattern == "" {
		return nil, fmt.Errorf("empty index name")
	}
	rest := pattern
	for rest != "" {
		i := strings.Index(rest, "%{")
		if i < 0 {
			ix.addLiteral(rest)
			break
		}
		if i > 0 {
			ix.addLiteral(rest[:i])
		}
		rest = rest[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: unclosed %%{", pattern)
		}
		ref := rest[:end]
		rest = rest[end+1:]
		if !strings.HasPrefix(ref, "+") {
			return nil, fmt.Errorf("%q: %%{%s} is a field reference; only dates like %%{+yyyy.MM.dd} are supported", pattern, ref)
		}
		if err := ix.parseDate(ref[1:]); err != nil {
			return nil, fmt.Errorf("%q: %%{%s}: %v", pattern, ref, err)
		}
	}
	ix.static = true
	var literal strings.Builder // the name's fixed parts
	for _, p := range ix.parts {
		literal.WriteString(p.text)
		if p.kind != partLiteral {
			ix.static = false
		}
		if p.kind == partHour {
			ix.step = 3600
		}
	}
	if err := checkIndexChars(literal.String(), ix.parts[0].kind == partLiteral); err != nil {
		return nil, fmt.Errorf("%q: %v", pattern, err)
	}
	if ix.static && len(pattern) > 255 {
		return nil, fmt.Errorf("%q: longer than 255 bytes", pattern)
	}
	return ix, nil
}

func (ix *IndexName) addLiteral(s string) {
	if n := len(ix.parts); n > 0 && ix.parts[n-1].kind == partLiteral {
		ix.parts[n-1].text += s
		return
	}
	ix.parts = append(ix.parts, indexPart{kind: partLiteral, text: s})
}

func (ix *IndexName) parseDate(f string) error {
	if f == "" {
		return fmt.Errorf("empty date format; use e.g. %%{+yyyy.MM.dd}")
	}
	for f != "" {
		c := f[0]
		if c == '\'' {
			end := strings.IndexByte(f[1:], '\'')
			if end < 0 {
				return fmt.Errorf("unclosed quote")
			}
			ix.addLiteral(f[1 : 1+end])
			f = f[end+2:]
			continue
		}
		if !isLetter(c) {
			ix.addLiteral(f[:1])
			f = f[1:]
			continue
		}
		n := 1
		for n < len(f) && f[n] == c {
			n++
		}
		field := f[:n]
		f = f[n:]
		switch field {
		case "yyyy", "YYYY":
			ix.parts = append(ix.parts, indexPart{kind: partYear4})
		case "yy", "YY":
			ix.parts = append(ix.parts, indexPart{kind: partYear2})
		case "MM":
			ix.parts = append(ix.parts, indexPart{kind: partMonth})
		case "dd":
			ix.parts = append(ix.parts, indexPart{kind: partDay})
		case "HH":
			ix.parts = append(ix.parts, indexPart{kind: partHour})
		default:
			return fmt.Errorf("date field %q is not supported; use yyyy, yy, MM, dd, HH and literal text", field)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkIndexChars applies Elasticsearch's rules for index names to the
// fixed text of the pattern (dates give only digits).
func checkIndexChars(s string, first bool) error {
	if strings.ToLower(s) != s {
		return fmt.Errorf("index names must be lower case")
	}
	if i := strings.IndexAny(s, ` ,#*?"<>|\/:`); i >= 0 {
		return fmt.Errorf("index names must not contain %q; allowed are lower-case letters, digits, '-', '_', '.', '+'", s[i])
	}
	if first && s != "" && strings.ContainsRune("-_+", rune(s[0])) {
		return fmt.Errorf("index names must not start with %q", s[0])
	}
	if s == "." || s == ".." {
		return fmt.Errorf("index name must not be %q", s)
	}
	return nil
}

// plainPrefix is the fixed text before the first date, without trailing
// separators (syslog-msg-%{+yyyy.MM.dd} → syslog-msg): the name to
// suggest when a plain name is needed.
func (ix *IndexName) plainPrefix() string {
	if len(ix.parts) == 0 || ix.parts[0].kind != partLiteral {
		return "syslog-msg"
	}
	if p := strings.TrimRight(ix.parts[0].text, "-_.+"); p != "" {
		return p
	}
	return "syslog-msg"
}

// Static reports whether the name does not depend on time.
func (ix *IndexName) Static() bool { return ix.static }

// String is the configured pattern.
func (ix *IndexName) String() string { return ix.pattern }

// Name is the index for an event with @timestamp t.
func (ix *IndexName) Name(t time.Time) string {
	if ix.static {
		return ix.parts[0].text
	}
	sec := t.Unix()
	slot := sec / ix.step
	if sec < 0 && sec%ix.step != 0 {
		slot-- // floor
	}
	if c := ix.cache.Load(); c != nil && c.slot == slot {
		return c.name
	}
	name := string(ix.AppendName(nil, t))
	ix.cache.Store(&cachedName{slot: slot, name: name})
	return name
}

// AppendName appends the index for @timestamp t to dst, uncached.
func (ix *IndexName) AppendName(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	for _, p := range ix.parts {
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.text...)
		case partYear4:
			dst = appendDigits(dst, year, 4)
		case partYear2:
			dst = appendDigits(dst, year%100, 2)
		case partMonth:
			dst = appendDigits(dst, int(month), 2)
		case partDay:
			dst = appendDigits(dst, day, 2)
		case partHour:
			dst = appendDigits(dst, t.Hour(), 2)
		}
	}
	return dst
}

func appendDigits(dst []byte, v, width int) []byte {
	if v < 0 {
		v = -v
	}
	var b [8]byte
	i := len(b)
	for v > 0 || width > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(dst, b[i:]...)
}

// TemplatePattern is the index pattern of the template matching every
// name this produces: each date reference becomes '*'
// (syslog-msg-%{+yyyy.MM.dd} → syslog-msg-*); a plain name gets a
// trailing '*' (syslog-msg → syslog-msg*) so that rolled-over or
// reindexed siblings match too.
func (ix *IndexName) TemplatePattern() string {
	if ix.static {
		return ix.parts[0].text + "*"
	}
	var b strings.Builder
	star := false
	for _, p := range ix.parts {
		if p.kind == partLiteral {
			if star && strings.Trim(p.text, ".-_+") == "" {
				continue // separators between date fields: "yyyy.MM.dd" is one '*'
			}
			b.WriteString(p.text)
			star = false
			continue
		}
		if !star {
			b.WriteByte('*')
			star = true
		}
	}
	return b.String()
}
