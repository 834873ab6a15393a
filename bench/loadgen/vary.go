package main

// Varied messages (-vary): instead of one template whose copies differ only
// in their sequence number, a pool of distinct messages, generated
// deterministically from a seed (and the run id and the time of the run),
// is cycled through: message seq is pool[seq % len(pool)] with its nine
// digits patched in. What varies: priority (facility and severity),
// timestamp (a few minutes around now, a fifth of them days back so both
// RFC3164 day forms occur; RFC5424 with and without fractional seconds, Z
// and numeric offsets), hostname (a few hundred: short, FQDN, IPv4),
// program (~50, with and without [pid]), pid, MSGID and structured data
// (RFC5424: none, one or two elements, escaped characters), the text
// (sshd, kernel, nginx, cron, postfix, logfmt, JSON, klog, ... lines with
// paths, IPs, quotes and some UTF-8) and its length (60 B to 1 KiB,
// mostly 100-300 B, mean about 200 B). Each message still carries
// "run=RUNID seq=NNNNNNNNN" exactly once (at a varying place in its text),
// so the sink counts it as before.

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// DefaultPoolSize is how many distinct messages -vary generates.
const DefaultPoolSize = 8192

// Length of the varied messages without framing: at least MinVariedLen
// (unless a header alone is longer), at most MaxVariedLen.
const (
	MinVariedLen = 60
	MaxVariedLen = 1024
)

// Pool is a set of distinct framed messages; message seq of a run is
// Msgs[seq%len(Msgs)] with its sequence digits at SeqOff.
type Pool struct {
	Format string
	Octet  bool // octet-counted framing ("LEN " before, no LF after)
	UDP    bool // one datagram per message: no LF, no octet count
	Msgs   [][]byte
	SeqOff []int // offset of the first digit inside Msgs[i]
	// BodyLens are the lengths without framing.
	BodyLens []int
}

// MeanBodyLen is the mean length without framing over the pool.
func (p *Pool) MeanBodyLen() float64 {
	var s int
	for _, l := range p.BodyLens {
		s += l
	}
	return float64(s) / float64(len(p.BodyLens))
}

// MeanLen is the mean framed length over the pool.
func (p *Pool) MeanLen() float64 {
	var s int
	for _, m := range p.Msgs {
		s += len(m)
	}
	return float64(s) / float64(len(p.Msgs))
}

// MinMaxBodyLen are the shortest and longest lengths without framing.
func (p *Pool) MinMaxBodyLen() (lo, hi int) {
	lo = math.MaxInt
	for _, l := range p.BodyLens {
		lo, hi = min(lo, l), max(hi, l)
	}
	return lo, hi
}

// Fill writes messages first..first+n-1 framed into one buffer; offs has
// n+1 entries, message i is buf[offs[i]:offs[i+1]].
func (p *Pool) Fill(first int64, n int) (buf []byte, offs []int) {
	np := int64(len(p.Msgs))
	total := 0
	for i := 0; i < n; i++ {
		total += len(p.Msgs[(first+int64(i))%np])
	}
	buf = make([]byte, total)
	offs = make([]int, n+1)
	o := 0
	for i := 0; i < n; i++ {
		seq := first + int64(i)
		k := seq % np
		m := p.Msgs[k]
		copy(buf[o:], m)
		d := buf[o+p.SeqOff[k] : o+p.SeqOff[k]+SeqDigits]
		for j := SeqDigits - 1; j >= 0; j-- {
			d[j] = byte('0' + seq%10)
			seq /= 10
		}
		o += len(m)
		offs[i+1] = o
	}
	return buf, offs
}

