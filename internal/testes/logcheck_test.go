package testes

import "testing"

// The log-line check itself: duplicate keys at any depth, and text that is
// not one JSON value.
func TestDuplicateKeyCheck(t *testing.T) {
	for _, tc := range []struct{ line, dup string }{
		{`{"level":"info","component":"syslog","message":"up"}`, ""},
		{`{"component":"syslog","component":"inputs/syslog"}`, "component"},
		{`{"a":{"b":1,"b":2}}`, "b"},
		{`{"a":[{"x":1},{"x":2,"x":3}]}`, "x"},
		{`{"a":{"b":1},"b":2}`, ""},
	} {
		if dup, err := DuplicateKey(tc.line); err != nil || dup != tc.dup {
			t.Errorf("%s: duplicate %q, error %v; want %q", tc.line, dup, err, tc.dup)
		}
	}
	for _, bad := range []string{`{"a":1`, `{"a":1} {"b":2}`, `panic: boom`} {
		if _, err := DuplicateKey(bad); err == nil {
			t.Errorf("%s: accepted as one JSON value", bad)
		}
	}
}
