// Package parser turns one received syslog line (event.Event.Raw) into the
// event's syslog fields; that is its one job.
//
// # Formats
//
// Every message is looked at on its own. A valid PRI followed by a version
// number and a space ("<165>1 ") is tried as RFC 5424; when the RFC 5424
// grammar does not match, the same line goes through the RFC 3164 heuristics
// instead. Anything else with a valid PRI is RFC 3164.
//
// # What counts as a parse failure
//
// A line fails to parse exactly when it does not start with a valid PRI:
// '<', the number 0..191 written in one to three digits without leading
// zeros ("0" itself is fine), '>'. So "test", " <13>x", "<13", "<>", "<-1>",
// "<013>", "<192>" and "<999>" all fail. Like Logstash's syslog input (whose
// grok pattern needs <POSINT>) and like rsyslog (which marks an out-of-range
// PRI as invalid and then leaves the line unparsed), an invalid PRI is treated
// as no PRI. A failed line gets ParseFailed=true, Format=FormatUnknown,
// Priority=event.DefaultPriority (13, the value RFC 3164 §4.3.3 has a relay
// give such a message), a zero Timestamp (so @timestamp is the receive time)
// and Message = string(Raw), byte for byte, invalid UTF-8 included.
//
// A line with a valid PRI never fails: whatever follows the PRI that no
// header rule recognises is kept as the message. "<13>" alone is an RFC 3164
// message with an empty Message, and a FortiGate line
// ("<189>date=2024-01-05 time=12:34:56 devname=...") is Priority 189 with
// everything after the PRI as Message.
//
// # RFC 5424
//
// HEADER SP STRUCTURED-DATA [SP MSG]. NILVALUE ("-") leaves a field empty.
// Structured data goes into event.StructuredData, elements and params in
// message order, with the escapes \" \\ and \] removed from PARAM-VALUEs
// (any other backslash is kept, as §6.3.3 says). A UTF-8 BOM at the start
// of MSG is dropped. Timestamps keep their offset. Lenient where it cannot
// put text in the wrong field: field length limits are not enforced,
// TIME-SECFRAC may have up to 9 digits (more are read but ignored), an
// unescaped ']' inside a quoted PARAM-VALUE is accepted, a repeated SD-ID
// has its params merged into the first element with that ID, and a
// repeated param name keeps its first place and its last value (the
// values filling a map would give).
//
// # RFC 3164
//
// The heuristics follow rsyslog's pmrfc3164, with the differences noted:
//
//   - After the PRI, a message whose first non-blank byte is '{' or '[' has no
//     header (rsyslog's "headerless" rule): all of it is Message.
//   - Timestamp: RFC 3339/ISO 8601 ("2003-10-11T22:14:15.003Z", an offset
//     or, unlike rsyslog, no zone at all meaning Options.Location) or BSD
//     "Mmm dd hh:mm:ss" with the variants rsyslog accepts: month names in any
//     case, "Mmm  d"/"Mmm d"/"Mmm 05", a year before the month ("2024 Jan  5
//     ...") or before the time ("Jan 05 2024 12:34:56"), fractional seconds,
//     one trailing ':' (Cisco, ASA) and one stray leading space (HP
//     ProCurve). Also Cisco IOS's leading '*' or '.' (clock not in sync) and
//     a zone name before that trailing ':' ("00:00:00.123 UTC:"). Zone names
//     in a fixed table with an unambiguous offset are understood (UTC, GMT,
//     CET, CEST, EST, PDT, ...); after Cisco prefixes any other 1-5
//     upper-case letters are taken as a zone too but mean Options.Location.
//     TimestampRaw is the timestamp as sent, without the '*' and the trailing
//     ':'.
//   - A BSD timestamp has no year: the year is the one of (received year - 1,
//     received year, received year + 1) that puts the time nearest to
//     ev.Received, in Options.Location. A Feb 29 stamp with no leap year
//     among those three keeps TimestampRaw but gets a zero Timestamp.
//   - Cisco IOS prefixes: up to two "digits: " groups (message counter,
//     sequence number; the first may be empty, ": ") and then an optional
//     "hostname: " (logging origin-id) are skipped when a timestamp or a
//     %FACILITY-SEVERITY-MNEMONIC follows them.
//   - Hostname, only after a timestamp: as rsyslog, a word of letters,
//     digits, '.', '_' and '-' that ends in a letter or digit and is followed
//     by a space (or ends the line). Unlike rsyslog, an IPv6 address (hex
//     digits and ':' with "::" or seven colons) followed by a space is a
//     hostname too. Without a timestamp no hostname is looked for: in that
//     position rsyslog finds "hostnames" such as the first word of a
//     sentence.
//   - Tag, after a timestamp: as rsyslog, everything up to the first ':' or
//     space (and, unlike rsyslog, tab: NXLog/Snare bodies are tab
//     separated), at most 510 bytes; a longer word is not a tag. The colon is
//     optional, so "host app msg" has Program "app". Without a timestamp a
//     tag must end in ':' followed by a space, a tab or the end of the line,
//     and must not be all digits (rsyslog's force.tagEndingByColon, which
//     keeps "date=2024-01-05 time=..." and "Error at 12:00" out of Program).
//   - Program is the tag up to '[', PID what is between "[...]" at its end;
//     '/' stays in Program ("postfix/smtpd"). Message is what follows the
//     tag and its colon, minus exactly one space or tab (Logstash's
//     "program[pid]: message").
//
// Every string field is a substring of Raw (only unescaped SD values are
// new strings), so Message is always Raw's text minus a prefix, minus a BOM
// in RFC 5424. Parse allocates one string for Raw plus, for structured
// data, one block (one element of up to 8 params: nearly every message)
// or two (the elements, all params), plus one per unescaped value.
package parser
