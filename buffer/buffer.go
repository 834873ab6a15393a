// Package buffer holds the events between the inputs and the output, from
// the moment they count as received until the output has confirmed them:
// that is its one job. Two buffers with the same methods (Append,
// TryAppend, Commit, Read, Ack, Close, Durable), which the pipeline uses
// alike: Memory, bounded in events and bytes and lost with the process, and
// WAL, the disk buffer, so that a crash, a restart or a long Elasticsearch
// outage loses nothing.
//
// The WAL is a write-ahead log: Append writes events (their input fields only),
// Commit makes them durable per the FsyncPolicy, Read hands them to the
// pipeline in log order with a stable ID each, and Ack releases them once
// delivered. Guarantees:
//
//   - Order: records are read in the order they were appended; the records of
//     one Append call are contiguous.
//   - Durability: once Commit has returned, the events appended before it
//     survive a process crash (every policy) and a kernel crash or power loss
//     (FsyncBatch, FsyncAlways), on a disk that honours fsync. CommitSoon
//     is a Commit that does not wait: the events survive a process crash
//     once it has returned, and a power loss once its fsync, within
//     Options.CommitDelay, has run; WaitCommitted waits for that.
//   - At-least-once, and exactly the unacknowledged: after a restart, Read
//     returns every record not yet acknowledged, and only those: every Ack
//     writes the watermark and the runs acknowledged out of order beyond it
//     to the ack file before it returns (with FsyncNever a power loss may
//     undo the last acks: those records come again, with the same IDs).
//   - Stable IDs: a record has the same Entry.ID every time it is read, across
//     restarts, and no two records ever share one, even after a crash lost
//     part of the log or the directory was copied: the ID combines a random
//     nonce of the segment file (written into the file's header when it is
//     created) with the record's offset in it, and after Open new records
//     always go to a new segment file. Sent as Elasticsearch _id with op_type
//     create, it turns at-least-once into exactly-once.
//   - Bounded: at most Options.MaxBytes of unacknowledged records; beyond it
//     Append blocks (TCP back-pressure) and TryAppend fails with ErrFull (UDP).
//   - A sick disk is back-pressure, not an end: when a write, an fsync or a
//     file creation fails (no space left, a read-only or broken file
//     system, the directory deleted), the WAL keeps what it has not written
//     in memory, Append waits and TryAppend fails with a *FaultError, and
//     reading, delivering and acknowledging go on. A monitor goroutine
//     retries (at once when an Ack has freed space) and ends the fault by
//     itself once the disk takes the writes again. Acknowledging never
//     needs free space: the ack file is preallocated and written in place,
//     and fully delivered segments are deleted even when it cannot be
//     written.
//   - Damage never panics: Open truncates a torn tail of the last segment (a
//     crash mid-write), skips and reports a damaged record in an older
//     segment (the rest of that segment is lost; see Recovery), and falls
//     back to re-reading everything still on disk when the ack file is
//     damaged (at-least-once; the IDs prevent duplicates).
//
// What it cannot guarantee: an event that is lost before Append (UDP datagrams
// dropped by the network or by a full kernel socket buffer; bytes still in
// the sender's or this host's socket buffers when logshipper dies) was never
// received. See README.md for the format and measured costs.
package buffer

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/diskio"
)

// FsyncPolicy says when appended records are forced to stable storage.
type FsyncPolicy int

const (
	// FsyncBatch (the default): Commit fsyncs. Concurrent Commit calls share
	// one fsync (group commit). Committed events survive a power loss.
	FsyncBatch FsyncPolicy = iota
	// FsyncAlways: every Append call fsyncs before it returns (concurrent
	// appenders still share fsyncs); Commit behaves as with FsyncBatch.
	FsyncAlways
	// FsyncNever: Commit hands the records to the operating system and
	// returns; the kernel writes them back when it likes. Committed events
	// survive a process crash, not a kernel crash or power loss.
	FsyncNever
)

// String is the policy's configuration name: "batch", "always" or "never".
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncBatch:
		return "batch"
	case FsyncAlways:
		return "always"
	case FsyncNever:
		return "never"
	}
	return "FsyncPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseFsyncPolicy reads a policy's configuration name: "batch", "always"
