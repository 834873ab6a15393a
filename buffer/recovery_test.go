package buffer

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRestart: two readers, out-of-order acks with a gap, Close, Open: the
// new run reads exactly the unacknowledged records, with the same IDs, and
// the segments below the watermark are gone.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 400}
	w := openT(t, opts)
	const n = 100
	for i := 0; i < n; i += 10 {
		appendT(t, w, events(i, i+10)...)
		commitT(t, w)
	}
	// Readers A and B take batches of 7 in turn.
	var batches [][]Entry
	for len(batches)*7 < n {
		batches = append(batches, readN(t, w, min(7, n-len(batches)*7), 7))
	}
	// Acks arrive out of order; batch 3 is never acknowledged, nor are 6, 7 and 9+.
	acked := []int{2, 0, 5, 4, 1, 8}
	const gap = 3
	for _, b := range acked {
		if err := w.Ack(batches[b][0].Pos, batches[b][len(batches[b])-1].Pos); err != nil {
			t.Fatalf("Ack batch %d: %v", b, err)
		}
	}
	var want []Entry
	for b := range batches {
		if !slices.Contains(acked, b) {
			want = append(want, batches[b]...)
		}
	}
	if evs, _ := w.Stats(); evs != int64(len(want)) {
		t.Errorf("Stats events %d, want %d", evs, len(want))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The watermark is the end of batch 2: every segment before the one
	// holding batch 3's first record is deleted, that one is kept.
	keep := batches[gap][0].Pos.seg
	files := segFiles(t, dir)
	if len(files) == 0 || files[0] != segName(keep) {
		t.Fatalf("segment files %v, want the first to be %s", files, segName(keep))
	}
	if keep < 2 {
		t.Fatalf("test needs the watermark beyond the first segment (it is in %d)", keep)
	}

	w2 := openT(t, opts)
	rec := w2.Recovery()
	if rec.Events != int64(len(want)) || rec.Corrupt != 0 || rec.TruncatedBytes != 0 {
		t.Errorf("Recovery %+v, want %d events", rec, len(want))
	}
	got := readN(t, w2, len(want), 13)
	for i := range want {
		if got[i].ID != want[i].ID || string(got[i].Event.Raw) != string(want[i].Event.Raw) ||
			got[i].Pos.Compare(want[i].Pos) != 0 {
			t.Fatalf("record %d after restart: %s %s %q, want %s %s %q", i, got[i].Pos, got[i].ID, got[i].Event.Raw,
				want[i].Pos, want[i].ID, want[i].Event.Raw)
		}
	}
	// Nothing else: the next Read blocks; appends go to a new segment.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if es, err := w2.Read(ctx, 10); err == nil {
		t.Fatalf("more records after restart: %q", rawsOf(es))
	}
	appendT(t, w2, testEvent(n))
	more := readN(t, w2, 1, 10)
	if more[0].Pos.seg <= got[len(got)-1].Pos.seg {
		t.Errorf("new record in segment %d, not after the recovered %d", more[0].Pos.seg, got[len(got)-1].Pos.seg)
	}

	// Acknowledge everything in a third order; then the log is empty on disk.
	all := append(got, more...)
	for _, r := range [][2]int{{len(all) - 1, len(all) - 1}, {3, len(all) - 2}, {0, 2}} {
		if err := w2.Ack(all[r[0]].Pos, all[r[1]].Pos); err != nil {
			t.Fatal(err)
		}
	}
	w2.Close()
	if files := segFiles(t, dir); len(files) != 0 {
		t.Errorf("segments left after acknowledging everything: %v", files)
	}
	if got, rec := reopenAll(t, opts); len(got) != 0 || rec.Events != 0 {
		t.Errorf("after acknowledging everything: %q, %+v", rawsOf(got), rec)
	}
}

// TestRestartWatermarkInSegment: acks up to the middle of a segment; the next
// run starts right after, not at the segment's start.
func TestRestartWatermarkInSegment(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir})
	appendT(t, w, events(0, 10)...)
	es := readN(t, w, 10, 10)
	if err := w.Ack(es[0].Pos, es[3].Pos); err != nil {
		t.Fatal(err)
	}
	if err := w.Ack(es[5].Pos, es[6].Pos); err != nil { // after a gap: not persisted
		t.Fatal(err)
	}
	w.Close()
	got, rec := reopenAll(t, Options{Dir: dir})
	// 5 and 6 were acknowledged beyond the gap: not read again either.
	want := []Entry{es[4], es[7], es[8], es[9]}
	if strings.Join(rawsOf(got), "|") != strings.Join(rawsOf(want), "|") {
		t.Errorf("after restart %q, want %q", rawsOf(got), rawsOf(want))
	}
	if rec.Events != 4 || rec.Bytes != int64(es[4].Pos.size+es[7].Pos.size+es[8].Pos.size+es[9].Pos.size) {
		t.Errorf("Recovery %+v", rec)
	}
}