// NewPool generates size distinct messages of format (rfc3164, rfc5424,
// octet, raw) for run runID, with timestamps around now, from seed.
func NewPool(format, runID string, now time.Time, udp bool, size int, seed uint64) (*Pool, error) {
	if size < 1 || size > 1<<20 {
		return nil, fmt.Errorf("pool size %d: want 1..%d", size, 1<<20)
	}
	if err := checkRunID(runID); err != nil {
		return nil, err
	}
	if runID == "" {
		runID = "0"
	}
	switch format {
	case FormatRFC3164, FormatRFC5424, FormatOctet, FormatRaw:
	default:
		return nil, fmt.Errorf("format %q: want rfc3164, rfc5424, octet or raw", format)
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x6c6f67736869707)), now: now.UTC()}
	g.hosts = g.makeHosts(300)
	p := &Pool{Format: format, Octet: format == FormatOctet && !udp, UDP: udp}
	token := "run=" + runID + " seq="
	seen := make(map[string]bool, size)
	for len(p.Msgs) < size {
		head, prog := g.message(format)
		target := g.length()
		budget := target - len(head) - len(token) - SeqDigits - 1
		if budget < 12 {
			budget = 12 + g.r.IntN(24)
		}
		text := cut(g.text(prog, budget), budget)
		// The token goes at the end, the start or after a word.
		var body []byte
		body = append(body, head...)
		var seqOff int
		switch pos := g.r.IntN(10); {
		case pos < 2: // start
			body = append(body, token...)
			seqOff = len(body)
			body = append(body, "000000000 "...)
			body = append(body, text...)
		case pos < 6 && strings.IndexByte(text, ' ') > 0: // after some word
			sp := spaces(text)
			at := sp[g.r.IntN(len(sp))]
			body = append(body, text[:at+1]...)
			body = append(body, token...)
			seqOff = len(body)
			body = append(body, "000000000"...)
			body = append(body, text[at:]...)
		default: // end
			body = append(body, text...)
			body = append(body, ' ')
			body = append(body, token...)
			seqOff = len(body)
			body = append(body, "000000000"...)
		}
		if seen[string(body)] {
			continue
		}
		seen[string(body)] = true
		var framed []byte
		switch {
		case p.Octet:
			n := strconv.Itoa(len(body)) + " "
			framed = append([]byte(n), body...)
			seqOff += len(n)
		case udp:
			framed = body
		default:
			framed = append(body, '\n')
		}
		p.Msgs = append(p.Msgs, framed)
		p.SeqOff = append(p.SeqOff, seqOff)
		p.BodyLens = append(p.BodyLens, len(body))
	}
	return p, nil
}

func checkRunID(runID string) error {
	for _, c := range []byte(runID) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("run id %q: only letters, digits, '-' and '_'", runID)
		}
	}
	return nil
}

// spaces are the indexes of the blanks in s.
func spaces(s string) []int {
	var sp []int
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 {
			sp = append(sp, i)
		}
	}
	return sp
}

// cut shortens s to at most n bytes, after a whole word if one ends in
// the last 16 bytes, else on a UTF-8 boundary; without a trailing blank.
func cut(s string, n int) string {
	if len(s) > n {
		if sp := strings.LastIndexByte(s[:n+1], ' '); sp > 0 && sp >= n-16 {
			n = sp
		}
		for n > 0 && s[n]&0xC0 == 0x80 { // continuation byte
			n--
		}
		s = s[:n]
	}
	s = strings.TrimRight(s, " ")
	if s == "" {
		s = "-"
	}
	return s
}

type gen struct {
	r     *rand.Rand
	now   time.Time
	t     time.Time // the message's time (header and text)
	hosts []string
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *gen) n(lo, hi int) int       { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) chance(pct int) bool    { return g.r.IntN(100) < pct }

// length draws a message length (without framing): lognormal around 155
// bytes for most, a tail up to MaxVariedLen.
func (g *gen) length() int {
	var l float64
	if g.chance(5) {
		l = float64(g.n(400, MaxVariedLen))
	} else {
		l = 155 * math.Exp(0.45*g.r.NormFloat64())
	}
	return max(MinVariedLen, min(MaxVariedLen, int(l)))
}

var (
	hostRoles   = []string{"web", "app", "db", "cache", "lb", "mq", "worker", "api", "auth", "k8s-node", "edge", "ns", "mail", "vpn", "backup", "mon", "ci-runner", "gw", "fw", "storage", "es-data", "kafka", "redis", "pg", "build", "jump", "proxy", "nas"}
	hostDomains = []string{"prod.example.com", "eu-west-1.compute.internal", "corp.example.org", "dc2.acme.net", "lan", "staging.example.com", "int.example.net", "us-east-2.compute.internal"}
)

