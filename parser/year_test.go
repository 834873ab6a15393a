package parser

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin without relying on the machine's zoneinfo

	"github.com/logshipper/logshipper/event"
)

// TestYearInference: an RFC 3164 stamp gets the latest year that puts it
// at most yearMargin (48 hours) after the receive time.
func TestYearInference(t *testing.T) {
	for _, c := range []struct {
		name, stamp, received, want string
	}{
		{"two months ahead is last year (issue 9)", "Feb  5 17:32:18", "2026-12-04T10:00:00Z", "2026-02-05T17:32:18Z"},
		{"a day ahead (another time zone) stays this year", "Dec  5 10:00:00", "2026-12-04T10:00:00Z", "2026-12-05T10:00:00Z"},
		{"47 hours ahead stays this year", "Dec  6 09:00:00", "2026-12-04T10:00:00Z", "2026-12-06T09:00:00Z"},
		{"49 hours ahead is last year", "Dec  6 11:00:00", "2026-12-04T10:00:00Z", "2025-12-06T11:00:00Z"},
		{"Dec 31 received Jan 1 is last year", "Dec 31 23:59:59", "2027-01-01T00:00:10Z", "2026-12-31T23:59:59Z"},
		{"Jan 1 received Dec 31 is next year", "Jan  1 00:00:05", "2026-12-31T23:59:58Z", "2027-01-01T00:00:05Z"},
		{"mid-year, a little in the past", "Jul  1 11:00:00", "2026-07-01T12:00:00Z", "2026-07-01T11:00:00Z"},
		{"mid-year, an hour in the future", "Jul  1 13:00:00", "2026-07-01T12:00:00Z", "2026-07-01T13:00:00Z"},
		{"five months back stays this year", "Feb  1 00:00:00", "2026-07-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{"seven months ahead is last year", "Dec  1 00:00:00", "2026-05-01T00:00:00Z", "2025-12-01T00:00:00Z"},
		{"six months back stays this year (nearest would say next year)", "Jan  1 00:00:00", "2026-07-03T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"Feb 29 in a leap year", "Feb 29 12:00:00", "2028-03-01T00:00:00Z", "2028-02-29T12:00:00Z"},
		{"Feb 29 received the year before a leap year: two months ahead, no timestamp", "Feb 29 12:00:00", "2027-12-31T00:00:00Z", ""},
		{"Feb 29 received the year after a leap year", "Feb 29 12:00:00", "2029-01-15T00:00:00Z", "2028-02-29T12:00:00Z"},
		{"Feb 29 with no leap year near: no timestamp", "Feb 29 12:00:00", "2026-06-01T00:00:00Z", ""},
		{"Feb 29 around 2100 (not leap)", "Feb 29 12:00:00", "2100-06-01T00:00:00Z", ""},
		{"year in the stamp wins", "Dec 31 2020 23:59:59", "2027-01-01T00:00:01Z", "2020-12-31T23:59:59Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := &event.Event{Raw: []byte("<13>" + c.stamp + " host app: x"), Received: mustTime(t, c.received)}
			New(Options{}).Parse(ev)
			if ev.TimestampRaw != c.stamp || ev.Message != "x" {
				t.Fatalf("not parsed as a stamp: %+v", ev)
			}
			if c.want == "" {
				if !ev.Timestamp.IsZero() {
					t.Fatalf("got %v, want no timestamp", ev.Timestamp)
				}
				return
			}
			if want := mustTime(t, c.want); !ev.Timestamp.Equal(want) {
				t.Fatalf("got %v, want %v", ev.Timestamp, want)
			}
		})
	}
}

// TestLocation: RFC 3164 stamps without a zone are read in
// Options.Location, and the year is chosen in that zone too; stamps with a
// zone or offset ignore it.
func TestLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{Location: berlin})
	for _, c := range []struct{ raw, received, want string }{
		{"<13>Jul  1 12:00:00 host app: x", "2026-07-01T10:00:05Z", "2026-07-01T10:00:00Z"},          // CEST, +2
		{"<13>Jan  1 00:30:00 host app: x", "2026-12-31T23:31:00Z", "2027-01-01T00:30:00+01:00"},     // already 2027 in Berlin
		{"<13>Dec 31 23:59:00 host app: x", "2026-12-31T22:59:30Z", "2026-12-31T23:59:00+01:00"},     // CET, +1
		{"<13>2026-07-01T12:00:00Z host app: x", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},     // zone in the stamp
		{"<13>2026-07-01T12:00:00 host app: x", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00+02:00"}, // no zone: Location
		{"<189>1: Jul  1 12:00:00.5 UTC: %X-1-Y: x", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00.5Z"},
		{"<165>1 2026-07-01T12:00:00Z h a - - - x", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"},
	} {
		ev := &event.Event{Raw: []byte(c.raw), Received: mustTime(t, c.received)}
		p.Parse(ev)
		if want := mustTime(t, c.want); !ev.Timestamp.Equal(want) {
			t.Errorf("%q: got %v, want %v", c.raw, ev.Timestamp, want)
		}
	}
	if New(Options{}).loc != time.UTC {
		t.Error("nil Location is not UTC")
	}
}
