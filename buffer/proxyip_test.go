package buffer

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/logshipper/logshipper/event"
)

// Events with a balancer address (PROXY protocol) keep it through the disk
// buffer, mixed with events without one, also across a reopen; the records
// without one are written exactly as the release before wrote every record.
func TestProxyIPRoundTrip(t *testing.T) {
	evs := events(0, 40)
	for i, ev := range evs {
		switch i % 4 {
		case 1:
			ev.ProxyIP = "10.0.0.2"
		case 2:
			ev.ProxyIP = "2001:db8::1"
		}
	}
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir})
	appendT(t, w, evs...)
	commitT(t, w)
	got := readN(t, w, len(evs), 7)
	for i, e := range got {
		if d := sameInput(evs[i], e.Event); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	again, rec := reopenAll(t, Options{Dir: dir})
	if rec.Corrupt != 0 || len(again) != len(evs) {
		t.Fatalf("after reopen: %d events, %+v", len(again), rec)
	}
	for i, e := range again {
		if d := sameInput(evs[i], e.Event); d != "" {
			t.Fatalf("event %d after reopen: %s", i, d)
		}
	}
}

// The record versions: 1 (the previous release's, which it reads) unless
// the event has a balancer address; 2 with flag bit 5 otherwise. A
// version 1 record with bit 5, or a version 2 one without it, is damage; a
// version above 2 is a newer release's.
func TestProxyIPRecordVersions(t *testing.T) {
	plain := appendRecord(nil, &event.Event{Transport: "tcp", SourceIP: "192.0.2.7", Raw: []byte("<13>direct")})
	if plain[8] != formatVersion || plain[recHeaderSize+8]&flagUnknown != 0 {
		t.Fatalf("a record without a balancer address: version %d, flags %#x; want version 1, bits 5-7 zero (what the previous release reads)",
			plain[8], plain[recHeaderSize+8])
	}
	proxied := appendRecord(nil, &event.Event{Transport: "tcp", SourceIP: "192.0.2.7", ProxyIP: "10.0.0.2", Raw: []byte("<13>via")})
	if proxied[8] != recordVersionProxy || proxied[recHeaderSize+8]&flagProxy == 0 {
		t.Fatalf("a record with a balancer address: version %d, flags %#x; want version 2 and bit 5", proxied[8], proxied[recHeaderSize+8])
	}
	r, err := decodeRecord(proxied)
	if err != nil || string(r.proxyIP) != "10.0.0.2" || string(r.sourceIP) != "192.0.2.7" || string(r.raw) != "<13>via" {
		t.Fatalf("decode: %v %q %q %q", err, r.proxyIP, r.sourceIP, r.raw)
	}

	// altered copies the record with its version byte set to v and a
	// valid checksum, so that only the version is wrong.
	altered := func(b []byte, v byte) []byte {
		c := append([]byte(nil), b...)
		c[8] = v
		binary.LittleEndian.PutUint32(c[4:], crc32.Checksum(c[8:], castagnoli))
		return c
	}
	v1WithFlag := altered(proxied, formatVersion)
	if _, err := decodeRecord(v1WithFlag); err == nil || errors.Is(err, errNewerFormat) {
		t.Errorf("version 1 with bit 5: %v, want damage", err)
	}
	v2NoFlag := altered(plain, recordVersionProxy)
	if _, err := decodeRecord(v2NoFlag); err == nil || errors.Is(err, errNewerFormat) {
		t.Errorf("version 2 without bit 5: %v, want damage", err)
	}
	v3 := altered(proxied, recordVersionProxy+1)
	if _, err := decodeRecord(v3); !errors.Is(err, errNewerFormat) {
		t.Errorf("version 3: %v, want errNewerFormat", err)
	}
}