// makeHosts is n distinct host names: short names, FQDNs, IPv4 addresses.
func (g *gen) makeHosts(n int) []string {
	seen := map[string]bool{}
	var hs []string
	for len(hs) < n {
		var h string
		switch k := g.r.IntN(10); {
		case k < 4:
			h = fmt.Sprintf("%s-%02d", g.pick(hostRoles), g.n(1, 60))
		case k < 7:
			h = fmt.Sprintf("%s-%02d.%s", g.pick(hostRoles), g.n(1, 30), g.pick(hostDomains))
		case k < 9:
			h = g.ip()
		default:
			h = fmt.Sprintf("ip-10-%d-%d-%d.%s", g.n(0, 255), g.n(0, 255), g.n(1, 254), g.pick(hostDomains[1:2]))
		}
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	return hs
}

func (g *gen) ip() string {
	switch g.r.IntN(5) {
	case 0:
		return fmt.Sprintf("10.%d.%d.%d", g.n(0, 255), g.n(0, 255), g.n(1, 254))
	case 1:
		return fmt.Sprintf("192.168.%d.%d", g.n(0, 20), g.n(1, 254))
	case 2:
		return fmt.Sprintf("172.%d.%d.%d", g.n(16, 31), g.n(0, 255), g.n(1, 254))
	case 3:
		return fmt.Sprintf("203.0.113.%d", g.n(1, 254))
	default:
		return fmt.Sprintf("%d.%d.%d.%d", g.n(1, 223), g.n(0, 255), g.n(0, 255), g.n(1, 254))
	}
}

// program is a sender: its name, whether it writes [pid], its usual
// facility and the kind of line it writes.
type program struct {
	name string
	pid  bool
	fac  int
	kind int
}

const (
	kSSH = iota
	kKernel
	kNginx
	kCron
	kSystemd
	kMail
	kLogfmt
	kJSON
	kKlog
	kSudo
	kDB
	kDaemon
)

var programs = []program{
	{"sshd", true, 10, kSSH}, {"sshd", true, 4, kSSH}, {"sudo", false, 10, kSudo}, {"su", true, 10, kSudo},
	{"CRON", true, 9, kCron}, {"cron", true, 9, kCron}, {"anacron", true, 9, kCron},
	{"kernel", false, 0, kKernel}, {"kernel", false, 0, kKernel},
	{"systemd", true, 3, kSystemd}, {"systemd-logind", true, 3, kSystemd}, {"systemd-resolved", true, 3, kDaemon},
	{"systemd-networkd", true, 3, kDaemon}, {"dbus-daemon", true, 3, kDaemon}, {"NetworkManager", true, 3, kDaemon},
	{"dhclient", true, 3, kDaemon}, {"chronyd", true, 3, kDaemon}, {"ntpd", true, 3, kDaemon},
	{"nginx", false, 23, kNginx}, {"nginx", true, 23, kNginx}, {"haproxy", true, 16, kNginx}, {"apache2", false, 17, kNginx},
	{"postfix/smtpd", true, 2, kMail}, {"postfix/qmgr", true, 2, kMail}, {"postfix/cleanup", true, 2, kMail}, {"dovecot", false, 2, kMail},
	{"named", true, 3, kDaemon}, {"dnsmasq", true, 3, kDaemon},
	{"containerd", true, 3, kJSON}, {"dockerd", true, 3, kJSON}, {"kubelet", true, 3, kKlog}, {"kube-proxy", false, 3, kKlog},
	{"etcd", true, 3, kJSON}, {"prometheus", false, 3, kLogfmt}, {"node_exporter", false, 3, kLogfmt}, {"grafana-server", true, 3, kLogfmt},
	{"mysqld", true, 3, kDB}, {"postgres", true, 16, kDB}, {"redis-server", true, 3, kDaemon}, {"mongod", true, 3, kJSON},
	{"java", true, 1, kLogfmt}, {"python3", true, 1, kLogfmt}, {"app-api", false, 19, kLogfmt}, {"payments-svc", true, 19, kJSON},
	{"auth-gateway", false, 20, kLogfmt}, {"auditd", true, 13, kDaemon}, {"snapd", true, 3, kDaemon}, {"polkitd", true, 10, kDaemon},
	{"login", true, 10, kSSH}, {"zabbix_agentd", true, 3, kDaemon}, {"fail2ban-server", false, 3, kDaemon}, {"php-fpm", true, 3, kLogfmt},
	{"vault", true, 3, kJSON}, {"consul", true, 3, kLogfmt}, {"tomcat9", true, 3, kLogfmt},
}

var (
	users    = []string{"root", "alice", "bob", "deploy", "ubuntu", "git", "postgres", "www-data", "nagios", "admin", "jenkins", "zoë", "jörg", "łukasz", "svc_backup", "ec2-user", "oracle", "test"}
	people   = []string{"Zoë Müller", "Jörg Schäfer", "Łukasz Żółć", "François Lefèvre", "José Núñez", "Åsa Öberg", "山田太郎", "Иван Петров", "O'Brien", "Anne-Marie", "bob"}
	methods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"}
	statuses = []string{"200", "200", "200", "200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "404", "429", "500", "502", "503"}
	urlPaths = []string{"/", "/index.html", "/api/v1/users", "/api/v1/orders/%d", "/api/v2/search?q=%s&page=%d", "/static/js/app.%s.js", "/healthz", "/metrics", "/login?next=%%2Fdashboard", "/wp-login.php", "/images/logo.png", "/api/v1/items/%d/reviews?sort=-date", "/.env", "/favicon.ico", "/cgi-bin/luci;stok=/locale"}
	agents   = []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
		"curl/7.88.1", "Go-http-client/1.1", "kube-probe/1.28", "Prometheus/2.48.0", "python-requests/2.31.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	}
	paths   = []string{"/var/log/syslog", "/etc/nginx/conf.d/default.conf", "/home/%s/.ssh/authorized_keys", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/var/lib/docker/overlay2/%s/merged", "/tmp/tmp.%s", "/srv/data/export-%d.csv", "/proc/%d/status", "/etc/ssl/private/server.key", "/opt/app/config/application.yml", "/var/spool/cron/crontabs/%s", "/run/user/%d/bus"}
	units   = []string{"nginx", "docker", "ssh", "cron", "apt-daily", "apt-daily-upgrade", "logrotate", "fstrim", "systemd-tmpfiles-clean", "certbot", "backup", "node-exporter", "postgresql@15-main", "user@1000"}
	phrases = []string{"request completed", "connection refused", "upstream timed out", "cache miss", "retrying after error", "configuration reloaded", "listening for connections", "health check passed", "slow query detected", "token expired", "rate limit exceeded", "flushing buffers", "leader elected", "compaction finished", "checkpoint complete", "ungültige Eingabe", "délai dépassé", "接続がタイムアウトしました", "ошибка соединения", "ok ✓", "done — 3 items"}
	words   = []string{"the", "a", "to", "for", "from", "with", "on", "in", "after", "before", "failed", "started", "stopped", "connection", "session", "user", "client", "server", "timeout", "error", "warning", "retry", "queue", "worker", "cache", "disk", "memory", "socket", "handshake", "certificate", "request", "response", "latency", "batch", "shard", "replica", "lease", "token", "upstream", "backend", "pool"}
	keys    = []string{"user", "src", "dst", "bytes", "path", "latency_ms", "trace_id", "span_id", "uri", "agent", "comment", "attempt", "host", "port", "status", "component", "region", "tenant", "err", "file", "size", "elapsed", "reason", "msg"}
	levels  = []string{"info", "info", "info", "debug", "warn", "error"}
	goFiles = []string{"main", "server", "handler", "client", "reconcile", "watcher", "store", "queue", "pool", "auth", "kubelet", "pod_workers", "generic"}
)

func (g *gen) hex(n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) b64(n int) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[g.r.IntN(64)]
	}
	return string(b)
}

func (g *gen) sub(tmpl string) string {
	switch strings.Count(tmpl, "%") - 2*strings.Count(tmpl, "%%") {
	case 0:
		return strings.ReplaceAll(tmpl, "%%", "%")
	}
	var args []any
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' {
			continue
		}
		i++
		switch tmpl[i] {
		case 'd':
			args = append(args, g.n(1, 99999))
		case 's':
			if g.chance(50) {
				args = append(args, g.pick(users))
			} else {
				args = append(args, g.hex(8))
			}
		}
	}
	return fmt.Sprintf(tmpl, args...)
}

