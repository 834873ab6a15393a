package buffer

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	ackName    = "ack"
	ackTmpName = "ack.tmp"
	lockName   = "lock"
	segSuffix  = ".seg"

	flushAt      = 256 << 10 // write the append buffer to the file from this size on
	wbufKeep     = 4 << 20   // drop a larger append buffer after a flush
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
	// start is where reading begins: after the header, or for the segment
	// holding the watermark at Open, at the first unacknowledged record.
	start int64
	// end is the end of the valid records: for the active segment it
	// includes bytes still in the append buffer.
	end int64
	// flushed is how much of the file has been handed to the OS.
	flushed int64
	// sealed: no more records will be appended (every segment but the
	// active one).
	sealed bool
	// records and bytes in [start, end).
	records int64
	bytes   int64
}

// unsyncedFile is a sealed segment file whose last bytes (ending at lsn) may
// not have been fsynced yet.
type unsyncedFile struct {
	f   *os.File
	lsn uint64
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

// WAL is the write-ahead log. Its methods are safe for concurrent use.
type WAL struct {
	opts     Options
	dir      string
	session  uint64
	syncFile func(*os.File) error
	lockFile *os.File

	mu       sync.Mutex
	closed   bool
	closedCh chan struct{}
	err      error // sticky: a failed write or fsync stops appends and reads

	segs    []*segment // oldest first; the last one is active unless sealed
	active  *segment
	f       *os.File // the active segment's file
	nextSeq uint64

	wbuf     []byte // appended, not yet written to f
	appended uint64 // bytes appended (segment headers included) since Open
	written  uint64 // of them, handed to the OS
	synced   uint64 // of them, fsynced
	syncing  bool   // a group commit leader is in fsync
	syncDone chan struct{}
	unsynced []unsyncedFile
	dirDirty bool // a segment file was created since the last directory fsync

	events, bytes int64 // unacknowledged records
	spaceWait     chan struct{}
	readWait      chan struct{}

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
	readSem  chan struct{}
	rfile    *os.File
	rfileSeq uint64
	rbuf     []byte
	rbufSeq  uint64
	rbufOff  int64
	rbufLen  int
	idbuf    []byte

	// Ack file writing, serialised by ackMu.
	ackMu        sync.Mutex
	persistedGen uint64
	doomed       []*segment // to delete once the watermark is on disk
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
// and when another process has the directory open.
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
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("buffer.path: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{
		opts:     opts,
		dir:      opts.Dir,
		syncFile: opts.syncFile,
		lockFile: lock,
		closedCh: make(chan struct{}),
		readSem:  make(chan struct{}, 1),
		nextOrd:  1,
		wmOrd:    1,
		wbuf:     make([]byte, 0, flushAt+64<<10),
	}
	if w.syncFile == nil {
		w.syncFile = (*os.File).Sync
	}
	var sess [8]byte
	rand.Read(sess[:])
	w.session = binary.LittleEndian.Uint64(sess[:]) | 1
	if err := w.recover(); err != nil {
		unlockDir(lock)
		return nil, err
	}
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
	if err := os.Remove(filepath.Join(w.dir, ackTmpName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("buffer: %w", err)
	}
	ackPath := filepath.Join(w.dir, ackName)
	b, err := os.ReadFile(ackPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("buffer: %w", err)
	default:
		seg, off, ranges, err := decodeAck(b)
		switch {
		case errors.Is(err, errNewerFormat):
			return fmt.Errorf("buffer: %s: %w; use the logshipper version that wrote it", ackPath, err)
		case err != nil:
			w.problem("%s: damaged (%v); reading every segment from its start again", ackPath, err)
		default:
			w.wmSeg, w.wmOff, w.skips = seg, off, ranges
		}
	}

	des, err := os.ReadDir(w.dir)
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
		size, torn, err := tornNewSegment(path)
		if err != nil {
			return err
		}
		if !torn {
			break
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("buffer: %w", err)
		}
		w.report.TruncatedBytes += size
		seqs = seqs[:len(seqs)-1]
	}
	for i, seq := range seqs {
		path := filepath.Join(w.dir, segName(seq))
		if seq < w.wmSeg {
			if err := os.Remove(path); err != nil {
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
		if err := os.Remove(s.path); err != nil {
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
	return nil
}

// recoverSegment scans one segment file from its header, checking every
// record, and returns it sealed with reading positioned at the first record
// at or after from. It returns nil for a torn last segment it deleted.
func (w *WAL) recoverSegment(path string, seq uint64, from int64, last bool) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	size := fi.Size()
	s := &segment{seq: seq, path: path, start: segHeaderSize, end: segHeaderSize, sealed: true}

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
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("buffer: %w", err)
			}
			w.report.TruncatedBytes += size
			return nil, nil
		}
		w.problem("%s: %v; skipped the whole segment (%d bytes)", path, err, size)
		s.flushed = s.end
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
	s.end, s.flushed = off, off
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
func tornNewSegment(path string) (size int64, torn bool, err error) {
	f, err := os.Open(path)
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
	return fi.Size(), n < segHeaderSize || allZero(hdr), nil
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

// fail makes err sticky: after a failed write or fsync the state of the
// file is unknown (and Linux may have dropped the dirty pages), so the WAL
// stops taking events; a restart recovers what is on disk.
func (w *WAL) fail(err error) {
	if w.err == nil {
		w.err = fmt.Errorf("%w; the buffer takes no more events until restarted", err)
	}
}

// newSegmentLocked starts a new active segment. The header goes through the
// append buffer like a record.
func (w *WAL) newSegmentLocked() error {
	seq := w.nextSeq
	path := filepath.Join(w.dir, segName(seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		w.fail(fmt.Errorf("buffer: %w", err))
		return w.err
	}
	w.nextSeq++
	s := &segment{seq: seq, path: path, start: segHeaderSize, end: segHeaderSize}
	rand.Read(s.nonce[:])
	w.wbuf = appendSegHeader(w.wbuf, seq, s.nonce)
	w.appended += segHeaderSize
	w.segs = append(w.segs, s)
	w.active, w.f = s, f
	w.dirDirty = true
	if w.rseg == nil {
		w.rseg, w.roff, w.rrecs, w.rbytes = s, s.start, 0, 0
	}
	return nil
}

// rollLocked seals the active segment.
func (w *WAL) rollLocked() error {
	if w.active == nil {
		return nil
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	w.active.sealed = true
	w.active = nil
	if w.synced >= w.written || w.opts.Fsync == FsyncNever {
		if err := w.f.Close(); err != nil {
			w.fail(fmt.Errorf("buffer: %w", err))
		}
	} else {
		w.unsynced = append(w.unsynced, unsyncedFile{w.f, w.written})
	}
	w.f = nil
	return w.err
}

// flushLocked hands the append buffer to the OS.
func (w *WAL) flushLocked() error {
	if w.err != nil {
		return w.err
	}
	if len(w.wbuf) == 0 {
		return nil
	}
	if w.f == nil {
		w.fail(errors.New("buffer: internal error: records buffered without a segment file"))
		return w.err
	}
	n, err := w.f.Write(w.wbuf)
	w.active.flushed += int64(n)
	w.written += uint64(n)
	if err != nil {
		w.fail(fmt.Errorf("buffer: write %s: %w", w.active.path, err))
		return w.err
	}
	if cap(w.wbuf) > wbufKeep {
		w.wbuf = make([]byte, 0, flushAt+64<<10)
	} else {
		w.wbuf = w.wbuf[:0]
	}
	return nil
}

func (w *WAL) syncDir() error {
	d, err := os.Open(w.dir)
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
// durable: it writes the append buffer and, unless the policy is
// FsyncNever, fsyncs the segment files and the directory. Then it closes the
// files and releases the directory lock.
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
	close(w.closedCh)
	for w.syncing {
		ch := w.syncDone
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
	}
	var errs []error
	if err := w.flushLocked(); err != nil {
		errs = append(errs, err)
	}
	if w.opts.Fsync != FsyncNever && w.err == nil && (w.synced < w.written || w.dirDirty) {
		for _, u := range w.unsynced {
			if err := w.syncFile(u.f); err != nil {
				errs = append(errs, fmt.Errorf("buffer: fsync %s: %w", u.f.Name(), err))
			}
		}
		if w.f != nil {
			if err := w.syncFile(w.f); err != nil {
				errs = append(errs, fmt.Errorf("buffer: fsync %s: %w", w.f.Name(), err))
			}
		}
		if w.dirDirty {
			if err := w.syncDir(); err != nil {
				errs = append(errs, fmt.Errorf("buffer: fsync %s: %w", w.dir, err))
			}
		}
		if len(errs) == 0 {
			w.synced = w.written
			w.dirDirty = false
		}
	}
	for _, u := range w.unsynced {
		u.f.Close()
	}
	w.unsynced = nil
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("buffer: %w", err))
		}
		w.f = nil
	}
	if w.active != nil {
		w.active.sealed = true
		w.active = nil
	}
	if len(errs) > 0 {
		w.fail(errors.Join(errs...))
	}
	// The segment that was active may now be wholly acknowledged: write the
	// ack file once more and delete it.
	var gen uint64
	if w.wmGen > 0 {
		w.wmGen++
		gen = w.wmGen
	}
	w.mu.Unlock()
	if gen > 0 {
		if err := w.persist(gen); err != nil {
			errs = append(errs, err)
		}
	}

	w.readSem <- struct{}{}
	if w.rfile != nil {
		w.rfile.Close()
		w.rfile = nil
	}
	<-w.readSem
	unlockDir(w.lockFile)
	return errors.Join(errs...)
}
