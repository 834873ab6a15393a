package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json from the parser's output")

// goldenReceived is the receive time of every golden case without a
// received.txt.
var goldenReceived = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// golden is the JSON form of the parser's fields in expected.json.
type golden struct {
	Format         string   `json:"format"`
	Priority       int      `json:"priority"`
	Timestamp      string   `json:"timestamp"` // RFC 3339 with the parsed offset; "" = zero
	TimestampRaw   string   `json:"timestamp_raw"`
	Hostname       string   `json:"hostname"`
	Program        string   `json:"program"`
	PID            string   `json:"pid"`
	MsgID          string   `json:"msgid"`
	Version        int      `json:"version"`
	StructuredData goldenSD `json:"structured_data"`
	Message        string   `json:"message"`
	// MessageBytes holds Message exactly when it is not valid UTF-8 (JSON
	// strings would replace the bad bytes).
	MessageBytes []byte `json:"message_bytes,omitempty"`
	ParseFailed  bool   `json:"parse_failed"`
	Malformed    bool   `json:"malformed,omitempty"`
}

// goldenSD is structured data in expected.json: the object the documents
// carry, {"SD-ID":{"name":"value",...},...}, in the order of the event
// (message order), null when there is none.
type goldenSD event.StructuredData

func (sd goldenSD) MarshalJSON() ([]byte, error) {
	if sd == nil {
		return []byte("null"), nil
	}
	b := []byte{'{'}
	str := func(s string) {
		q, _ := json.Marshal(s)
		b = append(b, q...)
	}
	for i, e := range sd {
		if i > 0 {
			b = append(b, ',')
		}
		str(e.ID)
		b = append(b, ':', '{')
		for j, p := range e.Params {
			if j > 0 {
				b = append(b, ',')
			}
			str(p.Name)
			b = append(b, ':')
			str(p.Value)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func toGolden(ev *event.Event) golden {
	g := golden{
		Format: ev.Format.String(), Priority: int(ev.Priority), TimestampRaw: ev.TimestampRaw,
		Hostname: ev.Hostname, Program: ev.Program, PID: ev.PID, MsgID: ev.MsgID, Version: int(ev.Version),
		StructuredData: goldenSD(ev.StructuredData), Message: ev.Message, ParseFailed: ev.ParseFailed,
		Malformed: ev.Malformed,
	}
	if !ev.Timestamp.IsZero() {
		g.Timestamp = ev.Timestamp.Format(time.RFC3339Nano)
	}
	if !utf8.ValidString(ev.Message) {
		g.MessageBytes = []byte(ev.Message)
	}
	return g
}

// goldenCases lists testdata/<case>/: input.txt is one message, used byte
// for byte except for one trailing "\n"; received.txt, if present, is the
// receive time (RFC 3339), else goldenReceived.
func goldenCases(t testing.TB) []string {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 25 {
		t.Fatalf("only %d golden cases", len(dirs))
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

func readCase(t testing.TB, dir string) *event.Event {
	raw, err := os.ReadFile(filepath.Join(dir, "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.TrimSuffix(raw, []byte("\n"))
	ev := &event.Event{Raw: raw, Received: goldenReceived, Transport: "udp"}
	if r, err := os.ReadFile(filepath.Join(dir, "received.txt")); err == nil {
		if ev.Received, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(r))); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
	return ev
}

func TestGolden(t *testing.T) {
	p := New(Options{})
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			ev := readCase(t, dir)
			p.Parse(ev)
			got, err := json.MarshalIndent(toGolden(ev), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./parser -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("input %q\n got: %s\nwant: %s", ev.Raw, got, want)
			}
			checkInvariants(t, ev)
		})
	}
}
