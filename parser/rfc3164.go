package parser

import (
	"github.com/logshipper/logshipper/event"
)

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
		// No header: only an unmistakable "program[pid]: " may start the
		// text, after any spaces ("<15> openvpn[2499]: ...").
		k = skipSpaces(s, j)
		if n := program(ev, s, k); n > k && !allDigits(ev.Program) {
			ev.Message = s[n:]
			return
		}
		ev.Program, ev.PID = "", ""
		ev.Message = s[j:]
		return
	}
	if ev.Hostname == "" {
		if h, n := hostnameAt(s, j); n > 0 {
			ev.Hostname, j = h, n
		}
	}
	// Logstash's " %{SYSLOGPROG}:" needs exactly one space before the
	// program; further spaces are forgiven. Without a program the message
	// starts after the one space, as Logstash's does.
	k = skipSpaces(s, j)
	if n := program(ev, s, k); n > k {
		j = n
	}
	ev.Message = s[j:]
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
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

// hostnameAt reads the hostname at s[i:]: a word of letters, digits, '.',
// '_' and '-' followed by a space (Logstash's HOSTNAME, plus rsyslog's
// '_'); a word that ends the line is the message, as in Logstash's ECS
// pattern. An IPv6 address followed by a space counts too. It returns the
// hostname and the index after its space, or 0.
func hostnameAt(s string, i int) (string, int) {
	j := i
	for j < len(s) && j-i < maxHostname && isHostChar(s[j]) {
		j++
	}
	if j > i && j < len(s) && s[j] == ' ' {
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

// program applies Logstash's "%{SYSLOGPROG}:" followed by a space at
// s[i:]: PROG, a run of printable ASCII but '[' and ']' (so it may hold
// ':' and '/'), then optionally "[" POSINT "]", then ':' and a space. The
// regular expression takes the longest PROG that fits, so "a:b: x" is
// program "a:b", and "monit[2340:0]: x" (no POSINT in the brackets) has no
// program at all. On a match it sets Program and PID and returns the
// index after the space; otherwise it sets nothing and returns i.
func program(ev *event.Event, s string, i int) int {
	j := i
	for j+8 <= len(s) && prog8(load8(s, j)) {
		j += 8
	}
	for j < len(s) && isProgChar(s[j]) {
		j++
	}
	if j == i || j >= len(s) {
		return i
	}
	if s[j] == '[' {
		k := j + 1
		if k < len(s) && s[k] >= '1' && s[k] <= '9' {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if k+2 < len(s) && s[k] == ']' && s[k+1] == ':' && s[k+2] == ' ' {
				ev.Program, ev.PID = s[i:j], s[j+1:k]
				return k + 3
			}
		}
		return i
	}
	// PROG took the colon too: give it back.
	if s[j] == ' ' && j-i >= 2 && s[j-1] == ':' {
		ev.Program = s[i : j-1]
		return j + 1
	}
	return i
}

// isProgChar is Logstash's PROG class [\x21-\x5a\x5c\x5e-\x7e].
func isProgChar(c byte) bool {
	return c > ' ' && c < 0x7F && c != '[' && c != ']'
}
