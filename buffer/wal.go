package buffer

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/diskio"
)

const (
	ackName    = "ack"
	ackTmpName = "ack.tmp"
	lockName   = "lock"
	segSuffix  = ".seg"

	flushAt  = 256 << 10 // write the append buffer to the file from this size on
	wbufKeep = 4 << 20   // drop a larger append buffer once it is written
	// maxPending bounds the bytes written but not yet fsynced that are kept
	// in memory for a rewrite (FsyncBatch): an Append that finds more
	// commits itself, as UDP alone never commits. At 8 MiB the append
	// buffer grew past wbufKeep between two commits and was allocated
	// again from 320 KiB after each: under UDP alone at 100,000 msgs/s the
	// peak RSS was 86-88 MiB, 42-49 MiB at 1 MiB (bench/profiles/disk.md),
	// and a datagram waits for at most 1 MiB of others to be fsynced.
	maxPending   = 1 << 20
	maxProblems  = 64
	scanBufBytes = 256 << 10
	// maxScanOffset: a record must start below 4 GiB (Pos and ID hold the
	// offset in 32 bits); the writer never goes near it.
	maxScanOffset = 1<<32 - 1
)

// segment is one segment file. Fields other than seq, nonce and path are
// guarded by WAL.mu.
type segment struct {
	seq   uint64
	nonce [8]byte
	path  string
	// f is open (read-write) from the segment's creation, or Open, until it
	// is deleted: reading goes through it, and so does writing the file
	// again should its directory be deleted or replaced.
	f diskio.File
	// start is where reading begins: after the header, or for the segment
	// holding the watermark at Open, at the first unacknowledged record.
	start int64
	// end is the end of the records, including those not yet written.
	end int64
	// flushed is how much of the file has been handed to the OS; writes
	// are all or nothing, so it is always at a record boundary.
	flushed int64
	// synced is how much of it is fsynced (equal to flushed under
	// FsyncNever and for segments found by Open).
	synced int64
	// zeroed is how far the file was extended with zeros ahead of the
	// records (zeroAheadLocked); zeroFailed: extending it failed, so its
	// records are appended to the end of the file as they come.
	zeroed     int64
	zeroFailed bool
	// pend holds the file's bytes [pendOff, end): those not written yet,
	// and with an fsync policy also those written but not yet fsynced,
	// kept to write them again should the fsync fail (Linux may drop the
	// pages of a failed writeback).
	pend    []byte
	pendOff int64
	// rewrite: an fsync of the file failed, so [synced, flushed) must be
	// written again from pend before the next fsync.
	rewrite bool
	// sealed: no more records will be appended (every segment but the
	// active one).
	sealed bool
	// records and bytes in [start, end).
	records int64
	bytes   int64
}

// ackRange is an acknowledged run of records, by read ordinal, not yet
// joined to the watermark; it starts at (fromSeg, fromOff) and ends at (seg, end).
type ackRange struct {
	from, to uint64
	fromSeg  uint64
	fromOff  int64
	seg      uint64
	end      int64
}

// recSpan is a record found by the recovery scan.
type recSpan struct {
	off, size int64
}

// syncItem is a file a group commit fsyncs, and how far.
type syncItem struct {
	s    *segment
	f    diskio.File
	upto int64
}

