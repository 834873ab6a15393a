package main

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	rfc3164Re = regexp.MustCompile(`^<(\d{1,3})>([A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[\]:]{1,32})(\[\d+\])?: (.+)$`)
	rfc5424Re = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) (.*)$`)
)

// sinkCount is bench/sink's rule (countDoc): the digits after the first
// "seq=", the token after the first "run=".
func sinkCount(doc []byte) (run string, seq int64, ok bool) {
	i := bytes.Index(doc, []byte("seq="))
	if i < 0 {
		return "", 0, false
	}
	d := doc[i+4:]
	k := 0
	for k < len(d) && k < 10 && d[k] >= '0' && d[k] <= '9' {
		seq = seq*10 + int64(d[k]-'0')
		k++
	}
	if j := bytes.Index(doc, []byte("run=")); j >= 0 {
		t := doc[j+4:]
		e := 0
		for e < len(t) && (t[e] >= 'a' && t[e] <= 'z' || t[e] >= 'A' && t[e] <= 'Z' || t[e] >= '0' && t[e] <= '9' || t[e] == '-' || t[e] == '_' || t[e] == '.') {
			e++
		}
		run = string(t[:e])
	}
	return run, seq, k > 0
}

// parseSD reads RFC5424 structured data at the start of s: "-" or
// elements; it returns what follows, the number of elements and of escaped
// characters in parameter values.
func parseSD(s string) (rest string, elems, escapes int, err error) {
	if s == "-" || strings.HasPrefix(s, "- ") {
		return s[1:], 0, 0, nil
	}
	name := func(x string) bool {
		if x == "" || len(x) > 32 {
			return false
		}
		for i := 0; i < len(x); i++ {
			if c := x[i]; c < '!' || c > '~' || c == '=' || c == ']' || c == '"' {
				return false
			}
		}
		return true
	}
	for len(s) > 0 && s[0] == '[' {
		i := 1
		j := strings.IndexAny(s[i:], " ]")
		if j < 0 || !name(s[i:i+j]) {
			return s, elems, escapes, fmt.Errorf("bad SD-ID in %q", s)
		}
		i += j
		for i < len(s) && s[i] == ' ' {
			i++
			k := strings.IndexByte(s[i:], '=')
			if k < 0 || !name(s[i:i+k]) || i+k+1 >= len(s) || s[i+k+1] != '"' {
				return s, elems, escapes, fmt.Errorf("bad param at %q", s[i:])
			}
			i += k + 2
			for {
				if i >= len(s) {
					return s, elems, escapes, fmt.Errorf("unterminated value")
				}
				c := s[i]
				if c == '\\' && i+1 < len(s) && strings.IndexByte(`"\]`, s[i+1]) >= 0 {
					escapes++
					i += 2
					continue
				}
				if c == '"' {
					i++
					break
				}
				if c == ']' || c == '\\' {
					return s, elems, escapes, fmt.Errorf("unescaped %q in value at %q", c, s[i:])
				}
				i++
			}
		}
		if i >= len(s) || s[i] != ']' {
			return s, elems, escapes, fmt.Errorf("element not closed: %q", s)
		}
		elems++
		s = s[i+1:]
	}
	if elems == 0 {
		return s, 0, 0, fmt.Errorf("no SD: %q", s)
	}
	return s, elems, escapes, nil
}

