package elasticsearch

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	tHeader   = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tReceived = time.Date(2026, 11, 26, 12, 0, 1, 234567891, time.UTC)
)

// goldenEvents are the events of the golden tests, by name.
func goldenEvents() map[string]*event.Event {
	return map[string]*event.Event{
		"rfc3164": {
			Received: tReceived, Transport: "udp", SourceIP: "10.0.0.5",
			Raw:    []byte("<38>Nov 26 12:00:00 web01 sshd[1234]: Accepted password for root from 10.0.0.9 port 51234 ssh2"),
			Format: event.FormatRFC3164, Priority: 38, Timestamp: tHeader, TimestampRaw: "Nov 26 12:00:00",
			Hostname: "web01", Program: "sshd", PID: "1234",
			Message: "Accepted password for root from 10.0.0.9 port 51234 ssh2",
		},
		"rfc5424": {
			Received: tReceived, Transport: "tcp", SourceIP: "2001:db8::7",
			Raw:    []byte(`<165>1 2026-11-26T13:00:00.5+01:00 mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][origin ip="192.0.2.1"] An application event log entry...`),
			Format: event.FormatRFC5424, Priority: 165, Version: 1,
			Timestamp:    time.Date(2026, 11, 26, 13, 0, 0, 500e6, time.FixedZone("", 3600)),
			TimestampRaw: "2026-11-26T13:00:00.5+01:00",
			Hostname:     "mymachine.example.com", Program: "evntslog", MsgID: "ID47",
			StructuredData: event.StructuredData{
				{ID: "exampleSDID@32473", Params: []event.SDParam{{Name: "iut", Value: "3"}, {Name: "eventSource", Value: "Application"}, {Name: "eventID", Value: "1011"}}},
				{ID: "origin", Params: []event.SDParam{{Name: "ip", Value: "192.0.2.1"}}},
			},
			Message: "An application event log entry...",
		},
		"parse_failure": {
			Received: tReceived, Transport: "tcp", SourceIP: "192.0.2.44",
			Raw: []byte("hello world, not syslog"), Truncated: true,
			Priority: event.DefaultPriority, ParseFailed: true,
			Message: "hello world, not syslog",
		},
		"nasty": {
			Received: tReceived, Transport: "udp", SourceIP: "fe80::1%eth0",
			Raw:    []byte("<11>Nov 26 12:00:00 h\xffst app[x1]: q\"b\\s\x00\x1f\t\n\r\b\f\u2028\u2029 \xe2\x28\xa1 ünï €😀 \xff\xfe\xfd end"),
			Format: event.FormatRFC3164, Priority: 11, Timestamp: tHeader, TimestampRaw: "Nov 26 12:00:00",
			Hostname: "h\xffst", Program: "app", PID: "x1",
			Message: "q\"b\\s\x00\x1f\t\n\r\b\f\u2028\u2029 \xe2\x28\xa1 ünï €😀 \xff\xfe\xfd end",
			StructuredData: event.StructuredData{
				{ID: "id\xff", Params: []event.SDParam{{Name: "k\"", Value: "v\xc0\x80"}}},
			},
		},
	}
}

func TestGoldenDocuments(t *testing.T) {
	for name, ev := range goldenEvents() {
		for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
			t.Run(name+"/"+schema.String(), func(t *testing.T) {
				got := schema.AppendDocument(nil, ev)
				checkDocument(t, got)
				file := filepath.Join("testdata", name+"."+schema.String()+".json")
				if *update {
					if err := os.WriteFile(file, append(got, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
					t.Errorf("document differs from %s\n got: %s\nwant: %s", file, got, want)
				}
				// Appending keeps what dst held.
				prefix := []byte(`{"index":{}}` + "\n")
				if got2 := schema.AppendDocument(bytes.Clone(prefix), ev); !bytes.Equal(got2, append(prefix, got...)) {
					t.Errorf("AppendDocument does not append: %s", got2)
				}
			})
		}
	}
}

// checkDocument asserts that doc is valid UTF-8 JSON that decodes to an object.
func checkDocument(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON: %q", doc)
	}
	if !utf8.Valid(doc) {
		t.Fatalf("invalid UTF-8 in document: %q", doc)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("unmarshal: %v: %s", err, doc)
	}
	// encoding/json keeps the last of repeated keys; Elasticsearch
	// refuses the document ("Duplicate field").
	if k := repeatedKey(t, doc); k != "" {
		t.Fatalf("key %q repeated in one object: %s", k, doc)
	}
	return m
}

