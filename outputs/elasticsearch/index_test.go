package elasticsearch

import (
	"sync"
	"testing"
	"time"
)

func TestIndexNames(t *testing.T) {
	at := time.Date(2026, 3, 7, 9, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		pattern, want, template string
		static                  bool
	}{
		{"syslog-msg", "syslog-msg", "syslog-msg*", true},
		{"syslog-msg-%{+yyyy.MM.dd}", "syslog-msg-2026.03.07", "syslog-msg-*", false},
		{"syslog-msg-%{+YYYY.MM.dd}", "syslog-msg-2026.03.07", "syslog-msg-*", false},
		{"syslog-%{+yy}-%{+MM}", "syslog-26-03", "syslog-*", false},
		{"logs-%{+yyyy.MM.dd.HH}", "logs-2026.03.07.09", "logs-*", false},
		{"syslog-%{+yyyy}-msg", "syslog-2026-msg", "syslog-*-msg", false},
		{"s-%{+yyyy'w'MM}", "s-2026w03", "s-*w*", false},
		{"%{+yyyyMMdd}-syslog", "20260307-syslog", "*-syslog", false},
	} {
		ix, err := ParseIndex(tc.pattern)
		if err != nil {
			t.Errorf("ParseIndex(%q): %v", tc.pattern, err)
			continue
		}
		if got := ix.Name(at); got != tc.want {
			t.Errorf("%q: Name = %q, want %q", tc.pattern, got, tc.want)
		}
		if got := ix.TemplatePattern(); got != tc.template {
			t.Errorf("%q: TemplatePattern = %q, want %q", tc.pattern, got, tc.template)
		}
		if ix.Static() != tc.static {
			t.Errorf("%q: Static = %t", tc.pattern, ix.Static())
		}
	}
}

func TestIndexNameUsesUTCAndCache(t *testing.T) {
	ix, err := ParseIndex("syslog-msg-%{+yyyy.MM.dd}")
	if err != nil {
		t.Fatal(err)
	}
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 26, 0, 30, 0, 0, berlin), "syslog-msg-2026.11.25"}, // 23:30 UTC the day before
		{time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC), "syslog-msg-2026.11.26"},
		{time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), "syslog-msg-2026.11.27"},
		{time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), "syslog-msg-2026.11.26"}, // back again
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), "syslog-msg-1969.12.31"}, // negative Unix time
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "syslog-msg-1970.01.01"},
	} {
		if got := ix.Name(tc.t); got != tc.want {
			t.Errorf("Name(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}

	hourly, _ := ParseIndex("x-%{+yyyy.MM.dd.HH}")
	a := hourly.Name(time.Date(2026, 1, 1, 10, 59, 0, 0, time.UTC))
	b := hourly.Name(time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC))
	if a != "x-2026.01.01.10" || b != "x-2026.01.01.11" {
		t.Errorf("hourly: %q %q", a, b)
	}
}

func TestIndexNameConcurrent(t *testing.T) {
	ix, _ := ParseIndex("syslog-msg-%{+yyyy.MM.dd}")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				day := time.Date(2026, 1, 1+(i+g)%3, 12, 0, 0, 0, time.UTC)
				want := string(ix.AppendName(nil, day))
				if got := ix.Name(day); got != want {
					t.Errorf("Name = %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestIndexPatternErrors(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                          `empty index name`,
		"syslog-%{+yyyy.MM.dd":      `"syslog-%{+yyyy.MM.dd": unclosed %{`,
		"syslog-%{host}":            `"syslog-%{host}": %{host} is a field reference; only dates like %{+yyyy.MM.dd} are supported`,
		"syslog-%{+yyyy.MM.dd.mm}":  `"syslog-%{+yyyy.MM.dd.mm}": %{+yyyy.MM.dd.mm}: date field "mm" is not supported; use yyyy, yy, MM, dd, HH and literal text`,
		"syslog-%{+}":               `"syslog-%{+}": %{+}: empty date format; use e.g. %{+yyyy.MM.dd}`,
		"syslog-%{+yyyy'x}":         `"syslog-%{+yyyy'x}": %{+yyyy'x}: unclosed quote`,
		"Syslog-%{+yyyy}":           `"Syslog-%{+yyyy}": index names must be lower case`,
		"sys log":                   `"sys log": index names must not contain ' '; allowed are lower-case letters, digits, '-', '_', '.', '+'`,
		"syslog*":                   `"syslog*": index names must not contain '*'; allowed are lower-case letters, digits, '-', '_', '.', '+'`,
		"_syslog":                   `"_syslog": index names must not start with '_'`,
		"-%{+yyyy}":                 `"-%{+yyyy}": index names must not start with '-'`,
		"s-%{+yyyy'X'}":             `"s-%{+yyyy'X'}": index names must be lower case`,
		"%{+yyyy.MM.dd}/x":          `"%{+yyyy.MM.dd}/x": index names must not contain '/'; allowed are lower-case letters, digits, '-', '_', '.', '+'`,
		"syslog-%{+yyyy.MMM.dd}-x":  `"syslog-%{+yyyy.MMM.dd}-x": %{+yyyy.MMM.dd}: date field "MMM" is not supported; use yyyy, yy, MM, dd, HH and literal text`,
		"syslog-%{[@metadata][x]}":  `"syslog-%{[@metadata][x]}": %{[@metadata][x]} is a field reference; only dates like %{+yyyy.MM.dd} are supported`,
		"syslog-%{+yyyy}%{+ddMMyy}": "",
	} {
		_, err := ParseIndex(pattern)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseIndex(%q): unexpected %v", pattern, err)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("ParseIndex(%q) = %v\nwant %s", pattern, err, want)
		}
	}
}

func BenchmarkIndexName(b *testing.B) {
	ix, _ := ParseIndex("syslog-msg-%{+yyyy.MM.dd}")
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = ix.Name(at.Add(time.Duration(i%1000) * time.Millisecond))
	}
}