// TestPoolMessages: every pooled message is distinct, framed as its
// format requires, parses as its format, carries run= and seq= exactly
// once (found by the sink's rule), and the content varies as promised.
func TestPoolMessages(t *testing.T) {
	now := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	for _, f := range []string{FormatRFC3164, FormatRFC5424, FormatOctet, FormatRaw} {
		for _, udp := range []bool{false, true} {
			p, err := NewPool(f, "b7w", now, udp, DefaultPoolSize, 1)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s udp=%v", f, udp)
			if len(p.Msgs) != DefaultPoolSize {
				t.Fatalf("%s: %d messages", name, len(p.Msgs))
			}
			distinct := map[string]bool{}
			hosts, progs, pris := map[string]bool{}, map[string]bool{}, map[string]bool{}
			var withPID, withoutPID, day1, day2, frac, noFrac, zulu, offset, sd0, sd1, sd2, escaped int
			var total int
			for i, m := range p.Msgs {
				distinct[string(m)] = true
				if got := string(m[p.SeqOff[i] : p.SeqOff[i]+SeqDigits]); got != "000000000" {
					t.Fatalf("%s %d: digits at SeqOff %q", name, i, got)
				}
				body := m
				switch {
				case p.Octet:
					sp := bytes.IndexByte(m, ' ')
					n, err := strconv.Atoi(string(m[:sp]))
					if err != nil || n != len(m)-sp-1 || m[sp+1] != '<' {
						t.Fatalf("%s: octet frame %q", name, m)
					}
					body = m[sp+1:]
				case udp:
					if m[len(m)-1] == '\n' {
						t.Fatalf("%s: datagram ends in LF: %q", name, m)
					}
				default:
					if m[len(m)-1] != '\n' {
						t.Fatalf("%s: no LF: %q", name, m)
					}
					body = m[:len(m)-1]
				}
				if len(body) != p.BodyLens[i] {
					t.Fatalf("%s: BodyLens %d, body %d", name, p.BodyLens[i], len(body))
				}
				total += len(body)
				if bytes.ContainsAny(body, "\n\r\x00") || !utf8.Valid(body) || body[len(body)-1] == ' ' {
					t.Fatalf("%s: control character, invalid UTF-8 or trailing blank: %q", name, body)
				}
				if bytes.Count(body, []byte("seq=")) != 1 || bytes.Count(body, []byte("run=")) != 1 {
					t.Fatalf("%s: run=/seq= not exactly once: %q", name, body)
				}
				if len(body) > MaxVariedLen+200 {
					t.Fatalf("%s: %d bytes", name, len(body))
				}
				s := string(body)
				switch f {
				case FormatRFC3164:
					sm := rfc3164Re.FindStringSubmatch(s)
					if sm == nil {
						t.Fatalf("%s: not RFC3164: %q", name, s)
					}
					if pri, _ := strconv.Atoi(sm[1]); pri > 191 {
						t.Fatalf("%s: PRI %d", name, pri)
					}
					ts, err := time.Parse(time.Stamp, sm[2])
					if err != nil {
						t.Fatalf("%s: stamp %q: %v", name, sm[2], err)
					}
					if ts.Day() < 10 {
						day1++
					} else {
						day2++
					}
					pris[sm[1]], hosts[sm[3]], progs[sm[4]] = true, true, true
					if sm[5] != "" {
						withPID++
					} else {
						withoutPID++
					}
				case FormatRFC5424, FormatOctet:
					sm := rfc5424Re.FindStringSubmatch(s)
					if sm == nil {
						t.Fatalf("%s: not RFC5424: %q", name, s)
					}
					if pri, _ := strconv.Atoi(sm[1]); pri > 191 {
						t.Fatalf("%s: PRI %d", name, pri)
					}
					ts, err := time.Parse(time.RFC3339Nano, sm[2])
					if err != nil || ts.Sub(now) > 5*time.Minute || now.Sub(ts) > 28*24*time.Hour {
						t.Fatalf("%s: timestamp %q: %v", name, sm[2], err)
					}
					if strings.Contains(sm[2], ".") {
						frac++
					} else {
						noFrac++
					}
					if strings.HasSuffix(sm[2], "Z") {
						zulu++
					} else {
						offset++
					}
					pris[sm[1]], hosts[sm[3]], progs[sm[4]] = true, true, true
					if sm[5] != "-" {
						withPID++
					} else {
						withoutPID++
					}
					rest, elems, esc, err := parseSD(sm[7])
					if err != nil {
						t.Fatalf("%s: %v in %q", name, err, s)
					}
					if rest == "" || rest[0] != ' ' {
						t.Fatalf("%s: no MSG after the SD: %q", name, s)
					}
					switch elems {
					case 0:
						sd0++
					case 1:
						sd1++
					default:
						sd2++
					}
					if esc > 0 {
						escaped++
					}
				case FormatRaw:
					if body[0] == '<' {
						t.Fatalf("%s: raw message with a header: %q", name, s)
					}
				}
			}
			if len(distinct) != len(p.Msgs) {
				t.Errorf("%s: %d distinct of %d", name, len(distinct), len(p.Msgs))
			}
			mean := float64(total) / float64(len(p.Msgs))
			if mean != p.MeanBodyLen() || mean < 170 || mean > 270 {
				t.Errorf("%s: mean length %.1f (MeanBodyLen %.1f)", name, mean, p.MeanBodyLen())
			}
			if lo, hi := p.MinMaxBodyLen(); lo < 40 || hi < 900 {
				t.Errorf("%s: lengths %d-%d", name, lo, hi)
			}
			if f == FormatRaw {
				continue
			}
			if len(hosts) < 250 || len(progs) < 40 || len(pris) < 40 || withPID < 1000 || withoutPID < 500 {
				t.Errorf("%s: %d hosts, %d programs, %d priorities, %d with pid, %d without", name, len(hosts), len(progs), len(pris), withPID, withoutPID)
			}
			if f == FormatRFC3164 && (day1 < 1000 || day2 < 300) {
				t.Errorf("%s: days of one digit %d, of two %d", name, day1, day2)
			}
			if f != FormatRFC3164 && (frac < 1000 || noFrac < 1000 || zulu < 1000 || offset < 1000 || sd0 < 1000 || sd1 < 1000 || sd2 < 500 || escaped < 300) {
				t.Errorf("%s: frac %d/%d, Z %d/%d, SD none %d one %d two %d, escaped %d", name, frac, noFrac, zulu, offset, sd0, sd1, sd2, escaped)
			}
		}
	}
}

