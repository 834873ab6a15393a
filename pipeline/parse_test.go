package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/metrics"
)

// parsedRecorder keeps the events it is given, parsed fields and all.
type parsedRecorder struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (o *parsedRecorder) WriteBatch(_ context.Context, evs []*event.Event) ([]Result, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.evs = append(o.evs, evs...)
	return make([]Result, len(evs)), nil // zero Status: Delivered
}

func (o *parsedRecorder) Close(context.Context) error { return nil }

// With the memory buffer too, the pipeline parses every event as it reads
// it (the one place events are parsed), counts the parse failures, and
// keeps an event whose parser panics, unparsed, going on with the next.
func TestParsedInOnePlace(t *testing.T) {
	parse := func(ev *event.Event) {
		raw := string(ev.Raw)
		if strings.Contains(raw, "boom") {
			ev.Hostname = "half-parsed"
			panic("parser bug")
		}
		ev.Message = "parsed:" + raw
		ev.ParseFailed = !strings.HasPrefix(raw, "<")
	}
	out := &parsedRecorder{}
	cfg := testConfig()
	cfg.Events = metrics.NewEvents(nil)
	p, err := New(cfg, NewMemoryBuffer(cfg), parse, out, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"<13>a", "not syslog", "<13>boom", "<13>b"} {
		if err := p.Put(context.Background(), &event.Event{Raw: []byte(m), SourceIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Close(context.Background()); st.Delivered != 4 {
		t.Fatalf("stats %+v", st)
	}
	got := map[string]*event.Event{}
	for _, ev := range out.evs {
		got[string(ev.Raw)] = ev
	}
	if got["<13>a"].Message != "parsed:<13>a" || got["<13>b"].Message != "parsed:<13>b" || !got["not syslog"].ParseFailed {
		t.Errorf("not parsed by the pipeline: %+v", out.evs)
	}
	if b := got["<13>boom"]; !b.ParseFailed || b.Hostname != "" || b.Message != "<13>boom" || b.SourceIP != "192.0.2.1" || b.Priority != event.DefaultPriority {
		t.Errorf("event whose parser panicked: %+v", b)
	}
	var m dto.Metric
	cfg.Events.ParseFailures.Write(&m)
	if v := m.GetCounter().GetValue(); v != 2 {
		t.Errorf("parse failures %v, want 2", v)
	}
}

// A finished document from the queue tier is not parsed again, and its
// bytes are what the queues count.
func TestFinishedDocumentsAreNotParsed(t *testing.T) {
	parsed := 0
	out := &parsedRecorder{}
	cfg := testConfig()
	p, err := New(cfg, NewMemoryBuffer(cfg), func(*event.Event) { parsed++ }, out, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	doc := &event.Event{ID: "x", Document: &event.Document{Index: "i", Body: []byte(`{"message":"m"}`)}}
	if doc.Size() != len(`{"message":"m"}`) {
		t.Errorf("Size() = %d", doc.Size())
	}
	p.Put(context.Background(), doc)
	p.Put(context.Background(), &event.Event{Raw: []byte("<13>a")})
	if st := p.Close(context.Background()); st.Delivered != 2 {
		t.Fatalf("stats %+v", st)
	}
	if parsed != 1 || out.evs[0].ID != "x" {
		t.Errorf("parsed %d events; first out %+v", parsed, out.evs[0])
	}
}
