package main

import (
	"fmt"
	"strconv"
	"time"
)

// Formats the generator can send.
const (
	FormatRFC3164 = "rfc3164"
	FormatRFC5424 = "rfc5424" // LF-terminated, with structured data
	FormatOctet   = "octet"   // RFC5424 with structured data, RFC6587 octet counting
	FormatRaw     = "raw"     // "test run=... seq=..." lines, not syslog at all
)

// SeqDigits is the width of the zero-padded sequence number: "seq=000000123".
const SeqDigits = 9

// MessageSize is the target length of one message (without framing).
const MessageSize = 150

const filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat"

// Template is one format's message split around the sequence number, so a
// message is prefix + 9 digits + suffix; every message of a run has the same
// length and the digits sit at a fixed offset (SeqOffset).
type Template struct {
	Format    string
	Prefix    []byte // framing-free message up to and including "seq="
	Suffix    []byte // after the digits, without the frame's LF
	Octet     bool   // octet-counted framing ("LEN " before, no LF after)
	UDP       bool   // one datagram per message: no LF, no octet count
	SeqOffset int    // offset of the first digit inside one framed message
	Len       int    // length of one framed message
}

// NewTemplate builds the message shape. runID (letters, digits, '-', '_')
// is written as "run=ID" so a sink can tell runs apart; now fixes the
// header time.
func NewTemplate(format, runID string, now time.Time, udp bool) (*Template, error) {
	if runID == "" {
		runID = "0"
	}
	for _, c := range []byte(runID) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("run id %q: only letters, digits, '-' and '_'", runID)
		}
	}
	now = now.UTC()
	var head string
	switch format {
	case FormatRFC3164:
		// <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG   (local0.info)
		head = "<134>" + now.Format(time.Stamp) + " bench-host benchapp[4242]: "
	case FormatRFC5424, FormatOctet:
		head = "<134>1 " + now.Format("2006-01-02T15:04:05.000Z") +
			` bench-host benchapp 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] `
	case FormatRaw:
		head = "test "
	default:
		return nil, fmt.Errorf("format %q: want rfc3164, rfc5424, octet or raw", format)
	}
	t := &Template{Format: format, Octet: format == FormatOctet && !udp, UDP: udp}
	prefix := head + "run=" + runID + " seq="
	pad := MessageSize - len(prefix) - SeqDigits - 1
	if pad < 4 {
		pad = 4
	}
	for len(filler) < pad {
		pad = len(filler)
	}
	t.Prefix = []byte(prefix)
	t.Suffix = []byte(" " + filler[:pad])
	body := len(t.Prefix) + SeqDigits + len(t.Suffix)
	switch {
	case t.Octet:
		n := strconv.Itoa(body) + " "
		t.SeqOffset = len(n) + len(t.Prefix)
		t.Len = len(n) + body
	case udp:
		t.SeqOffset = len(t.Prefix)
		t.Len = body
	default:
		t.SeqOffset = len(t.Prefix)
		t.Len = body + 1 // LF
	}
	return t, nil
}

// BodyLen is the length of a message without framing.
func (t *Template) BodyLen() int { return len(t.Prefix) + SeqDigits + len(t.Suffix) }

// Fill writes messages first..first+n-1 framed into one buffer (n*t.Len
// bytes).
func (t *Template) Fill(first int64, n int) []byte {
	buf := make([]byte, 0, n*t.Len)
	var octet []byte
	if t.Octet {
		octet = []byte(strconv.Itoa(t.BodyLen()) + " ")
	}
	for i := 0; i < n; i++ {
		buf = append(buf, octet...)
		buf = append(buf, t.Prefix...)
		buf = appendSeq(buf, first+int64(i))
		buf = append(buf, t.Suffix...)
		if !t.Octet && !t.UDP {
			buf = append(buf, '\n')
		}
	}
	return buf
}

func appendSeq(dst []byte, seq int64) []byte {
	var d [SeqDigits]byte
	for i := SeqDigits - 1; i >= 0; i-- {
		d[i] = byte('0' + seq%10)
		seq /= 10
	}
	return append(dst, d[:]...)
}

// ParseSeq reads the sequence number after the first "seq=" in b; ok is
// false when there is none. Sinks use the same rule (bench/sink).
func ParseSeq(b []byte) (seq int64, ok bool) {
	for i := 0; i+4 <= len(b); i++ {
		if b[i] == 's' && b[i+1] == 'e' && b[i+2] == 'q' && b[i+3] == '=' {
			d := b[i+4:]
			k := 0
			for k < len(d) && k < SeqDigits && d[k] >= '0' && d[k] <= '9' {
				seq = seq*10 + int64(d[k]-'0')
				k++
			}
			return seq, k > 0
		}
	}
	return 0, false
}