func (g *gen) urlPath() string { return g.sub(g.pick(urlPaths)) }
func (g *gen) path() string    { return g.sub(g.pick(paths)) }
func (g *gen) port() int       { return g.n(1024, 65535) }
func (g *gen) uptime() string  { return fmt.Sprintf("%d.%06d", g.n(1, 9999999), g.n(0, 999999)) }

// text is a line as prog writes it, at least n bytes long (to be cut).
func (g *gen) text(p program, n int) string {
	var b strings.Builder
	switch p.kind {
	case kSSH:
		switch g.r.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", g.pick(users), g.ip(), g.port(), g.b64(43))
		case 1:
			fmt.Fprintf(&b, "Failed password for invalid user %s from %s port %d ssh2", g.pick(users), g.ip(), g.port())
		case 2:
			fmt.Fprintf(&b, "Connection closed by authenticating user %s %s port %d [preauth]", g.pick(users), g.ip(), g.port())
		case 3:
			fmt.Fprintf(&b, "pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", g.pick(users), g.n(0, 65534))
		default:
			fmt.Fprintf(&b, "Received disconnect from %s port %d:11: disconnected by user", g.ip(), g.port())
		}
	case kKernel:
		switch g.r.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "[%s] IPv4: martian source %s from %s, on dev eth%d", g.uptime(), g.ip(), g.ip(), g.n(0, 3))
		case 1:
			fmt.Fprintf(&b, `[%s] audit: type=1400 audit(%d.%03d:%d): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="%s" pid=%d comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0`,
				g.uptime(), g.t.Unix(), g.n(0, 999), g.n(1, 99999), g.path(), g.n(100, 99999))
		case 2:
			fmt.Fprintf(&b, "[%s] [UFW BLOCK] IN=eth0 OUT= MAC=%s:%s:%s:%s:%s:%s SRC=%s DST=%s LEN=%d TOS=0x00 PREC=0x00 TTL=%d ID=%d DF PROTO=TCP SPT=%d DPT=%s WINDOW=64240 RES=0x00 SYN URGP=0",
				g.uptime(), g.hex(2), g.hex(2), g.hex(2), g.hex(2), g.hex(2), g.hex(2), g.ip(), g.ip(), g.n(40, 1500), g.n(30, 64), g.n(1, 65535), g.port(), g.pick([]string{"22", "80", "443", "3389", "23"}))
		case 3:
			fmt.Fprintf(&b, "[%s] Out of memory: Killed process %d (java) total-vm:%dkB, anon-rss:%dkB, file-rss:0kB, shmem-rss:0kB, UID:%d pgtables:%dkB oom_score_adj:0",
				g.uptime(), g.n(100, 99999), g.n(1e6, 9e6), g.n(1e5, 9e6), g.n(0, 1000), g.n(100, 9000))
		default:
			fmt.Fprintf(&b, "[%s] EXT4-fs (sd%c%d): mounted filesystem with ordered data mode. Quota mode: none.", g.uptime(), 'a'+rune(g.r.IntN(4)), g.n(1, 4))
		}
	case kNginx:
		if g.chance(75) {
			fmt.Fprintf(&b, `%s - %s [%s] "%s %s HTTP/1.1" %s %d "%s" "%s"`, g.ip(), g.pick([]string{"-", "-", "-", "alice", "api"}),
				g.t.Format("02/Jan/2006:15:04:05 -0700"), g.pick(methods), g.urlPath(), g.pick(statuses), g.n(0, 99999),
				g.pick([]string{"-", "https://example.com/", "https://www.example.org/search?q=caf%C3%A9"}), g.pick(agents))
		} else {
			w := g.n(100, 9999)
			fmt.Fprintf(&b, `%s [error] %d#%d: *%d open() "%s" failed (2: No such file or directory), client: %s, server: example.com, request: "%s %s HTTP/1.1", host: "example.com"`,
				g.t.Format("2006/01/02 15:04:05"), w, w, g.n(1, 999999), g.path(), g.ip(), g.pick(methods), g.urlPath())
		}
	case kCron:
		if g.chance(70) {
			fmt.Fprintf(&b, "(%s) CMD (%s --quiet > /dev/null 2>&1)", g.pick(users), g.pick([]string{"/usr/lib/php/sessionclean", "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )", "/usr/local/bin/backup.sh", "certbot -q renew", "/opt/app/bin/cleanup"}))
		} else {
			fmt.Fprintf(&b, "pam_unix(cron:session): session %s for user %s", g.pick([]string{"opened", "closed"}), g.pick(users))
		}
	case kSystemd:
		switch g.r.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "Started Session %d of User %s.", g.n(1, 9999), g.pick(users))
		case 1:
			fmt.Fprintf(&b, "Starting %s.service - Daily %s activities...", g.pick(units), g.pick(words))
		case 2:
			fmt.Fprintf(&b, "%s.service: Deactivated successfully.", g.pick(units))
		case 3:
			fmt.Fprintf(&b, "%s.service: Main process exited, code=exited, status=%d/FAILURE", g.pick(units), g.n(1, 255))
		default:
			fmt.Fprintf(&b, "%s.service: Consumed %d.%03ds CPU time, %d.%dM memory peak.", g.pick(units), g.n(0, 99), g.n(0, 999), g.n(1, 999), g.n(0, 9))
		}
	case kMail:
		switch g.r.IntN(3) {
		case 0:
			fmt.Fprintf(&b, "%s: to=<%s@%s>, relay=%s[%s]:25, delay=%d.%d, delays=0.%d/0/0.%d/0.%d, dsn=2.0.0, status=sent (250 2.0.0 OK  %d %s)",
				strings.ToUpper(g.hex(10)), g.pick(users), g.pick(hostDomains), g.pick(g.hosts), g.ip(), g.n(0, 9), g.n(0, 99), g.n(0, 9), g.n(0, 9), g.n(0, 9), g.t.Unix(), g.hex(12))
		case 1:
			fmt.Fprintf(&b, "connect from unknown[%s]", g.ip())
		default:
			fmt.Fprintf(&b, "NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 <%s@%s>: Relay access denied; from=<> to=<%s@%s> proto=ESMTP helo=<%s>",
				g.ip(), g.pick(users), g.pick(hostDomains), g.pick(users), g.pick(hostDomains), g.pick(g.hosts))
		}
	case kLogfmt:
		fmt.Fprintf(&b, `level=%s ts=%s caller=%s.go:%d msg="%s" method=%s path=%s status=%s duration_ms=%d.%d user="%s"`,
			g.pick(levels), g.t.Format("2006-01-02T15:04:05.000Z07:00"), g.pick(goFiles), g.n(10, 999), g.pick(phrases),
			g.pick(methods), g.urlPath(), g.pick(statuses), g.n(0, 999), g.n(0, 9), g.pick(people))
	case kJSON:
		fmt.Fprintf(&b, `{"level":"%s","ts":"%s","logger":"%s","msg":"%s","error":"rpc error: code = Unavailable desc = connection error: \"dial tcp %s:%d: connect: connection refused\"","target":"%s:%d"}`,
			g.pick(levels), g.t.Format(time.RFC3339Nano), g.pick(goFiles), g.pick(phrases), g.ip(), g.port(), g.pick(g.hosts), g.port())
	case kKlog:
		fmt.Fprintf(&b, `%c%s %7d %s.go:%d] "%s" pod="%s/%s-%s-%s" containerID="containerd://%s"`,
			"IIIWE"[g.r.IntN(5)], g.t.Format("0102 15:04:05.000000"), g.n(100, 99999), g.pick(goFiles), g.n(10, 2999), g.pick(phrases),
			g.pick([]string{"kube-system", "default", "monitoring", "ingress-nginx"}), g.pick(units), g.hex(10), g.hex(5), g.hex(64))
	case kSudo:
		u := g.pick(users)
		fmt.Fprintf(&b, "%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s", u, g.n(0, 9), u,
			g.pick([]string{"/usr/bin/systemctl restart nginx", "/usr/bin/apt-get upgrade -y", "/bin/cat /etc/shadow", "/usr/bin/journalctl -u ssh --since \"1 hour ago\"", "/usr/sbin/iptables -L -n"}))
	case kDB:
		if g.chance(60) {
			fmt.Fprintf(&b, "[%d] LOG:  duration: %d.%03d ms  statement: SELECT id, name FROM users WHERE email = '%s@example.org' AND created_at > now() - interval '%d day'",
				g.n(100, 99999), g.n(0, 9999), g.n(0, 999), g.pick(users), g.n(1, 30))
		} else {
			fmt.Fprintf(&b, "[%d] ERROR:  duplicate key value violates unique constraint \"users_email_key\" DETAIL:  Key (email)=(%s@example.org) already exists.", g.n(100, 99999), g.pick(users))
		}
	default:
		switch g.r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, "listening on %s:%d", g.ip(), g.port())
		case 1:
			fmt.Fprintf(&b, "DHCPACK of %s from %s (xid=0x%s)", g.ip(), g.ip(), g.hex(8))
		case 2:
			fmt.Fprintf(&b, "%s: %s: permission denied", g.pick(phrases), g.path())
		case 3:
			fmt.Fprintf(&b, "Selected source %s (%d.pool.ntp.org)", g.ip(), g.n(0, 3))
		case 4:
			fmt.Fprintf(&b, "client @0x%s %s#%d (%s): query (cache) '%s/A/IN' denied", g.hex(12), g.ip(), g.port(), g.pick(g.hosts), g.pick(g.hosts))
		default:
			fmt.Fprintf(&b, "%s %s %s %s", g.pick(words), g.pick(words), g.pick(phrases), g.path())
		}
	}
	// More key=value pairs and words, so any target length can be met.
	for b.Len() < n {
		b.WriteByte(' ')
		switch g.r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "%s=%d", g.pick(keys), g.n(0, 99999))
		case 1:
			fmt.Fprintf(&b, `%s="%s"`, g.pick(keys), g.pick(people))
		case 2:
			fmt.Fprintf(&b, "%s=%s", g.pick(keys), g.pick([]string{g.ip(), g.path(), g.hex(16), g.urlPath()}))
		default:
			b.WriteString(g.pick(words))
		}
	}
	return b.String()
}

