package elasticsearch

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/logshipper/logshipper/event"
)

// Schema selects the fields of the documents.
type Schema uint8

const (
	// SchemaLogstash writes the fields of Logstash's syslog input, so
	// dashboards built on Logstash's indices keep working.
	SchemaLogstash Schema = iota
	// SchemaECS writes Elastic Common Schema fields as nested objects.
	SchemaECS
)

// ParseSchema maps a configuration value to a Schema.
func ParseSchema(s string) (Schema, error) {
	switch s {
	case SchemaNameLogstash:
		return SchemaLogstash, nil
	case SchemaNameECS:
		return SchemaECS, nil
	}
	return 0, fmt.Errorf("unknown schema %q", s)
}

func (s Schema) String() string {
	if s == SchemaECS {
		return SchemaNameECS
	}
	return SchemaNameLogstash
}

// AppendDocument appends ev as a Logstash-schema JSON document to dst.
func AppendDocument(dst []byte, ev *event.Event) []byte {
	return appendLogstash(dst, ev)
}

// AppendDocument appends ev as a JSON document of schema s to dst. The
// result is always valid JSON: invalid UTF-8 becomes U+FFFD.
func (s Schema) AppendDocument(dst []byte, ev *event.Event) []byte {
	if s == SchemaECS {
		return appendECS(dst, ev)
	}
	return appendLogstash(dst, ev)
}

// appendLogstash writes the fields of Logstash's syslog input (with
// ecs_compatibility disabled), plus msgid, version and structured_data for
// RFC5424 messages, which Logstash's input cannot parse at all.
func appendLogstash(dst []byte, ev *event.Event) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = appendTimestamp(dst, ev.Time())
	dst = append(dst, `","@version":"1","message":`...)
	dst = appendString(dst, ev.Message)
	dst = appendStringField(dst, `,"host":`, ev.SourceIP)
	// Behind a load balancer speaking the PROXY protocol, host is the
	// sender the header names and proxy_host the balancer: the name
	// Logstash's tcp input gives it with proxy_protocol on.
	dst = appendStringField(dst, `,"proxy_host":`, ev.ProxyIP)
	dst = appendStringField(dst, `,"logsource":`, ev.Hostname)
	dst = appendStringField(dst, `,"program":`, ev.Program)
	dst = appendStringField(dst, `,"pid":`, ev.PID)
	dst = append(dst, `,"priority":`...)
	dst = strconv.AppendInt(dst, int64(ev.Priority), 10)
	dst = append(dst, `,"facility":`...)
	dst = strconv.AppendInt(dst, int64(ev.Facility()), 10)
	dst = append(dst, `,"severity":`...)
	dst = strconv.AppendInt(dst, int64(ev.Severity()), 10)
	dst = appendStringField(dst, `,"facility_label":`, event.FacilityLabel(ev.Facility()))
	dst = appendStringField(dst, `,"severity_label":`, event.SeverityLabel(ev.Severity()))
	dst = appendStringField(dst, `,"timestamp":`, ev.TimestampRaw)
	if ev.Format == event.FormatRFC3164 && isISO(ev.TimestampRaw) {
		// Logstash's SYSLOGBASE2 captures an ISO 8601 header time as
		// timestamp8601, and its syslog input copies it to timestamp.
		dst = appendStringField(dst, `,"timestamp8601":`, ev.TimestampRaw)
	}
	dst = appendStringField(dst, `,"msgid":`, ev.MsgID)
	if ev.Format == event.FormatRFC5424 && ev.Version > 0 {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(ev.Version), 10)
	}
	if len(ev.StructuredData) > 0 {
		dst = append(dst, `,"structured_data":`...)
		dst = appendSD(dst, ev.StructuredData)
	}
	dst = appendTags(dst, ev)
	return append(dst, '}')
}