// logWithRecords writes n events (committed) in segments of segBytes, closes
// the log and returns every record as read back.
func logWithRecords(t *testing.T, n int, segBytes int64) (dir string, es []Entry) {
	t.Helper()
	dir = t.TempDir()
	w := openT(t, Options{Dir: dir, SegmentBytes: segBytes})
	for i := range n {
		appendT(t, w, testEvent(i))
	}
	commitT(t, w)
	es = readN(t, w, n, n)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, es
}

func segPath(dir string, p Pos) string { return filepath.Join(dir, segName(p.seg)) }

// checkRecovered opens dir, checks it holds exactly want (by ID and Raw) and
// that a new append after recovery works and survives another restart.
func checkRecovered(t *testing.T, dir string, want []Entry) Recovery {
	t.Helper()
	opts := Options{Dir: dir}
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rec := w.Recovery()
	got := readN(t, w, len(want), 1000)
	for i := range want {
		if got[i].ID != want[i].ID || string(got[i].Event.Raw) != string(want[i].Event.Raw) {
			t.Fatalf("record %d: %s %q, want %s %q", i, got[i].ID, got[i].Event.Raw, want[i].ID, want[i].Event.Raw)
		}
	}
	appendT(t, w, testEvent(1000))
	commitT(t, w)
	extra := readN(t, w, 1, 10)
	for _, e := range want {
		if e.ID == extra[0].ID {
			t.Fatalf("the record appended after recovery reuses ID %s", e.ID)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rest := drain(t, w); len(rest) != 0 {
		t.Fatalf("records beyond the expected: %q", rawsOf(rest))
	}
	again, rec2 := reopenAll(t, opts)
	if len(again) != len(want)+1 || again[len(want)].ID != extra[0].ID {
		t.Fatalf("second restart: %d records, want %d", len(again), len(want)+1)
	}
	if rec2.TruncatedBytes != 0 || rec2.Corrupt > rec.Corrupt {
		t.Fatalf("second restart found new damage: %+v", rec2)
	}
	return rec
}

// TestTornTailEveryOffset cuts the last record at every byte: Open keeps the
// records before it and truncates the rest, as after a crash mid-write.
func TestTornTailEveryOffset(t *testing.T) {
	dir, es := logWithRecords(t, 8, 0)
	last := es[len(es)-1].Pos
	path := segPath(dir, last)
	for cut := int64(last.off); cut < int64(last.off+last.size); cut++ {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			d := copyDir(t, dir)
			p := filepath.Join(d, filepath.Base(path))
			if err := os.Truncate(p, cut); err != nil {
				t.Fatal(err)
			}
			rec := checkRecovered(t, d, es[:len(es)-1])
			if rec.TruncatedBytes != cut-int64(last.off) || rec.Corrupt != 0 {
				t.Errorf("Recovery %+v, want %d bytes truncated and no damage", rec, cut-int64(last.off))
			}
		})
	}
}

// TestTornTailGarbage: a crash can also leave zeros or garbage after the
// last complete record (blocks allocated, data not written).
func TestTornTailGarbage(t *testing.T) {
	dir, es := logWithRecords(t, 8, 0)
	last := es[len(es)-1].Pos
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"zeros", make([]byte, 4096)},
		{"ones", []byte(strings.Repeat("\xff", 100))},
		{"a header only", es[0].Event.Raw[:recHeaderSize]},
		{"half a record", []byte{60, 0, 0, 0, 1, 2, 3, 4, 1, 5, 5, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			p := filepath.Join(d, segName(last.seg))
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tc.tail)
			f.Close()
			rec := checkRecovered(t, d, es)
			// Zeros are not records (zeroAheadLocked puts them there):
			// nothing of a record was cut.
			want := int64(len(tc.tail))
			if allZero(tc.tail) {
				want = 0
			}
			if rec.TruncatedBytes != want || rec.Corrupt != 0 {
				t.Errorf("Recovery %+v, want %d bytes truncated", rec, want)
			}
			if sz := fileSize(t, p); sz != int64(last.off+last.size) {
				t.Errorf("segment is %d bytes after recovery, want %d", sz, last.off+last.size)
			}
		})
	}
}

