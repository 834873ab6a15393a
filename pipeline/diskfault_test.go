package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logshipper/logshipper/buffer"
	"github.com/logshipper/logshipper/internal/diskio"
	"github.com/logshipper/logshipper/metrics"
)

// readDeadLetterRecords returns the records in the file, failing on a line
// that is not a whole record.
func readDeadLetterRecords(t *testing.T, path string) []deadLetterRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []deadLetterRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r deadLetterRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	return got
}

// readDeadLetters returns the message of each record in the file.
func readDeadLetters(t *testing.T, path string) []string {
	t.Helper()
	var msgs []string
	for _, r := range readDeadLetterRecords(t, path) {
		var doc struct{ Message string }
		json.Unmarshal(r.Document, &doc)
		msgs = append(msgs, doc.Message)
	}
	return msgs
}

// faultyDeadLetter is a dead-letter file on a fault-injecting file system.
func faultyDeadLetter(t *testing.T) (*FileDeadLetter, *diskio.Faulty, string) {
	t.Helper()
	fsys := diskio.NewFaulty(diskio.OS)
	path := filepath.Join(t.TempDir(), "dlq.ndjson")
	d, err := newFileDeadLetter(path, nil, fsys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, fsys, path
}

// rejecting is an output that rejects the message reject and delivers the
// others.
func rejecting(reject string) *fakeOutput {
	out := newFakeOutput()
	out.decide = func(_ int, m string) Status {
		if m == reject {
			return Rejected
		}
		return Delivered
	}
	return out
}

// A dead-letter write that fails leaves nothing of itself in the file (a
// short write on a full disk, a failed fsync), and a file deleted or
// replaced under the running process is opened again at its path.
func TestDeadLetterFileStaysWholeAndFollowsItsPath(t *testing.T) {
	d, fsys, path := faultyDeadLetter(t)
	write := func(msg string) error {
		return d.Write("idx", json.RawMessage(fmt.Sprintf(`{"message":%q}`, msg)), "mapper_parsing_exception")
	}
	if err := write("one"); err != nil {
		t.Fatal(err)
	}
	fsys.SetSpace(fsys.Used() + 30) // room for part of the next line only
	if err := write("two"); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Write on a full disk: %v", err)
	}
	if d.Fault() == nil {
		t.Error("Fault() = nil after a failed write")
	}
	fsys.SetSpace(-1)
	heal := fsys.Fail(diskio.OpSync, "dlq", syscall.EIO)
	if err := write("three"); err == nil {
		t.Fatal("Write with a failing fsync returned nil")
	}
	heal()
	if err := write("two"); err != nil {
		t.Fatal(err)
	}
	if d.Fault() != nil {
		t.Errorf("Fault() = %v after a good write", d.Fault())
	}
	if got := readDeadLetters(t, path); strings.Join(got, ",") != "one,two" {
		t.Fatalf("records %q, want one,two", got)
	}

	os.Remove(path) // rotated away, or its directory cleaned up
	if err := write("four"); err != nil {
		t.Fatal(err)
	}
	if got := readDeadLetters(t, path); strings.Join(got, ",") != "four" {
		t.Fatalf("after the file was deleted: records %q, want four in a new file", got)
	}
}

// While the dead-letter file cannot be written, the batch holding the
// rejected event waits (nothing is acknowledged, nothing lost), the
// pipeline reports the fault for /readyz, and once the disk works the
// event is written and the batch settles.
func TestDeadLetterFailureHoldsTheBatch(t *testing.T) {
	dlq, fsys, path := faultyDeadLetter(t)
	heal := fsys.Fail(diskio.OpWrite, "dlq", syscall.EROFS)
	out := rejecting("m3")
	cfg := testConfig()
	cfg.BatchCount = 5
	cfg.Workers = 1
	p := mustNew(t, cfg, out, dlq)
	putN(t, p, 5)
	deadline := time.Now().Add(10 * time.Second)
	for p.DeadLetterFault() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no dead-letter fault reported")
		}
		time.Sleep(time.Millisecond) // the worker runs on its own
	}
	if !strings.Contains(p.DeadLetterFault().Error(), "read-only file system") {
		t.Errorf("DeadLetterFault() = %v", p.DeadLetterFault())
	}
	if st := p.Stats(); st.Rejected != 0 {
		t.Fatalf("rejected event settled while the dead-letter file fails: %+v", st)
	}
	heal()
	st := p.Close(context.Background())
	if st.Delivered != 4 || st.Rejected != 1 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
	if p.DeadLetterFault() != nil {
		t.Errorf("DeadLetterFault() = %v after it worked", p.DeadLetterFault())
	}
	if got := readDeadLetters(t, path); len(got) != 1 || got[0] != "m3" {
		t.Fatalf("dead letters %q", got)
	}
}