// or "never". The error names the key and quotes the value.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "batch":
		return FsyncBatch, nil
	case "always":
		return FsyncAlways, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, fmt.Errorf("buffer.fsync: %q is not allowed; use batch, always or never", s)
}

// Defaults applied by Open to zero Options fields, and limits.
const (
	// DefaultMaxBytes is Options.MaxBytes when zero: 1 GiB.
	DefaultMaxBytes = 1 << 30
	// DefaultSegmentBytes is Options.SegmentBytes when zero: 32 MiB.
	DefaultSegmentBytes = 32 << 20
	// MaxSegmentBytes bounds Options.SegmentBytes so that record offsets fit
	// the 32 bits they have in Entry.ID.
	MaxSegmentBytes = 1 << 30
	// MaxEventBytes bounds one event's encoded size (Raw, SourceIP, ProxyIP and
	// Transport plus 19 bytes of framing); logshipper's max_message_size is
	// at most 16 MiB.
	MaxEventBytes = 64 << 20
	// DefaultCommitDelay is Options.CommitDelay when zero.
	DefaultCommitDelay = 2 * time.Millisecond
	// maxGroupBytes bounds one Append call, for the same reason as
	// MaxSegmentBytes.
	maxGroupBytes = 1 << 30
)

// Options configure a WAL. Only Dir is required.
type Options struct {
	// Dir is the buffer's directory, created if missing. It holds the
	// segment files (*.seg), the ack file (ack) and a lock file (lock) that
	// keeps a second process from opening the same directory.
	Dir string
	// MaxBytes bounds the bytes of unacknowledged records (record framing
	// included, file headers not). Append blocks and TryAppend fails with
	// ErrFull while an append would go beyond it; an append into an empty
	// log always succeeds, so no event is too big to ever fit. Disk usage
	// can exceed it by up to one segment plus what was acknowledged out of
	// order (segments are deleted whole), and by the zeros written ahead of
	// the records (up to 1 MiB, under FsyncBatch and FsyncAlways).
	// Default 1 GiB.
	MaxBytes int64
	// SegmentBytes: once the current segment file has reached this size, the
	// next Append starts a new one. Default 32 MiB, at most 1 GiB.
	SegmentBytes int64
	// Fsync is the durability policy; the zero value is FsyncBatch.
	Fsync FsyncPolicy
	// CommitDelay is how long CommitSoon's fsync waits for other commits
	// to share it: a power loss can take a quiet connection's last events
	// that much after they were read. Default 2 ms.
	CommitDelay time.Duration

	// OnFault, if set, is called when the WAL's disk starts failing (with a
	// *FaultError), when the failure changes, and with nil when the WAL has
	// recovered. It is called from one goroutine, never concurrently, and
	// must not call the WAL.
	OnFault func(err error)

	// FS is the file system; nil means the real one (diskio.OS). Tests set
	// a diskio.Faulty to make the disk fail.
	FS diskio.FS

	// syncFile replaces File.Sync in tests: a seam to count fsyncs and
	// to hold them while concurrent committers pile up.
	syncFile func(diskio.File) error
}

// ErrFull is returned by TryAppend when the events do not fit under
// Options.MaxBytes until something is acknowledged.
var ErrFull = errors.New("buffer: full")

// ErrClosed is returned by Append, TryAppend, Commit and WaitCommitted after
// Close.
var ErrClosed = errors.New("buffer: closed")

// FaultError is a failure of the buffer's disk: TryAppend returns it while
// the WAL cannot write (Append and Commit wait instead), and Fault reports
// it. Its message is one line saying what failed and what to do.
type FaultError struct {
	// Kind names the failure: diskio.KindFull, KindReadOnly, KindMissing
	// (the directory was deleted or replaced) or KindIO.
	Kind diskio.Kind
	// Op is what failed ("write", "fsync", "create", "write ack", ...) and
	// Path the file or directory.
	Op, Path string
	Err      error
}

func (e *FaultError) Unwrap() error { return e.Err }

