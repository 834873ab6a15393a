package elasticsearch

import (
	"fmt"
	"strings"
	"testing"
)

func readersFailuresString(fs []itemFailure) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d:%d:%s", f.pos, f.status, f.reason))
	}
	return strings.Join(parts, "\n")
}

type reader struct {
	name  string
	parse func(body []byte, failures []itemFailure) (bulkAnswer, error)
	scan  func(body []byte) bool // the reader itself read it (no fallback)
}

func readers() []reader {
	tr, fr := new(TextReader), new(FastReader)
	return []reader{
		{"handwritten", parseBulkResponse, func(b []byte) bool { _, ok := scanBulkResponse(b, nil); return ok }},
		{"jsontext", tr.Parse, func(b []byte) bool { _, ok := tr.scan(b, nil); return ok }},
		{"fastjson", fr.Parse, func(b []byte) bool { _, ok := fr.scan(b, nil); return ok }},
	}
}

func outcome(a bulkAnswer, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%d items\n%s", a.items, readersFailuresString(a.failures))
}

// check: every reader gives encoding/json's answer (result or error
// message), and what a reader accepts itself, encoding/json accepts.
func check(t *testing.T, body []byte) {
	t.Helper()
	want := outcome(decodeBulkResponse(body))
	for _, r := range readers() {
		if got := outcome(r.parse(body, nil)); got != want {
			t.Errorf("%s: %q\n got %s\nwant %s", r.name, body, got, want)
		}
		if r.scan(body) && strings.HasPrefix(want, "error: ") {
			t.Errorf("%s read what encoding/json refuses: %q", r.name, body)
		}
	}
}

func TestReadersAgree(t *testing.T) {
	for _, b := range testBodies {
		check(t, []byte(b))
	}
	for _, s := range shapes() {
		check(t, s.body)
	}
}

// TestReadersScan: on the real shapes no reader falls back to
// encoding/json (else the benchmarks would measure encoding/json).
func TestReadersScan(t *testing.T) {
	for _, s := range shapes() {
		for _, r := range readers() {
			if !r.scan(s.body) {
				t.Errorf("%s fell back on %s", r.name, s.name)
			}
		}
	}
	a, _ := new(TextReader).Parse(shapes()[1].body, nil)
	if len(a.failures) != 10 || !strings.Contains(a.failures[0].reason, "document_parsing_exception") {
		t.Errorf("%+v", a.failures)
	}
}

func FuzzReaders(f *testing.F) {
	for _, b := range testBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check(t, body)
	})
}