// An input's record that is not an event (Pipeline.DeadLetter) goes the
// rejected events' way: while the file fails, the fault shows for /readyz
// and the call waits; once the disk works it is written and counted as
// failed; a caller that stops first gets false (it keeps the record).
func TestInputDeadLetterReportsTheFault(t *testing.T) {
	dlq, fsys, path := faultyDeadLetter(t)
	heal := fsys.Fail(diskio.OpWrite, "dlq", syscall.EROFS)
	cfg := testConfig()
	cfg.Events = metrics.NewEvents(nil)
	p := mustNew(t, cfg, newFakeOutput(), dlq)
	defer p.Close(context.Background())

	stopped, stop := context.WithCancel(context.Background())
	stop()
	if p.DeadLetter(stopped, "", []byte(`{"n":0}`), "stopped") {
		t.Fatal("DeadLetter with a done context and a failing file reported it written")
	}
	wrote := make(chan bool)
	go func() { wrote <- p.DeadLetter(context.Background(), "", []byte(`{"n":1}`), "not an edge record") }()
	deadline := time.Now().Add(10 * time.Second)
	for p.DeadLetterFault() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no dead-letter fault reported")
		}
		time.Sleep(time.Millisecond) // DeadLetter retries on its own
	}
	heal()
	if !<-wrote {
		t.Fatal("DeadLetter gave up")
	}
	if p.DeadLetterFault() != nil {
		t.Errorf("DeadLetterFault() = %v after it worked", p.DeadLetterFault())
	}
	if v := counterValue(cfg.Events.Failed); v != 1 {
		t.Errorf("failed grew by %v, want 1", v)
	}
	if got := readDeadLetterRecords(t, path); len(got) != 1 || got[0].Error != "not an edge record" {
		t.Fatalf("dead letters %+v", got)
	}
}

// The shutdown deadline while the dead-letter file still fails: the
// rejected event is lost and counted as such (memory mode), never silently.
func TestDeadLetterFailureAtShutdownIsCounted(t *testing.T) {
	dlq, fsys, _ := faultyDeadLetter(t)
	fsys.Fail(diskio.OpWrite, "dlq", syscall.EIO)
	out := rejecting("m1")
	cfg := testConfig()
	cfg.BatchCount = 3
	cfg.Workers = 1
	cfg.Events = metrics.NewEvents(nil)
	p := mustNew(t, cfg, out, dlq)
	putN(t, p, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st := p.Close(ctx)
	if st.Delivered != 2 || st.Rejected != 0 || st.Lost != 1 {
		t.Fatalf("stats %+v, want 2 delivered and 1 lost", st)
	}
	if d := counterValue(cfg.Events.Dropped.WithLabelValues(metrics.DropDeadLetter)); d != 1 {
		t.Errorf("dropped{reason=dead_letter} grew by %v, want 1", d)
	}
}

// UDP into a disk buffer whose disk fails: TryPut names the fault, and
// DropReason tells a full disk from a failing one.
func TestDurableTryPutOnAFailingDisk(t *testing.T) {
	for _, tc := range []struct {
		err    error
		sentry error
		reason string
	}{
		{syscall.ENOSPC, ErrDiskFull, metrics.DropDiskFull},
		{syscall.EROFS, ErrDiskError, metrics.DropDiskError},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			fsys := diskio.NewFaulty(diskio.OS)
			w, err := buffer.Open(buffer.Options{Dir: t.TempDir(), FS: fsys, Fsync: buffer.FsyncNever})
			if err != nil {
				t.Fatal(err)
			}
			p := mustDurable(t, testConfig(), w, newFakeOutput())
			defer p.Close(context.Background())
			fsys.Fail(diskio.OpCreate, ".seg", tc.err) // no segment file can be created
			_, err = p.TryPut(ev("x"))
			if !errors.Is(err, tc.sentry) || DropReason(err) != tc.reason {
				t.Fatalf("TryPut = %v (reason %q), want %v", err, DropReason(err), tc.sentry)
			}
		})
	}
}

// A disk buffer that cannot be read for a while (EIO): the reader retries
// and every event is delivered once the disk answers again.
func TestDurableReaderRetriesReadErrors(t *testing.T) {
	fsys := diskio.NewFaulty(diskio.OS)
	opts := buffer.Options{Dir: t.TempDir(), FS: fsys, Fsync: buffer.FsyncNever}
	// Appended before a restart, so that the reader has to read them from
	// the file (it takes what was appended since Open from memory).
	before, err := buffer.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := before.Append(context.Background(), ev(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := buffer.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	heal := fsys.Fail(diskio.OpRead, ".seg", syscall.EIO)
	out := newFakeOutput()
	out.called = make(chan int, 100)
	p := mustDurable(t, testConfig(), w, out)
	for reads := fsys.Calls(diskio.OpRead); fsys.Calls(diskio.OpRead) < reads+3; {
		time.Sleep(time.Millisecond) // until the reader has retried a few times
	}
	select {
	case n := <-out.called:
		t.Fatalf("delivered %d events the disk could not read", n)
	default:
	}
	heal()
	st := p.Close(context.Background())
	if st.Delivered != 50 {
		t.Fatalf("stats %+v, want 50 delivered", st)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
