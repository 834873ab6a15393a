package parser

import (
	"strings"
	"sync/atomic"
	"time"
)

// parseISO reads an RFC 3339 / ISO 8601 date-time at s[i:]:
// YYYY-MM-DDThh:mm:ss[.frac][Z|+hh:mm|-hh:mm|+hhmm|-hhmm]. Unless
// requireZone, the zone may be left out (the time is then in loc) and a
// space may stand for the 'T', as Logstash's TIMESTAMP_ISO8601 allows. It returns the index
// after the timestamp, or ok=false.
func parseISO(s string, i int, requireZone bool, loc *time.Location) (t time.Time, next int, ok bool) {
	if len(s)-i < 19 || s[i+4] != '-' || s[i+7] != '-' || s[i+13] != ':' || s[i+16] != ':' ||
		(s[i+10] != 'T' && (requireZone || s[i+10] != ' ')) {
		return t, 0, false
	}
	year, e1 := num(s, i, 4, 4)
	month, e2 := num(s, i+5, 2, 2)
	day, e3 := num(s, i+8, 2, 2)
	hour, e4 := num(s, i+11, 2, 2)
	minute, e5 := num(s, i+14, 2, 2)
	sec, e6 := num(s, i+17, 2, 2)
	if e1 < 0 || e2 < 0 || e3 < 0 || e4 < 0 || e5 < 0 || e6 < 0 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 60 {
		return t, 0, false
	}
	j := i + 19
	nsec := 0
	if j < len(s) && s[j] == '.' {
		var k int
		nsec, k = fraction(s, j+1)
		if k < 0 {
			return t, 0, false
		}
		j = k
	}
	zone := loc
	switch {
	case j < len(s) && s[j] == 'Z':
		zone = time.UTC
		j++
	case j < len(s) && (s[j] == '+' || s[j] == '-'):
		oh, k := num(s, j+1, 2, 2)
		if k < 0 || oh > 23 {
			return t, 0, false
		}
		if k < len(s) && s[k] == ':' {
			k++
		}
		om, k2 := num(s, k, 2, 2)
		if k2 < 0 || om > 59 {
			return t, 0, false
		}
		off := oh*60 + om
		if s[j] == '-' {
			off = -off
		}
		zone = fixedZone(off)
		j = k2
	default:
		if requireZone {
			return t, 0, false
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, zone), j, true
}

// fraction reads one or more digits at s[i:] as a decimal fraction of a
// second; digits past the ninth are read and ignored.
func fraction(s string, i int) (nsec, next int) {
	j := i
	scale := 100_000_000
	for j < len(s) && isDigit(s[j]) {
		nsec += int(s[j]-'0') * scale
		scale /= 10
		j++
	}
	if j == i {
		return 0, -1
	}
	return nsec, j
}

// bsdStamp is a parsed RFC 3164 ("BSD") timestamp.
type bsdStamp struct {
	year                 int // 0: none in the message
	month, day           int
	hour, minute, second int
	nsec                 int
	zone                 *time.Location // nil: Options.Location
}

// parseBSD reads an RFC 3164 timestamp and its rsyslog/Cisco variants at
// s[i:]:
//
//	[yyyy ]Mmm[ ]d[d] [yyyy ]h[h]:mm:ss[.frac][ ZONE:][:]
//
// followed by a space (consumed) or the end of s. ZONE is a name from
// zoneOffsets or, when anyZone (the line had Cisco IOS's prefixes, so the
// word cannot be a tag), any 1-5 upper-case letters, which then mean
// Options.Location. rawEnd is where the timestamp text ends (before any
// trailing ':'); next is where the text after it starts.
func parseBSD(s string, i int, anyZone bool) (st bsdStamp, rawEnd, next int, ok bool) {
	if len(s)-i < len("Jan 1 0:00:00") {
		return st, 0, 0, false
	}
	if isDigit(s[i]) { // year first (Brocade, RFC 3164 §5.4 example 4)
		y, k := num(s, i, 4, 4)
		if k < 0 || k >= len(s) || s[k] != ' ' || y < 1970 || y > 2100 {
			return st, 0, 0, false
		}
		st.year = y
		i = k + 1
	}
	st.month, i = monthAt(s, i)
	if st.month == 0 {
		return st, 0, 0, false
	}
	if i >= len(s) || s[i] != ' ' {
		return st, 0, 0, false
	}
	i++
	if i < len(s) && s[i] == ' ' {
		i++
	}
	var k int
	st.day, k = num(s, i, 1, 2)
	if k < 0 || st.day < 1 || st.day > 31 || k >= len(s) || s[k] != ' ' {
		return st, 0, 0, false
	}
	i = k + 1
	if st.year == 0 && len(s)-i > 5 && s[i+4] == ' ' { // year before the time (Cisco, ASA)
		if y, k := num(s, i, 4, 4); k > 0 && y >= 1970 && y <= 2100 {
			st.year = y
			i = k + 1
		}
	}
	st.hour, k = num(s, i, 1, 2)
	if k < 0 || st.hour > 23 || k >= len(s) || s[k] != ':' {
		return st, 0, 0, false
	}
	st.minute, k = num(s, k+1, 2, 2)
	if k < 0 || st.minute > 59 || k >= len(s) || s[k] != ':' {
		return st, 0, 0, false
	}
	st.second, k = num(s, k+1, 2, 2)
	if k < 0 || st.second > 60 {
		return st, 0, 0, false
	}
	if k < len(s) && (s[k] == '.' || s[k] == ',') { // fraction; "hh:mm:ss." has none
		if k+1 < len(s) && isDigit(s[k+1]) {
			st.nsec, k = fraction(s, k+1)
		} else if s[k] == '.' {
			k++
		}
	}
	rawEnd = k
	if k < len(s) && s[k] == ' ' { // Cisco: "00:00:00.123 UTC: %LINK..."
		e := k + 1
		for e < len(s) && e-k <= 5 && s[e] >= 'A' && s[e] <= 'Z' {
			e++
		}
		if e < len(s) && s[e] == ':' && (e+1 == len(s) || s[e+1] == ' ') {
			if z := zoneByName(s[k+1 : e]); z != nil || (anyZone && e > k+1) {
				st.zone = z
				rawEnd = e
				k = e
			}
		}
	}
	if k < len(s) && s[k] == ':' {
		k++
	}
	if k < len(s) {
		if s[k] != ' ' {
			return st, 0, 0, false
		}
		k++
	}
	if st.year != 0 && st.day > daysIn(st.month, st.year) {
		return st, 0, 0, false
	}
	if st.day > daysIn(st.month, 2000) { // 2000: Feb 29 exists; resolve picks the year
		return st, 0, 0, false
	}
	return st, rawEnd, k, true
}

// yearMargin is how far ahead of the receive time a year-less stamp may
// be and still get the receive year (or the next one, at New Year). Past
// it, the stamp is taken to be from the year before: messages arrive late
// (replayed from a sender's queue, a clock running behind) far more often
// than from clocks months ahead. 48 hours covers every pair of time zones
// (UTC+14 to UTC-12 is 26 hours), for a sender whose local stamp is read
// in Options.Location, plus most of a day of clock drift.
const yearMargin = 48 * time.Hour

// resolve turns st into an instant. Without a year in the message it takes
// the latest year that puts the time at most yearMargin after received.
// ok is false only for Feb 29 when that year is not a leap year and the
// year before is not either.
func (st bsdStamp) resolve(loc *time.Location, received time.Time) (time.Time, bool) {
	if st.zone != nil {
		loc = st.zone
	}
	if st.year != 0 {
		return time.Date(st.year, time.Month(st.month), st.day, st.hour, st.minute, st.second, st.nsec, loc), true
	}
	limit := received.Add(yearMargin)
	ry := received.In(loc).Year()
	if st.day <= daysIn(st.month, ry) {
		// Fast path: the received year fits, and the next one cannot
		// (it is at least 365 days later).
		t := time.Date(ry, time.Month(st.month), st.day, st.hour, st.minute, st.second, st.nsec, loc)
		if !t.After(limit) && t.Add(365*24*time.Hour).After(limit) {
			return t, true
		}
	}
	for y := ry + 1; y >= ry-1; y-- {
		if st.day > daysIn(st.month, y) {
			continue
		}
		if t := time.Date(y, time.Month(st.month), st.day, st.hour, st.minute, st.second, st.nsec, loc); !t.After(limit) {
			return t, true
		}
	}
	return time.Time{}, false
}

// monthAt reads a month name at s[i:] and returns the month and the index
// after it, or 0, 0. Any case. The names Logstash's MONTH pattern takes and
// a sender really writes: the English abbreviation or full name ("Jan",
// "January"), and the German ones ("Januar", "Mär", "März", "Mrz", "Mai",
// "Juni", "Juli", "Okt", "Oktober", "Dez", "Dezember"), which Logstash's
// grok takes but its date filter then cannot read. Not "Sept" (Logstash
// neither).
func monthAt(s string, i int) (month, next int) {
	if len(s)-i < 3 {
		return 0, 0
	}
	m := month3(s[i], s[i+1], s[i+2])
	if m == 0 {
		// "mär", "märz": ä is 0xC3 0xA4 in UTF-8.
		if len(s)-i >= 4 && s[i]|0x20 == 'm' && s[i+1] == 0xC3 && s[i+2] == 0xA4 && s[i+3]|0x20 == 'r' {
			if j := i + 4; j < len(s) && s[j]|0x20 == 'z' {
				return 3, j + 1
			}
			return 3, i + 4
		}
		return 0, 0
	}
	j := i + 3
	if j == len(s) || !isAlnum(s[j]) {
		return m, j
	}
	for _, suf := range monthSuffixes[m] {
		if k := j + len(suf); k <= len(s) && strings.EqualFold(s[j:k], suf) && (k == len(s) || !isAlnum(s[k])) {
			return m, k
		}
	}
	return 0, 0
}

// monthSuffixes complete the abbreviations into full names, by month.
var monthSuffixes = [13][]string{
	1: {"uary", "uar"}, 2: {"ruary", "ruar"}, 3: {"ch"}, 4: {"il"}, 6: {"e", "i"}, 7: {"y", "i"},
	8: {"ust"}, 9: {"tember"}, 10: {"ober"}, 11: {"ember"}, 12: {"ember"},
}

// month3 reads a three-letter month abbreviation, English or German, any case.
func month3(a, b, c byte) int {
	switch uint32(a|0x20)<<16 | uint32(b|0x20)<<8 | uint32(c|0x20) {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r', 'm'<<16 | 'r'<<8 | 'z':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y', 'm'<<16 | 'a'<<8 | 'i':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't', 'o'<<16 | 'k'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c', 'd'<<16 | 'e'<<8 | 'z':
		return 12
	}
	return 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// zoneOffsets are the zone names Cisco IOS may print ("service timestamps
// log datetime show-timezone") whose offset is unambiguous. CST, IST, BST
// and AST mean different zones in different places, so they are left out
// and fall back to Options.Location, like any name not listed.
var zoneOffsets = map[string]int{ // minutes east of UTC
	"UTC": 0, "UT": 0, "GMT": 0, "UCT": 0, "Z": 0, "WET": 0,
	"WEST": 60, "CET": 60, "MET": 60, "CEST": 120, "MEST": 120,
	"EET": 120, "EEST": 180, "MSK": 180,
	"HKT": 480, "SGT": 480, "AWST": 480, "JST": 540, "KST": 540,
	"ACST": 570, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
	"EST": -300, "EDT": -240, "CDT": -300, "MST": -420, "MDT": -360,
	"PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
}

func zoneByName(name string) *time.Location {
	off, ok := zoneOffsets[name]
	if !ok {
		return nil
	}
	return fixedZone(off)
}

// zones caches one *time.Location per UTC offset in minutes, so a
// timestamp with an offset costs no allocation after the first.
var zones [2*24*60 + 1]atomic.Pointer[time.Location]

func fixedZone(offMinutes int) *time.Location {
	if offMinutes == 0 {
		return time.UTC
	}
	slot := &zones[offMinutes+24*60]
	if z := slot.Load(); z != nil {
		return z
	}
	z := time.FixedZone("", offMinutes*60)
	slot.Store(z)
	return z
}
