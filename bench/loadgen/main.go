// Command loadgen sends numbered syslog messages to a shipper on the loopback
// interface, for the throughput bench (bench/run.sh).
//
// Every message is 150 bytes (-size N: N bytes) and carries "run=RUNID seq=000000123" at
// a fixed offset, so a sink (bench/sink) can count unique, duplicated and
// missing messages per run. The whole byte stream is generated before the
// clock starts, and is written with large writes (TCP) or sendmmsg batches
// (UDP), so the generator costs little CPU next to the shipper on a small
// machine; it reports its own CPU time.
//
//	go run ./bench/loadgen -count 1000000                       # TCP, 1 connection, RFC3164, as fast as possible
//	go run ./bench/loadgen -conns 8 -format rfc5424 -count 1000000
//	go run ./bench/loadgen -proto udp -rate 100000 -duration 10s
//	go run ./bench/loadgen -size 8192 -conns 64 -count 250000 -timeout 60s
//	go run ./bench/loadgen -vary -count 1000000                 # varied content (see vary.go)
//
// With -vary the messages come from a pool of -pool distinct messages
// (hosts, programs, timestamps, priorities, lengths, text, structured
// data; generated from -seed) cycled through, each still carrying
// "run=RUNID seq=NNNNNNNNN" once, at a varying offset; the mean length is
// reported.
//
// Only loopback addresses are accepted.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Result is what one run reports (-json prints it as one JSON object).
type Result struct {
	Proto       string  `json:"proto"`
	Format      string  `json:"format"`
	Conns       int     `json:"conns"`
	RunID       string  `json:"run_id"`
	Requested   int64   `json:"requested"`
	Sent        int64   `json:"sent"`
	Bytes       int64   `json:"bytes"`
	MessageLen  int     `json:"message_len"` // framed: with the LF or the octet count
	Size        int     `json:"size"`        // without framing (-size)
	FirstSendNS int64   `json:"first_send_ns"`
	LastSendNS  int64   `json:"last_send_ns"`
	ElapsedS    float64 `json:"elapsed_s"`
	RateMsgs    float64 `json:"rate_msgs_per_s"`
	TargetRate  float64 `json:"target_rate,omitempty"`
	// CPU time of this process while sending (user+system, all threads),
	// and including the pre-generation of the messages.
	SendCPUS  float64 `json:"send_cpu_s"`
	TotalCPUS float64 `json:"total_cpu_s"`
	Errors    int64   `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	// -vary only: the pool's size and mean, shortest and longest message
	// without framing (MessageLen and Size are then the rounded means).
	Vary    bool    `json:"vary,omitempty"`
	Pool    int     `json:"pool,omitempty"`
	MeanLen float64 `json:"mean_len,omitempty"`
	MinLen  int     `json:"min_len,omitempty"`
	MaxLen  int     `json:"max_len,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:10514", "shipper address (loopback only)")
	proto := flag.String("proto", "tcp", "tcp or udp")
	conns := flag.Int("conns", 1, "TCP connections (UDP sockets); messages are split across them")
	format := flag.String("format", FormatRFC3164, "rfc3164, rfc5424 (with structured data), octet (RFC5424 octet-counted), raw (\"test run=.. seq=..\" lines)")
	count := flag.Int64("count", 0, "send this many messages as fast as possible")
	rate := flag.Float64("rate", 0, "messages per second (with -duration)")
	duration := flag.Duration("duration", 0, "with -rate: send for this long")
	runID := flag.String("run-id", "0", "token written as run=ID into every message")
	startSeq := flag.Int64("start-seq", 0, "first sequence number")
	tick := flag.Duration("tick", 10*time.Millisecond, "pacing interval with -rate (messages are sent in batches per tick)")
	size := flag.Int("size", 0, fmt.Sprintf("message size in bytes without framing, every format padded (or cut) to it; 0: %d, the size of the bench's tables (the header and run=.. seq=.. are kept: at least ~80 bytes for rfc3164, ~150 for rfc5424)", MessageSize))
	timeout := flag.Duration("timeout", 0, "TCP: give up connecting and writing this long after the first connection (the messages written by then count as sent, the exit status is 1); 0: never")
	vary := flag.Bool("vary", false, "varied content: cycle through a pool of distinct messages (hosts, programs, timestamps, priorities, lengths 60-1024 B with a mean near 200 B, text, structured data) instead of one template")
	poolSize := flag.Int("pool", DefaultPoolSize, "with -vary: distinct messages in the pool")
	seed := flag.Uint64("seed", 1, "with -vary: seed of the pool")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "loadgen: numbered 150-byte (-size) syslog messages to a shipper on 127.0.0.1.\n\nUsage: loadgen [flags]  (-count N | -rate R -duration D)\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	if err := checkLoopback(*addr); err != nil {
		fatal(err)
	}
	var total int64
	switch {
	case *count > 0 && *rate == 0:
		total = *count
	case *rate > 0 && *duration > 0 && *count == 0:
		total = int64(*rate * duration.Seconds())
	default:
		fatal(errors.New("give -count N, or -rate R and -duration D"))
	}
	if total <= 0 || total > 200_000_000 || *duration > 30*time.Minute {
		fatal(fmt.Errorf("refusing %d messages / %s: keep runs bounded", total, *duration))
	}
	if *conns < 1 || *conns > 1024 {
		fatal(errors.New("-conns must be 1..1024"))
	}
	if *proto != "tcp" && *proto != "udp" {
		fatal(fmt.Errorf("-proto %q: tcp or udp", *proto))
	}
	if *timeout < 0 || *timeout > 30*time.Minute {
		fatal(fmt.Errorf("-timeout %s: want 0 (none) up to 30m", *timeout))
	}
	o := Options{
		Addr: *addr, Proto: *proto, Conns: *conns,
		Total: total, StartSeq: *startSeq, Rate: *rate, Tick: *tick, Timeout: *timeout,
	}
	var err error
	if *vary {
		if *size != 0 {
			fatal(errors.New("-size and -vary: -vary draws its own lengths"))
		}
		o.Pool, err = NewPool(*format, *runID, time.Now(), *proto == "udp", *poolSize, *seed)
	} else {
		o.Template, err = NewSizedTemplate(*format, *runID, time.Now(), *proto == "udp", *size)
	}
	if err != nil {
		fatal(err)
	}
	res, err := Run(o)
	if err != nil {
		fatal(err)
	}
	res.RunID = *runID
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	} else if res.Vary {
		fmt.Printf("sent %d varied messages (%d bytes; pool of %d, mean %.1f B without framing, %d-%d B) over %s x%d in %.3fs: %.0f msgs/s; loadgen CPU %.3fs while sending (%.3fs total)\n",
			res.Sent, res.Bytes, res.Pool, res.MeanLen, res.MinLen, res.MaxLen, res.Proto, res.Conns, res.ElapsedS, res.RateMsgs, res.SendCPUS, res.TotalCPUS)
	} else {
		fmt.Printf("sent %d messages (%d bytes, %d B each) over %s x%d in %.3fs: %.0f msgs/s; loadgen CPU %.3fs while sending (%.3fs total)\n",
			res.Sent, res.Bytes, res.MessageLen, res.Proto, res.Conns, res.ElapsedS, res.RateMsgs, res.SendCPUS, res.TotalCPUS)
		if res.Errors > 0 {
			fmt.Printf("errors: %d (first: %s)\n", res.Errors, res.FirstErr)
		}
	}
	if res.Sent < res.Requested {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(2)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", addr)
	}
	return nil
}

