package parsers

import (
	"fmt"
	"time"

	syslogv4 "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/ciscoios"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"gopkg.in/mcuadros/go-syslog.v2/format"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/parser"
)

// got is one parser's answer in logshipper's terms. A library error with
// nothing usable becomes what logshipper does with an unparsable line:
// failed, priority 13, the whole line as message.
type got struct {
	pri    int
	ts     time.Time
	host   string
	prog   string
	pid    string
	msgid  string
	sd     map[string]map[string]string
	sdRaw  string // go-syslog.v2 keeps structured data as one string
	msg    string
	failed bool
	panic  string
}

type contender struct {
	name  string
	parse func(raw []byte, received time.Time) got
}

var contenders = []contender{
	{"logshipper/parser", parseOurs},
	{"leodido/go-syslog/v4", parseLeodido},
	{"leodido/v4 +CiscoIOS(All)", parseLeodidoCisco},
	{"mcuadros/go-syslog.v2", parseMcuadros},
}

var ours = parser.New(parser.Options{Location: time.UTC})

func parseOurs(raw []byte, received time.Time) got {
	ev := event.Event{Raw: raw, Received: received}
	ours.Parse(&ev)
	return got{pri: int(ev.Priority), ts: ev.Timestamp, host: ev.Hostname, prog: ev.Program, pid: ev.PID,
		msgid: ev.MsgID, sd: ev.StructuredData.Map(), msg: ev.Message, failed: ev.ParseFailed}
}

func unparsable(raw []byte) got {
	return got{pri: event.DefaultPriority, msg: string(raw), failed: true}
}

// leodido3164Options is the most capable RFC 3164 configuration the
// library offers for logshipper's mix of senders. The year has to be fixed
// when the machine is made: the library has no per-message "now".
func leodido3164Options(year int) []syslogv4.MachineOption {
	return []syslogv4.MachineOption{
		rfc3164.WithBestEffort(),
		rfc3164.WithRFC3339(),
		rfc3164.WithYear(rfc3164.Year{YYYY: year}),
		rfc3164.WithTimezone(time.UTC),
		rfc3164.WithSecondFractions(),
		rfc3164.WithLenientDay(),
	}
}

// parseLeodido dispatches like logshipper does: "<PRI>1 " to rfc5424 (best
// effort), the rest, and what rfc5424 rejects, to rfc3164 (best effort).
func parseLeodido(raw []byte, received time.Time) (g got) {
	defer func() {
		if r := recover(); r != nil {
			g = got{panic: fmt.Sprint(r)}
		}
	}()
	if looks5424(raw) {
		m, _ := rfc5424.NewMachine(rfc5424.WithBestEffort()).Parse(raw)
		if sm, ok := m.(*rfc5424.SyslogMessage); ok && sm != nil {
			g = fromBase(&sm.Base)
			if sm.StructuredData != nil {
				g.sd = *sm.StructuredData
			}
			return g
		}
	}
	m, _ := rfc3164.NewMachine(leodido3164Options(received.Year())...).Parse(raw)
	sm, ok := m.(*rfc3164.SyslogMessage)
	if !ok || sm == nil {
		return unparsable(raw)
	}
	return fromBase(&sm.Base)
}

// parseLeodidoCisco adds WithCiscoIOSComponents(ciscoios.All) to the RFC
// 3164 options: the library needs the device's exact prefix configuration.
func parseLeodidoCisco(raw []byte, received time.Time) (g got) {
	defer func() {
		if r := recover(); r != nil {
			g = got{panic: fmt.Sprint(r)}
		}
	}()
	if looks5424(raw) {
		return parseLeodido(raw, received)
	}
	opts := append(leodido3164Options(received.Year()), rfc3164.WithCiscoIOSComponents(ciscoios.All))
	m, _ := rfc3164.NewMachine(opts...).Parse(raw)
	sm, ok := m.(*rfc3164.SyslogMessage)
	if !ok || sm == nil {
		return unparsable(raw)
	}
	return fromBase(&sm.Base)
}

func fromBase(b *syslogv4.Base) got {
	var g got
	g.pri = event.DefaultPriority
	if b.Priority != nil {
		g.pri = int(*b.Priority)
	}
	if b.Timestamp != nil {
		g.ts = *b.Timestamp
	}
	g.host = deref(b.Hostname)
	g.prog = deref(b.Appname)
	g.pid = deref(b.ProcID)
	g.msgid = deref(b.MsgID)
	g.msg = deref(b.Message)
	return g
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func looks5424(raw []byte) bool {
	i := 0
	if len(raw) == 0 || raw[0] != '<' {
		return false
	}
	for i = 1; i < len(raw) && raw[i] != '>'; i++ {
	}
	return i+2 < len(raw) && raw[i+1] >= '1' && raw[i+1] <= '9' && raw[i+2] == ' '
}

// parseMcuadros is go-syslog.v2's own format detection and parsers, reached
// through its public format package (the parsers themselves are internal).
func parseMcuadros(raw []byte, _ time.Time) (g got) {
	defer func() {
		if r := recover(); r != nil {
			g = got{panic: fmt.Sprint(r)}
		}
	}()
	p := (&format.Automatic{}).GetParser(raw)
	p.Location(time.UTC)
	if err := p.Parse(); err != nil {
		return unparsable(raw)
	}
	parts := p.Dump()
	g.pri, _ = parts["priority"].(int)
	g.ts, _ = parts["timestamp"].(time.Time)
	g.host, _ = parts["hostname"].(string)
	if _, is5424 := parts["app_name"]; is5424 {
		g.prog, _ = parts["app_name"].(string)
		g.pid, _ = parts["proc_id"].(string)
		g.msgid, _ = parts["msg_id"].(string)
		g.sdRaw, _ = parts["structured_data"].(string)
		g.msg, _ = parts["message"].(string)
		for _, f := range []*string{&g.host, &g.prog, &g.pid, &g.msgid, &g.sdRaw} {
			if *f == "-" {
				*f = ""
			}
		}
	} else {
		g.prog, _ = parts["tag"].(string)
		g.msg, _ = parts["content"].(string)
	}
	return g
}
