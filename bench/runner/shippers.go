package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// shipper knows how to start one shipper under test.
type shipper struct {
	name string
	// start launches the shipper listening on 127.0.0.1:port (TCP, and UDP
	// when udp), sending to the Elasticsearch-like server at esURL.
	start func(r *Runner, work string, port int, esURL string, udp bool) (*proc, error)
	// metricsURL, if not empty after start, is scraped for
	// logshipper_events_* counters.
	metricsURL string
}

func (r *Runner) shipperByName(name string) (*shipper, error) {
	switch name {
	case "logshipper":
		return &shipper{name: name, start: startLogshipper}, nil
	case "logshipper-disk":
		return &shipper{name: name, start: startLogshipperDisk}, nil
	case "rsyslog":
		return &shipper{name: name, start: startRsyslog}, nil
	case "syslog-ng":
		return &shipper{name: name, start: startSyslogNG}, nil
	}
	return nil, fmt.Errorf("unknown shipper %q (logshipper, logshipper-disk, rsyslog, syslog-ng)", name)
}

func startLogshipper(r *Runner, work string, port int, esURL string, _ bool) (*proc, error) {
	return launchLogshipper(r, work, port, esURL)
}

// startLogshipperDisk is logshipper with the disk buffer (buffer.type disk,
// default fsync policy) in the run's work directory: what durability costs.
func startLogshipperDisk(r *Runner, work string, port int, esURL string, _ bool) (*proc, error) {
	return launchLogshipper(r, work, port, esURL,
		"LOGSHIPPER_BUFFER_TYPE=disk", "LOGSHIPPER_BUFFER_PATH="+filepath.Join(work, "buffer"))
}

func launchLogshipper(r *Runner, work string, port int, esURL string, extraEnv ...string) (*proc, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.LogshipperBin)
	cmd.Dir = work
	// Defaults otherwise: the bench measures what a user gets.
	cmd.Env = append(cleanEnv(),
		"LOGSHIPPER_ELASTICSEARCH_URLS="+esURL,
		fmt.Sprintf("LOGSHIPPER_LISTEN=127.0.0.1:%d", port),
		fmt.Sprintf("LOGSHIPPER_HTTP_LISTEN=127.0.0.1:%d", httpPort),
		"LOGSHIPPER_DEAD_LETTER_PATH="+filepath.Join(work, "dead-letter.ndjson"),
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	r.currentMetrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)
	return startProc("logshipper", cmd, filepath.Join(work, "logshipper.log"))
}

// cleanEnv is the environment without LOGSHIPPER_* settings of the caller.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LOGSHIPPER_") {
			env = append(env, e)
		}
	}
	return env
}

func fillTemplate(in, out string, vars map[string]string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "@"+k+"@", v)
	}
	// Only the placeholders are @WORD@; @timestamp, @version etc. stay.
	for _, k := range []string{"@WORKDIR@", "@SINKPORT@", "@PORT@", "@UDPINPUT@", "@UDPSOURCE@", "@SCLDIR@"} {
		if strings.Contains(s, k) {
			return fmt.Errorf("%s: placeholder %s not filled", in, k)
		}
	}
	return os.WriteFile(out, []byte(s), 0o644)
}

func hostPort(esURL string) (string, string) {
	u := strings.TrimPrefix(esURL, "http://")
	u = strings.TrimSuffix(u, "/")
	i := strings.LastIndexByte(u, ':')
	if i < 0 {
		return u, "9200"
	}
	return u[:i], u[i+1:]
}

func startRsyslog(r *Runner, work string, port int, esURL string, udp bool) (*proc, error) {
	root := filepath.Join(r.PeersDir, "rsyslog")
	bin := filepath.Join(root, "usr/sbin/rsyslogd")
	mods := filepath.Join(root, "usr/lib/x86_64-linux-gnu/rsyslog")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("rsyslog not unpacked (run bench/peers/install.sh): %w", err)
	}
	_, sinkPort := hostPort(esURL)
	udpInput := ""
	if udp {
		udpInput = fmt.Sprintf(`input(type="imudp" address="127.0.0.1" port="%d" ruleset="toes" rcvbufSize="8m")`, port)
	}
	spool := filepath.Join(work, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(work, "rsyslog.conf")
	if err := fillTemplate(filepath.Join(r.ConfDir, "rsyslog.conf.in"), conf, map[string]string{
		"WORKDIR": spool, "SINKPORT": sinkPort, "PORT": fmt.Sprint(port), "UDPINPUT": udpInput,
	}); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-n", "-f", conf, "-M", mods, "-i", filepath.Join(work, "rsyslogd.pid"))
	cmd.Dir = work
	cmd.Env = cleanEnv()
	r.currentMetrics = ""
	return startProc("rsyslog", cmd, filepath.Join(work, "rsyslog.log"))
}

func startSyslogNG(r *Runner, work string, port int, esURL string, udp bool) (*proc, error) {
	root := filepath.Join(r.PeersDir, "syslog-ng")
	bin := filepath.Join(root, "usr/sbin/syslog-ng")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("syslog-ng not unpacked (run bench/peers/install.sh): %w", err)
	}
	modDirs, _ := filepath.Glob(filepath.Join(root, "usr/lib/syslog-ng/3.*"))
	if len(modDirs) == 0 {
		return nil, fmt.Errorf("syslog-ng: no module directory under %s/usr/lib/syslog-ng", root)
	}
	_, sinkPort := hostPort(esURL)
	udpSource := ""
	if udp {
		udpSource = fmt.Sprintf("source s_udp {\n\tnetwork(ip(\"127.0.0.1\") port(%d) transport(\"udp\") so-rcvbuf(8388608) log-iw-size(100000) log-fetch-limit(1000));\n};\n"+
			"log {\n\tsource(s_udp);\n\tdestination(d_es);\n};\n", port)
	}
	conf := filepath.Join(work, "syslog-ng.conf")
	if err := fillTemplate(filepath.Join(r.ConfDir, "syslog-ng.conf.in"), conf, map[string]string{
		"SCLDIR":    filepath.Join(root, "etc/syslog-ng") + ":" + filepath.Join(root, "usr/share/syslog-ng/include"),
		"SINKPORT":  sinkPort,
		"PORT":      fmt.Sprint(port),
		"UDPSOURCE": udpSource,
	}); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-F", "-f", conf, "--module-path="+modDirs[0],
		"-R", filepath.Join(work, "syslog-ng.persist"), "-p", filepath.Join(work, "syslog-ng.pid"),
		"-c", filepath.Join(work, "syslog-ng.ctl"))
	cmd.Dir = work
	cmd.Env = append(cleanEnv(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/syslog-ng"))
	r.currentMetrics = ""
	return startProc("syslog-ng", cmd, filepath.Join(work, "syslog-ng.log"))
}
