package parser

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/logshipper/logshipper/event"
)

// TestPeers parses the inputs that other syslog parsers' own test suites
// use (rsyslog, syslog-ng, go-syslog; see testdata/peers/README.md) and
// compares every field the upstream test states with ours.
//
// A case's "differs" map names fields whose difference is accepted: they
// are not compared and the reason is logged (go test -v). With
// LOGSHIPPER_PEERS_REPORT=1 the test prints a table of all mismatches
// instead of failing (go test prints a passing package's output only with
// -v: LOGSHIPPER_PEERS_REPORT=1 go test ./parser -run TestPeers -v).

// peerReceived is the receive time of a case without "received".
var peerReceived = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

var peerFiles = []string{"rsyslog.json", "syslog-ng.json", "go-syslog.json"}

// peerCase is one upstream expectation.
type peerCase struct {
	Source string `json:"source"`
	// Input is the raw line; InputBase64 replaces it when the line is not
	// valid UTF-8.
	Input       string `json:"input"`
	InputBase64 []byte `json:"input_base64"`
	Received    string `json:"received"`
	// TimestampLayout is the Go layout for expect.timestamp_text: ours is
	// formatted with it in Timestamp's own location.
	TimestampLayout string                     `json:"timestamp_layout"`
	Conventions     []string                   `json:"conventions"`
	Expect          map[string]json.RawMessage `json:"expect"`
	// BestEffort holds the fields a lenient mode of the upstream parser
	// still recovers from a line its strict mode rejects.
	BestEffort map[string]json.RawMessage `json:"best_effort"`
	Differs    map[string]string          `json:"differs"`
	Notes      string                     `json:"notes"`
}

// peerConventions are the mechanical mapping rules a case may name.
var peerConventions = map[string]bool{
	// rsyslog's %msg% keeps the space (or tab) after the RFC 3164 tag; ours
	// drops exactly one.
	"rsyslog-msg-leading-space": true,
}

type peerMismatch struct {
	source, field, ours, theirs string
}

func loadPeerCases(t *testing.T, name string) []peerCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "peers", name))
	if err != nil {
		t.Fatal(err)
	}
	var cases []peerCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cases
}

func TestPeers(t *testing.T) {
	report := os.Getenv("LOGSHIPPER_PEERS_REPORT") == "1"
	p := New(Options{})
	var all []peerMismatch
	for _, file := range peerFiles {
		cases := loadPeerCases(t, file)
		if len(cases) == 0 {
			t.Errorf("%s: no cases", file)
		}
		for _, c := range cases {
			ms, err := runPeerCase(t, p, c)
			if err != nil {
				t.Errorf("%s: bad case: %v", c.Source, err)
				continue
			}
			for _, m := range ms {
				if report {
					all = append(all, m)
				} else {
					t.Errorf("%s: %s: ours %s, theirs %s", m.source, m.field, m.ours, m.theirs)
				}
			}
		}
	}
	if report {
		printPeerReport(all)
	}
}

func runPeerCase(t *testing.T, p *Parser, c peerCase) ([]peerMismatch, error) {
	raw := []byte(c.Input)
	if c.InputBase64 != nil {
		if c.Input != "" {
			return nil, fmt.Errorf("both input and input_base64")
		}
		raw = c.InputBase64
	}
	received := peerReceived
	if c.Received != "" {
		r, err := time.Parse(time.RFC3339Nano, c.Received)
		if err != nil {
			return nil, fmt.Errorf("received: %v", err)
		}
		received = r
	}
	for _, conv := range c.Conventions {
		if !peerConventions[conv] {
			return nil, fmt.Errorf("unknown convention %q", conv)
		}
	}
	if len(c.Expect) == 0 {
		return nil, fmt.Errorf("no expectations")
	}
	for field, reason := range c.Differs {
		t.Logf("%s: %s not compared: %s", c.Source, field, reason)
	}

	ev := &event.Event{Received: received, Raw: raw}
	p.Parse(ev)

	var out []peerMismatch
	for _, set := range []struct {
		prefix string
		fields map[string]json.RawMessage
	}{{"", c.Expect}, {"best_effort.", c.BestEffort}} {
		for _, field := range sortedPeerKeys(set.fields) {
			if _, ok := c.Differs[set.prefix+field]; ok {
				continue
			}
			ours, theirs, err := comparePeerField(ev, c, field, set.fields[field])
			if err != nil {
				return nil, fmt.Errorf("%s%s: %v", set.prefix, field, err)
			}
			if ours != theirs {
				out = append(out, peerMismatch{c.Source, set.prefix + field, ours, theirs})
			}
		}
	}
	return out, nil
}

