package buffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/logshipper/logshipper/event"
	"github.com/logshipper/logshipper/internal/diskio"
)

const (
	readChunk  = 256 << 10 // bytes read from a segment file at once
	arenaChunk = 64 << 10  // Raw bytes are carved from arenas of this size
	evSlab     = 1024      // events allocated at once
)

// Read returns up to max records in log order, the oldest unread first,
// each with its position and ID. It blocks until at least one unread record
// exists, ctx is done (ctx.Err()), or the WAL is closed and every record
// appended has been read (io.EOF). Records appended but not yet committed
// are returned too: an ID is never reused, so delivering them early is
// harmless even if a crash then loses them from the disk.
//
// Concurrent readers each get different records. The returned events share
// no memory with the WAL or with each other's Raw. Records appended since
// Open that are still in memory (recent.go) come back as the events that
// were appended, the others decoded from the file: the same values. A
// damaged record (the file was changed behind the WAL's back) is reported
// in Recovery and the rest of its segment skipped; an I/O error is
// returned and the same records are tried again by the next Read.
func (w *WAL) Read(ctx context.Context, max int) ([]Entry, error) {
	if max < 1 {
		return nil, fmt.Errorf("buffer: Read max %d; use 1 or more", max)
	}
	select {
	case w.readSem <- struct{}{}:
	default:
		select {
		case w.readSem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer func() { <-w.readSem }()

	w.mu.Lock()
	for {
		w.advanceReaderLocked()
		if s := w.rseg; s != nil && w.roff < s.end {
			if s.flushed <= w.roff && s == w.active && w.fault == nil {
				w.flushLocked() // deliver early what is not committed yet
			}
			if w.roff < s.flushed {
				entries, err := w.readLocked(s, max)
				if len(entries) > 0 || err != nil {
					return entries, err
				}
				// Only records acknowledged before a restart, or damage,
				// were found and passed over: look again.
				w.mu.Lock()
				continue
			}
			// The next records are not written yet (the disk fails): the
			// repair wakes us.
		} else if w.finished {
			w.closeFilesLocked()
			w.recent.reset()
			w.mu.Unlock()
			return nil, io.EOF
		}
		if w.readWait == nil {
			w.readWait = make(chan struct{})
		}
		ch := w.readWait
		w.mu.Unlock()
		select {
		case <-ch:
		case <-w.closedCh:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		w.mu.Lock()
	}
}

// advanceReaderLocked moves the cursor past sealed segments read to the end.
func (w *WAL) advanceReaderLocked() {
	for w.rseg != nil && w.rseg.sealed && w.roff >= w.rseg.end {
		next := w.segAfter(w.rseg.seq)
		if next == nil {
			return
		}
		w.rseg, w.roff, w.rrecs, w.rbytes = next, next.start, 0, 0
	}
}

// estimateRecords is about how many records span bytes hold, at most
// maxN, to size a Read's slices: by the mean size of the records read so
// far (read of them, readBytes in all), with a quarter more for smaller
// ones; before the first, by the smallest size a record can have. A
// reader right behind the writers reads a few hundred bytes at a time, and
// sizing for the smallest record there allocated ten entries per record.
func estimateRecords(span int64, read, readBytes uint64, maxN int) int {
	mean := int64(recHeaderSize + minPayload)
	if read > 0 {
		mean = max(mean, int64(readBytes/read))
	}
	return int(min(int64(maxN), span*5/4/mean+1))
}

// readLocked reads up to maxN records from s at the cursor, which has
// flushed data. It is called with w.mu held and returns with it released
// (it does the file I/O without it). Only one reader runs it at a time
// (readSem), so the cursor does not move meanwhile.
func (w *WAL) readLocked(s *segment, maxN int) ([]Entry, error) {
	off, end := w.roff, s.flushed
	ord, bord := w.nextOrd, w.nextBord
	skips := w.skips // pruned by reslicing only: the elements stay valid
	f := s.f
	hits := w.recent.window(s.seq, off, end, maxN)
	w.reading = true
	w.mu.Unlock()
	k := skipIndex(skips, s.seq, off)
	var skipped int64

	est := estimateRecords(end-off, ord-1, bord, maxN)
	entries := make([]Entry, 0, min(est, evSlab))
	var (
		evs               []event.Event
		arena             []byte
		lastIP, lastProxy string
		ids               = w.idbuf[:0]
		cur               = off
		bad               error
		ioErr             error
	)
	for len(entries) < maxN && cur < end {
		for len(hits) > 0 && hits[0].off < cur {
			hits = hits[1:]
		}
		// The record's size and event: from memory when it was appended
		// in this run and is still there (the event as the input made
		// it, the file not read), else read and decoded from the file.
		var (
			size int
			ev   *event.Event
			r    record
		)
		if len(hits) > 0 && hits[0].off == cur {
			size, ev = hits[0].size, hits[0].ev
			hits = hits[1:]
		} else {
			if end-cur < recHeaderSize {
				bad = errors.New("record cut short")
				break
			}
			b, err := w.bytesAt(s, f, cur, end, recHeaderSize)
			if err != nil {
				ioErr = err
				break
			}
			if size, err = recordLen(b); err != nil {
				bad = err
				break
			}
			if int64(size) > end-cur {
				bad = errors.New("record runs past the end of the segment")
				break
			}
			if len(b) < size {
				if b, err = w.bytesAt(s, f, cur, end, size); err != nil {
					ioErr = err
					break
				}
			}
			if r, err = decodeRecord(b[:size]); err != nil {
				bad = err
				break
			}
		}
		for k < len(skips) && cmpPos(skips[k].toSeg, skips[k].toOff, s.seq, cur) <= 0 {
			k++
		}
		if k < len(skips) && skips[k].contains(s.seq, cur) {
			cur += int64(size)
			skipped += int64(size)
			continue
		}

		if ev == nil {
			if len(evs) == 0 {
				// Those still to come from memory need none.
				// Records smaller than the estimate's mean: 16 more
				// at a time, not one by one.
				n := max(est-len(entries)-len(hits), min(16, maxN-len(entries)))
				evs = make([]event.Event, max(1, min(n, evSlab)))
			}
			ev = &evs[0]
			evs = evs[1:]
			ev.Received = r.received()
			if r.flags&flagTransport == transportOther {
				ev.Transport = string(r.transport)
			} else {
				ev.Transport = r.transportName()
			}
			ev.Truncated = r.flags&flagTruncated != 0
			if string(r.sourceIP) != lastIP {
				lastIP = string(r.sourceIP)
			}
			ev.SourceIP = lastIP
			// The balancer's address, like the sender's, repeats from
			// record to record: one string for a run of them.
			if string(r.proxyIP) != lastProxy {
				lastProxy = string(r.proxyIP)
			}
			ev.ProxyIP = lastProxy
			if cap(arena)-len(arena) < len(r.raw) {
				arena = make([]byte, 0, max(arenaChunk, len(r.raw)))
			}
			a := len(arena)
			arena = append(arena, r.raw...)
			ev.Raw = arena[a:len(arena):len(arena)]
		}

		ids = appendID(ids, &s.nonce, uint32(cur))
		entries = append(entries, Entry{
			Event: ev,
			Pos:   Pos{seg: s.seq, off: uint32(cur), size: uint32(size), ord: ord, bord: bord, sess: w.session},
		})
		cur += int64(size)
		ord++
		bord += uint64(size)
	}
	if len(entries) > 0 {
		idStr := string(ids)
		for i := range entries {
			entries[i].ID = idStr[i*idLen : (i+1)*idLen]
		}
	}
	w.idbuf = ids[:0]
	if cap(w.rbuf) > 4*readChunk { // after a huge record
		w.rbuf, w.rbufLen = nil, 0
	}

	w.mu.Lock()
	w.reading = false
	w.recent.dropBefore(s.seq, cur)
	if s == w.active && cur == end {
		// Everything written to the file when this read began has been
		// read: the reader is right behind the writers. (Not cur ==
		// s.end: busy writers append during every read, so the reader
		// would seldom see that, and at a steady rate over many
		// connections it stayed paused for good.)
		w.recent.caughtUp()
	}
	w.roff = cur
	w.rrecs += int64(len(entries))
	w.rbytes += cur - off - skipped
	w.nextOrd, w.nextBord = ord, bord
	if bad != nil {
		w.skipLocked(s, cur, bad)
	}
	w.closeRetiredLocked()
	w.mu.Unlock()
	if len(entries) == 0 && ioErr != nil {
		return nil, ioErr
	}
	return entries, nil
}

// skipLocked gives up on the rest of segment s from off: it is damaged.
func (w *WAL) skipLocked(s *segment, off int64, why error) {
	w.problem("%s: offset %d: %v; skipped the rest of the segment (%d bytes)", s.path, off, why, s.end-off)
	if s == w.active {
		if err := w.rollLocked(); err != nil {
			return
		}
	}
	lostN, lostB := s.records-w.rrecs, s.bytes-w.rbytes
	s.records, s.bytes, s.end = w.rrecs, w.rbytes, off
	s.flushed, s.synced = min(s.flushed, off), min(s.synced, off)
	w.dropPendLocked(s)
	w.events -= lostN
	w.bytes -= lostB
	w.lost += lostN
	w.wakeSpaceLocked()
	w.roff = off
}

func (w *WAL) wakeSpaceLocked() {
	if w.spaceWait != nil {
		close(w.spaceWait)
		w.spaceWait = nil
	}
}

// bytesAt returns the file bytes of s from off on, at least n of them
// (off+n <= end), from the read buffer or read from f into it.
func (w *WAL) bytesAt(s *segment, f diskio.File, off, end int64, n int) ([]byte, error) {
	if w.rbufSeq == s.seq && off >= w.rbufOff && off+int64(n) <= w.rbufOff+int64(w.rbufLen) {
		return w.rbuf[off-w.rbufOff : w.rbufLen], nil
	}
	size := int(min(int64(max(n, readChunk)), end-off))
	if size < n {
		size = n
	}
	if cap(w.rbuf) < size {
		w.rbuf = make([]byte, max(size, readChunk))
	}
	w.rbufLen = 0
	k, err := f.ReadAt(w.rbuf[:size], off)
	if k < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("buffer: read %s at %d: %w", s.path, off, err)
	}
	w.rbufSeq, w.rbufOff, w.rbufLen = s.seq, off, k
	return w.rbuf[:k], nil
}

// closeFilesLocked closes the segment files once Read has returned
// everything after Close; Ack still deletes them by name.
func (w *WAL) closeFilesLocked() {
	for _, s := range w.segs {
		w.retireLocked(s.f)
		s.f = nil
	}
	w.rbufLen = 0
}

// Ack marks the records from first to last (inclusive; positions returned by
// Read, first not after last) as delivered. Acks may come in any order, e.g.
// from several bulk workers; the watermark advances over the acknowledged
// records that follow it without a gap. Before Ack returns, the watermark
// and the runs acknowledged beyond it are written to the ack file (a
// temporary file renamed over it; fsynced, with the directory, unless the
// policy is FsyncNever), and the segment files wholly below the watermark
// are deleted. So after a restart Read returns exactly the records not
// acknowledged (after a power loss with FsyncNever, perhaps some acknowledged
// ones too: at-least-once, and their IDs are the same).
//
// Stats drop as soon as Ack returns, and blocked appends may proceed. Ack
// fails, changing nothing, for positions not returned by this WAL's Read or
// records already acknowledged. An error writing the ack file is returned
// after the acknowledgement took effect in memory; the next Ack writes it
// again. Ack works after Close.
func (w *WAL) Ack(first, last Pos) error {
	w.mu.Lock()
	switch {
	case first.sess != w.session || last.sess != w.session:
		w.mu.Unlock()
		return errors.New("buffer: Ack of a position this WAL did not return (the zero Pos, or one from before a restart)")
	case last.ord < first.ord || last.bord < first.bord:
		w.mu.Unlock()
		return fmt.Errorf("buffer: Ack from %v to %v: the first is after the last", first, last)
	case last.ord >= w.nextOrd:
		w.mu.Unlock()
		return fmt.Errorf("buffer: Ack up to %v: not read yet", last)
	case first.ord < w.wmOrd:
		w.mu.Unlock()
		return fmt.Errorf("buffer: Ack from %v: already acknowledged", first)
	}
	i, _ := slices.BinarySearchFunc(w.acked, first.ord, func(r ackRange, o uint64) int {
		switch {
		case r.from < o:
			return -1
		case r.from > o:
			return 1
		}
		return 0
	})
	if (i > 0 && w.acked[i-1].to >= first.ord) || (i < len(w.acked) && w.acked[i].from <= last.ord) {
		w.mu.Unlock()
		return fmt.Errorf("buffer: Ack from %v to %v: already acknowledged in part", first, last)
	}
	r := ackRange{
		from: first.ord, to: last.ord,
		fromSeg: first.seg, fromOff: int64(first.off),
		seg: last.seg, end: int64(last.off) + int64(last.size),
	}
	// Join runs that touch, so the list (and the ack file) grows with the
	// gaps, not with the number of acks.
	if i < len(w.acked) && w.acked[i].from == r.to+1 {
		r.to, r.seg, r.end = w.acked[i].to, w.acked[i].seg, w.acked[i].end
		w.acked = slices.Delete(w.acked, i, i+1)
	}
	if i > 0 && w.acked[i-1].to+1 == r.from {
		w.acked[i-1].to, w.acked[i-1].seg, w.acked[i-1].end = r.to, r.seg, r.end
	} else {
		w.acked = slices.Insert(w.acked, i, r)
	}
	w.events -= int64(last.ord - first.ord + 1)
	w.bytes -= int64(last.bord + uint64(last.size) - first.bord)
	w.wakeSpaceLocked()

	for len(w.acked) > 0 && w.acked[0].from == w.wmOrd {
		r := w.acked[0]
		w.wmOrd, w.wmSeg, w.wmOff = r.to+1, r.seg, r.end
		w.acked = slices.Delete(w.acked, 0, 1)
	}
	if n := skipIndex(w.skips, w.wmSeg, w.wmOff); n > 0 {
		w.skips = w.skips[n:]
	}
	w.wmGen++
	gen := w.wmGen
	w.mu.Unlock()
	return w.persist(gen)
}

// persist writes the acknowledgements (the latest state, at least gen) to
// the ack file: the watermark and the runs acknowledged beyond it. Then it
// deletes the segments below the watermark, also when the ack file could
// not be written: space must come free even then, and a restart that finds
// an older watermark only sends some delivered records again, with their
// IDs. A failed write sets the WAL's ack fault, which the monitor retries.
// Concurrent callers coalesce.
func (w *WAL) persist(gen uint64) error {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	w.mu.Lock()
	if w.persistedGen >= gen && !w.ackDirty {
		w.mu.Unlock()
		return nil
	}
	gen = w.wmGen
	seg, off := w.wmSeg, w.wmOff
	ranges := make([]posRange, 0, len(w.acked)+len(w.skips))
	for _, r := range w.acked {
		ranges = append(ranges, posRange{r.fromSeg, r.fromOff, r.seg, r.end})
	}
	ranges = append(ranges, w.skips...)
	doomed := w.takeDoomedLocked()
	recreate := w.ackRecreate
	w.ackRecreate = false
	w.ackDirty = false // this write takes care of it; a failure sets it again
	w.mu.Unlock()
	ranges = unionRanges(ranges)
	ranges = ranges[:min(len(ranges), maxAckRanges)]

	if recreate && w.ackF != nil {
		w.ackF.Close()
		w.ackF = nil
	}
	ackPath := filepath.Join(w.dir, ackName)
	err := w.writeAck(seg, off, ranges)
	var errs []error
	w.mu.Lock()
	if err != nil {
		w.ackDirty = true
		w.ackFault = &FaultError{Kind: diskio.Classify(err), Op: opWriteAck, Path: ackPath, Err: err}
		errs = append(errs, w.ackFault) // the monitor retries within checkInterval
	} else {
		w.persistedGen = max(w.persistedGen, gen)
		w.ackFault = nil
	}
	for _, s := range doomed {
		w.retireLocked(s.f)
		s.f = nil
	}
	w.mu.Unlock()
	paths := make([]string, 0, len(doomed))
	for _, s := range doomed {
		paths = append(paths, s.path)
	}
	if err := w.removeSegments(paths); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeSegments deletes delivered segment files. What cannot be deleted
// now (a read-only or failing disk) is tried again by the monitor.
func (w *WAL) removeSegments(paths []string) error {
	var errs []error
	var left []string
	for _, p := range paths {
		if err := w.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("buffer: deleting an acknowledged segment: %w", err))
			left = append(left, p)
		}
	}
	if len(left) < len(paths) {
		w.kickMonitor() // space was freed: a fault may clear now
	}
	if len(left) > 0 {
		w.mu.Lock()
		w.undeleted = append(w.undeleted, left...)
		w.mu.Unlock()
	}
	return errors.Join(errs...)
}

// unionRanges sorts ranges and joins those that overlap or touch: an Ack
// of records around a run the previous run acknowledged covers that run.
func unionRanges(ranges []posRange) []posRange {
	slices.SortFunc(ranges, func(a, b posRange) int { return cmpPos(a.fromSeg, a.fromOff, b.fromSeg, b.fromOff) })
	out := ranges[:0]
	for _, r := range ranges {
		if n := len(out); n > 0 && cmpPos(r.fromSeg, r.fromOff, out[n-1].toSeg, out[n-1].toOff) <= 0 {
			if cmpPos(r.toSeg, r.toOff, out[n-1].toSeg, out[n-1].toOff) > 0 {
				out[n-1].toSeg, out[n-1].toOff = r.toSeg, r.toOff
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
