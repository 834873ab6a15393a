package main

// The shippers under test: logshipper (logshipper.go) and the peers,
// rsyslog and syslog-ng unpacked by bench/peers/install.sh, each started on
// one of the configuration templates of bench/peers, and their counters.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// shipper knows how to start one shipper under test.
type shipper struct {
	name string
	// queue and index: outage only (the settings it runs with, its index).
	queue, index string
	// start launches it listening on 127.0.0.1:port (TCP, and UDP when
	// udp), sending to the Elasticsearch-like server at esURL; it returns
	// logshipper's /metrics URL ("" for the peers).
	start func(work string, port int, esURL string, udp bool) (*proc, string, error)
	// stats summarises its own counters before it is stopped (outage).
	stats func(work, metricsURL string) string
}

// shipperByName is a shipper of the throughput bench, into the sink.
func (r *Runner) shipperByName(name string) (*shipper, error) {
	switch name {
	case "logshipper", "logshipper-disk":
		return &shipper{name: name, start: func(work string, port int, esURL string, _ bool) (*proc, string, error) {
			if name == "logshipper-disk" {
				return r.startLogshipper(work, port, esURL, diskEnv(work)...)
			}
			return r.startLogshipper(work, port, esURL)
		}}, nil
	case "rsyslog":
		return &shipper{name: name, start: func(work string, port int, esURL string, udp bool) (*proc, string, error) {
			udpInput := ""
			if udp {
				udpInput = fmt.Sprintf(`input(type="imudp" address="127.0.0.1" port="%d" ruleset="toes" rcvbufSize="8m")`, port)
			}
			spool := filepath.Join(work, "spool")
			if err := os.MkdirAll(spool, 0o755); err != nil {
				return nil, "", err
			}
			p, err := r.startRsyslog(work, "rsyslog.conf.in", map[string]string{
				"WORKDIR": spool, "SINKPORT": esPort(esURL), "PORT": fmt.Sprint(port), "UDPINPUT": udpInput,
			})
			return p, "", err
		}}, nil
	case "syslog-ng":
		return &shipper{name: name, start: func(work string, port int, esURL string, udp bool) (*proc, string, error) {
			udpSource := ""
			if udp {
				udpSource = fmt.Sprintf("source s_udp {\n\tnetwork(ip(\"127.0.0.1\") port(%d) transport(\"udp\") so-rcvbuf(8388608) log-iw-size(100000) log-fetch-limit(1000));\n};\n"+
					"log {\n\tsource(s_udp);\n\tdestination(d_es);\n};\n", port)
			}
			p, err := r.startSyslogNG(work, "syslog-ng.conf.in", false, map[string]string{
				"SINKPORT": esPort(esURL), "PORT": fmt.Sprint(port), "UDPSOURCE": udpSource,
			})
			return p, "", err
		}}, nil
	}
	return nil, fmt.Errorf("unknown shipper %q (logshipper, logshipper-disk, rsyslog, syslog-ng)", name)
}

// esPort is the port of an http://host:port URL (9200 if none).
func esPort(esURL string) string {
	u := strings.TrimSuffix(strings.TrimPrefix(esURL, "http://"), "/")
	if i := strings.LastIndexByte(u, ':'); i >= 0 {
		return u[i+1:]
	}
	return "9200"
}

// Only the placeholders are @WORD@; @timestamp, @version etc. stay.
var placeholderRE = regexp.MustCompile(`@[A-Z]+@`)

// fillTemplate writes the template in with every @KEY@ of vars replaced to
// out, and fails if a placeholder is left.
func fillTemplate(in, out string, vars map[string]string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	if m := placeholderRE.FindString(s); m != "" {
		return fmt.Errorf("%s: placeholder %s not filled", in, m)
	}
	return os.WriteFile(out, []byte(s), 0o644)
}

// peerRoot is where bench/peers/install.sh unpacked peer, and its binary.
func (r *Runner) peerRoot(peer, bin string) (string, error) {
	root := filepath.Join(r.PeersDir, peer)
	if _, err := os.Stat(filepath.Join(root, bin)); err != nil {
		return "", fmt.Errorf("%s not unpacked (run bench/peers/install.sh): %w", peer, err)
	}
	return root, nil
}