// comparePeerField returns our value and theirs as comparable, quoted text.
func comparePeerField(ev *event.Event, c peerCase, field string, v json.RawMessage) (ours, theirs string, err error) {
	str := func() (string, error) {
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	var s string
	switch field {
	case "priority":
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			return "", "", err
		}
		return strconv.Itoa(int(ev.Priority)), strconv.Itoa(n), nil
	case "valid":
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return "", "", err
		}
		// We reject no line that has a PRI: a line a strict parser
		// rejects must be flagged instead. It failed (no PRI), or is RFC
		// 5424 read leniently (Malformed), or does not look like RFC 5424
		// at all and was read as RFC 3164.
		flagged := ev.ParseFailed || ev.Malformed
		if s := string(ev.Raw); !flagged {
			if _, i := parsePRI(s); i > 0 && looksRFC5424(s, i) && ev.Format != event.FormatRFC5424 {
				flagged = true
			}
			// An RFC 5424 test's line that we read as RFC 3164 (no
			// "<PRI>VERSION SP"): we did not take it for RFC 5424 either.
			flagged = flagged || (strings.Contains(c.Source, "rfc5424") && ev.Format != event.FormatRFC5424)
		}
		return strconv.FormatBool(!flagged), strconv.FormatBool(b), nil
	case "timestamp":
		if s, err = str(); err != nil {
			return "", "", err
		}
		if s != "" {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return "", "", err
			}
			s = ts.UTC().Format(time.RFC3339Nano)
		}
		o := ""
		if !ev.Timestamp.IsZero() {
			o = ev.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		return strconv.Quote(o), strconv.Quote(s), nil
	case "timestamp_text":
		if c.TimestampLayout == "" {
			return "", "", fmt.Errorf("timestamp_text without timestamp_layout")
		}
		if s, err = str(); err != nil {
			return "", "", err
		}
		o := ""
		if !ev.Timestamp.IsZero() {
			o = ev.Timestamp.Format(c.TimestampLayout)
		}
		return strconv.Quote(o), strconv.Quote(s), nil
	case "structured_data":
		if s, err = str(); err != nil {
			return "", "", err
		}
		return strconv.Quote(formatPeerSD(ev.StructuredData)), strconv.Quote(s), nil
	case "structured_data_map":
		var m map[string]map[string]string
		if err := json.Unmarshal(v, &m); err != nil {
			return "", "", err
		}
		o, _ := json.Marshal(ev.StructuredData.Map())
		th, _ := json.Marshal(m) // map keys are sorted: order does not matter
		return string(o), string(th), nil
	case "message_base64": // Message when it is not valid UTF-8
		var b []byte
		if err := json.Unmarshal(v, &b); err != nil {
			return "", "", err
		}
		return strconv.Quote(ev.Message), strconv.Quote(string(b)), nil
	}
	if s, err = str(); err != nil {
		return "", "", err
	}
	var o string
	switch field {
	case "timestamp_raw":
		o = ev.TimestampRaw
	case "hostname":
		o = ev.Hostname
	case "program":
		o = ev.Program
	case "pid":
		o = ev.PID
	case "msgid":
		o = ev.MsgID
	case "message":
		o = ev.Message
		if hasPeerConvention(c, "rsyslog-msg-leading-space") && s != "" && (s[0] == ' ' || s[0] == '\t') {
			s = s[1:]
		}
	default:
		return "", "", fmt.Errorf("unknown field")
	}
	return strconv.Quote(o), strconv.Quote(s), nil
}

func hasPeerConvention(c peerCase, name string) bool {
	for _, conv := range c.Conventions {
		if conv == name {
			return true
		}
	}
	return false
}

// formatPeerSD writes sd back as RFC 5424 STRUCTURED-DATA text (without
// the NILVALUE: no SD is ""), escaping '"', '\' and ']' in values.
func formatPeerSD(sd event.StructuredData) string {
	var b strings.Builder
	for _, e := range sd {
		b.WriteByte('[')
		b.WriteString(e.ID)
		for _, p := range e.Params {
			b.WriteByte(' ')
			b.WriteString(p.Name)
			b.WriteString(`="`)
			for i := 0; i < len(p.Value); i++ {
				switch ch := p.Value[i]; ch {
				case '"', '\\', ']':
					b.WriteByte('\\')
					b.WriteByte(ch)
				default:
					b.WriteByte(ch)
				}
			}
			b.WriteByte('"')
		}
		b.WriteByte(']')
	}
	return b.String()
}

func sortedPeerKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printPeerReport prints every mismatch, then counts per source file and
// field, on stdout.
func printPeerReport(ms []peerMismatch) {
	const maxCell = 100
	cut := func(s string) string {
		if len(s) > maxCell {
			return s[:maxCell] + "…"
		}
		return s
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "SOURCE\tFIELD\tOURS\tTHEIRS\n")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.source, m.field, cut(m.ours), cut(m.theirs))
	}
	w.Flush()
	counts := map[string]int{}
	for _, m := range ms {
		counts[strings.SplitN(m.source, " ", 2)[0]+" "+m.field]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("\n%d mismatches\n", len(ms))
	for _, k := range keys {
		fmt.Printf("%5d  %s\n", counts[k], k)
	}
}