// Options of one run.
type Options struct {
	Addr     string
	Proto    string
	Conns    int
	Template *Template
	Pool     *Pool // instead of Template: varied messages (-vary)
	Total    int64
	StartSeq int64
	Rate     float64 // 0: as fast as possible
	Tick     time.Duration
	// Timeout bounds connecting and (TCP) writing, from the first
	// connection (after the messages are generated); 0: no bound.
	Timeout time.Duration
}

type sender interface {
	// send writes msgs whole messages from buf; after an error, written
	// says how many of them went out whole. ends is nil when the messages
	// all have the same length (len(buf)/msgs), else message i ends at
	// ends[i] bytes into buf.
	send(buf []byte, msgs int, ends []int) (written int, err error)
	close() error
}

// chunk is messages [a, b) of a part: their bytes and, for messages of
// varied length, where each ends inside them (nil: all msgLen long).
func chunk(buf []byte, offs []int, msgLen int, a, b int64) ([]byte, []int) {
	if offs == nil {
		return buf[a*int64(msgLen) : b*int64(msgLen)], nil
	}
	base := offs[a]
	ends := make([]int, b-a)
	for i := range ends {
		ends[i] = offs[a+int64(i)+1] - base
	}
	return buf[base:offs[b]], ends
}

// Run pre-generates the messages, connects, sends and reports.
func Run(o Options) (*Result, error) {
	cpu0 := cpuTime()
	t, pool := o.Template, o.Pool
	if (t == nil) == (pool == nil) {
		return nil, errors.New("give a Template or a Pool")
	}
	n := o.Conns
	type part struct {
		buf   []byte
		offs  []int // pool: message i is buf[offs[i]:offs[i+1]]
		count int64
		s     sender
	}
	parts := make([]part, n)
	per := o.Total / int64(n)
	seq := o.StartSeq
	for i := 0; i < n; i++ {
		c := per
		if int64(i) < o.Total%int64(n) {
			c++
		}
		if pool != nil {
			parts[i].buf, parts[i].offs = pool.Fill(seq, int(c))
		} else {
			parts[i].buf = t.Fill(seq, int(c))
		}
		parts[i].count = c
		seq += c
	}
	var deadline time.Time // from the first connection, after generating
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
	}
	for i := range parts {
		var err error
		parts[i].s, err = dial(o.Proto, o.Addr, deadline)
		if err != nil {
			for j := 0; j < i; j++ {
				_ = parts[j].s.close()
			}
			return nil, err
		}
	}

	res := &Result{Proto: o.Proto, Conns: n, Requested: o.Total, TargetRate: o.Rate}
	msgLen := 0
	if pool != nil {
		res.Format, res.Vary, res.Pool = pool.Format, true, len(pool.Msgs)
		res.MeanLen = math.Round(pool.MeanBodyLen()*10) / 10
		res.MinLen, res.MaxLen = pool.MinMaxBodyLen()
		res.MessageLen, res.Size = int(math.Round(pool.MeanLen())), int(math.Round(pool.MeanBodyLen()))
	} else {
		res.Format, res.MessageLen, res.Size = t.Format, t.Len, t.BodyLen()
		msgLen = t.Len
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu1 := cpuTime()
	start := time.Now()
	for i := range parts {
		wg.Add(1)
		go func(p part, phase float64) {
			defer wg.Done()
			sent, err := pace(p.s, p.buf, p.offs, p.count, msgLen, o.Rate/float64(n), o.Tick, start, phase)
			_ = p.s.close()
			mu.Lock()
			res.Sent += sent
			if p.offs != nil {
				res.Bytes += int64(p.offs[sent])
			} else {
				res.Bytes += sent * int64(msgLen)
			}
			if err != nil {
				res.Errors++
				if res.FirstErr == "" {
					res.FirstErr = err.Error()
				}
			}
			mu.Unlock()
		}(parts[i], float64(i)/float64(len(parts)))
	}
	wg.Wait()
	end := time.Now()
	cpu2 := cpuTime()
	res.FirstSendNS = start.UnixNano()
	res.LastSendNS = end.UnixNano()
	res.ElapsedS = end.Sub(start).Seconds()
	if res.ElapsedS > 0 {
		res.RateMsgs = float64(res.Sent) / res.ElapsedS
	}
	res.SendCPUS = (cpu2 - cpu1).Seconds()
	res.TotalCPUS = (cpu2 - cpu0).Seconds()
	return res, nil
}