// WAL is the write-ahead log. Its methods are safe for concurrent use.
type WAL struct {
	opts     Options
	dir      string
	fs       diskio.FS
	session  uint64
	syncFile func(diskio.File) error
	lockFile *os.File
	dirInfo  fs.FileInfo // the directory as Open found it: deleted or replaced is a fault

	mu sync.Mutex
	// closed: Close has begun, no more appends. finished: Close has
	// written what it could, and closedCh is closed; then Read may return
	// io.EOF.
	closed   bool
	finished bool
	closedCh chan struct{}
	stopCh   chan struct{} // closed by Close first: ends the monitor

	// fault is set while the disk refuses writes: appends wait (TryAppend
	// fails), and the monitor retries until the writes go through.
	fault        *FaultError
	faultCleared chan struct{} // closed when the fault ends
	dirGone      bool          // the directory was deleted or replaced: write the files again
	repairing    bool          // the monitor is retrying: its own failures do not wake it again
	// ackFault is set while the ack file cannot be written (reported only:
	// appends go on, acknowledgements live in memory until it works).
	ackFault *FaultError
	ackDirty bool // the ack file is behind the acknowledgements in memory
	// ackRecreate: the directory was restored; persist writes a new ack file.
	ackRecreate bool
	kick        chan struct{}
	monitorDone chan struct{}

	segs    []*segment // oldest first; the last one is active unless sealed
	active  *segment
	nextSeq uint64
	// carry holds records cut from a segment sealed when the disk was full
	// (they were not written yet); the next segment starts with them.
	carry     []byte
	carryRecs int64

	appended  uint64 // bytes appended (segment headers included) since Open
	synced    uint64 // of them, durable per the policy
	pendBytes int64  // bytes held in memory in pend buffers
	syncing   bool   // a group commit leader is in fsync
	syncDone  chan struct{}
	// CommitSoon's fsync: commitTimer runs delayedCommit once armed.
	commitTimer *time.Timer
	commitArmed bool
	dirDirty    bool // a segment file was created since the last directory fsync
	reading     bool // a reader does file I/O without the lock
	// retired files are closed once no reader or fsync can be using them.
	retired []diskio.File
	// undeleted are delivered segment files whose deletion failed; the
	// monitor tries again.
	undeleted []string

	events, bytes int64 // unacknowledged records
	lost          int64 // records lost: damage found by Read, or not written by Close
	spaceWait     chan struct{}
	readWait      chan struct{}
	// recent: the events of the latest appends, for the reader (recent.go).
	recent recentEvents

	// The read cursor.
	rseg     *segment
	roff     int64
	rrecs    int64 // records of rseg read
	rbytes   int64
	nextOrd  uint64
	nextBord uint64

	// The watermark: records up to ordinal wmOrd-1, ending at (wmSeg, wmOff).
	wmOrd uint64
	wmSeg uint64
	wmOff int64
	wmGen uint64 // counts watermark moves
	acked []ackRange
	// skips are runs of records beyond the watermark that the previous run
	// acknowledged (from the ack file): the reader passes over them.
	skips  []posRange
	report Recovery
	scan   []recSpan // recovery scratch

	// Reader state, owned by whoever holds readSem.
	readSem chan struct{}
	rbuf    []byte
	rbufSeq uint64
	rbufOff int64
	rbufLen int
	idbuf   []byte

	// Ack file writing, serialised by ackMu.
	ackMu        sync.Mutex
	ackF         diskio.File // the preallocated ack file; nil until it exists
	ackGen       uint64      // generation of the newest slot written
	ackBuf       []byte
	persistedGen uint64
}

func segName(seq uint64) string {
	return fmt.Sprintf("%016x%s", seq, segSuffix)
}

func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil && seq > 0
}

// Open opens the log in opts.Dir, creating it if needed, and recovers what a
// previous run left:
//
//   - It reads the watermark from the ack file and deletes the segments
//     wholly below it. A damaged ack file is reported in Recovery and the log
//     is read again from the oldest segment on disk (at-least-once; the IDs
//     keep Elasticsearch free of duplicates).
//   - It scans every remaining segment, checking each record's length and
//     checksum. A short or damaged record at the end of the last segment is a
//     torn tail from a crash mid-write: the file is truncated there. A damaged
//     record in any other segment, or a damaged segment header, is counted
//     and described in Recovery, and the rest of that segment is skipped.
//   - It positions the reader at the watermark: Read returns the
//     unacknowledged records, oldest first, with the IDs they had before,
//     passing over the runs the ack file lists as acknowledged beyond the
//     watermark (acks that arrived out of order).
//
// New records always go to a new segment, never after recovered data.
// Open fails only on I/O errors, on data written by a newer format version
// and when another process has the directory open. A full disk does not
// stop it: what cannot be written yet (the preallocated ack file, a new
// segment) waits for space like any other write.
func Open(opts Options) (*WAL, error) {
	switch {
	case opts.Dir == "":
		return nil, errors.New("buffer.path: empty; set the buffer's directory")
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("buffer.max_bytes: %d is negative; use bytes, e.g. 1073741824", opts.MaxBytes)
	case opts.SegmentBytes < 0 || opts.SegmentBytes > MaxSegmentBytes:
		return nil, fmt.Errorf("buffer.segment_bytes: %d is out of range; use 1 to %d (default %d)", opts.SegmentBytes, MaxSegmentBytes, DefaultSegmentBytes)
	case opts.Fsync < FsyncBatch || opts.Fsync > FsyncNever:
		return nil, fmt.Errorf("buffer.fsync: %v is not allowed; use batch, always or never", opts.Fsync)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.CommitDelay <= 0 {
		opts.CommitDelay = DefaultCommitDelay
	}
	fsys := opts.FS
	if fsys == nil {
		fsys = diskio.OS
	}
	if err := fsys.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("buffer.path: %w", err)
	}
	dirInfo, err := fsys.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("buffer.path: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{
		opts:        opts,
		dir:         opts.Dir,
		fs:          fsys,
		syncFile:    opts.syncFile,
		lockFile:    lock,
		dirInfo:     dirInfo,
		closedCh:    make(chan struct{}),
		stopCh:      make(chan struct{}),
		kick:        make(chan struct{}, 1),
		monitorDone: make(chan struct{}),
		readSem:     make(chan struct{}, 1),
		nextOrd:     1,
		wmOrd:       1,
	}
	if w.syncFile == nil {
		w.syncFile = diskio.File.Sync
	}
	var sess [8]byte
	rand.Read(sess[:])
	w.session = binary.LittleEndian.Uint64(sess[:]) | 1
	if err := w.recover(); err != nil {
		for _, s := range w.segs {
			s.f.Close()
		}
		unlockDir(lock)
		return nil, err
	}
	go w.monitor()
	return w, nil
}