// startRsyslog runs the unpacked rsyslogd in the foreground on the
// template confIn (in r.ConfDir) filled with vars, logging to
// work/rsyslog.log.
func (r *Runner) startRsyslog(work, confIn string, vars map[string]string) (*proc, error) {
	root, err := r.peerRoot("rsyslog", "usr/sbin/rsyslogd")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(work, "rsyslog.conf")
	if err := fillTemplate(filepath.Join(r.ConfDir, confIn), conf, vars); err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(root, "usr/sbin/rsyslogd"), "-n", "-f", conf,
		"-M", filepath.Join(root, "usr/lib/x86_64-linux-gnu/rsyslog"), "-i", filepath.Join(work, "rsyslogd.pid"))
	cmd.Dir = work
	cmd.Env = cleanEnv()
	return startProc("rsyslog", cmd, filepath.Join(work, "rsyslog.log"))
}

// syslogNGEnv is the environment of the unpacked syslog-ng and its tools.
func syslogNGEnv(root string) []string {
	return append(cleanEnv(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"))
}

// startSyslogNG runs the unpacked syslog-ng in the foreground on the
// template confIn (in r.ConfDir) filled with vars plus SCLDIR, logging to
// work/syslog-ng.log; with ownLog its own messages (errors, suspensions)
// go there too (-e).
func (r *Runner) startSyslogNG(work, confIn string, ownLog bool, vars map[string]string) (*proc, error) {
	root, err := r.peerRoot("syslog-ng", "usr/sbin/syslog-ng")
	if err != nil {
		return nil, err
	}
	modDirs, _ := filepath.Glob(filepath.Join(root, "usr/lib/syslog-ng/3.*"))
	if len(modDirs) == 0 {
		return nil, fmt.Errorf("syslog-ng: no module directory under %s/usr/lib/syslog-ng", root)
	}
	vars["SCLDIR"] = filepath.Join(root, "etc/syslog-ng") + ":" + filepath.Join(root, "usr/share/syslog-ng/include")
	conf := filepath.Join(work, "syslog-ng.conf")
	if err := fillTemplate(filepath.Join(r.ConfDir, confIn), conf, vars); err != nil {
		return nil, err
	}
	args := []string{"-F", "-f", conf}
	if ownLog {
		args = []string{"-F", "-e", "-f", conf}
	}
	cmd := exec.Command(filepath.Join(root, "usr/sbin/syslog-ng"), append(args, "--module-path="+modDirs[0],
		"-R", filepath.Join(work, "syslog-ng.persist"), "-p", filepath.Join(work, "syslog-ng.pid"),
		"-c", filepath.Join(work, "syslog-ng.ctl"))...)
	cmd.Dir = work
	cmd.Env = syslogNGEnv(root)
	return startProc("syslog-ng", cmd, filepath.Join(work, "syslog-ng.log"))
}

// readImpstats reads work/impstats.log, rsyslog's counters
// ("Thu Nov 26 20:41:00 2026: NAME: origin=... k=v k=v"), and returns the
// last values per counter set NAME.
func readImpstats(work string) map[string]map[string]string {
	f, err := os.Open(filepath.Join(work, "impstats.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	last := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, ": ")
		if i < 0 {
			continue
		}
		rest := line[i+2:]
		j := strings.Index(rest, ": origin=")
		if j < 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(rest[j+2:]) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		last[rest[:j]] = kv
	}
	return last
}

// impstat is one part of an impstats summary: the counter set, a format
// and the counters it shows.
type impstat struct {
	set, format string
	keys        []string
}

// rsyslogStats summarises the last impstats values of the given sets.
func rsyslogStats(work string, parts ...impstat) string {
	last := readImpstats(work)
	var out []string
	for _, p := range parts {
		kv, ok := last[p.set]
		if !ok {
			continue
		}
		args := make([]any, len(p.keys))
		for i, k := range p.keys {
			args[i] = kv[k]
		}
		out = append(out, fmt.Sprintf(p.format, args...))
	}
	return strings.Join(out, "; ")
}

// syslogNGStats sums syslog-ng-ctl stats of the destination.
func (r *Runner) syslogNGStats(work string) string {
	root := filepath.Join(r.PeersDir, "syslog-ng")
	cmd := exec.Command(filepath.Join(root, "usr/sbin/syslog-ng-ctl"), "stats", "-c", filepath.Join(work, "syslog-ng.ctl"))
	cmd.Env = syslogNGEnv(root)
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	_ = os.WriteFile(filepath.Join(work, "syslog-ng-stats.csv"), b, 0o644)
	// SourceName;SourceId;SourceInstance;State;Type;Number
	sum := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ";")
		if len(f) != 6 || !strings.HasPrefix(f[0], "dst.") {
			continue
		}
		n, _ := strconv.ParseInt(f[5], 10, 64)
		sum[f[4]] += n
	}
	if len(sum) == 0 {
		return ""
	}
	return fmt.Sprintf("destination: processed %d, written %d, dropped %d, queued %d", sum["processed"], sum["written"], sum["dropped"], sum["queued"])
}