var (
	severityWeights = []int{1, 1, 2, 8, 12, 15, 54, 7} // emerg .. debug, percent
	msgIDs          = []string{"ID47", "TCPIN", "TCPOUT", "audit", "login", "http", "sshd-auth", "SYNC", "req", "FW"}
	zones           = []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800)}
	// sdParamValues are values written with RFC5424's escapes.
	sdParamValues = []string{`he said \"hi\"`, `C:\\Windows\\System32`, `a[0\]=1`, `Zoë \"Z\" Müller`, `50%`, `x=\"y\" \\ z`, `[tag\]`, `ok`}
)

func (g *gen) severity() int {
	x := g.r.IntN(100)
	for s, w := range severityWeights {
		if x < w {
			return s
		}
		x -= w
	}
	return 6
}

// stamp is a time a few minutes around now, a fifth of them days back.
func (g *gen) stamp() time.Time {
	t := g.now.Add(time.Duration(g.n(-240, 60))*time.Second + time.Duration(g.r.IntN(1e9)))
	if g.chance(20) {
		t = t.AddDate(0, 0, -g.n(1, 27))
	}
	return t
}

// message draws a header (with its trailing blank) for format, and the
// program whose text follows it.
func (g *gen) message(format string) (head string, p program) {
	p = programs[g.r.IntN(len(programs))]
	g.t = g.stamp()
	fac := p.fac
	if g.chance(10) {
		fac = g.n(16, 23) // local0..7
	}
	pri := fac*8 + g.severity()
	host := g.pick(g.hosts)
	pid := g.n(1, 4194304)
	if g.chance(60) {
		pid = g.n(100, 32768)
	}
	switch format {
	case FormatRFC3164:
		tag := p.name
		if p.pid {
			tag += "[" + strconv.Itoa(pid) + "]"
		}
		head = fmt.Sprintf("<%d>%s %s %s: ", pri, g.t.Format(time.Stamp), host, tag)
	case FormatRFC5424, FormatOctet:
		t := g.t.In(zones[g.r.IntN(len(zones))])
		var ts string
		switch g.r.IntN(4) {
		case 0:
			ts = t.Format("2006-01-02T15:04:05Z07:00")
		case 1:
			ts = t.Format("2006-01-02T15:04:05.000Z07:00")
		case 2:
			ts = t.Format("2006-01-02T15:04:05.000000Z07:00")
		default:
			ts = t.Format("2006-01-02T15:04:05.000Z07:00")
		}
		procID := "-"
		if p.pid {
			procID = strconv.Itoa(pid)
		}
		msgID := "-"
		if g.chance(40) {
			msgID = g.pick(msgIDs)
		}
		app := strings.ReplaceAll(p.name, "/", "-")
		if g.chance(5) {
			app = "-"
		}
		bom := ""
		if g.chance(3) {
			bom = "\xEF\xBB\xBF"
		}
		head = fmt.Sprintf("<%d>1 %s %s %s %s %s %s %s", pri, ts, host, app, procID, msgID, g.sd(), bom)
	default: // raw
		head = ""
	}
	return head, p
}

