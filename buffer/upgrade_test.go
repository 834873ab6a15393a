package buffer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/logshipper/logshipper/parser"
)

// TestUpgradeWithPendingEvents opens a buffer that the release before issue
// 9 (commit 31e6d2f) wrote and closed with four events pending (a fifth
// acknowledged): the records keep the input's fields only, the parser runs
// again when they are read, so the new parsing rules apply to them and the
// format needs no new version. testdata/upgrade-from-31e6d2f holds the
// files as that release wrote them.
func TestUpgradeWithPendingEvents(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "upgrade-from-31e6d2f"))
	w, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	es, err := w.Read(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.New(parser.Options{})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	want := []struct{ raw, program, message string }{
		{"<164>Oct 26 15:19:25 1.2.3.4 a sample message", "", "a sample message"},
		{"<13>Feb  5 17:32:18 host OX-XXX-CONTEUDO:rpd[6589]: some text", "OX-XXX-CONTEUDO:rpd", "some text"},
		{"<174>1 2016-12-31T23:59:60-04:00 resolver.se prg00000[1234] - -  info: client 10.23.53.22#63252", "prg00000[1234]", "info: client 10.23.53.22#63252"},
		{"test", "", "test"},
	}
	if len(es) != len(want) {
		t.Fatalf("%d events pending, want %d", len(es), len(want))
	}
	for i, e := range es {
		ev := e.Event
		if string(ev.Raw) != want[i].raw || ev.Transport != "tcp" || ev.SourceIP != "192.0.2.10" || !ev.Received.Equal(at.Add(time.Duration(i+1)*time.Second)) {
			t.Fatalf("event %d: %q %s %s %v", i, ev.Raw, ev.Transport, ev.SourceIP, ev.Received)
		}
		p.Parse(ev)
		if ev.Program != want[i].program || ev.Message != want[i].message {
			t.Errorf("event %d parsed: program %q message %q, want %q %q", i, ev.Program, ev.Message, want[i].program, want[i].message)
		}
	}
	if !es[2].Event.Malformed {
		t.Error("the RFC 5424 line with an empty STRUCTURED-DATA is not Malformed")
	}
	if err := w.Ack(es[0].Pos, es[len(es)-1].Pos); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n, _ := w.Stats(); n != 0 {
		t.Fatalf("%d events pending after all were acknowledged", n)
	}
}
