package buffer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/event"
)

// segmentBytes builds a valid segment file with the given events.
func segmentBytes(seq uint64, evs ...*event.Event) []byte {
	b := appendSegHeader(nil, seq, [8]byte{1, 2, 3, 4, 5, 6, 7, byte(seq)})
	for _, ev := range evs {
		b = appendRecord(b, ev)
	}
	return b
}

// fuzzSeeds are the starting points of FuzzOpenCorruptSegment; the same
// inputs are in testdata/fuzz/FuzzOpenCorruptSegment (see
// TestWriteFuzzCorpus).
func fuzzSeeds() map[string][]byte {
	valid := segmentBytes(1, testEvent(0), testEvent(1), &event.Event{Transport: "relp", Raw: []byte("x")})
	return map[string][]byte{
		"valid":       valid,
		"torn":        valid[:len(valid)-5],
		"header_only": valid[:segHeaderSize],
		"short":       valid[:10],
		"empty":       {},
		"zeros":       make([]byte, 200),
		"zero_tail":   append([]byte(string(valid)), make([]byte, 300)...),
		"flipped":     func() []byte { b := []byte(string(valid)); b[segHeaderSize+20] ^= 1; return b }(),
		"huge_length": append([]byte(string(valid[:segHeaderSize])), 0xff, 0xff, 0xff, 0x03, 0, 0, 0, 0, 1),
		"garbage":     []byte(strings.Repeat("LSWS\x01garbage", 8)),
	}
}

// FuzzOpenCorruptSegment: any bytes as a segment file, last or followed by a
// good one. Open never panics; what it keeps is read back consistently,
// survives a second Open unchanged, and the log takes new records.
func FuzzOpenCorruptSegment(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	good := segmentBytes(2, testEvent(7), testEvent(8))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, last := range []bool{true, false} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o640); err != nil {
				t.Fatal(err)
			}
			if !last {
				if err := os.WriteFile(filepath.Join(dir, segName(2)), good, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			opts := Options{Dir: dir, Fsync: FsyncNever}
			w, err := Open(opts)
			if err != nil {
				if strings.Contains(err.Error(), "newer format version") {
					continue
				}
				t.Fatalf("Open: %v", err)
			}
			rec := w.Recovery()
			n, _ := w.Stats()
			if err := w.Append(t.Context(), testEvent(99)); err != nil {
				t.Fatalf("Append after recovery: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			es := drain(t, w)
			if int64(len(es)) != n+1 || rec.Events != n {
				t.Fatalf("last=%v: read %d records, Stats said %d (+1 appended), Recovery %+v", last, len(es), n, rec)
			}
			ids := map[string]bool{}
			for _, e := range es {
				if len(e.ID) != idLen || ids[e.ID] {
					t.Fatalf("ID %q", e.ID)
				}
				ids[e.ID] = true
			}
			if got := string(es[len(es)-1].Event.Raw); got != string(testEvent(99).Raw) {
				t.Fatalf("last record %q", got)
			}
			if !last {
				tail := es[len(es)-3 : len(es)-1]
				if string(tail[0].Event.Raw) != string(testEvent(7).Raw) || string(tail[1].Event.Raw) != string(testEvent(8).Raw) {
					t.Fatalf("the good segment after the fuzzed one lost records: %q", rawsOf(es))
				}
			}
			// A second Open finds the same records and nothing new to repair.
			again, rec2 := reopenAll(t, opts)
			if idsOf(again) != idsOf(es) || rec2.TruncatedBytes != 0 || rec2.Corrupt != rec.Corrupt {
				t.Fatalf("second Open: %d records (want %d), %+v after %+v", len(again), len(es), rec2, rec)
			}
		}
	})
}