// sd is RFC5424 structured data: "-", or one or two elements.
func (g *gen) sd() string {
	k := g.r.IntN(10)
	if k < 4 {
		return "-"
	}
	n := 1
	if k >= 8 {
		n = 2
	}
	var b bytes.Buffer
	first := -1
	for i := 0; i < n; i++ {
		e := g.r.IntN(6)
		if e == first {
			e = (e + 1) % 6
		}
		first = e
		switch e {
		case 0:
			fmt.Fprintf(&b, `[origin ip="%s" ip="%s" software="%s" swVersion="%d.%d.%d"]`, g.ip(), g.ip(), g.pick(units), g.n(0, 9), g.n(0, 30), g.n(0, 99))
		case 1:
			fmt.Fprintf(&b, `[meta sequenceId="%d" sysUpTime="%d" language="en-US"]`, g.n(1, 1<<30), g.n(1, 1<<30))
		case 2:
			fmt.Fprintf(&b, `[timeQuality tzKnown="1" isSynced="%d" syncAccuracy="%d"]`, g.n(0, 1), g.n(1, 999999))
		case 3:
			fmt.Fprintf(&b, `[exampleSDID@32473 iut="%d" eventSource="%s" eventID="%d"]`, g.n(1, 9), g.pick([]string{"Application", "Security", "System"}), g.n(1, 9999))
		case 4:
			fmt.Fprintf(&b, `[request@32473 method="%s" path="%s" status="%s" note="%s" ua="%s"]`, g.pick(methods), g.urlPath(), g.pick(statuses), g.pick(sdParamValues), g.pick(agents))
		default:
			fmt.Fprintf(&b, `[k8s@53595 namespace="%s" pod="%s-%s" container="%s" node="%s" label="%s"]`, g.pick([]string{"default", "kube-system", "prod"}), g.pick(units), g.hex(5), g.pick(goFiles), g.pick(g.hosts), g.pick(sdParamValues))
		}
	}
	return b.String()
}
