package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

// checkInvariants holds for every input: the fields are in range, Message
// is Raw's text from some offset on (RFC 5424 may drop a BOM), and a parse
// failure keeps Raw exactly.
func checkInvariants(t *testing.T, ev *event.Event) {
	t.Helper()
	raw := string(ev.Raw)
	if ev.Priority < 0 || ev.Priority > 191 {
		t.Fatalf("priority %d out of range for %q", ev.Priority, raw)
	}
	if ev.ParseFailed {
		if ev.Message != raw || ev.Priority != event.DefaultPriority || ev.Format != event.FormatUnknown ||
			!ev.Timestamp.IsZero() || ev.TimestampRaw != "" || ev.Hostname != "" || ev.Program != "" ||
			ev.PID != "" || ev.MsgID != "" || ev.Version != 0 || ev.StructuredData != nil {
			t.Fatalf("failed parse of %q is not clean: %+v", raw, ev)
		}
		return
	}
	if ev.Format == event.FormatUnknown {
		t.Fatalf("%q: no format and not failed", raw)
	}
	if !strings.HasSuffix(raw, ev.Message) { // a dropped BOM sits before it
		t.Fatalf("message %q is not the end of raw %q", ev.Message, raw)
	}
	for _, f := range []string{ev.TimestampRaw, ev.Hostname, ev.Program, ev.PID, ev.MsgID} {
		if !strings.Contains(raw, f) {
			t.Fatalf("field %q is not in raw %q", f, raw)
		}
	}
	if ev.Format == event.FormatRFC5424 && ev.Version < 1 {
		t.Fatalf("%q: RFC 5424 version %d", raw, ev.Version)
	}
	if ev.Format == event.FormatRFC3164 && (ev.Version != 0 || ev.MsgID != "" || ev.StructuredData != nil) {
		t.Fatalf("%q: RFC 3164 with RFC 5424 fields: %+v", raw, ev)
	}
	if ev.Malformed && ev.Format != event.FormatRFC5424 {
		t.Fatalf("%q: malformed %v", raw, ev.Format)
	}
	if !ev.Timestamp.IsZero() && ev.TimestampRaw == "" {
		t.Fatalf("%q: timestamp without its raw text", raw)
	}
	checkSD(t, raw, ev.StructuredData)
}

// checkSD: what event.StructuredData promises. Non-nil means at least one
// element; SD-IDs and param names are non-empty text of the line, each
// ID once, each name once per element.
func checkSD(t *testing.T, raw string, sd event.StructuredData) {
	t.Helper()
	if sd != nil && len(sd) == 0 {
		t.Fatalf("%q: empty non-nil structured data", raw)
	}
	ids := map[string]bool{}
	for _, e := range sd {
		if e.ID == "" || !strings.Contains(raw, "["+e.ID) || ids[e.ID] {
			t.Fatalf("%q: SD-ID %q empty, not in the line or repeated: %v", raw, e.ID, sd)
		}
		ids[e.ID] = true
		names := map[string]bool{}
		for _, p := range e.Params {
			if p.Name == "" || !strings.Contains(raw, " "+p.Name) || names[p.Name] {
				t.Fatalf("%q: param %q of %q empty, not in the line or repeated: %v", raw, p.Name, e.ID, sd)
			}
			names[p.Name] = true
		}
	}
}

var fuzzReceived = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// seedGolden adds every golden input to f, with prefix cut off.
func seedGolden(f *testing.F, cut func([]byte) []byte) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "*", "input.txt"))
	for _, d := range dirs {
		raw, err := os.ReadFile(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cut(bytes.TrimSuffix(raw, []byte("\n"))))
	}
}

func afterPRI(raw []byte) []byte {
	if _, i := parsePRI(string(raw)); i > 0 {
		return raw[i:]
	}
	return raw
}

// FuzzParse runs the whole Parse, without its recover, on arbitrary lines.
func FuzzParse(f *testing.F) {
	seedGolden(f, func(b []byte) []byte { return b })
	p := New(Options{Location: time.FixedZone("X", -3*3600-30*60)})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev := &event.Event{Raw: raw, Received: fuzzReceived}
		p.parse(ev, string(raw))
		checkInvariants(t, ev)
	})
}

// FuzzRFC3164 feeds the RFC 3164 heuristics whatever follows a valid PRI.
func FuzzRFC3164(f *testing.F) {
	seedGolden(f, afterPRI)
	p := New(Options{})
	f.Fuzz(func(t *testing.T, rest []byte) {
		raw := "<13>" + string(rest)
		ev := &event.Event{Raw: []byte(raw), Received: fuzzReceived}
		reset(ev)
		ev.Priority = 13
		p.parse3164(ev, raw, 4)
		checkInvariants(t, ev)
		if ev.Format != event.FormatRFC3164 {
			t.Fatalf("%q: format %v", raw, ev.Format)
		}
	})
}

// FuzzRFC5424 feeds the RFC 5424 grammar whatever follows "<165>1 "; what
// it accepts (leniently or not) must satisfy the invariants, and what it
// rejects must still parse as RFC 3164.
func FuzzRFC5424(f *testing.F) {
	seedGolden(f, func(b []byte) []byte {
		b = afterPRI(b)
		if len(b) > 1 && b[0] == '1' && b[1] == ' ' {
			return b[2:]
		}
		return b
	})
	p := New(Options{})
	f.Fuzz(func(t *testing.T, rest []byte) {
		raw := "<165>1 " + string(rest)
		ev := &event.Event{Raw: []byte(raw), Received: fuzzReceived}
		reset(ev)
		if p.parse5424(ev, raw, 5) {
			ev.Priority = 165
			checkInvariants(t, ev)
			if ev.Format != event.FormatRFC5424 || ev.Version != 1 {
				t.Fatalf("%q: format %v version %d", raw, ev.Format, ev.Version)
			}
			return
		}
		p.parse(ev, raw)
		checkInvariants(t, ev)
		if ev.Format != event.FormatRFC3164 || ev.Priority != 165 {
			t.Fatalf("%q: rejected RFC 5424 became %v/%d", raw, ev.Format, ev.Priority)
		}
	})
}
