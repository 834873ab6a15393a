package main

import (
	"fmt"
	"strconv"
	"strings"
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

// MessageSize is the default length of one message (without framing): -size
// 0 gives messages of exactly this many bytes, as before -size existed.
const MessageSize = 150

// MaxSize is the largest -size accepted (messages of 64 KiB are the most
// logshipper, and the peers as the bench configures them, take by default).
const MaxSize = 64 << 10

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

// NewTemplate builds the message shape of MessageSize bytes (NewSizedTemplate
// with size 0).
func NewTemplate(format, runID string, now time.Time, udp bool) (*Template, error) {
	return NewSizedTemplate(format, runID, now, udp, 0)
}

// NewSizedTemplate builds the message shape. runID (letters, digits, '-',
// '_') is written as "run=ID" so a sink can tell runs apart; now fixes the
// header time. The message (without framing) is size bytes long (0:
// MessageSize): the text after the sequence number is padded (or cut) to
// fit, down to a floor of 4 filler bytes after the header, run id and
// sequence number, so a size below that gives the shortest message
// instead. The header and the "run=… seq=…" token are the same at every
// size.
func NewSizedTemplate(format, runID string, now time.Time, udp bool, size int) (*Template, error) {
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("size %d: want 0 (the default %d bytes) up to %d", size, MessageSize, MaxSize)
	}
	if size == 0 {
		size = MessageSize
	}
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
	pad := size - len(prefix) - SeqDigits - 1
	if pad < 4 {
		pad = 4
	}
	t.Prefix = []byte(prefix)
	t.Suffix = []byte(" " + padding(pad))
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

// padding is n bytes of filler text, repeated as often as needed (words
// separated by spaces, never ending in one; never "seq=" or "run=").
func padding(n int) string {
	var b strings.Builder
	b.Grow(n + len(filler))
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(filler)
	}
	s := b.String()[:n]
	if strings.HasSuffix(s, " ") { // a receiver may trim trailing blanks
		s = s[:n-1] + "x"
	}
	return s
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