// repeatedKey returns a key that occurs twice in one object of doc, or "".
func repeatedKey(t *testing.T, doc []byte) string {
	t.Helper()
	type level struct {
		keys    map[string]bool // nil: an array
		wantKey bool
	}
	var stack []level
	valueDone := func() { // a value ended: in an object, a key comes next
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			k := tok.(string)
			if stack[n-1].keys[k] {
				return k
			}
			stack[n-1].keys[k] = true
			stack[n-1].wantKey = false
			continue
		}
		valueDone()
	}
}

// TestDocumentFields decodes the documents and checks each field's value
// and JSON type, independently of the golden files.
func TestDocumentFields(t *testing.T) {
	evs := goldenEvents()

	m := checkDocument(t, AppendDocument(nil, evs["rfc5424"]))
	want := map[string]any{
		"@timestamp": "2026-11-26T12:00:00.500Z", "@version": "1",
		"message": "An application event log entry...", "host": "2001:db8::7",
		"logsource": "mymachine.example.com", "program": "evntslog",
		"priority": 165.0, "facility": 20.0, "severity": 5.0,
		"facility_label": "local4", "severity_label": "Notice",
		"timestamp": "2026-11-26T13:00:00.5+01:00", "msgid": "ID47", "version": 1.0,
		"structured_data": map[string]any{
			"exampleSDID@32473": map[string]any{"iut": "3", "eventSource": "Application", "eventID": "1011"},
			"origin":            map[string]any{"ip": "192.0.2.1"},
		},
	}
	assertJSONEqual(t, m, want)

	m = checkDocument(t, AppendDocument(nil, evs["parse_failure"]))
	assertJSONEqual(t, m, map[string]any{
		"@timestamp": "2026-11-26T12:00:01.234Z", "@version": "1",
		"message": "hello world, not syslog", "host": "192.0.2.44",
		"priority": 13.0, "facility": 1.0, "severity": 5.0,
		"facility_label": "user-level", "severity_label": "Notice",
		"tags": []any{"_grokparsefailure_sysloginput", "_truncated"},
	})

	m = checkDocument(t, SchemaECS.AppendDocument(nil, evs["rfc3164"]))
	assertJSONEqual(t, m, map[string]any{
		"@timestamp": "2026-11-26T12:00:00.000Z", "@version": "1",
		"message": "Accepted password for root from 10.0.0.9 port 51234 ssh2",
		"service": map[string]any{"type": "system"},
		"log": map[string]any{"syslog": map[string]any{
			"priority": 38.0,
			"facility": map[string]any{"code": 4.0, "name": "security/authorization"},
			"severity": map[string]any{"code": 6.0, "name": "Informational"},
		}},
		"host":    map[string]any{"ip": "10.0.0.5", "hostname": "web01"},
		"process": map[string]any{"name": "sshd", "pid": 1234.0},
		"event":   map[string]any{"original": string(evs["rfc3164"].Raw)},
	})

	// Non-numeric PID: no process.pid; zone stripped from host.ip.
	m = checkDocument(t, SchemaECS.AppendDocument(nil, evs["nasty"]))
	if p := m["process"].(map[string]any); p["pid"] != nil || p["name"] != "app" {
		t.Errorf("process = %v", p)
	}
	if h := m["host"].(map[string]any); h["ip"] != "fe80::1" || h["hostname"] != "h\uFFFDst" {
		t.Errorf("host = %v", h)
	}
	if got, want := m["message"], strings.ToValidUTF8(evs["nasty"].Message, "\uFFFD"); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func assertJSONEqual(t *testing.T, got, want map[string]any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("document\n got: %s\nwant: %s", g, w)
	}
}