func (w *WAL) problem(format string, args ...any) {
	w.report.Corrupt++
	if len(w.report.Problems) < maxProblems {
		w.report.Problems = append(w.report.Problems, fmt.Sprintf(format, args...))
	}
}

// recover rebuilds the in-memory state from the directory (see Open).
func (w *WAL) recover() error {
	if err := w.fs.Remove(filepath.Join(w.dir, ackTmpName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("buffer: %w", err)
	}
	ackPath := filepath.Join(w.dir, ackName)
	b, err := w.readFile(ackPath)
	var ack ackState
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("buffer: %w", err)
	default:
		ack, err = decodeAckFile(b)
		switch {
		case errors.Is(err, errNewerFormat):
			return fmt.Errorf("buffer: %s: %w; use the logshipper version that wrote it", ackPath, err)
		case err != nil:
			w.problem("%s: damaged (%v); reading every segment from its start again", ackPath, err)
			ack = ackState{}
		default:
			w.wmSeg, w.wmOff, w.skips = ack.seg, ack.off, ack.ranges
		}
	}

	des, err := w.fs.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	var seqs []uint64
	for _, de := range des {
		if seq, ok := parseSegName(de.Name()); ok && de.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	w.nextSeq = w.wmSeg + 1
	if len(seqs) > 0 {
		w.nextSeq = max(w.nextSeq, seqs[len(seqs)-1]+1)
	}
	// Segment files created just before a crash, with no header on disk,
	// are removed first, so that the one before them counts as the last
	// (and its torn tail as such, not as damage).
	for len(seqs) > 0 && seqs[len(seqs)-1] >= w.wmSeg {
		path := filepath.Join(w.dir, segName(seqs[len(seqs)-1]))
		size, torn, err := w.tornNewSegment(path)
		if err != nil {
			return err
		}
		if !torn {
			break
		}
		if err := w.fs.Remove(path); err != nil {
			return fmt.Errorf("buffer: %w", err)
		}
		w.report.TruncatedBytes += size
		seqs = seqs[:len(seqs)-1]
	}
	for i, seq := range seqs {
		path := filepath.Join(w.dir, segName(seq))
		if seq < w.wmSeg {
			if err := w.fs.Remove(path); err != nil {
				return fmt.Errorf("buffer: %w", err)
			}
			continue
		}
		from := int64(0)
		if seq == w.wmSeg {
			from = w.wmOff
		}
		s, err := w.recoverSegment(path, seq, from, i == len(seqs)-1)
		if err != nil {
			return err
		}
		if s != nil {
			w.segs = append(w.segs, s)
		}
	}
	// Delete what is wholly acknowledged (the segment holding the watermark
	// when its last record is acknowledged).
	for _, s := range w.takeDoomedLocked() {
		s.f.Close()
		if err := w.fs.Remove(s.path); err != nil {
			return fmt.Errorf("buffer: %w", err)
		}
	}
	for _, s := range w.segs {
		w.events += s.records
		w.bytes += s.bytes
	}
	if len(w.segs) > 0 {
		w.rseg, w.roff = w.segs[0], w.segs[0].start
	}
	w.scan = nil
	w.report.Segments = len(w.segs)
	w.report.Events, w.report.Bytes = w.events, w.bytes

	// The ack file must be preallocated, so that acknowledging never needs
	// free space. A file of the old format, a damaged one or none at all
	// is replaced now, after the deletions above freed what they could; if
	// even that finds no space, the monitor tries again.
	if ack.v2 {
		if w.ackF, err = w.fs.OpenFile(ackPath, os.O_RDWR, 0); err != nil {
			return fmt.Errorf("buffer: %w", err)
		}
		w.ackGen = ack.gen
		return nil
	}
	if err := w.createAckFile(w.wmSeg, w.wmOff, w.skips); err != nil {
		w.ackFault = &FaultError{Kind: diskio.Classify(err), Op: opWriteAck, Path: ackPath, Err: err}
		w.ackDirty = true
	}
	return nil
}

// readFile reads a whole file through w.fs.
func (w *WAL) readFile(path string) ([]byte, error) {
	f, err := w.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// recoverSegment scans one segment file from its header, checking every
// record, and returns it sealed with reading positioned at the first record
// at or after from, its file open. It returns nil for a torn last segment
// it deleted.
func (w *WAL) recoverSegment(path string, seq uint64, from int64, last bool) (*segment, error) {
	f, err := w.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	s, err := w.scanSegment(f, path, seq, from, last)
	if s == nil {
		f.Close()
	}
	return s, err
}

func (w *WAL) scanSegment(f diskio.File, path string, seq uint64, from int64, last bool) (*segment, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	size := fi.Size()
	s := &segment{seq: seq, path: path, f: f, start: segHeaderSize, end: segHeaderSize, sealed: true}

	r := bufio.NewReaderSize(f, scanBufBytes)
	hdr := make([]byte, segHeaderSize)
	n, err := io.ReadFull(r, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	s.nonce, err = decodeSegHeader(hdr[:n], seq)
	if err != nil {
		if errors.Is(err, errNewerFormat) {
			return nil, fmt.Errorf("buffer: %s: %w; use the logshipper version that wrote it", path, err)
		}
		if last && (n < segHeaderSize || allZero(hdr)) {
			// Created just before a crash: nothing in it was committed.
			torn, err := tornBytes(f, size)
			if err != nil {
				return nil, fmt.Errorf("buffer: %s: %w", path, err)
			}
			if err := w.fs.Remove(path); err != nil {
				return nil, fmt.Errorf("buffer: %w", err)
			}
			w.report.TruncatedBytes += torn
			return nil, nil
		}
		w.problem("%s: %v; skipped the whole segment (%d bytes)", path, err, size)
		s.flushed, s.synced, s.pendOff = s.end, s.end, s.end
		return s, nil
	}

	// Scan the records; off is where the next one starts.
	var (
		off     = int64(segHeaderSize)
		spans   = w.scan[:0]
		damage  error
		scratch []byte
		limit   = min(size, maxScanOffset)
		head    [recHeaderSize]byte
	)
	for off < size {
		if off >= limit || size-off < recHeaderSize {
			damage = errors.New("record cut short")
			break
		}
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return nil, fmt.Errorf("buffer: %s: %w", path, err)
		}
		rl, err := recordLen(head[:])
		if err != nil {
			damage = err
			break
		}
		if int64(rl) > size-off {
			damage = errors.New("record cut short")
			break
		}
		if cap(scratch) < rl {
			scratch = make([]byte, rl)
		}
		rec := scratch[:rl]
		copy(rec, head[:])
		if _, err := io.ReadFull(r, rec[recHeaderSize:]); err != nil {
			return nil, fmt.Errorf("buffer: %s: %w", path, err)
		}
		if _, err := decodeRecord(rec); err != nil {
			if errors.Is(err, errNewerFormat) {
				return nil, fmt.Errorf("buffer: %s: offset %d: %w; use the logshipper version that wrote it", path, off, err)
			}
			damage = err
			break
		}
		spans = append(spans, recSpan{off, int64(rl)})
		off += int64(rl)
	}
	w.scan = spans
	s.end, s.flushed, s.synced, s.pendOff = off, off, off, off
	if damage != nil {
		zeros, err := zeroTail(f, off, size)
		if err != nil {
			return nil, fmt.Errorf("buffer: %s: %w", path, err)
		}
		if zeros {
			// Not damage: the zeros the writer put ahead of its records
			// (zeroAheadLocked), or blocks a crash left unwritten after
			// the last record. Nothing of a record is in them.
			damage = nil
			if err := f.Truncate(off); err != nil && last {
				return nil, fmt.Errorf("buffer: %w", err)
			}
		}
	}
	if damage != nil {
		if last {
			// A torn tail: cut it off, so that it is not mistaken for damage
			// once newer segments follow.
			if err := f.Truncate(off); err != nil {
				return nil, fmt.Errorf("buffer: %w", err)
			}
			if w.opts.Fsync != FsyncNever {
				if err := w.syncFile(f); err != nil {
					return nil, fmt.Errorf("buffer: fsync %s: %w", path, err)
				}
			}
			w.report.TruncatedBytes += size - off
		} else {
			w.problem("%s: offset %d: %v; skipped the rest of the segment (%d bytes)", path, off, damage, size-off)
		}
	}

	// Reading starts at the first record at or after from; if from is
	// inside a record (it should not be), at that record.
	i := 0
	switch {
	case from <= segHeaderSize:
	case from >= off:
		i = len(spans)
	default:
		i, _ = slices.BinarySearchFunc(spans, from, func(sp recSpan, o int64) int { return cmpPos(0, sp.off, 0, o) })
		if i == len(spans) || spans[i].off != from {
			i--
			w.problem("%s: the watermark %d is not at a record start; reading again from %d", path, from, spans[i].off)
		}
	}
	s.start = off
	if i < len(spans) {
		s.start = spans[i].off
	}
	for _, sp := range spans[i:] {
		if !w.skippedLocked(seq, sp.off) {
			s.records++
			s.bytes += sp.size
		}
	}
	return s, nil
}

// skipIndex is the index of the first skip range that ends after (seg, off).
func skipIndex(skips []posRange, seg uint64, off int64) int {
	i, _ := slices.BinarySearchFunc(skips, 0, func(r posRange, _ int) int {
		if cmpPos(r.toSeg, r.toOff, seg, off) <= 0 {
			return -1
		}
		return 1
	})
	return i
}

// skippedLocked reports whether the record at (seg, off) was acknowledged by
// the previous run beyond its watermark.
func (w *WAL) skippedLocked(seg uint64, off int64) bool {
	i := skipIndex(w.skips, seg, off)
	return i < len(w.skips) && w.skips[i].contains(seg, off)
}

// tornNewSegment reports whether the segment file at path is shorter than a
// header or starts with a zeroed one: created, but its first write never
// reached the disk.
func (w *WAL) tornNewSegment(path string) (size int64, torn bool, err error) {
	f, err := w.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, false, fmt.Errorf("buffer: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, segHeaderSize)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, false, fmt.Errorf("buffer: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("buffer: %w", err)
	}
	torn = n < segHeaderSize || allZero(hdr)
	if !torn {
		return fi.Size(), false, nil
	}
	size, err = tornBytes(f, fi.Size())
	return size, true, err
}

// tornBytes is what a torn new segment of size bytes held: 0 if all of it
// is zeros (put ahead of the records by zeroAheadLocked), else size.
func tornBytes(f diskio.File, size int64) (int64, error) {
	zeros, err := zeroTail(f, 0, size)
	if zeros || err != nil {
		return 0, err
	}
	return size, nil
}

// zeroTail reports whether f holds only zeros from off to size.
func zeroTail(f diskio.File, off, size int64) (bool, error) {
	buf := make([]byte, min(size-off, 64<<10))
	for off < size {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if !allZero(buf[:n]) {
			return false, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if n == 0 {
			return true, nil // the file is shorter than it was
		}
		off += int64(n)
	}
	return true, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// takeDoomedLocked removes from w.segs the sealed segments wholly below the
// watermark and returns them. The reader may still point at one, at its
// end: it finds the next segment by number.
func (w *WAL) takeDoomedLocked() []*segment {
	n := 0
	for _, s := range w.segs {
		if !s.sealed {
			break
		}
		if s.seq < w.wmSeg || (s.seq == w.wmSeg && w.wmOff >= s.end) {
			n++
			continue
		}
		break
	}
	if n == 0 {
		return nil
	}
	doomed := slices.Clone(w.segs[:n])
	w.segs = slices.Delete(w.segs, 0, n)
	for _, s := range doomed {
		w.dropPendLocked(s)
	}
	return doomed
}

// segAfter returns the segment following seq, or nil.
func (w *WAL) segAfter(seq uint64) *segment {
	i, _ := slices.BinarySearchFunc(w.segs, seq+1, func(s *segment, t uint64) int {
		switch {
		case s.seq < t:
			return -1
		case s.seq > t:
			return 1
		}
		return 0
	})
	if i < len(w.segs) {
		return w.segs[i]
	}
	return nil
}

// newSegmentLocked starts a new active segment. The header goes through the
// pend buffer like a record; records carried over from a segment sealed on
// a full disk follow it.
func (w *WAL) newSegmentLocked() error {
	seq := w.nextSeq
	w.nextSeq++ // a failed attempt leaves a gap in the numbers, which is fine
	path := filepath.Join(w.dir, segName(seq))
	f, err := w.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return w.setFaultLocked("create", path, err)
	}
	s := &segment{seq: seq, path: path, f: f, start: segHeaderSize, end: segHeaderSize}
	rand.Read(s.nonce[:])
	s.pend = appendSegHeader(make([]byte, 0, flushAt+64<<10), seq, s.nonce)
	w.pendBytes += segHeaderSize
	w.appended += segHeaderSize
	if len(w.carry) > 0 {
		s.pend = append(s.pend, w.carry...)
		n := int64(len(w.carry))
		s.end += n
		s.records += w.carryRecs
		s.bytes += n
		w.pendBytes += n
		w.appended += uint64(n)
		w.carry, w.carryRecs = nil, 0
	}
	w.segs = append(w.segs, s)
	w.active = s
	w.dirDirty = true
	if w.rseg == nil {
		w.rseg, w.roff, w.rrecs, w.rbytes = s, s.start, 0, 0
	}
	return nil
}

// rollLocked seals the active segment once its records are written. Its
// file stays open; what is not fsynced yet is fsynced by the next commit.
func (w *WAL) rollLocked() error {
	if w.active == nil {
		return nil
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	w.sealLocked(w.active)
	return nil
}

// sealLocked makes s, the active segment, a sealed one. If the watermark
// has already passed its last record (everything read was delivered
// before it was sealed), no later Ack would delete it: the monitor's
// persist does.
func (w *WAL) sealLocked(s *segment) {
	s.sealed = true
	w.trimZerosLocked(s)
	if w.opts.Fsync == FsyncNever || s.synced == s.flushed {
		w.dropPendLocked(s)
	}
	w.active = nil
	if s.seq < w.wmSeg || (s.seq == w.wmSeg && w.wmOff >= s.end) {
		w.ackDirty = true
		if !w.repairing {
			w.kickMonitor()
		}
	}
}

// flushLocked hands the active segment's unwritten records to the OS.
func (w *WAL) flushLocked() error {
	if w.fault != nil {
		return w.fault
	}
	if w.active == nil {
		return nil
	}
	return w.writePendLocked(w.active)
}

// writePendLocked writes s's unwritten bytes, all or nothing: after a
// failure (also a short write) flushed stays where it was, at a record
// boundary, and the next attempt writes from there again.
func (w *WAL) writePendLocked(s *segment) error {
	if s.flushed >= s.end {
		return nil
	}
	if w.opts.Fsync != FsyncNever && s.end > s.zeroed && !s.zeroFailed {
		w.zeroAheadLocked(s)
	}
	b := s.pend[s.flushed-s.pendOff:]
	n, err := s.f.WriteAt(b, s.flushed)
	if err != nil {
		// The whole records of a short write (a nearly full disk) count:
		// records trickle out as space comes free.
		s.flushed += int64(wholePrefix(b[:n], s.flushed == 0))
	} else {
		s.flushed = s.end
	}
	if w.opts.Fsync == FsyncNever {
		s.synced = s.flushed
		w.dropSyncedLocked(s)
	}
	if err != nil {
		return w.setFaultLocked("write", s.path, err)
	}
	return nil
}

// zeroWindow is how far ahead of its records a segment file is filled
// with zeros, so that a commit's fsync writes data into blocks the file
// already has instead of growing it: growing the file makes every fsync
// write its metadata too (its size and new blocks: a journal commit on a
// journalling file system, the inode and block map without one). On ext4
// (Linux 6.18, without a journal on this project's test machine) a commit
// cost 160-200 µs appending and 90-120 µs writing into zeros, the zeros
// included (bench/profiles/disk.md); windows of 256 KiB and 4 MiB measured no
// better, 2 MiB worse. PostgreSQL fills its WAL segments with zeros for
// the same reason.
const zeroWindow = 1 << 20

// zeroBlock is the zeros zeroAheadLocked writes: outside the Go heap (in
// the program's zero-initialised data, whose pages the kernel maps to its
// one zero page when read), so it costs no resident memory.
var zeroBlock [zeroWindow]byte

// zeroAheadLocked extends s's file with zeros past s.end, to the next
// multiple of zeroWindow, and no further than Options.SegmentBytes unless
// a record needs it. The zeros are fsynced with the records that first
// land in them; after that, commits fsync data only. Zeros are not
// records: Open takes a segment's zero tail for its end (scanSegment), and
// sealing a segment cuts it off (trimZerosLocked). If the write fails (a
// full disk), the file is cut back and the segment goes on without zeros:
// the record write that follows meets the disk's trouble, if any, itself.
func (w *WAL) zeroAheadLocked(s *segment) {
	from := max(s.zeroed, s.flushed)
	to := min((s.end+zeroWindow-1)/zeroWindow*zeroWindow, max(s.end, w.opts.SegmentBytes))
	z := zeroBlock[:]
	for off := from; off < to; {
		n, err := s.f.WriteAt(z[:min(int64(len(z)), to-off)], off)
		if err != nil {
			s.f.Truncate(from)
			s.zeroFailed = true
			return
		}
		off += int64(n)
	}
	s.zeroed = to
}

// trimZerosLocked cuts the zeros after a sealed segment's last record off
// its file, so that a segment other than the last ends at its last record
// (what older releases expect). If it fails, Open still takes the zeros
// for the end.
func (w *WAL) trimZerosLocked(s *segment) {
	if s.zeroed > s.flushed && s.flushed == s.end {
		if s.f.Truncate(s.end) == nil {
			s.zeroed = s.end
		}
	}
}

// wholePrefix is the length of the segment header (if header) and the
// whole records at the start of b.
func wholePrefix(b []byte, header bool) int {
	if !header {
		_, k := wholeRecords(b)
		return k
	}
	if len(b) < segHeaderSize {
		return 0
	}
	_, k := wholeRecords(b[segHeaderSize:])
	return segHeaderSize + k
}

// wholeRecords counts the whole records at the start of b, which holds
// records as the WAL encoded them, and returns their length.
func wholeRecords(b []byte) (n int64, length int) {
	for len(b)-length >= recHeaderSize {
		size := recHeaderSize + int(binary.LittleEndian.Uint32(b[length:]))
		if size > len(b)-length {
			break
		}
		length += size
		n++
	}
	return n, length
}

// markSyncedLocked records that s is fsynced up to upto and lets go of the
// bytes kept for a rewrite.
func (w *WAL) markSyncedLocked(s *segment, upto int64) {
	if upto <= s.synced {
		return
	}
	s.synced = upto
	w.dropSyncedLocked(s)
}

// dropSyncedLocked drops the bytes of s's pend buffer before s.synced.
func (w *WAL) dropSyncedLocked(s *segment) {
	k := int(s.synced - s.pendOff)
	if k <= 0 {
		return
	}
	n := copy(s.pend, s.pend[k:])
	s.pend = s.pend[:n]
	if cap(s.pend) > wbufKeep && n < flushAt {
		s.pend = append(make([]byte, 0, flushAt+64<<10), s.pend...)
	}
	s.pendOff = s.synced
	w.pendBytes -= int64(k)
	if s.sealed && n == 0 {
		s.pend = nil
	}
}

// dropPendLocked forgets s's pend buffer: s is fully synced, or deleted.
func (w *WAL) dropPendLocked(s *segment) {
	w.pendBytes -= int64(len(s.pend))
	s.pend, s.pendOff = nil, s.end
}

// retireLocked closes f once no reader or fsync can be using it.
func (w *WAL) retireLocked(f diskio.File) {
	if f != nil {
		w.retired = append(w.retired, f)
		w.closeRetiredLocked()
	}
}

func (w *WAL) closeRetiredLocked() {
	if w.reading || w.syncing || len(w.retired) == 0 {
		return
	}
	for _, f := range w.retired {
		f.Close()
	}
	clear(w.retired)
	w.retired = w.retired[:0]
}

func (w *WAL) syncDir() error {
	d, err := w.fs.OpenFile(w.dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = w.syncFile(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stats returns the records and bytes appended but not yet acknowledged
// (the metrics logshipper_buffer_events and logshipper_buffer_bytes). Bytes
// count record framing, not file headers.
func (w *WAL) Stats() (events int64, bytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events, w.bytes
}

// Lost is the number of appended records the WAL had to give up: damage
// Read found (see Recovery), and records Close could not write because the
// disk still failed. They are no longer in Stats.
func (w *WAL) Lost() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// Recovery reports what Open found and repaired, and damage Read found
// since (see Recovery). Callers log it after Open.
func (w *WAL) Recovery() Recovery {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.report
	r.Problems = slices.Clone(r.Problems)
	return r
}

// Close stops appends and waiting readers and makes everything appended
// durable: it writes the pending records and, unless the policy is
// FsyncNever, fsyncs the segment files and the directory. If the disk still
// fails, the records it could not write are lost: Close returns an error
// saying how many, and Lost counts them. Then it releases the directory
// lock.
//
// After Close, Append, TryAppend and Commit return ErrClosed. Read goes on
// returning the records that were appended and not yet read, then io.EOF.
// Ack and Stats keep working, so the pipeline can drain and acknowledge
// after the inputs have stopped; the caller must not Open the directory
// again until it is done with them. Calling Close again returns nil.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.stopCh)
	if w.commitTimer != nil {
		w.commitTimer.Stop()
	}
	w.mu.Unlock()
	<-w.monitorDone

	w.mu.Lock()
	w.waitSyncLocked()
	var errs []error
	// One last attempt at everything pending, fault or not.
	if w.dirGone && w.restoreDirLocked() == nil {
		w.dirGone = false
	}
	if err := w.writeOutLocked(); err != nil {
		n, b := w.loseUnwrittenLocked()
		errs = append(errs, fmt.Errorf("%w; %d events (%d bytes) not yet written to disk are lost", err, n, b))
	}
	if w.active != nil {
		w.active.sealed = true
		w.trimZerosLocked(w.active)
		w.dropPendLocked(w.active)
		w.active = nil
	}
	w.finished = true
	close(w.closedCh) // wakes waiting appenders, committers and readers
	// The segment that was active may now be wholly acknowledged: write the
	// ack file once more and delete it.
	var gen uint64
	if w.wmGen > 0 || w.ackDirty {
		w.wmGen++
		gen = w.wmGen
	}
	w.mu.Unlock()
	if gen > 0 {
		if err := w.persist(gen); err != nil {
			errs = append(errs, err)
		}
	}
	w.ackMu.Lock()
	if w.ackF != nil {
		w.ackF.Close()
		w.ackF = nil
	}
	w.ackMu.Unlock()
	unlockDir(w.lockFile)
	return errors.Join(errs...)
}

// loseUnwrittenLocked gives up the records that are in memory only (Close
// could not write them) and returns how many.
func (w *WAL) loseUnwrittenLocked() (events, bytes int64) {
	if s := w.active; s != nil && s.flushed < s.end {
		b := s.pend[s.flushed-s.pendOff:]
		n := countRecords(b)
		if s.flushed < segHeaderSize {
			n = s.records
			bytes = s.bytes
		} else {
			bytes = int64(len(b))
		}
		events += n
		s.records -= n
		s.bytes -= bytes
		w.pendBytes -= int64(len(b))
		s.pend = s.pend[:len(s.pend)-len(b)]
		s.end = s.flushed
	}
	if len(w.carry) > 0 {
		events += w.carryRecs
		bytes += int64(len(w.carry))
		w.carry, w.carryRecs = nil, 0
	}
	w.events -= events
	w.bytes -= bytes
	w.lost += events
	return events, bytes
}

// Durable is true: what the WAL holds survives a restart.
func (w *WAL) Durable() bool { return true }