// appendECS writes Elastic Common Schema fields.
func appendECS(dst []byte, ev *event.Event) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = appendTimestamp(dst, ev.Time())
	// @version and service.type are what Logstash's syslog input (ECS
	// mode) sets on every event.
	dst = append(dst, `","@version":"1","message":`...)
	dst = appendString(dst, ev.Message)
	dst = append(dst, `,"service":{"type":"system"}`...)

	dst = append(dst, `,"log":{"syslog":{"priority":`...)
	dst = strconv.AppendInt(dst, int64(ev.Priority), 10)
	dst = append(dst, `,"facility":{"code":`...)
	dst = strconv.AppendInt(dst, int64(ev.Facility()), 10)
	dst = appendStringField(dst, `,"name":`, event.FacilityLabel(ev.Facility()))
	dst = append(dst, `},"severity":{"code":`...)
	dst = strconv.AppendInt(dst, int64(ev.Severity()), 10)
	dst = appendStringField(dst, `,"name":`, event.SeverityLabel(ev.Severity()))
	dst = append(dst, '}')
	dst = appendStringField(dst, `,"msgid":`, ev.MsgID)
	if ev.Format == event.FormatRFC5424 && ev.Version > 0 {
		// ECS maps log.syslog.version as keyword.
		dst = append(dst, `,"version":"`...)
		dst = strconv.AppendInt(dst, int64(ev.Version), 10)
		dst = append(dst, '"')
	}
	if len(ev.StructuredData) > 0 {
		dst = append(dst, `,"structured_data":`...)
		dst = appendSD(dst, ev.StructuredData)
	}
	dst = append(dst, `}}`...)

	// host.ip is of type ip, which takes no IPv6 zone.
	ip := stripZone(ev.SourceIP)
	if ip != "" || ev.Hostname != "" {
		dst = append(dst, `,"host":{`...)
		if ip != "" {
			dst = appendStringField(dst, `"ip":`, ip)
		}
		if ev.Hostname != "" {
			if ip != "" {
				dst = append(dst, ',')
			}
			dst = appendStringField(dst, `"hostname":`, ev.Hostname)
		}
		dst = append(dst, '}')
	}

	// The load balancer a PROXY protocol header came through: an
	// intermediary device on the event's path, which is what ECS's
	// observer describes (Logstash's tcp input in ECS mode keeps it only in
	// [@metadata][input][tcp][proxy][ip], which is never indexed).
	if ip := stripZone(ev.ProxyIP); ip != "" {
		dst = appendStringField(dst, `,"observer":{"ip":`, ip)
		dst = append(dst, '}')
	}

	pid, pidOK := parsePID(ev.PID)
	if ev.Program != "" || pidOK {
		dst = append(dst, `,"process":{`...)
		if ev.Program != "" {
			dst = appendStringField(dst, `"name":`, ev.Program)
			if pidOK {
				dst = append(dst, ',')
			}
		}
		if pidOK {
			dst = append(dst, `"pid":`...)
			dst = strconv.AppendInt(dst, pid, 10)
		}
		dst = append(dst, '}')
	}

	dst = append(dst, `,"event":{"original":`...)
	dst = appendString(dst, bytesString(ev.Raw))
	dst = append(dst, '}')
	dst = appendTags(dst, ev)
	return append(dst, '}')
}

func appendTags(dst []byte, ev *event.Event) []byte {
	if !ev.ParseFailed && !ev.Truncated && !ev.Malformed { // the common case: no slice to build
		return dst
	}
	tags := ev.Tags()
	if len(tags) == 0 {
		return dst
	}
	dst = append(dst, `,"tags":[`...)
	for i, t := range tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, t)
	}
	return append(dst, ']')
}

