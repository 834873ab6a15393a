package parser

import "testing"

// TestSWAR checks the eight-bytes-at-a-time tests against the byte tests
// they replace, for every byte value at every position, next to both
// passing and failing neighbours.
func TestSWAR(t *testing.T) {
	isPrint := func(c byte) bool { return c > ' ' && c < 0x7F }
	tests := []struct {
		name string
		word func(uint64) bool
		byte func(byte) bool
	}{
		{"print8", print8, isPrint},
		{"plainValue8", plainValue8, func(c byte) bool { return c != '"' && c != '\\' && c != ']' }},
	}
	for _, tc := range tests {
		for _, base := range []string{"abcdefgh", "\x00\x00\x00\x00\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff\xff\xff", "\x7f\x20\x21\x7e=]\"\\"} {
			for pos := range 8 {
				for c := range 256 {
					b := []byte(base)
					b[pos] = byte(c)
					want := true
					for _, x := range b {
						want = want && tc.byte(x)
					}
					if got := tc.word(load8(string(b), 0)); got != want {
						t.Errorf("%s(%q) = %t, want %t", tc.name, b, got, want)
					}
				}
			}
		}
	}
	if load8("0123456789", 2) != 0x3938373635343332 {
		t.Errorf("load8 = %#x", load8("0123456789", 2))
	}
}