// TestWriteFuzzCorpus rewrites testdata/fuzz/FuzzOpenCorruptSegment and
// FuzzDecodeRecord from fuzzSeeds when BUFFER_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("BUFFER_WRITE_CORPUS") != "1" {
		t.Skip("set BUFFER_WRITE_CORPUS=1 to rewrite the seed corpus")
	}
	write := func(target, name, content string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range fuzzSeeds() {
		write("FuzzOpenCorruptSegment", name, fmt.Sprintf("[]byte(%+q)\n", b))
	}
	for name, ev := range map[string]*event.Event{
		"tcp": testEvent(0), "udp_truncated": testEvent(7), "other_transport": {Transport: "relp", SourceIP: "h", Raw: []byte("x")},
		"zero_time": {Transport: "tls", Raw: []byte("\x00")},
		"proxy":     {Transport: "udp", SourceIP: "2001:db8::7", ProxyIP: "10.0.0.2", Raw: []byte("<13>via a balancer")},
	} {
		rec := appendRecord(nil, ev)
		write("FuzzDecodeRecord", name, fmt.Sprintf("[]byte(%+q)\nbool(false)\n", rec))
		rec[recHeaderSize+8] |= flagTransport // payload damage: fixed checksum
		write("FuzzDecodeRecord", name+"_fixed", fmt.Sprintf("[]byte(%+q)\nbool(true)\n", rec))
	}
}

// FuzzDecodeRecord: any bytes as one record. decodeRecord never panics, and
// what it accepts encodes again to a record that decodes to the same fields.
// With fix set, the length and checksum are made right first, so that the
// fuzzer gets past them into the payload.
func FuzzDecodeRecord(f *testing.F) {
	for _, ev := range []*event.Event{testEvent(0), testEvent(1), {Transport: "relp", SourceIP: "h", Raw: []byte("x")}, {},
		{Transport: "tcp", SourceIP: "192.0.2.7", ProxyIP: "10.0.0.2", Raw: []byte("<13>via a balancer")}} {
		f.Add(appendRecord(nil, ev), false)
	}
	f.Add([]byte{10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x80}, true)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix && len(data) >= recHeaderSize {
			binary.LittleEndian.PutUint32(data, uint32(len(data)-recHeaderSize))
			binary.LittleEndian.PutUint32(data[4:], crc32.Checksum(data[8:], castagnoli))
		}
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		ev := recordEvent(&r)
		r2, err := decodeRecord(appendRecord(nil, ev))
		if err != nil {
			t.Fatalf("re-encoded record: %v", err)
		}
		if d := sameInput(ev, recordEvent(&r2)); d != "" {
			t.Fatalf("round trip: %s", d)
		}
	})
}

func recordEvent(r *record) *event.Event {
	ev := &event.Event{
		Received:  r.received(),
		SourceIP:  string(r.sourceIP),
		ProxyIP:   string(r.proxyIP),
		Raw:       r.raw,
		Truncated: r.flags&flagTruncated != 0,
	}
	if r.flags&flagTransport == transportOther {
		ev.Transport = string(r.transport)
	} else {
		ev.Transport = r.transportName()
	}
	return ev
}

// FuzzDecodeAckSlot: any bytes as a slot of the ack file (format 2).
// decodeAckSlot never panics, and what it accepts encodes again to the same
// bytes. With fix set, the range count is bounded and the checksum made
// right first, so that the fuzzer gets past them into the ranges.
func FuzzDecodeAckSlot(f *testing.F) {
	f.Add(encodeAckSlot(nil, 7, 3, 4096, nil), false)
	f.Add(encodeAckSlot(nil, 8, 3, 28, []posRange{{3, 100, 3, 200}, {4, 28, 5, 28}}), false)
	f.Add([]byte("LSWA\x02\x00\x00\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		slot := make([]byte, ackSlotSize)
		copy(slot, data)
		n := binary.LittleEndian.Uint32(slot[32:])
		if fix {
			n %= 5
			binary.LittleEndian.PutUint32(slot[32:], n)
			used := ackSlotHeader + ackRangeSize*int(n)
			binary.LittleEndian.PutUint32(slot[used:], crc32.Checksum(slot[:used], castagnoli))
		}
		st, err := decodeAckSlot(slot)
		if err != nil {
			return
		}
		again := encodeAckSlot(nil, st.gen, st.seg, st.off, st.ranges)
		if !bytes.Equal(again, slot[:len(again)]) {
			t.Fatalf("accepted slot %x encodes again as %x", slot[:len(again)], again)
		}
	})
}