// TestAppendStringMatchesEncodingJSON: for valid UTF-8, the hand-written
// encoder writes exactly what encoding/json writes (without HTML escaping).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"b\s`, "\x00\x01\x1f\x7f", "\t\n\r\b\f", "\u2028\u2029", "ünï €😀", "<a&b>", "\uFFFD",
		// long enough for the eight-bytes-at-a-time path, specials at every offset
		"Accepted publickey for root from 10.1.2.3 port 22 ssh2: RSA SHA256:0123456789abcdef",
		"12345678\"2345678\\345678\x01456789\x7f56789ü6789\u20287890123456789",
		"a\"bcdefghijklmnopq\"rstuvwxyz\n", "abcdefghijklmnop\tqrstuvwxyz01234567\u2029",
		// two- and three-byte sequences taken without decoding, beside the
		// three-byte ones that must be escaped or are decoded
		"Grüße — „Zürich“ … ✓ 日本語のログ ࠀ\u2027\u2028\u2029\u202a \uffff\ue000",
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(buf.String(), "\n")
		if got := string(appendString(nil, s)); got != want {
			t.Errorf("appendString(%q) = %s, encoding/json: %s", s, got, want)
		}
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"\xff":              `"` + "\uFFFD" + `"`,
		"a\xff\xfe\xfdb":    `"a` + "\uFFFD" + `b"`, // one run, one U+FFFD
		"a\xffb\xfec":       `"a` + "\uFFFD" + `b` + "\uFFFD" + `c"`,
		"\xed\xa0\x80":      `"` + "\uFFFD" + `"`, // a surrogate
		"\xe2\x28\xa1":      `"` + "\uFFFD(\uFFFD" + `"`,
		"\xff\uFFFD\xff":    `"` + "\uFFFD\uFFFD\uFFFD" + `"`,
		"\xff\n\xff":        `"` + "\uFFFD\\n\uFFFD" + `"`,
		"x\xf0\x9f\x98":     `"x` + "\uFFFD" + `"`, // cut emoji
		"\xc0\x80 overlong": `"` + "\uFFFD" + ` overlong"`,
		"\xe0\x80\x80":      `"` + "\uFFFD" + `"`, // overlong three bytes
		"\xe2\x80":          `"` + "\uFFFD" + `"`, // cut three bytes
		"\xe6\x97\x65":      `"` + "\uFFFDe" + `"`,
	} {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimestampFormat(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), "2026-01-02T03:04:05.006Z"},
		{time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC), "2026-12-31T23:59:59.999Z"},
		{time.Date(2027, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), "2026-12-31T23:30:00.000Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00.000Z"},
	} {
		if got := string(appendTimestamp(nil, tc.t)); got != tc.want {
			t.Errorf("appendTimestamp(%v) = %s, want %s", tc.t, got, tc.want)
		}
		if got := tc.t.UTC().Format("2006-01-02T15:04:05.000Z"); got != tc.want {
			t.Errorf("time.Format disagrees: %s", got)
		}
	}
}

func TestRepeatedKey(t *testing.T) {
	for doc, want := range map[string]string{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":1}]}`: "",
		`{"a":{"x":"1","y":[1,"x"],"x":"2"}}`:       "x",
		`{"a":[],"b":{},"a":3}`:                     "a",
		`{"k":"a","v":"a","a":0}`:                   "",
	} {
		if got := repeatedKey(t, []byte(doc)); got != want {
			t.Errorf("repeatedKey(%s) = %q, want %q", doc, got, want)
		}
	}
}

// TestSDFromParser: what the parser makes of structured data, repeats
// included, becomes one object per SD-ID with each param once, in message
// order (the value of a repeated param is its last one, as when the parser
// filled a map; its place is its first).
func TestSDFromParser(t *testing.T) {
	p := parser.New(parser.Options{})
	for _, c := range []struct{ line, want string }{
		{`<165>1 - h a - - [exampleSDID@32473 iut="3" eventSource="Application"] m`,
			`{"exampleSDID@32473":{"iut":"3","eventSource":"Application"}}`}, // the README's example
		{`<13>1 - h a - - [x a="1" b="2"][y c="3"][x a="4" d="5"][z k="1" k="2" k="3"][origin] m`,
			`{"x":{"a":"4","b":"2","d":"5"},"y":{"c":"3"},"z":{"k":"3"},"origin":{}}`},
		{`<13>1 - h a - - [b@1 z="\"q\"" y="\\" x="a\]b"][a@1 w=""] m`,
			`{"b@1":{"z":"\"q\"","y":"\\","x":"a]b"},"a@1":{"w":""}}`},
	} {
		ev := &event.Event{Raw: []byte(c.line), Received: tReceived}
		p.Parse(ev)
		if ev.Format != event.FormatRFC5424 {
			t.Fatalf("%s: not parsed as RFC 5424", c.line)
		}
		for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
			doc := schema.AppendDocument(nil, ev)
			checkDocument(t, doc)
			key := `"structured_data":`
			i := bytes.Index(doc, []byte(key))
			if i < 0 {
				t.Fatalf("%s: no structured_data in %s", schema, doc)
			}
			if got := string(doc[i+len(key):]); !strings.HasPrefix(got, c.want+"}") && !strings.HasPrefix(got, c.want+",") {
				t.Errorf("%s: %s\n got: %s\nwant: %s", schema, c.line, got, c.want)
			}
		}
	}
}

