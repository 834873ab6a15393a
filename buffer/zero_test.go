package buffer

import (
	"os"
	"path/filepath"
	"testing"
)

// The zeros a segment file gets ahead of its records (zeroAheadLocked):
// there under the fsync policies while the segment is written, cut off
// when it is sealed and at Close, never there under FsyncNever.
func TestZeroAhead(t *testing.T) {
	for _, tc := range []struct {
		policy FsyncPolicy
		zeros  bool
	}{
		{FsyncBatch, true},
		{FsyncAlways, true},
		{FsyncNever, false},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir, Fsync: tc.policy, SegmentBytes: 3 << 20})
			appendT(t, w, events(0, 10)...)
			commitT(t, w)
			first := w.active
			size := fileSize(t, first.path)
			switch {
			case !tc.zeros && size != first.end:
				t.Fatalf("file %d bytes, want %d: no zeros under FsyncNever", size, first.end)
			case tc.zeros && size != zeroWindow:
				t.Fatalf("file %d bytes, want the records (%d) and zeros up to %d", size, first.end, zeroWindow)
			}
			// Past the first window, into the next segment.
			big := testEvent(10)
			big.Raw = make([]byte, 512<<10)
			for i := range big.Raw {
				big.Raw[i] = 'x'
			}
			for range 7 {
				appendT(t, w, big)
				commitT(t, w)
			}
			if w.active == first {
				t.Fatal("no new segment after 3.5 MiB")
			}
			if size := fileSize(t, first.path); size != first.end {
				t.Errorf("sealed segment: file %d bytes, want its records' %d", size, first.end)
			}
			second := w.active
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if size := fileSize(t, second.path); size != second.end {
				t.Errorf("after Close: file %d bytes, want its records' %d", size, second.end)
			}
			all, rec := reopenAll(t, Options{Dir: dir})
			if len(all) != 17 || rec.TruncatedBytes != 0 || rec.Corrupt != 0 {
				t.Errorf("reopened: %d records, Recovery %+v; want 17, nothing cut, no damage", len(all), rec)
			}
		})
	}
}

// A crash leaves the zeros behind: the active segment's, and a sealed
// one's if cutting them off had not reached the disk. Open reads them as
// the end of the records, not as a torn tail or damage.
func TestZerosLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, SegmentBytes: 2 << 20})
	appendT(t, w, events(0, 20)...)
	commitT(t, w)
	crashed := copyDir(t, dir) // the files as a power loss would leave them
	sealed := w.active.path
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, filepath.Join(crashed, filepath.Base(sealed))); size != zeroWindow {
		t.Fatalf("copied segment %d bytes, want zeros up to %d", size, zeroWindow)
	}
	// A newer segment makes the zeroed one a sealed segment.
	w = openT(t, Options{Dir: crashed})
	appendT(t, w, events(20, 25)...)
	commitT(t, w)
	all := readN(t, w, 25, 100)
	if rec := w.Recovery(); len(all) != 25 || rec.TruncatedBytes != 0 || rec.Corrupt != 0 {
		t.Fatalf("after the crash: %d records, Recovery %+v; want 25, nothing cut, no damage", len(all), rec)
	}
	checkSequence(t, all, 0, 25)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Grow the older segment with zeros again: Open must not call them damage.
	f, err := os.OpenFile(filepath.Join(crashed, filepath.Base(sealed)), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100<<10))
	f.Close()
	all, rec := reopenAll(t, Options{Dir: crashed})
	if rec.Corrupt != 0 || rec.TruncatedBytes != 0 {
		t.Errorf("Recovery %+v, want nothing cut, no damage", rec)
	}
	checkSequence(t, all, 0, 25)
}

// Without room for the zeros, the records are appended as they come: a
// nearly full disk still takes every record that fits.
func TestZerosNeedNoSpace(t *testing.T) {
	w, fsys, _ := faultyWAL(t, Options{})
	fsys.SetSpace(fsys.Used() + 16<<10) // the ack file is preallocated
	appendT(t, w, events(0, 50)...)
	commitT(t, w)
	if err := w.Fault(); err != nil {
		t.Fatalf("Fault() = %v", err)
	}
	if size := fileSize(t, w.active.path); size != w.active.end {
		t.Errorf("file %d bytes, want the records' %d and no zeros", size, w.active.end)
	}
	checkSequence(t, readN(t, w, 50, 100), 0, 50)
	w.Close()
	fsys.SetSpace(-1)
	all, rec := reopenAll(t, Options{Dir: w.dir})
	if rec.Corrupt != 0 {
		t.Errorf("Recovery %+v", rec)
	}
	checkSequence(t, all, 0, 50)
}