// pace sends count messages from buf (of msgLen bytes, or bounded by offs):
// all at once when rate is 0, else in one batch per tick, as many as the
// schedule is behind by. phase (0 to 1) shifts the schedule by that part
// of one message's interval, so that connections sending a few messages a
// second each do not all send in the same tick, as real devices do not.
func pace(s sender, buf []byte, offs []int, count int64, msgLen int, rate float64, tick time.Duration, start time.Time, phase float64) (int64, error) {
	if rate <= 0 {
		// Large writes: few syscalls, little generator CPU.
		const chunkMsgs = 4096
		var sent int64
		for sent < count {
			k := count - sent
			if k > chunkMsgs {
				k = chunkMsgs
			}
			b, ends := chunk(buf, offs, msgLen, sent, sent+k)
			if w, err := s.send(b, int(k), ends); err != nil {
				return sent + int64(w), err
			}
			sent += k
		}
		return sent, nil
	}
	if tick <= 0 {
		tick = 10 * time.Millisecond
	}
	var sent int64
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for sent < count {
		due := int64(rate*time.Since(start).Seconds() + phase)
		if due > count {
			due = count
		}
		if due > sent {
			b, ends := chunk(buf, offs, msgLen, sent, due)
			if w, err := s.send(b, int(due-sent), ends); err != nil {
				return sent + int64(w), err
			}
			sent = due
		}
		if sent < count {
			<-tk.C
		}
	}
	return sent, nil
}

type tcpSender struct{ c *net.TCPConn }

func (s *tcpSender) send(buf []byte, msgs int, ends []int) (int, error) {
	n, err := s.c.Write(buf)
	if err != nil && msgs > 0 {
		if ends == nil {
			return n / (len(buf) / msgs), err
		}
		w := 0
		for w < len(ends) && ends[w] <= n {
			w++
		}
		return w, err
	}
	return msgs, err
}

func (s *tcpSender) close() error { return s.c.Close() }

// dial connects to addr; a non-zero deadline bounds connecting and, for
// TCP, every write.
func dial(proto, addr string, deadline time.Time) (sender, error) {
	switch proto {
	case "tcp":
		d := net.Dialer{Deadline: deadline}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		tc := c.(*net.TCPConn)
		_ = tc.SetWriteBuffer(4 << 20)
		if !deadline.IsZero() {
			_ = tc.SetWriteDeadline(deadline)
		}
		return &tcpSender{c: tc}, nil
	default:
		c, err := net.Dial("udp", addr)
		if err != nil {
			return nil, err
		}
		uc := c.(*net.UDPConn)
		_ = uc.SetWriteBuffer(4 << 20)
		return newUDPSender(uc)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// msgAt is message i of a chunk: l bytes each when ends is nil, else up to
// ends[i].
func msgAt(buf []byte, ends []int, l, i int) []byte {
	if ends == nil {
		return buf[i*l : (i+1)*l]
	}
	a := 0
	if i > 0 {
		a = ends[i-1]
	}
	return buf[a:ends[i]]
}
