// Package event defines the one value that flows through logshipper: a
// syslog message as received and as parsed. Inputs fill it, the parser
// completes it, the pipeline batches it and outputs encode it.
package event

import "time"

// Format says which grammar matched a message.
type Format uint8

const (
	// FormatUnknown: no syslog grammar matched; the line is kept verbatim and
	// tagged TagParseFailure.
	FormatUnknown Format = iota
	FormatRFC3164
	FormatRFC5424
)

func (f Format) String() string {
	switch f {
	case FormatRFC3164:
		return "rfc3164"
	case FormatRFC5424:
		return "rfc5424"
	default:
		return "unknown"
	}
}

// Tags logshipper sets, named as Logstash names them so dashboards and
// alerts written for Logstash keep working.
const (
	// TagParseFailure is the tag_on_failure of Logstash's syslog input,
	// in both of its ECS modes.
	TagParseFailure = "_grokparsefailure_sysloginput"
	TagTruncated    = "_truncated"
	// TagMalformed marks RFC 5424 that breaks the grammar but was read
	// leniently (Logstash has no RFC 5424; the name follows its style).
	TagMalformed = "_rfc5424_malformed"
)

// Default priority of a line that is not syslog: facility 1 (user-level),
// severity 5 (notice), as Logstash's syslog input assigns.
const DefaultPriority = 13

// Event is one received message. Zero values mean "absent": an empty
// Program was not in the header, PID "" had none, Timestamp.IsZero() means
// the header carried no usable time.
type Event struct {
	// ID identifies the event to Elasticsearch (_id, indexed with op_type
	// create), so that a re-sent event is recognised (409) instead of
	// indexed twice. It is set once, when the event is queued, and kept
	// through every retry; empty lets Elasticsearch choose an id.
	ID string

	// Set by the input.
	Received  time.Time // when logshipper read the message; @timestamp fallback
	Transport string    // "tcp" or "udp"
	SourceIP  string    // sender address without port
	// ProxyIP is the load balancer's address when a PROXY protocol header
	// named the sender (then SourceIP is the sender the header names);
	// empty otherwise.
	ProxyIP string
	// Raw is the message as framed: no framing, no trailing CR/LF/NUL. It
	// is never changed once the event is made, and its memory may be
	// shared with other events' (inputs and the disk buffer carve it from
	// blocks): the parser's string fields point into it.
	Raw       []byte
	Truncated bool // Raw was cut at the maximum message size

	// Set by the parser. (Format, ParseFailed, Malformed, Version and
	// Priority share a word with Truncated: an Event is 272 bytes, in the
	// 288-byte allocator size class, see TestEventSize.)
	Format         Format
	ParseFailed    bool
	Malformed      bool           // RFC5424 that breaks the grammar, read leniently (TagMalformed)
	Version        int16          // RFC5424 only (1; at most 3 digits)
	Priority       int16          // 0..191; DefaultPriority when absent or out of range
	Timestamp      time.Time      // header time resolved to an instant; zero if none
	TimestampRaw   string         // header time exactly as sent
	Hostname       string         // header hostname (Logstash: logsource)
	Program        string         // RFC3164 tag / RFC5424 APP-NAME
	PID            string         // RFC3164 [pid] / RFC5424 PROCID
	MsgID          string         // RFC5424 only
	StructuredData StructuredData // RFC5424 only; nil when absent
	Message        string         // the free-text part; the whole Raw line on parse failure

	// Document, when set, is the event already encoded by an edge shipper
	// and read back from the queue tier (Kafka, Redis): the indexer sends
	// it as it is, to its index, and neither parses nor encodes it again.
	Document *Document
}

// Document is a finished Elasticsearch document and where it goes.
type Document struct {
	Index string // the target index, date pattern already resolved
	Body  []byte // the JSON document
}

// Size is the event's bytes as the queues count them: the message as
// received, or the finished document when it came as one.
func (e *Event) Size() int {
	if e.Document != nil {
		return len(e.Document.Body)
	}
	return len(e.Raw)
}

// Facility is the syslog facility code (Priority / 8).
func (e *Event) Facility() int { return int(e.Priority) / 8 }

// Severity is the syslog severity code (Priority % 8).
func (e *Event) Severity() int { return int(e.Priority) % 8 }

// Time is the event's @timestamp: the header time when there is one,
// otherwise the receive time.
func (e *Event) Time() time.Time {
	if e.Timestamp.IsZero() {
		return e.Received
	}
	return e.Timestamp
}

// Tags lists the Logstash-style tags for this event, in a stable order.
func (e *Event) Tags() []string {
	var tags []string
	if e.ParseFailed {
		tags = append(tags, TagParseFailure)
	}
	if e.Malformed {
		tags = append(tags, TagMalformed)
	}
	if e.Truncated {
		tags = append(tags, TagTruncated)
	}
	return tags
}

// facilityLabels are the defaults of Logstash's syslog input (not of its
// syslog_pri filter, which says "daemon" and lower-cases the severities).
var facilityLabels = [...]string{
	"kernel", "user-level", "mail", "system", "security/authorization",
	"syslogd", "line printer", "network news", "UUCP", "clock",
	"security/authorization", "FTP", "NTP", "log audit", "log alert",
	"clock", "local0", "local1", "local2", "local3", "local4", "local5",
	"local6", "local7",
}

var severityLabels = [...]string{
	"Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
	"Informational", "Debug",
}

// FacilityLabel is the facility's name as Logstash's syslog input writes it ("user-level", "local0", ...).
func FacilityLabel(code int) string {
	if code < 0 || code >= len(facilityLabels) {
		return ""
	}
	return facilityLabels[code]
}

// SeverityLabel is the severity's name as Logstash writes it ("Notice").
func SeverityLabel(code int) string {
	if code < 0 || code >= len(severityLabels) {
		return ""
	}
	return severityLabels[code]
}