// TestPoolFill: the digits are patched per message, the pool cycles
// (message seq is pool[seq % size]) and every message is found by the
// sink's rule with its run id.
func TestPoolFill(t *testing.T) {
	now := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	for _, f := range []string{FormatRFC3164, FormatOctet} {
		p, err := NewPool(f, "r9", now, false, 100, 3)
		if err != nil {
			t.Fatal(err)
		}
		first := int64(123456700)
		buf, offs := p.Fill(first, 250)
		if len(offs) != 251 || offs[0] != 0 || offs[250] != len(buf) {
			t.Fatalf("%s: offs %d, ends %d of %d", f, len(offs), offs[len(offs)-1], len(buf))
		}
		seen := map[int64]bool{}
		for i := 0; i < 250; i++ {
			m := buf[offs[i]:offs[i+1]]
			seq := first + int64(i)
			k := seq % 100
			want := append([]byte(nil), p.Msgs[k]...)
			copy(want[p.SeqOff[k]:], fmt.Sprintf("%09d", seq))
			if !bytes.Equal(m, want) {
				t.Fatalf("%s: message %d = %q, want %q", f, seq, m, want)
			}
			run, s, ok := sinkCount(m)
			if !ok || s != seq || run != "r9" || seen[s] {
				t.Fatalf("%s: sink rule read run %q seq %d %v from %q", f, run, s, ok, m)
			}
			if s2, ok := ParseSeq(m); !ok || s2 != seq {
				t.Fatalf("%s: ParseSeq %d", f, s2)
			}
			seen[s] = true
		}
	}
	a, _ := NewPool(FormatRFC5424, "r", now, false, 500, 7)
	b, _ := NewPool(FormatRFC5424, "r", now, false, 500, 7)
	c, _ := NewPool(FormatRFC5424, "r", now, false, 500, 8)
	for i := range a.Msgs {
		if !bytes.Equal(a.Msgs[i], b.Msgs[i]) {
			t.Fatal("same seed, different pool")
		}
	}
	if bytes.Equal(a.Msgs[0], c.Msgs[0]) && bytes.Equal(a.Msgs[1], c.Msgs[1]) {
		t.Error("another seed, same pool")
	}
	if _, err := NewPool(FormatRFC3164, "bad id", now, false, 10, 1); err == nil {
		t.Error("run id with a space accepted")
	}
	if _, err := NewPool("xml", "r", now, false, 10, 1); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestRunVaried sends pooled messages over TCP (2 connections) and UDP and
// checks each arrives whole and unique.
func TestRunVaried(t *testing.T) {
	addr, got := tcpCollector(t)
	pool, err := NewPool(FormatRFC3164, "v", time.Now(), false, 300, 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5001
	res, err := Run(Options{Addr: addr, Proto: "tcp", Conns: 2, Pool: pool, Total: n})
	if err != nil || res.Sent != n || !res.Vary || res.Pool != 300 || res.MeanLen < 100 {
		t.Fatalf("tcp: %v %+v", err, res)
	}
	seen := map[int64]bool{}
	var bytesGot int64
	for i := 0; i < 2; i++ {
		for _, l := range <-got {
			_, s, ok := sinkCount(l)
			k := s % 300
			if !ok || seen[s] || len(l)+1 != len(pool.Msgs[k]) {
				t.Fatalf("tcp: seq %d (%v, seen %v) in %q", s, ok, seen[s], l)
			}
			seen[s] = true
			bytesGot += int64(len(l) + 1)
		}
	}
	if len(seen) != n || bytesGot != res.Bytes {
		t.Fatalf("tcp: %d distinct of %d, %d bytes of %d", len(seen), n, bytesGot, res.Bytes)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	up, _ := NewPool(FormatRFC5424, "u", time.Now(), true, 64, 1)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i := 0; i < 500; i++ {
			k, _, err := pc.ReadFrom(buf)
			if err != nil {
				done <- err
				return
			}
			_, s, ok := sinkCount(buf[:k])
			if !ok || k != len(up.Msgs[s%64]) {
				done <- fmt.Errorf("datagram %d: %d bytes, want %d: %q", i, k, len(up.Msgs[s%64]), buf[:k])
				return
			}
		}
		done <- nil
	}()
	res, err = Run(Options{Addr: pc.LocalAddr().String(), Proto: "udp", Conns: 1, Pool: up, Total: 500, Rate: 5000, Tick: 10 * time.Millisecond})
	if err != nil || res.Sent != 500 {
		t.Fatalf("udp: %v %+v", err, res)
	}
	if err := <-done; err != nil {
		t.Error("udp:", err)
	}
}
