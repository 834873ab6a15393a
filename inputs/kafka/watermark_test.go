package kafka

import "testing"

// Spans settle out of order; the watermark moves only over the settled
// prefix, and never past a span given up.
func TestWatermarkIsContiguous(t *testing.T) {
	w := newWatermark()
	a, b, c, d := &span{first: 10, last: 19}, &span{first: 20, last: 29}, &span{first: 30, last: 39}, &span{first: 40, last: 49}
	for _, s := range []*span{a, b, c, d} {
		if !w.add(s) {
			t.Fatal("add refused")
		}
	}
	if w.start() != 10 {
		t.Errorf("start = %d", w.start())
	}
	steps := []struct {
		s      *span
		failed bool
		want   int64
		moved  bool
	}{
		{b, false, -1, false}, // b before a: nothing yet
		{a, false, 30, true},  // a and b
		{d, false, 30, false}, // d waits for c
		{c, true, 30, false},  // c given up: stuck before c
	}
	for i, st := range steps {
		got, moved := w.settle(st.s, st.failed)
		if got != st.want || moved != st.moved {
			t.Errorf("step %d: watermark %d moved %t, want %d %t", i, got, moved, st.want, st.moved)
		}
	}
	if _, _, n, _ := w.state(); n != 0 {
		t.Errorf("%d in flight", n)
	}
	if !w.stuck {
		t.Error("not stuck after a given-up span")
	}
	w.revoke()
	if w.add(&span{first: 50, last: 59}) {
		t.Error("add after revoke")
	}
}

// A span dropped before it was handed over blocks the watermark too: its
// records were never delivered.
func TestWatermarkDroppedSpan(t *testing.T) {
	w := newWatermark()
	a, b := &span{first: 0, last: 9}, &span{first: 10, last: 19}
	w.add(a)
	w.add(b)
	w.drop(a)
	if got, _ := w.settle(b, false); got != -1 {
		t.Errorf("watermark %d after a dropped first span", got)
	}
}