func TestSDOrderIsStable(t *testing.T) {
	ev := goldenEvents()["rfc5424"]
	first := AppendDocument(nil, ev)
	for range 50 {
		if got := AppendDocument(nil, ev); !bytes.Equal(got, first) {
			t.Fatalf("documents differ between calls:\n%s\n%s", got, first)
		}
	}
}

func FuzzAppendDocument(f *testing.F) {
	f.Add("hello", []byte("<13>hello"), "host", "prog", "123", "ID1", "sd@1", "k", "v", "10.0.0.1", "Nov 26 12:00:00", 13)
	f.Add("q\"\\\x00\xff\xfe", []byte("\xff\x00\n"), "h\xff", "p\xc3", "x", "\u2028", "\xff", "", "\xed\xa0\x80", "::1%lo", "", 191)
	f.Add("", []byte{}, "", "", "", "", "", "", "", "", "", -5)
	f.Fuzz(func(t *testing.T, msg string, raw []byte, host, prog, pid, msgid, sdID, sdName, sdValue, ip, tsRaw string, prio int) {
		ev := &event.Event{
			Received: tReceived, SourceIP: ip, Raw: raw, Format: event.FormatRFC5424,
			Priority: int16(prio), TimestampRaw: tsRaw, Hostname: host, Program: prog, PID: pid,
			MsgID: msgid, Version: 1, Message: msg, ParseFailed: prio < 0, Truncated: len(raw) > 10,
			StructuredData: event.StructuredData{{ID: sdID, Params: []event.SDParam{{Name: sdName, Value: sdValue}}}},
		}
		for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
			doc := schema.AppendDocument(nil, ev)
			m := checkDocument(t, doc)
			if got, want := m["message"], strings.ToValidUTF8(msg, "\uFFFD"); got != want {
				t.Fatalf("%s: message = %q, want %q", schema, got, want)
			}
			var sd map[string]any
			if schema == SchemaECS {
				sd = m["log"].(map[string]any)["syslog"].(map[string]any)["structured_data"].(map[string]any)
				if got, want := m["event"].(map[string]any)["original"], strings.ToValidUTF8(string(raw), "\uFFFD"); got != want {
					t.Fatalf("event.original = %q, want %q", got, want)
				}
			} else {
				sd = m["structured_data"].(map[string]any)
				if host != "" && m["logsource"] != strings.ToValidUTF8(host, "\uFFFD") {
					t.Fatalf("logsource = %q", m["logsource"])
				}
			}
			params, ok := sd[strings.ToValidUTF8(sdID, "\uFFFD")].(map[string]any)
			if !ok || params[strings.ToValidUTF8(sdName, "\uFFFD")] != strings.ToValidUTF8(sdValue, "\uFFFD") {
				t.Fatalf("%s: structured_data = %v", schema, sd)
			}
		}
	})
}

// benchEvent is a typical RFC3164 message of about 150 bytes.
func benchEvent() *event.Event {
	return &event.Event{
		Received: tReceived, Transport: "udp", SourceIP: "10.20.30.40",
		Raw:    []byte("<86>Nov 26 12:00:00 app-server-07 sshd[23817]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0) from 10.1.2.3"),
		Format: event.FormatRFC3164, Priority: 86, Timestamp: tHeader, TimestampRaw: "Nov 26 12:00:00",
		Hostname: "app-server-07", Program: "sshd", PID: "23817",
		Message: "pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0) from 10.1.2.3",
	}
}

