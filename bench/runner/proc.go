package main

// Processes: /proc readings, ports, and the daemons a bench starts (each in
// its own process group, every one remembered so that stopOnSignal can
// stop them all).

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on
// every Linux architecture the bench runs on).
const clkTck = 100

// procCPU returns utime+stime of the whole process (all its threads) in
// seconds, from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After "pid (comm)": state is field 3, utime 14, stime 15 -> f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clkTck, nil
}

// schedStat is what the scheduler says about a process's threads, summed
// over /proc/PID/task/*: time spent runnable but waiting for a CPU, and
// context switches given up (blocking) and taken (preempted). A run whose
// CPU per message is off can be told apart by it: waiting and preemption
// mean the machine was short of CPUs; more switches given up mean the
// process parked and woke more.
type schedStat struct {
	WaitS       float64
	Voluntary   int64
	Involuntary int64
}

// procSched reads schedStat for pid; threads that are gone by the second
// reading are missing from it (their share is lost, not negative).
func procSched(pid int) schedStat {
	var st schedStat
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		dir := fmt.Sprintf("/proc/%d/task/%s/", pid, t.Name())
		if b, err := os.ReadFile(dir + "schedstat"); err == nil {
			// on-CPU ns, runnable-waiting ns, timeslices
			if f := strings.Fields(string(b)); len(f) >= 2 {
				w, _ := strconv.ParseFloat(f[1], 64)
				st.WaitS += w / 1e9
			}
		}
		n := fileStatus(dir+"status", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
		st.Voluntary += n["voluntary_ctxt_switches"]
		st.Involuntary += n["nonvoluntary_ctxt_switches"]
	}
	return st
}

func (a schedStat) sub(b schedStat) schedStat {
	return schedStat{WaitS: a.WaitS - b.WaitS, Voluntary: a.Voluntary - b.Voluntary, Involuntary: a.Involuntary - b.Involuntary}
}

// procStatus returns the values (in kB, or counts) of the named keys of
// /proc/PID/status, e.g. VmHWM, VmRSS, Threads.
func procStatus(pid int, keys ...string) map[string]int64 {
	return fileStatus(fmt.Sprintf("/proc/%d/status", pid), keys...)
}

// fileStatus reads the named keys of a "Key:  value [kB]" file such as
// /proc/PID/status or /proc/PID/task/TID/status.
func fileStatus(path string, keys ...string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		if v := strings.Fields(v); len(v) > 0 {
			n, _ := strconv.ParseInt(v[0], 10, 64)
			out[k] = n
		}
	}
	return out
}

// peakRSSMiB is VmHWM of pid in MiB.
func peakRSSMiB(pid int) float64 {
	return float64(procStatus(pid, "VmHWM")["VmHWM"]) / 1024
}

// udpRcvbufErrors is the kernel's machine-wide count of UDP datagrams
// dropped because a socket's receive buffer was full (/proc/net/snmp).
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Udp:") {
			continue
		}
		f := strings.Fields(line)
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				return n
			}
		}
	}
	return -1
}

// freePort returns a port that is free for TCP and UDP on 127.0.0.1.
func freePort() (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// waitTCP waits until something accepts on 127.0.0.1:port.
func waitTCP(port int, timeout time.Duration, alive func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if alive != nil && !alive() {
			return fmt.Errorf("process exited before listening on %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on 127.0.0.1:%d after %s", port, timeout)
}

// proc is a started process.
type proc struct {
	name string
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	end  time.Time // when it exited (set before done is closed)
	err  error
}

// procs is every process started, for stopOnSignal.
var (
	procsMu sync.Mutex
	procs   []*proc
)

// startProc starts cmd with its stdout and stderr in logPath.
func startProc(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	return spawn(name, cmd, lf.Close)
}

// spawn starts cmd in its own process group; closer runs when it has
// exited (or failed to start).
func spawn(name string, cmd *exec.Cmd, closer func() error) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = closer()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.end = time.Now()
		_ = closer()
		close(p.done)
	}()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs the process group.
// It says whether the process had to be killed.
func (p *proc) stop(grace time.Duration) (killed bool) {
	if !p.alive() {
		return false
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return false
	case <-time.After(grace):
		p.kill()
		return true
	}
}

// kill SIGKILLs the process group and waits for the exit.
func (p *proc) kill() {
	if !p.alive() {
		return
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
}

// stopOnSignal makes SIGINT, SIGTERM and SIGHUP stop every process started
// (SIGTERM to each process group, SIGKILL after 5 s) and exit 130, so
// nothing outlives an interrupted bench.
func stopOnSignal(kind, what string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		log.Printf("%s: %v: stopping every process of the %s", kind, s, what)
		procsMu.Lock()
		defer procsMu.Unlock()
		for _, p := range procs {
			if p.alive() {
				_ = syscall.Kill(-p.pid, syscall.SIGTERM)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for _, p := range procs {
			select {
			case <-p.done:
			case <-time.After(time.Until(deadline)):
				_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			}
		}
		os.Exit(130)
	}()
}

// grepLines returns the lines of the file at path that contain sub.
func grepLines(path, sub string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// logCount counts needle in the file at path.
func logCount(path, needle string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(needle))
}

// tailFile is the last n lines of the file at path.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
