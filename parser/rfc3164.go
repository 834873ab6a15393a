package parser

import (
	"strings"

	"github.com/logshipper/logshipper/event"
)

// maxTag is rsyslog's limit on the TAG it reads (CONF_TAG_MAXSIZE - 2).
const maxTag = 510

// maxHostname is the longest hostname looked for (RFC 5424's HOSTNAME limit).
const maxHostname = 255

// parse3164 applies the RFC 3164 heuristics to s[i:], i being the index
// after the PRI. See the package documentation for the rules.
func (p *Parser) parse3164(ev *event.Event, s string, i int) {
	ev.Format = event.FormatRFC3164

	k := i
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k < len(s) && (s[k] == '{' || s[k] == '[') { // headerless (JSON, ...)
		ev.Message = s[i:]
		return
	}

	j, stamped := p.header(ev, s, i)
	if !stamped {
		tagStrict(ev, s, j)
		return
	}
	if ev.Hostname == "" {
		if h, n := hostnameAt(s, j); n > 0 {
			ev.Hostname, j = h, n
		}
	}
	tag(ev, s, j)
}

// header finds the timestamp, after Cisco IOS prefixes if there are any.
// It sets Timestamp, TimestampRaw and (Cisco origin-id) Hostname, and
// returns where the rest starts and whether a timestamp was found.
func (p *Parser) header(ev *event.Event, s string, i int) (int, bool) {
	if j, n := ciscoCounters(s, i); n > 0 {
		if h, k := ciscoHost(s, j); k > 0 {
			if next, ok := p.timestamp(ev, s, k, true); ok {
				ev.Hostname = h
				return next, true
			}
		}
		if next, ok := p.timestamp(ev, s, j, true); ok {
			return next, true
		}
		if j < len(s) && s[j] == '%' { // "<189>123: %SYS-5-...": no timestamp configured
			return j, false
		}
	}
	if next, ok := p.timestamp(ev, s, i, false); ok {
		return next, true
	}
	if i+1 < len(s) && s[i] == ' ' { // HP ProCurve: one stray space
		if next, ok := p.timestamp(ev, s, i+1, false); ok {
			return next, true
		}
	}
	return i, false
}

// timestamp reads an ISO 8601 or BSD timestamp at s[i:] and the separator
// after it. cisco says Cisco IOS prefixes came before it.
func (p *Parser) timestamp(ev *event.Event, s string, i int, cisco bool) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	if isDigit(s[i]) {
		if t, k, ok := parseISO(s, i, false, p.loc); ok {
			e := k
			if k < len(s) && s[k] == ':' {
				k++
			}
			if k == len(s) || s[k] == ' ' {
				ev.Timestamp, ev.TimestampRaw = t, s[i:e]
				if k < len(s) {
					k++
				}
				return k, true
			}
		}
	}
	start := i
	if s[i] == '*' || s[i] == '.' { // Cisco IOS: clock not (or no longer) in sync
		start++
		cisco = true
	}
	st, rawEnd, next, ok := parseBSD(s, start, cisco)
	if !ok {
		return 0, false
	}
	ev.TimestampRaw = s[start:rawEnd]
	if t, ok := st.resolve(p.loc, ev.Received); ok {
		ev.Timestamp = t
	}
	return next, true
}

// ciscoCounters skips Cisco IOS's message counter and sequence number:
// up to two "digits: " groups, the first of which may be empty (": ",
// "no logging message-counter syslog"). n is how many it skipped.
func ciscoCounters(s string, i int) (next, n int) {
	next = i
	for n < 2 {
		k := next
		for k < len(s) && k-next < 20 && isDigit(s[k]) {
			k++
		}
		if k+1 >= len(s) || s[k] != ':' || s[k+1] != ' ' || (k == next && n > 0) {
			break
		}
		next = k + 2
		n++
	}
	return next, n
}

// ciscoHost reads "hostname: " (logging origin-id hostname).
func ciscoHost(s string, i int) (string, int) {
	j := i
	for j < len(s) && j-i < maxHostname && isHostChar(s[j]) {
		j++
	}
	if j == i || j+1 >= len(s) || s[j] != ':' || s[j+1] != ' ' {
		return "", 0
	}
	return s[i:j], j + 2
}

func isHostChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-'
}

// hostnameAt applies rsyslog's hostname test to the word at s[i:]: letters,
// digits, '.', '_', '-', ending in a letter or digit, followed by a space;
// or such characters up to the end of s. An IPv6 address followed by a
// space counts too. It returns the hostname and the index after its space,
// or 0.
func hostnameAt(s string, i int) (string, int) {
	j := i
	for j < len(s) && j-i < maxHostname && isHostChar(s[j]) {
		j++
	}
	switch {
	case j == i:
	case j == len(s):
		return s[i:j], j
	case s[j] == ' ' && isAlnum(s[j-1]):
		return s[i:j], j + 1
	}
	return ipv6At(s, i)
}

// ipv6At accepts hex digits, ':' and '.' (an embedded IPv4 address) with
// "::" or seven colons, followed by a space.
func ipv6At(s string, i int) (string, int) {
	j, colons, double := i, 0, false
	for j < len(s) && j-i < 45 {
		c := s[j]
		if c == ':' {
			colons++
			if j > i && s[j-1] == ':' {
				double = true
			}
		} else if !(isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') || c == '.') {
			break
		}
		j++
	}
	if j >= len(s) || s[j] != ' ' || colons < 2 || colons > 7 || (!double && colons != 7) {
		return "", 0
	}
	return s[i:j], j + 1
}

// tag applies rsyslog's tag rule after a timestamp: the tag runs up to the
// first ':', space or tab; a colon is optional.
func tag(ev *event.Event, s string, i int) {
	j := i
	for j < len(s) && j-i <= maxTag && s[j] != ':' && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	if j-i > maxTag { // too long for a tag: it is message text
		ev.Message = s[i:]
		return
	}
	setTag(ev, s[i:j])
	if j < len(s) {
		if s[j] == ':' {
			j++
		}
		if j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
	}
	ev.Message = s[j:]
}

// tagStrict is the tag rule without a timestamp: only a non-numeric tag
// ended by ':' and then a space, a tab or the end counts; otherwise all of
// s[i:] is the message.
func tagStrict(ev *event.Event, s string, i int) {
	j := i
	digits := true
	for j < len(s) && j-i <= maxTag && s[j] != ':' && s[j] != ' ' && s[j] != '\t' {
		digits = digits && isDigit(s[j])
		j++
	}
	if j == i || j-i > maxTag || digits || j >= len(s) || s[j] != ':' || (j+1 < len(s) && s[j+1] != ' ' && s[j+1] != '\t') {
		ev.Message = s[i:]
		return
	}
	setTag(ev, s[i:j])
	j++
	if j < len(s) {
		j++
	}
	ev.Message = s[j:]
}

// setTag splits "program[pid]" into Program and PID.
func setTag(ev *event.Event, t string) {
	b := strings.IndexByte(t, '[')
	if b < 0 {
		ev.Program = t
		return
	}
	ev.Program = t[:b]
	if len(t) > b+1 && t[len(t)-1] == ']' {
		ev.PID = t[b+1 : len(t)-1]
	}
}