func (e *FaultError) Error() string {
	what := fmt.Sprintf("buffer: %s %s: %v", e.Op, e.Path, e.Err)
	var pe *fs.PathError
	if errors.As(e.Err, &pe) && pe.Path == e.Path {
		what = fmt.Sprintf("buffer: %s %s: %v", e.Op, e.Path, pe.Err)
	}
	if e.ack() {
		return what + "; delivered events stay acknowledged in memory and their segments are still deleted, but after a restart some may be sent again (their IDs keep Elasticsearch free of duplicates)"
	}
	const paused = "; TCP reads pause and UDP datagrams are dropped"
	switch e.Kind {
	case diskio.KindFull:
		return what + paused + " until space is free: delivered segments are deleted as Elasticsearch confirms them; free space on the file system, or set buffer.max_bytes below its size"
	case diskio.KindReadOnly:
		return what + paused + " until the file system is writable again: remount it read-write, or mount a repaired one at buffer.path (logshipper writes its files there again)"
	case diskio.KindMissing:
		return what + paused + " until logshipper has written its files into buffer.path again (from the copies it holds open)"
	}
	return what + paused + " until writing works again; check the disk (dmesg) and the permissions of buffer.path"
}

func (e *FaultError) ack() bool { return e.Op == opWriteAck }

// Entry is one record returned by Read.
type Entry struct {
	// Event has the input fields (Received, Transport, SourceIP, ProxyIP, Raw,
	// Truncated) as appended; the parser's fields are zero, for the caller
	// to fill by parsing Raw again. It shares no memory with the WAL or with
	// the events of other Read calls.
	Event *event.Event
	// Pos is the record's position, for Ack.
	Pos Pos
	// ID is the record's stable, unique identifier: the same every time the
	// record is read, also after a restart, and never used by another
	// record (see the package documentation). 20 characters of base32hex in
	// lower case (0-9, a-v), so IDs of one segment sort in log order. Meant
	// as Elasticsearch _id with op_type create.
	ID string
	// Group, if the event was appended with one (Memory.AppendGroup), is
	// told when the event is settled or given up.
	Group *Group
}

// Pos is the position of a record returned by Read. Positions are
// comparable with == (equal means the same record) and ordered by Compare.
// They are valid only for Ack on the WAL (the Open) whose Read returned
// them; Ack refuses others and the zero Pos.
type Pos struct {
	seg  uint64 // segment number
	off  uint32 // offset of the record in the segment file
	size uint32 // record size on disk
	ord  uint64 // 1 + number of records read before it since Open
	bord uint64 // bytes of the records read before it since Open
	sess uint64 // random per Open: positions of another WAL are refused
}

// Compare returns -1 if p is before q in the log, +1 if after, 0 if p and q
// are the same position.
func (p Pos) Compare(q Pos) int {
	switch {
	case p.seg < q.seg:
		return -1
	case p.seg > q.seg:
		return 1
	case p.off < q.off:
		return -1
	case p.off > q.off:
		return 1
	}
	return 0
}

// String shows the position as segment/offset, for logs and tests.
func (p Pos) String() string {
	return strconv.FormatUint(p.seg, 10) + "/" + strconv.FormatUint(uint64(p.off), 10)
}

// Recovery is what Open found and repaired, plus damage Read found later.
// A torn tail is the normal trace of a crash; Corrupt > 0 means data was
// damaged (disk, file system, another program) and some records were lost.
type Recovery struct {
	// Segments is the number of segment files Open kept.
	Segments int
	// Events and Bytes are the unacknowledged records Open found; Read
	// returns them again (at-least-once).
	Events int64
	Bytes  int64
	// TruncatedBytes were cut off the end of the last segment: records cut
	// short or garbled by a crash while they were being written. They had
	// not been committed, so no input had counted them as received. Zeros
	// after the last record are not counted: they are the zeros written
	// ahead of the records, or blocks a crash left unwritten.
	TruncatedBytes int64
	// Corrupt counts damage found and skipped: a damaged ack file (the log
	// is then read again from its start), a segment with a damaged header
	// (skipped whole), a damaged record in a segment other than the last
	// (the rest of that segment is skipped). Each is described in Problems.
	Corrupt int
	// Problems describes each piece of damage, naming the file and offset
	// (the first 64 only).
	Problems []string
}