// TestFlipEveryByteOfLastRecord: a damaged last record is a torn tail too.
func TestFlipEveryByteOfLastRecord(t *testing.T) {
	dir, es := logWithRecords(t, 5, 0)
	last := es[len(es)-1].Pos
	for i := int64(last.off); i < int64(last.off+last.size); i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			d := copyDir(t, dir)
			flipByte(t, filepath.Join(d, segName(last.seg)), i)
			rec := checkRecovered(t, d, es[:len(es)-1])
			if rec.TruncatedBytes != int64(last.size) || rec.Corrupt != 0 {
				t.Errorf("Recovery %+v", rec)
			}
		})
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x5a
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestDamageInOlderSegment: a bad record in a segment that is not the last
// is reported, the rest of its segment skipped, the next segments read.
func TestDamageInOlderSegment(t *testing.T) {
	dir, es := logWithRecords(t, 30, 500)
	first := es[0].Pos.seg
	var inFirst []Entry
	for _, e := range es {
		if e.Pos.seg == first {
			inFirst = append(inFirst, e)
		}
	}
	if len(inFirst) < 4 || es[len(es)-1].Pos.seg == first {
		t.Fatalf("test needs several records in the first of several segments; got %d", len(inFirst))
	}
	path := segPath(dir, es[0].Pos)
	size := fileSize(t, path)
	mid := len(inFirst) / 2
	for _, tc := range []struct {
		name   string
		at     int // damaged record
		damage func(t *testing.T, path string, p Pos)
	}{
		{"payload byte of the first", 0, func(t *testing.T, path string, p Pos) { flipByte(t, path, int64(p.off)+20) }},
		{"length of a middle one", mid, func(t *testing.T, path string, p Pos) { flipByte(t, path, int64(p.off)) }},
		{"length far too big", mid, func(t *testing.T, path string, p Pos) {
			writeAt(t, path, int64(p.off), []byte{0xff, 0xff, 0xff, 0x7f})
		}},
		{"checksum of the last", len(inFirst) - 1, func(t *testing.T, path string, p Pos) { flipByte(t, path, int64(p.off)+5) }},
		{"version byte", mid, func(t *testing.T, path string, p Pos) { writeAt(t, path, int64(p.off)+8, []byte{0}) }},
		{"cut short", mid, func(t *testing.T, path string, p Pos) {
			if err := os.Truncate(path, int64(p.off)+3); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			p := filepath.Join(d, filepath.Base(path))
			bad := inFirst[tc.at].Pos
			tc.damage(t, p, bad)
			want := append(slices.Clone(inFirst[:tc.at]), es[len(inFirst):]...)
			rec := checkRecovered(t, d, want)
			if rec.Corrupt != 1 || len(rec.Problems) != 1 || rec.TruncatedBytes != 0 {
				t.Fatalf("Recovery %+v", rec)
			}
			if pr := rec.Problems[0]; !strings.Contains(pr, p) || !strings.Contains(pr, fmt.Sprintf("offset %d", bad.off)) {
				t.Errorf("problem %q does not name %s and offset %d", pr, p, bad.off)
			}
			if fileSize(t, p) > size {
				t.Error("damaged older segment grew")
			}
		})
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedSegmentHeader(t *testing.T) {
	dir, es := logWithRecords(t, 12, 300)
	segs := map[uint64][]Entry{}
	var order []uint64
	for _, e := range es {
		if segs[e.Pos.seg] == nil {
			order = append(order, e.Pos.seg)
		}
		segs[e.Pos.seg] = append(segs[e.Pos.seg], e)
	}
	if len(order) < 3 {
		t.Fatalf("test needs 3 segments, got %d", len(order))
	}
	without := func(skip uint64) (r []Entry) {
		for _, e := range es {
			if e.Pos.seg != skip {
				r = append(r, e)
			}
		}
		return r
	}
	firstSeg, lastSeg := order[0], order[len(order)-1]
	for _, tc := range []struct {
		name    string
		seg     uint64
		damage  func(t *testing.T, path string)
		want    []Entry
		corrupt int
		torn    bool // a new segment cut short by a crash: deleted, counted as truncated
	}{
		{"older: magic", firstSeg, func(t *testing.T, p string) { writeAt(t, p, 0, []byte("XXXX")) }, without(firstSeg), 1, false},
		{"older: checksum", firstSeg, func(t *testing.T, p string) { flipByte(t, p, 17) }, without(firstSeg), 1, false},
		{"older: shorter than a header", firstSeg, func(t *testing.T, p string) { os.Truncate(p, 10) }, without(firstSeg), 1, false},
		{"last: zeroed header", lastSeg, func(t *testing.T, p string) { writeAt(t, p, 0, make([]byte, segHeaderSize)) }, without(lastSeg), 0, true},
		{"last: cut inside the header", lastSeg, func(t *testing.T, p string) { os.Truncate(p, 5) }, without(lastSeg), 0, true},
		{"last: empty file", lastSeg, func(t *testing.T, p string) { os.Truncate(p, 0) }, without(lastSeg), 0, true},
		{"last: garbage header", lastSeg, func(t *testing.T, p string) { writeAt(t, p, 0, []byte("garbage")) }, without(lastSeg), 1, false},
		{"older: renamed", firstSeg, func(t *testing.T, p string) {
			os.Rename(p, filepath.Join(filepath.Dir(p), segName(firstSeg+1000)))
		}, without(firstSeg), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			p := filepath.Join(d, segName(tc.seg))
			tc.damage(t, p)
			var damaged int64
			if fi, err := os.Stat(p); err == nil {
				damaged = fi.Size()
			}
			w, err := Open(Options{Dir: d})
			if err != nil {
				t.Fatal(err)
			}
			rec := w.Recovery()
			w.Close()
			got := drain(t, w)
			if strings.Join(rawsOf(got), "|") != strings.Join(rawsOf(tc.want), "|") {
				t.Fatalf("records %q, want %q", rawsOf(got), rawsOf(tc.want))
			}
			if rec.Corrupt != tc.corrupt || (tc.torn && rec.TruncatedBytes != damaged) || (!tc.torn && rec.TruncatedBytes != 0) {
				t.Fatalf("Recovery %+v", rec)
			}
			if tc.corrupt > 0 && !strings.Contains(rec.Problems[0], d) {
				t.Errorf("problem %q does not name the file", rec.Problems[0])
			}
			if tc.torn {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("torn new segment not deleted: %v", err)
				}
			}
		})
	}
}