func BenchmarkAppendDocument(b *testing.B) {
	evs := map[string]*event.Event{"rfc3164": benchEvent(), "rfc5424": goldenEvents()["rfc5424"]}
	for _, schema := range []Schema{SchemaLogstash, SchemaECS} {
		for _, name := range []string{"rfc3164", "rfc5424"} {
			ev := evs[name]
			b.Run(schema.String()+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				var buf []byte
				for b.Loop() {
					buf = schema.AppendDocument(buf[:0], ev)
				}
				b.SetBytes(int64(len(buf)))
			})
		}
	}
	// The reference point: encoding/json on a map, what this replaces.
	b.Run("encoding_json_map/rfc3164", func(b *testing.B) {
		b.ReportAllocs()
		ev := benchEvent()
		for b.Loop() {
			m := map[string]any{
				"@timestamp": ev.Time().UTC().Format("2006-01-02T15:04:05.000Z"), "@version": "1",
				"message": ev.Message, "host": ev.SourceIP, "logsource": ev.Hostname, "program": ev.Program,
				"pid": ev.PID, "priority": ev.Priority, "facility": ev.Facility(), "severity": ev.Severity(),
				"facility_label": event.FacilityLabel(ev.Facility()), "severity_label": event.SeverityLabel(ev.Severity()),
				"timestamp": ev.TimestampRaw,
			}
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSpecial8 checks the word-at-a-time test against safeASCII for every
// byte value in every position, and that its lowest mark is the first
// special byte whatever follows it.
func TestSpecial8(t *testing.T) {
	first := func(b []byte) int {
		for i, c := range b {
			if c >= utf8.RuneSelf || !safeASCII[c] {
				return i
			}
		}
		return 8
	}
	got := func(b []byte) int {
		if m := special8(load8(string(b), 0)); m != 0 {
			return bits.TrailingZeros64(m) / 8
		}
		return 8
	}
	base := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			b := bytes.Clone(base)
			b[pos] = byte(c)
			if g, w := got(b), first(b); g != w {
				t.Errorf("byte %#x at %d: first special %d, want %d", c, pos, g, w)
			}
			// A second special byte after it must not move the first.
			for pos2 := pos + 1; pos2 < 8; pos2++ {
				for _, c2 := range []byte{0, 0x1f, '"', '\\', 0x80, 0xff} {
					b2 := bytes.Clone(b)
					b2[pos2] = c2
					if g, w := got(b2), first(b2); g != w {
						t.Errorf("%q: first special %d, want %d", b2, g, w)
					}
				}
			}
		}
	}
	// Neighbours of a special byte (borrows in the subtraction).
	for _, s := range []string{"\x00\x01\x01\x01\x01\x01\x01\x01", "\"#######", "!!!!!!!\"", "\\]]]]]]]", "\x1f\x20\x20\x20\x20\x20\x20\x20", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x80"} {
		if g, w := got([]byte(s)), first([]byte(s)); g != w {
			t.Errorf("%q: first special %d, want %d", s, g, w)
		}
	}
}

// BenchmarkAppendString: messages as the bench's varied pool has them
// (bench/loadgen -vary): plain ASCII, quotes (access logs, logfmt), UTF-8,
// and JSON in the message, where every key and value brings two quotes.
func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", "pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0) from 10.1.2.3 port 52314 ssh2 run=bench seq=000000042"},
		{"quotes", `10.1.2.3 - - [05/Dec/2026:13:31:14 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 "https://example.org/" "Mozilla/5.0 (X11; Linux x86_64)" rt=0.012`},
		{"utf8", "Benutzer „müller“ hat sich angemeldet — Sitzung geöffnet für Gerät Büro-Drucker 3 (Zürich) run=bench seq=000000042 ✓ ok"},
		{"json", `{"level":"info","ts":"2026-12-05T13:31:14.123Z","caller":"server/handler.go:88","msg":"request done","status":200,"bytes":5123}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.s)))
			var buf []byte
			for b.Loop() {
				buf = appendString(buf[:0], c.s)
			}
		})
	}
}

// FuzzAppendString: the hand-written encoder writes what encoding/json
// writes (without HTML escaping) for the string with every run of invalid
// UTF-8 replaced by one U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text of some length", `q"b\s`, "Grüße — „Zürich“ … ✓ 日本語", "\u2028\u2029", "\xe2\x80\xa8x", "\xff\xfe", "\xed\xa0\x80", "\xe0\x80\x80", "12345678\"\x01\x7f\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(strings.ToValidUTF8(s, "\uFFFD")); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendString(nil, s)), strings.TrimSuffix(buf.String(), "\n"); got != want {
			t.Fatalf("appendString(%q) = %s, encoding/json: %s", s, got, want)
		}
	})
}
