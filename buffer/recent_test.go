package buffer

import (
	"reflect"
	"testing"
	"time"

	"github.com/logshipper/logshipper/event"
)

// TestRememberableCoversEveryField: an event with any field beyond the
// input's set is not kept in memory for the reader, since its record
// would decode without it. A field added to event.Event must be added to
// rememberable (or to the input's fields here).
func TestRememberableCoversEveryField(t *testing.T) {
	input := map[string]bool{"Received": true, "Transport": true, "SourceIP": true, "ProxyIP": true, "Raw": true, "Truncated": true}
	if !rememberable(&event.Event{Received: testBase, Transport: "tcp", SourceIP: "192.0.2.1", ProxyIP: "10.0.0.1", Raw: []byte("x"), Truncated: true}) {
		t.Fatal("an event with only the input's fields is not rememberable")
	}
	typ := reflect.TypeOf(event.Event{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		if input[f.Name] {
			continue
		}
		var ev event.Event
		v := reflect.ValueOf(&ev).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(1)
		case reflect.Uint8:
			v.SetUint(1)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
		case reflect.Struct:
			if f.Type != reflect.TypeOf(time.Time{}) {
				t.Fatalf("field %s of type %s: teach this test to set it", f.Name, f.Type)
			}
			v.Set(reflect.ValueOf(testBase))
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", f.Name, v.Kind())
		}
		if rememberable(&ev) {
			t.Errorf("an event with %s set is rememberable: its record would decode without it", f.Name)
		}
	}
}

// pastTheBound is a WAL with more events appended and committed than
// recent keeps: keeping has paused.
func pastTheBound(t *testing.T) (*WAL, []*event.Event) {
	w := openT(t, Options{Dir: t.TempDir()})
	n := recentMaxEvents + 500
	in := events(0, n)
	for i := 0; i < n; i += 100 {
		appendT(t, w, in[i:min(i+100, n)]...)
	}
	commitT(t, w)
	return w, in
}

// TestRecentBeyondItsBounds: a reader further behind than the events kept
// in memory gets the rest from the file, in order and each once; nothing
// more is kept until it has caught up, and then new appends are kept
// again.
func TestRecentBeyondItsBounds(t *testing.T) {
	w, in := pastTheBound(t)
	n := len(in)
	got := readN(t, w, 100, 100)
	// Still far behind: what is appended now is not kept.
	late := events(n, n+10)
	appendT(t, w, late...)
	in = append(in, late...)
	got = append(got, readN(t, w, len(in)-100, 333)...)
	fromMemory := 0
	for i, e := range got {
		if d := sameInput(in[i], e.Event); d != "" {
			t.Fatalf("entry %d: %s", i, d)
		}
		if e.Event == in[i] {
			fromMemory++
		} else if i < recentMaxEvents {
			t.Errorf("entry %d read from the file, within the bound", i)
		}
	}
	if fromMemory != recentMaxEvents {
		t.Errorf("%d of %d read from memory, want %d", fromMemory, len(in), recentMaxEvents)
	}
	if w.recent.raw != 0 || len(w.recent.items)-w.recent.head != 0 {
		t.Errorf("after reading everything %d events and %d bytes still kept", len(w.recent.items)-w.recent.head, w.recent.raw)
	}

	more := events(n+10, n+20)
	appendT(t, w, more...)
	for i, e := range readN(t, w, len(more), 4) {
		if e.Event != more[i] {
			t.Errorf("appended after catching up, entry %d was read from the file", i)
		}
	}
}

// TestRecentResumesBehindBusyWriters: a reader that has read all that was
// written to the file has caught up, even when more has been appended
// (not yet written) meanwhile, as busy writers always have: events
// appended after that are kept again.
func TestRecentResumesBehindBusyWriters(t *testing.T) {
	w, in := pastTheBound(t)
	n := len(in)
	pending := events(n, n+10) // appended, not written to the file yet
	appendT(t, w, pending...)
	readN(t, w, n, 333) // up to the end of what is in the file
	if w.recent.paused {
		t.Fatal("still paused after reading everything in the file")
	}
	later := events(n+10, n+20)
	appendT(t, w, later...)
	for i, e := range readN(t, w, 20, 20) {
		want := append(pending, later...)[i]
		if d := sameInput(want, e.Event); d != "" {
			t.Fatalf("entry %d: %s", i, d)
		}
		if fromMemory := e.Event == want; fromMemory != (i >= len(pending)) {
			t.Errorf("entry %d read from memory %v", i, fromMemory)
		}
	}
}

// TestRecentNotForParsedEvents: an append of which one event carries more
// than its record holds keeps the events before it; that one and the rest
// of the append come from the file, so what a reader sees does not depend
// on how far behind it is.
func TestRecentNotForParsedEvents(t *testing.T) {
	w := openT(t, Options{Dir: t.TempDir()})
	in := events(0, 5)
	in[2].Hostname = "parsed"
	appendT(t, w, in...)
	got := readN(t, w, len(in), 10)
	for i, e := range got {
		if fromMemory := e.Event == in[i]; fromMemory != (i < 2) {
			t.Errorf("entry %d read from memory %v", i, fromMemory)
		}
	}
	if got[2].Event.Hostname != "" {
		t.Errorf("Hostname %q came through the disk buffer", got[2].Event.Hostname)
	}
}