// appendSD writes structured data as {"SD-ID":{"param":"value",...},...}
// in message order. event.StructuredData holds each SD-ID once and each
// param name once per element (the parser merges repeats), so no key is
// repeated; the same event always gives the same document.
func appendSD(dst []byte, sd event.StructuredData) []byte {
	dst = append(dst, '{')
	for i, e := range sd {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.ID)
		dst = append(dst, ':', '{')
		for j, p := range e.Params {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, p.Name)
			dst = append(dst, ':')
			dst = appendString(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendStringField appends key (which carries its leading comma and
// trailing colon) and the quoted value, unless the value is empty.
func appendStringField(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, value)
}

// isISO reports whether an RFC 3164 header time is ISO 8601 ("2024-...")
// rather than BSD ("Jan  5 ...", "2024 Jan  5 ...").
func isISO(ts string) bool { return len(ts) > 4 && ts[4] == '-' }

// parsePID returns the PID as a number when it is one.
func parsePID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func stripZone(ip string) string {
	for i := 0; i < len(ip); i++ {
		if ip[i] == '%' {
			return ip[:i]
		}
	}
	return ip
}

// bytesString views b as a string without copying; the string must not
// outlive b nor be kept.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendTimestamp writes t in UTC as 2006-01-02T15:04:05.000Z.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		// Not representable in four digits; ES will reject the document and
		// it goes to the dead-letter file rather than being bent.
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	}
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	var b [24]byte
	b[0] = byte('0' + year/1000)
	b[1] = byte('0' + year/100%10)
	b[2] = byte('0' + year/10%10)
	b[3] = byte('0' + year%10)
	b[4] = '-'
	b[5] = byte('0' + month/10)
	b[6] = byte('0' + month%10)
	b[7] = '-'
	b[8] = byte('0' + day/10)
	b[9] = byte('0' + day%10)
	b[10] = 'T'
	b[11] = byte('0' + hour/10)
	b[12] = byte('0' + hour%10)
	b[13] = ':'
	b[14] = byte('0' + min/10)
	b[15] = byte('0' + min%10)
	b[16] = ':'
	b[17] = byte('0' + sec/10)
	b[18] = byte('0' + sec%10)
	b[19] = '.'
	b[20] = byte('0' + ms/100)
	b[21] = byte('0' + ms/10%10)
	b[22] = byte('0' + ms%10)
	b[23] = 'Z'
	return append(dst, b[:]...)
}

// safeASCII[c] is true for the bytes that go into a JSON string as they are.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// load8 reads s[i:i+8] as a little-endian word; i+8 <= len(s).
func load8(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// special8 marks the bytes of w that are not safeASCII (0x80 or above,
// below 0x20, '"' or '\\') with their high bit. (Each test sets the high
// bit of a byte that fails it; "has a zero byte" is (v-lsb8) &^ v & msb8.)
// A borrow can also mark a byte above a marked one, never one below it, so
// the lowest mark is exact: bits.TrailingZeros64(m)/8 is the first special
// byte (load8 is little-endian).
func special8(w uint64) uint64 {
	const quote, backslash = '"' * lsb8, '\\' * lsb8
	control := (w - 0x20*lsb8) &^ w // a byte below 0x20
	wq, wb := w^quote, w^backslash  // a zero byte where w has '"', '\\'
	q := (wq - lsb8) &^ wq
	b := (wb - lsb8) &^ wb
	return (w | control | q | b) & msb8
}

// appendString appends s as a quoted JSON string. Control characters are
// escaped (\n, \t, ... or \u00XX), U+2028 and U+2029 are escaped as
// encoding/json does, and every run of invalid UTF-8 bytes becomes one
// U+FFFD, exactly as strings.ToValidUTF8(s, "\uFFFD") would.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0       // s[start:i] is pending, to be copied as is
	invalid := false // the previous byte ended a run of invalid UTF-8
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look (the common case:
		// ASCII text without quotes, backslashes or control characters),
		// then straight to the first one that does: quotes and UTF-8 in
		// real messages would otherwise be found a byte at a time.
		if i+8 <= len(s) {
			m := special8(load8(s, i))
			if m == 0 {
				i += 8
				invalid = false
				continue
			}
			if n := bits.TrailingZeros64(m) / 8; n > 0 {
				i += n
				invalid = false
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				invalid = false
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			invalid = false
			continue
		}
		// Two-byte sequences (Latin, Greek, Cyrillic letters) are valid
		// when a lead byte C2-DF has one continuation byte, and never
		// need escaping: no call to decode them.
		if c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
			invalid = false
			continue
		}
		// Three-byte sequences (CJK, most punctuation and symbols) too,
		// where the lead byte alone rules out overlong forms (E0) and
		// surrogates (ED), and the sequence is not U+2028 or U+2029 (E2
		// 80 A8/A9, escaped below).
		if c >= 0xE1 && c <= 0xEF && c != 0xED && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 &&
			!(c == 0xE2 && s[i+1] == 0x80 && s[i+2]&0xFE == 0xA8) {
			i += 3
			invalid = false
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			if !invalid {
				dst = append(dst, "\uFFFD"...)
				invalid = true
			}
			i++
			start = i
			continue
		}
		invalid = false
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