// TestDamagedAckFile: Open falls back to reading every segment on disk from
// its start (at-least-once; the IDs are the same, so Elasticsearch sees
// duplicates as such) and names the file.
func TestDamagedAckFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("LSWA\x01")},
		{"garbage", []byte(strings.Repeat("x", ackHeaderSize+4))},
		{"checksum", func() []byte { b := encodeAck(1, 100, nil); b[10] ^= 1; return b }()},
		{"too long", append(encodeAck(1, 100, nil), 0)},
		{"offset absurd", withCRC(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte("LSWA\x01\x00\x00\x00"), 1), 1<<50), 0))},
		{"range count wrong", func() []byte {
			b := encodeAck(1, 100, []posRange{{1, 200, 1, 300}})
			b[24] = 2
			return withCRC(b[:len(b)-4])
		}()},
		{"ranges out of order", withCRC(encodeAck(1, 100, []posRange{{1, 400, 1, 500}, {1, 200, 1, 300}})[:ackHeaderSize+2*ackRangeSize])},
		{"range below the watermark", withCRC(encodeAck(1, 100, []posRange{{1, 50, 1, 80}})[:ackHeaderSize+ackRangeSize])},
		{"empty range", withCRC(encodeAck(1, 100, []posRange{{1, 200, 1, 200}})[:ackHeaderSize+ackRangeSize])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir})
			appendT(t, w, events(0, 6)...)
			es := readN(t, w, 6, 6)
			if err := w.Ack(es[0].Pos, es[2].Pos); err != nil {
				t.Fatal(err)
			}
			w.Close()
			ack := filepath.Join(dir, ackName)
			if err := os.WriteFile(ack, tc.data, 0o640); err != nil {
				t.Fatal(err)
			}
			w2 := openT(t, Options{Dir: dir})
			rec := w2.Recovery()
			if rec.Corrupt != 1 || len(rec.Problems) != 1 || !strings.Contains(rec.Problems[0], ack) {
				t.Fatalf("Recovery %+v does not name %s", rec, ack)
			}
			got := readN(t, w2, 6, 10)
			for i := range es {
				if got[i].ID != es[i].ID {
					t.Fatalf("record %d has ID %s, was %s", i, got[i].ID, es[i].ID)
				}
			}
			// Acknowledging writes a good ack file again.
			if err := w2.Ack(got[0].Pos, got[3].Pos); err != nil {
				t.Fatal(err)
			}
			w2.Close()
			again, rec := reopenAll(t, Options{Dir: dir})
			if len(again) != 2 || rec.Corrupt != 0 {
				t.Fatalf("after a new ack: %d records, %+v", len(again), rec)
			}
		})
	}
}

func withCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// TestAckFileAheadOrOff: a watermark beyond the data (the ack reached the
// disk, the records did not) or not at a record start.
func TestAckFileAheadOrOff(t *testing.T) {
	dir, es := logWithRecords(t, 10, 0)
	seg := es[0].Pos.seg
	ack := func(d string, seg uint64, off int64) {
		if err := os.WriteFile(filepath.Join(d, ackName), encodeAck(seg, off, nil), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("beyond the data", func(t *testing.T) {
		d := copyDir(t, dir)
		ack(d, seg, 1<<20)
		got, rec := reopenAll(t, Options{Dir: d})
		if len(got) != 0 || rec.Corrupt != 0 {
			t.Fatalf("%d records, %+v", len(got), rec)
		}
		if files := segFiles(t, d); len(files) != 0 {
			t.Errorf("acknowledged segment kept: %v", files)
		}
	})
	t.Run("beyond the last segment", func(t *testing.T) {
		d := copyDir(t, dir)
		ack(d, seg+5, 100)
		w := openT(t, Options{Dir: d})
		appendT(t, w, testEvent(1))
		got := readN(t, w, 1, 1)
		if got[0].Pos.seg != seg+6 {
			t.Errorf("new segment %d, want %d (after the watermark's)", got[0].Pos.seg, seg+6)
		}
	})
	t.Run("inside a record", func(t *testing.T) {
		d := copyDir(t, dir)
		ack(d, seg, int64(es[4].Pos.off)+3)
		got, rec := reopenAll(t, Options{Dir: d})
		if len(got) != 6 || got[0].ID != es[4].ID || rec.Corrupt != 1 || !strings.Contains(rec.Problems[0], "not at a record start") {
			t.Fatalf("%q, %+v", rawsOf(got), rec)
		}
	})
	t.Run("exactly at a record", func(t *testing.T) {
		d := copyDir(t, dir)
		ack(d, seg, int64(es[4].Pos.off))
		got, rec := reopenAll(t, Options{Dir: d})
		if len(got) != 6 || got[0].ID != es[4].ID || rec.Corrupt != 0 {
			t.Fatalf("%q, %+v", rawsOf(got), rec)
		}
	})
}

// TestNewerFormatRefused: data from a newer logshipper is not damage to cut
// away: Open refuses and deletes nothing.
func TestNewerFormatRefused(t *testing.T) {
	dir, es := logWithRecords(t, 3, 0)
	path := segPath(dir, es[0].Pos)
	for _, tc := range []struct {
		name   string
		damage func(d string)
	}{
		{"segment", func(d string) {
			p := filepath.Join(d, filepath.Base(path))
			b, _ := os.ReadFile(p)
			b[4] = 2
			binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
			os.WriteFile(p, b, 0o640)
		}},
		{"record", func(d string) {
			p := filepath.Join(d, filepath.Base(path))
			b, _ := os.ReadFile(p)
			r := b[es[1].Pos.off : es[1].Pos.off+es[1].Pos.size]
			r[8] = recordVersionProxy + 1 // 2 is this release's (records with a balancer address)
			binary.LittleEndian.PutUint32(r[4:], crc32.Checksum(r[8:], castagnoli))
			os.WriteFile(p, b, 0o640)
		}},
		{"ack", func(d string) {
			b := encodeAck(1, 28, nil)
			b[4] = 3
			os.WriteFile(filepath.Join(d, ackName), withCRC(b[:len(b)-4]), 0o640)
		}},
		{"ack slot", func(d string) {
			b := make([]byte, ackFileSize)
			copy(b, encodeAckSlot(nil, 1, 1, 28, nil))
			b[4] = 3
			os.WriteFile(filepath.Join(d, ackName), b, 0o640)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			tc.damage(d)
			before := fileSize(t, filepath.Join(d, filepath.Base(path)))
			_, err := Open(Options{Dir: d})
			if err == nil || !strings.Contains(err.Error(), "newer format version") {
				t.Fatalf("Open: %v", err)
			}
			if fileSize(t, filepath.Join(d, filepath.Base(path))) != before {
				t.Error("Open changed the segment")
			}
			// The lock is released: the right version could open it.
			if _, err := lockDir(d); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCrashWithoutClose copies the directory of a running WAL, as a crash
// leaves it: what was committed is there, in order, and the log goes on.
func TestCrashWithoutClose(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncBatch, FsyncAlways, FsyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir, Fsync: policy, SegmentBytes: 2000})
			for i := 0; i < 200; i += 20 {
				appendT(t, w, events(i, i+20)...)
				commitT(t, w)
			}
			appendT(t, w, events(200, 205)...) // not committed: may or may not be there
			read := readN(t, w, 50, 50)
			if err := w.Ack(read[0].Pos, read[49].Pos); err != nil {
				t.Fatal(err)
			}
			crashed := copyDir(t, dir)
			w2 := openT(t, Options{Dir: crashed, Fsync: policy})
			got := readN(t, w2, 150, 1000)
			for i, e := range got {
				if d := sameInput(testEvent(50+i), e.Event); d != "" {
					t.Fatalf("record %d: %s", i, d)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			extra, _ := w2.Read(ctx, 100)
			if len(extra) > 5 {
				t.Fatalf("%d records after the committed ones", len(extra))
			}
			appendT(t, w2, testEvent(999))
			commitT(t, w2)
			if e := readN(t, w2, 1, 1); string(e[0].Event.Raw) != string(testEvent(999).Raw) {
				t.Fatalf("append after recovery read back %q", e[0].Event.Raw)
			}
		})
	}
}

// TestIDsNotReusedAfterLoss: records read (and perhaps indexed) and then
// lost in a crash must not hand their IDs to new records, or Elasticsearch
// would take the new ones for duplicates.
func TestIDsNotReusedAfterLoss(t *testing.T) {
	dir, es := logWithRecords(t, 10, 0)
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.ID] = true
	}
	for _, tc := range []struct {
		name string
		lose func(d string)
	}{
		{"tail of the last segment", func(d string) { os.Truncate(filepath.Join(d, segName(es[0].Pos.seg)), int64(es[6].Pos.off)) }},
		{"whole last segment", func(d string) { os.Remove(filepath.Join(d, segName(es[0].Pos.seg))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			tc.lose(d)
			w := openT(t, Options{Dir: d})
			for i := range 10 {
				appendT(t, w, testEvent(100+i))
			}
			evs, _ := w.Stats()
			got := readN(t, w, int(evs), 100)
			for _, e := range got {
				if string(e.Event.Raw) >= string(testEvent(100).Raw) && seen[e.ID] {
					t.Fatalf("new record %q reuses ID %s", e.Event.Raw, e.ID)
				}
			}
		})
	}
}

// TestTornTailBeforeEmptyNewSegment: after a power loss the newest segment
// file can exist empty (its creation reached the disk, its data did not)
// while the one before it has a torn tail: that is a torn tail, not damage.
func TestTornTailBeforeEmptyNewSegment(t *testing.T) {
	dir, es := logWithRecords(t, 6, 0)
	last := es[len(es)-1].Pos
	for _, tc := range []struct {
		name  string
		empty []byte
	}{
		{"empty", nil},
		{"zeros", make([]byte, 4096)},
		{"half a header", []byte("LSWS\x01")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			if err := os.Truncate(filepath.Join(d, segName(last.seg)), int64(last.off)+5); err != nil {
				t.Fatal(err)
			}
			for k := uint64(1); k <= 2; k++ {
				if err := os.WriteFile(filepath.Join(d, segName(last.seg+k)), tc.empty, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			rec := checkRecovered(t, d, es[:len(es)-1])
			want := int64(5)
			if !allZero(tc.empty) {
				want += 2 * int64(len(tc.empty))
			}
			if rec.Corrupt != 0 || rec.TruncatedBytes != want {
				t.Errorf("Recovery %+v", rec)
			}
		})
	}
}
