// Package parsers holds no code: its tests measure the syslog parsers
// logshipper could use (gopkg.in/mcuadros/go-syslog.v2,
// github.com/leodido/go-syslog/v4 and logshipper's own package parser) for
// correctness on real-world lines and for speed. README.md has the results
// and the decision.
package parsers
