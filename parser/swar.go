package parser

// Eight bytes at a time ("SWAR") for the loops that scan RFC 5424 header
// fields and PARAM-VALUEs (SD-NAMEs are too short to gain, and the byte
// loop keeps sdName inlined). Each test sets the high bit of a byte that
// fails it; the tests are exact as booleans for the whole word.

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word; i+8 <= len(s). The
// compiler turns this into one load.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasByte sets the high bit of the word when some byte of w is c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (lsb8 * uint64(c))
	return (x - lsb8) &^ x
}

// notPrint sets the high bit when some byte of w is not PRINTUSASCII
// (0x21..0x7E): below 0x21, or 0x7F and above.
func notPrint(w uint64) uint64 {
	return (w-0x21*lsb8)&^w | (w + lsb8) | w
}

// print8 reports whether all eight bytes of w are PRINTUSASCII.
func print8(w uint64) bool { return notPrint(w)&msb8 == 0 }

// plainValue8 reports whether none of the eight bytes of w is '"', '\\'
// or ']' (the bytes a PARAM-VALUE scan looks at).
func plainValue8(w uint64) bool {
	return (hasByte(w, '"')|hasByte(w, '\\')|hasByte(w, ']'))&msb8 == 0
}

// prog8 reports whether all eight bytes of w are in Logstash's PROG class:
// PRINTUSASCII but '[' and ']'.
func prog8(w uint64) bool {
	return (notPrint(w)|hasByte(w, '[')|hasByte(w, ']'))&msb8 == 0
}
