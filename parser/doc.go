// Package parser turns one received syslog line (event.Event.Raw) into the
// event's syslog fields; that is its one job.
//
// # Formats
//
// Every message is looked at on its own. A valid PRI followed by a version
// number, a space and "-" or a date ("<165>1 2003-10-11T...") is RFC 5424,
// read leniently when it breaks the grammar (see below). Anything else with
// a valid PRI is RFC 3164.
//
// # What counts as a parse failure
//
// A line fails to parse exactly when it does not start with a valid PRI:
// '<', the number 0..191 written in one to three digits without leading
// zeros ("0" itself is fine), '>'. So "test", " <13>x", "<13", "<>", "<-1>",
// "<013>", "<192>" and "<999>" all fail. Like rsyslog (which marks an
// out-of-range PRI as invalid and then leaves the line unparsed), an invalid
// PRI is treated as no PRI. Logstash's grok differs at the edges: it reads
// "<999>" (facility 124, no label), refuses "<0>" (POSINT), and, its match
// being unanchored, finds "<13>" after leading garbage (" <13>x"). A failed line gets ParseFailed=true, Format=FormatUnknown,
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
// (any other backslash is kept, as §6.3.3 says; "C:\Windows" is common).
// A UTF-8 BOM at the start of MSG is dropped: it marks the encoding, it is
// not text (go-syslog keeps it). Timestamps keep their offset; a leap
// second (23:59:60) is the first second of the next minute. A repeated
// SD-ID has its params merged into the first element with that ID, and a
// repeated param name (which RFC 5424 allows) keeps its first place and
// its last value (the values filling a map would give).
//
// A line is RFC 5424 when "<PRI>VERSION SP" is followed by "-" or by a
// date ("2003-10-11T..."). Such a line that breaks the grammar is not
// rejected and does not lose its header, as it did before (and as strict
// parsers reject it): every valid header field is kept, what cannot be
// read as structured data stays at the start of MSG, and Malformed is set
// (tag "_rfc5424_malformed"), so such senders can be found. Malformed
// means exactly "a strict RFC 5424 parser rejects this line" (TestPeers
// checks it against go-syslog's and syslog-ng's rejections):
//
//   - TIMESTAMP without a UTC offset ("2009-10-16T11:51:56"): read in
//     Options.Location, as an RFC 3164 stamp; not a time at all ("Feb 30",
//     text after the zone): TimestampRaw kept, Timestamp zero (@timestamp
//     is the receive time); more than 6 fraction digits: read (up to 9).
//   - A header field with a byte outside PRINTUSASCII ("hôte"), an empty
//     one (two spaces), or longer than RFC 5424 allows (HOSTNAME 255,
//     APP-NAME 48, PROCID 128, MSGID 32; SD-NAMEs 32): kept whole.
//   - The line ends inside the header: the fields there are kept.
//   - STRUCTURED-DATA read leniently, as rsyslog, syslog-ng and grok
//     readers do: spaces around '=' or before ']' (RFC 5424's own example
//     is printed as 'eventSource= "Application"'), a value without quotes
//     ("[meta sequenceId=10]", up to the next space or ']'), an unescaped
//     ']' inside a quoted value, a repeated SD-ID, no space before MSG.
//   - STRUCTURED-DATA that cannot be read even so ("[incorrect x]", an
//     unclosed '[' or quote): no structured data; MSG starts at the '['.
//   - An empty STRUCTURED-DATA field ("- -  info", logstash-patterns-core's
//     SYSLOG5424LINE test) or none at all: no structured data; MSG follows.
//
// "<13>1 failed login" (no date after the version) stays RFC 3164.
//
// # RFC 3164
//
// For a line Logstash's syslog input parses, the fields are the ones its
// grok pattern <%{POSINT:priority}>%{SYSLOGLINE} captures
// (logstash-patterns-core, legacy/grok-patterns), so dashboards built on
// Logstash's documents keep working; ../outputs/elasticsearch/testdata/
// logstash-compat holds the proof, line by line. Where Logstash fails, the
// heuristics follow rsyslog's pmrfc3164 and Logstash's ECS pattern (which
// makes the hostname optional), with the differences noted:
//
//   - After the PRI, a message whose first non-blank byte is '{' or '[' has no
//     header (rsyslog's "headerless" rule): all of it is Message.
//   - Timestamp: RFC 3339/ISO 8601 ("2003-10-11T22:14:15.003Z", an offset
//     or, unlike rsyslog, no zone at all meaning Options.Location; a space
//     for the 'T' as TIMESTAMP_ISO8601 allows) or BSD "Mmm dd hh:mm:ss"
//     with the variants rsyslog accepts: month names in any case (also
//     full and German ones, which Logstash's MONTH takes: "January",
//     "Okt", "März"; not "Sept"), "Mmm
//     d"/"Mmm d"/"Mmm 05", a year before the month ("2024 Jan  5 ...") or
//     before the time ("Jan 05 2024 12:34:56"), fractional seconds after
//     '.' or ',' (Logstash's SECOND; its date filter then fails and keeps
//     the receive time, we keep the header time), a '.' with no digits,
//     one trailing ':' (Cisco, ASA) and one stray leading space (HP
//     ProCurve). Also Cisco IOS's leading '*' or '.' (clock not in sync)
//     and a zone name before that trailing ':' ("00:00:00.123 UTC:"). Zone
//     names in a fixed table with an unambiguous offset are understood
//     (UTC, GMT, CET, CEST, EST, PDT, ...); after Cisco prefixes any other
//     1-5 upper-case letters are taken as a zone too but mean
//     Options.Location. TimestampRaw is the timestamp as sent, without the
//     '*' and the trailing ':'.
//   - The year of a BSD stamp, which has none: the latest year that puts the
//     stamp at most 48 hours after ev.Received (in Options.Location).
//     Messages arrive late (replayed from a sender's queue after an
//     outage, a clock running behind) far more often than from clocks
//     months ahead, so "Feb  5" received on 4 December is this February,
//     not next year's. 48 hours covers every pair of time zones (UTC+14 to
//     UTC-12 is 26 hours) plus most of a day of clock drift. So "Dec 31
//     23:59:59" received on 1 January is last year, "Jan  1 00:00:05"
//     received at 23:59:58 on 31 December next year. (Logstash's date
//     filter and syslog-ng take the current year but for the December /
//     January turn, which indexes a stamp from last February months in the
//     future.) A Feb 29 stamp whose chosen year and the one before are not
//     leap years keeps TimestampRaw but gets a zero Timestamp.
//   - Cisco IOS prefixes: up to two "digits: " groups (message counter,
//     sequence number; the first may be empty, ": ") and then an optional
//     "hostname: " (logging origin-id) are skipped when a timestamp or a
//     %FACILITY-SEVERITY-MNEMONIC follows them.
//   - Hostname, only after a timestamp: a word of letters, digits, '.',
//     '_' and '-' followed by a space (Logstash's HOSTNAME, and rsyslog's
//     '_', on which Logstash fails the whole line), or an IPv6 address
//     followed by a space. A word that ends the line is the message, as in
//     Logstash's ECS pattern (rsyslog takes it for the hostname). Without a
//     timestamp no hostname is looked for: in that position rsyslog finds
//     "hostnames" such as the first word of a sentence.
//   - Program and PID: Logstash's " %{SYSLOGPROG}:" followed by a space.
//     PROG is a run of printable ASCII but '[' and ']' (so it may hold ':'
//     and '/': "OX-XXX-CONTEUDO:rpd", "postfix/smtpd", "ansible-<stdin>"),
//     optionally followed by "[POSINT]" (a positive number without a
//     leading zero), then ':' and a space; the longest such PROG wins
//     ("a:b: x" is program "a:b"). Anything else is no program and stays in
//     Message: a word without ':' ("host a sample message", Logstash's own
//     spec; rsyslog would take "a"), "monit[2340:0]:" (no POSINT),
//     "prog[0]:", "prog:text", "prog:" at the end of the line,
//     tab-separated NXLog bodies. Unlike Logstash, more than one space
//     before the program is forgiven. Without a timestamp the same rule
//     applies after any spaces ("<15> openvpn[2499]: ..."), but an
//     all-digit program is not one (Cisco's "123: " counter).
//   - Message is what follows the program's ": ", or the hostname's space
//     when there is no program: further spaces are kept, as Logstash's
//     GREEDYDATA keeps them.
//
// # Where the peers' own tests expect otherwise
//
// TestPeers runs the field expectations of rsyslog's, syslog-ng's and
// leodido/go-syslog's parser tests (testdata/peers); each difference is
// listed there with its reason, and the decisions are these:
//
//   - A tag without ": " after it (rsyslog: "host tag msg" is program
//     "tag"; go-syslog: "monit[2340:0]:", "sched[0]:", "IP6[015]:"): no
//     program, Logstash's rule above, which dashboards depend on.
//   - A last word after the stamp: the message (rsyslog: the hostname).
//   - No PRI: a parse failure (rsyslog and syslog-ng parse the rest).
//   - The year: the 48-hour rule above (syslog-ng: the current year).
//   - A year after the time ("21:28:13 2007 linksys", syslog-ng): not read;
//     "2007" is the hostname, as in Logstash.
//   - syslog-ng's "Message forwarded from HOST:" special case: not copied.
//   - Length limits: kept whole, flagged Malformed (syslog-ng truncates).
//   - A strict parser's rejection (go-syslog, syslog-ng) is our Malformed,
//     or RFC 3164 when the line does not start like RFC 5424; never a
//     lost line. The BOM is dropped (go-syslog keeps it).
//
// Every string field is a substring of Raw (only unescaped SD values are
// new strings), so Message is always Raw's text minus a prefix, minus a BOM
// in RFC 5424. Parse allocates one string for Raw plus, for structured
// data, one block (one element of up to 8 params: nearly every message)
// or two (the elements, all params), plus one per unescaped value.
package parser
