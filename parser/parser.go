package parser

import (
	"time"
	"unsafe"

	"github.com/logshipper/logshipper/event"
)

// Options are resolved once at start.
type Options struct {
	// Location is the zone for RFC3164 timestamps, which carry none. Default UTC (nil means UTC).
	Location *time.Location
}

// Parser fills an event's syslog fields from its raw line. It holds no
// mutable state: one Parser serves any number of goroutines.
type Parser struct {
	loc *time.Location
}

// New returns a Parser for opts.
func New(opts Options) *Parser {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{loc: loc}
}

// Parse fills ev's parser fields (Format, Priority, Timestamp, TimestampRaw, Hostname, Program, PID,
// MsgID, Version, StructuredData, Message, ParseFailed) from ev.Raw, using ev.Received as "now"
// (never the wall clock). It never fails and never panics; safe for concurrent use.
//
// The string fields share ev.Raw's memory (no copy per message): Raw is
// never changed once an event is made (see event.Event).
func (p *Parser) Parse(ev *event.Event) {
	s := unsafe.String(unsafe.SliceData(ev.Raw), len(ev.Raw))
	defer func() {
		// Belt and braces: the fuzz tests run parse without this, but a
		// bug must cost one message its fields, not the process.
		if recover() != nil {
			failed(ev, s)
		}
	}()
	p.parse(ev, s)
}

func (p *Parser) parse(ev *event.Event, s string) {
	reset(ev)
	pri, i := parsePRI(s)
	if i == 0 {
		failed(ev, s)
		return
	}
	if looksRFC5424(s, i) {
		if p.parse5424(ev, s, i) {
			ev.Priority = pri
			return
		}
		reset(ev)
	}
	ev.Priority = pri
	p.parse3164(ev, s, i)
}

// reset clears every field Parse owns, so a recycled Event carries nothing over.
func reset(ev *event.Event) {
	ev.Format = event.FormatUnknown
	ev.Priority = event.DefaultPriority
	ev.Timestamp = time.Time{}
	ev.TimestampRaw = ""
	ev.Hostname = ""
	ev.Program = ""
	ev.PID = ""
	ev.MsgID = ""
	ev.Version = 0
	ev.StructuredData = nil
	ev.Message = ""
	ev.ParseFailed = false
	ev.Malformed = false
}

func failed(ev *event.Event, s string) {
	reset(ev)
	ev.Message = s
	ev.ParseFailed = true
}

// parsePRI reads "<" PRIVAL ">" at the start of s: PRIVAL is 0..191 in one
// to three digits, no leading zero. It returns the value and the index
// after '>', or 0, 0 when s has no valid PRI.
func parsePRI(s string) (pri int16, next int) {
	if len(s) < 3 || s[0] != '<' {
		return 0, 0
	}
	i := 1
	for i < len(s) && i <= 4 && isDigit(s[i]) {
		pri = pri*10 + int16(s[i]-'0')
		i++
	}
	n := i - 1
	if n == 0 || n > 3 || i >= len(s) || s[i] != '>' || pri > 191 || (n > 1 && s[1] == '0') {
		return 0, 0
	}
	return pri, i + 1
}

// looksRFC5424 reports whether a VERSION (1-3 digits, no leading zero) and a
// space follow the PRI.
func looksRFC5424(s string, i int) bool {
	if i >= len(s) || s[i] < '1' || s[i] > '9' {
		return false
	}
	for j := i + 1; j < len(s) && j <= i+3; j++ {
		if s[j] == ' ' {
			return true
		}
		if !isDigit(s[j]) {
			return false
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// num reads between lo and hi decimal digits at s[i:]. It returns the value
// and the index after the last digit, or -1 when fewer than lo digits are there.
func num(s string, i, lo, hi int) (v, next int) {
	j := i
	for j < len(s) && j-i < hi && isDigit(s[j]) {
		v = v*10 + int(s[j]-'0')
		j++
	}
	if j-i < lo {
		return 0, -1
	}
	return v, j
}
