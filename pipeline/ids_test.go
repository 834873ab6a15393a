package pipeline

import (
	"testing"

	"github.com/logshipper/logshipper/event"
)

// One call's IDs share a string but are distinct, increasing and 22
// characters; an event that has an ID keeps it.
func TestIDSourceAssign(t *testing.T) {
	s := newIDSource()
	qs := []queued{{ev: &event.Event{}}, {ev: &event.Event{ID: "kept"}}, {ev: &event.Event{}}}
	s.assign(qs)
	more := []queued{{ev: &event.Event{}}}
	s.assign(more)
	a, b, c := qs[0].ev.ID, qs[2].ev.ID, more[0].ev.ID
	if qs[1].ev.ID != "kept" {
		t.Fatalf("an event's own ID was replaced by %q", qs[1].ev.ID)
	}
	for _, id := range []string{a, b, c} {
		if len(id) != idLen {
			t.Fatalf("ID %q is %d characters, want %d", id, len(id), idLen)
		}
	}
	if !(a < b && b < c) {
		t.Fatalf("IDs not increasing: %q %q %q", a, b, c)
	}
	s.assign(nil) // nothing to do, no panic
}

// A batch's IDs cost one allocation, whatever its size.
func TestIDSourceAssignAllocatesOnce(t *testing.T) {
	s := newIDSource()
	qs := make([]queued, 1000)
	for i := range qs {
		qs[i].ev = &event.Event{}
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, q := range qs {
			q.ev.ID = ""
		}
		s.assign(qs)
	})
	if allocs != 1 {
		t.Fatalf("assign of 1000 events: %v allocations, want 1", allocs)
	}
}
