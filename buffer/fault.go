package buffer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/logshipper/logshipper/internal/diskio"
)

// How the WAL lives with a failing disk.
//
// A failed write, fsync or file creation sets w.fault instead of stopping
// the WAL for good. While it is set, Append and Commit wait (TCP reads
// stop: back-pressure), TryAppend fails with the *FaultError (UDP drops,
// counted), and Read, Ack and segment deletion go on, so that delivering
// what is on disk frees space. Nothing appended is lost meanwhile: records
// not yet written stay in memory (their segment's pend buffer, or w.carry),
// and so do records written but not yet fsynced, to be written again after
// a failed fsync (Linux may drop the pages of a failed writeback, so
// retrying the fsync alone would lie). Because appends wait, that memory is
// bounded by one flush (256 KiB) plus one group per appender.
//
// The monitor goroutine retries with backoff (50 ms doubling to 1 s), and
// at once when an Ack has deleted segments. A retry writes everything
// pending and fsyncs it; only then is the fault cleared, so a committer
// released by the clearing finds its records durable. It also checks once
// a second that the directory is still the one Open found: when it was
// deleted or replaced (a repaired file system mounted in its place), it
// writes every segment still needed into it again from the open files,
// byte for byte (same names, same nonces: the records keep their IDs), and
// the ack file too.
//
// On a full disk the active segment is sealed at its last written record,
// and its unwritten records are carried into the next segment: otherwise
// the segment being filled could never be deleted (only sealed segments
// are), and a buffer whose one segment fills the file system would wait
// for space forever.

const (
	retryMin      = 50 * time.Millisecond
	retryMax      = time.Second
	checkInterval = time.Second
)

const opWriteAck = "write ack"

var errDirReplaced = errors.New("deleted or replaced while logshipper was running")

// Fault returns the disk failure the WAL is living with, nil when there is
// none: a *FaultError for writes (appends wait, TryAppend fails) or, if
// writes work, for the ack file (reported only). For readiness checks.
func (w *WAL) Fault() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.faultLocked(); e != nil {
		return e
	}
	return nil
}

func (w *WAL) faultLocked() *FaultError {
	if w.fault != nil {
		return w.fault
	}
	return w.ackFault
}

// setFaultLocked records a failed operation and returns it as the WAL's
// fault.
func (w *WAL) setFaultLocked(op, path string, err error) error {
	fe := &FaultError{Kind: diskio.Classify(err), Op: op, Path: path, Err: err}
	if errors.Is(err, errDirReplaced) {
		fe.Kind = diskio.KindMissing
	}
	if w.fault == nil {
		w.faultCleared = make(chan struct{})
	}
	w.fault = fe
	if fe.Kind == diskio.KindFull && w.active != nil {
		w.sealOnFullLocked()
	}
	if !w.repairing {
		w.kickMonitor() // a failed retry waits for the monitor's backoff
	}
	return fe
}

func (w *WAL) clearFaultLocked() {
	w.fault = nil
	if w.faultCleared != nil {
		close(w.faultCleared)
		w.faultCleared = nil
	}
	if w.readWait != nil {
		close(w.readWait)
		w.readWait = nil
	}
}

func (w *WAL) kickMonitor() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// sealOnFullLocked seals the active segment at its last written record and
// carries its unwritten records over to the next segment (see above).
func (w *WAL) sealOnFullLocked() {
	s := w.active
	if s.flushed <= segHeaderSize {
		// None of its records reached the disk: sealing it would free
		// nothing, and the retry writes into it again (rather than start
		// a new file at every attempt).
		return
	}
	w.active = nil
	unwritten := s.pend[s.flushed-s.pendOff:]
	w.carry = append(w.carry[:0], unwritten...)
	w.carryRecs = countRecords(unwritten)
	s.records -= w.carryRecs
	s.bytes -= int64(len(unwritten))
	s.end = s.flushed
	w.pendBytes -= int64(len(unwritten))
	s.pend = s.pend[:len(s.pend)-len(unwritten)]
	// A short write may have left part of a record after flushed: cut it,
	// or Open would take it for damage once newer segments follow. This
	// frees space and needs none; if it fails, Open reports what is left.
	s.f.Truncate(s.flushed)
	w.sealLocked(s)
}

// countRecords counts the records encoded in b, which holds whole records.
func countRecords(b []byte) int64 {
	n, _ := wholeRecords(b)
	return n
}

// monitor retries while the disk fails, checks the directory, writes the
// ack file again when it fell behind, and reports changes through
// Options.OnFault. It ends when the WAL is closed.
func (w *WAL) monitor() {
	defer close(w.monitorDone)
	timer := time.NewTimer(checkInterval)
	defer timer.Stop()
	delay := retryMin
	var reported string
	report := func() *FaultError {
		w.mu.Lock()
		cur := w.faultLocked()
		w.mu.Unlock()
		var now string
		if cur != nil {
			now = cur.Error()
		}
		if now != reported && w.opts.OnFault != nil {
			if cur != nil {
				w.opts.OnFault(cur)
			} else {
				w.opts.OnFault(nil)
			}
		}
		reported = now
		return cur
	}
	for {
		select {
		case <-w.stopCh:
			return
		case <-w.kick:
		case <-timer.C:
		}
		w.mu.Lock()
		w.checkDirLocked()
		w.mu.Unlock()
		if report() != nil { // what failed, before the retry
			w.mu.Lock()
			if w.fault != nil {
				w.repairLocked()
			}
			w.mu.Unlock()
		}
		w.mu.Lock()
		ackDirty, gen := w.ackDirty, w.wmGen
		undeleted := w.undeleted
		w.undeleted = nil
		w.mu.Unlock()
		if ackDirty {
			w.persist(gen) // sets or clears ackFault
		}
		if len(undeleted) > 0 {
			w.removeSegments(undeleted)
		}
		wait := checkInterval
		if report() != nil {
			wait, delay = delay, min(2*delay, retryMax)
		} else {
			delay = retryMin
		}
		timer.Reset(wait)
	}
}

// checkDirLocked notices a directory deleted or replaced under the running
// process. Writes into the open files would go on succeeding and reach
// nothing a restart could find, so it is a fault like a failed write.
func (w *WAL) checkDirLocked() {
	if w.dirGone || w.closed {
		return
	}
	fi, err := w.fs.Stat(w.dir)
	switch {
	case err == nil && os.SameFile(fi, w.dirInfo):
		return
	case err != nil && diskio.Classify(err) != diskio.KindMissing:
		return // cannot tell; writes will show it if the disk is gone
	}
	w.dirGone = true
	w.setFaultLocked("check", w.dir, errDirReplaced)
}

// repairLocked tries to end the fault: it restores the directory if it
// was deleted or replaced, then writes and fsyncs everything pending. On
// success it clears the fault and wakes the waiting appenders, committers
// and readers; on failure the fault says what failed now.
func (w *WAL) repairLocked() {
	w.waitSyncLocked()
	if w.closed || w.fault == nil {
		return
	}
	w.repairing = true
	defer func() { w.repairing = false }()
	if w.dirGone {
		if err := w.restoreDirLocked(); err != nil {
			return
		}
		w.dirGone = false
	}
	if w.writeOutLocked() != nil {
		return
	}
	w.clearFaultLocked()
}

// writeOutLocked writes everything pending, fault or not: the bytes a
// failed fsync may have lost, the records carried over from a segment
// sealed on a full disk (into a new segment), the active segment's
// unwritten records; then it fsyncs every file that needs it and the
// directory (unless FsyncNever). Any failure becomes the fault.
func (w *WAL) writeOutLocked() error {
	if w.dirGone {
		return w.fault
	}
	for _, s := range w.segs {
		if !s.rewrite {
			continue
		}
		if _, err := s.f.WriteAt(s.pend[s.synced-s.pendOff:s.flushed-s.pendOff], s.synced); err != nil {
			return w.setFaultLocked("write", s.path, err)
		}
	}
	// After a segment was sealed on a full disk, or a new one could not be
	// created, create it now: appenders are waiting for one, and a retry
	// that did not try would end the fault only for them to fail again.
	if w.active == nil && (len(w.carry) > 0 || (w.fault != nil && !w.closed)) {
		if err := w.newSegmentLocked(); err != nil {
			return err
		}
	}
	if w.active != nil {
		if err := w.writePendLocked(w.active); err != nil {
			return err
		}
	}
	if w.opts.Fsync != FsyncNever {
		items := w.unsyncedLocked()
		for _, s := range w.segs {
			if s.rewrite && s.synced == s.flushed {
				s.rewrite = false
			}
		}
		if failed, err := w.syncItems(items, w.dirDirty); err != nil {
			for _, it := range items {
				it.s.rewrite = true
			}
			return w.setFaultLocked("fsync", failed, err)
		}
		w.dirDirty = false
		for _, it := range items {
			it.s.rewrite = false
			w.markSyncedLocked(it.s, it.upto)
		}
	}
	w.synced = w.appended
	w.closeRetiredLocked()
	return nil
}

// restoreDirLocked writes the buffer's files into its directory again
// after it was deleted or replaced: every segment still needed, copied from
// its open file (the same name and nonce, so the records keep their IDs),
// and the ack file. Then new writes go to the new files.
func (w *WAL) restoreDirLocked() error {
	if err := w.fs.MkdirAll(w.dir, 0o750); err != nil {
		return w.setFaultLocked("create", w.dir, err)
	}
	lock, err := lockDir(w.dir)
	if err != nil {
		return w.setFaultLocked("lock", filepath.Join(w.dir, lockName), err)
	}
	unlockDir(w.lockFile)
	w.lockFile = lock
	live := map[string]bool{}
	buf := make([]byte, 1<<20)
	for _, s := range w.segs {
		live[filepath.Base(s.path)] = true
		nf, err := w.fs.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
		if err != nil {
			return w.setFaultLocked("create", s.path, err)
		}
		if err := copyFile(nf, s.f, s.flushed, buf); err != nil {
			nf.Close()
			return w.setFaultLocked("write", s.path, err)
		}
		if w.opts.Fsync != FsyncNever {
			if err := w.syncFile(nf); err != nil {
				nf.Close()
				return w.setFaultLocked("fsync", s.path, err)
			}
		}
		w.retireLocked(s.f)
		s.f = nf
		s.zeroed, s.zeroFailed = 0, false // the copy ends at the last record
		s.rewrite = false
		w.markSyncedLocked(s, s.flushed)
	}
	// A repaired file system may still hold segments deleted since.
	if des, err := w.fs.ReadDir(w.dir); err == nil {
		for _, de := range des {
			if _, ok := parseSegName(de.Name()); ok && !live[de.Name()] {
				w.fs.Remove(filepath.Join(w.dir, de.Name()))
			}
		}
	}
	// The monitor writes a new ack file after this (persist, which owns the
	// open one).
	w.ackDirty, w.ackRecreate = true, true
	w.dirDirty = true
	if err := w.syncDir(); err != nil && w.opts.Fsync != FsyncNever {
		return w.setFaultLocked("fsync", w.dir, err)
	}
	w.dirDirty = false
	fi, err := w.fs.Stat(w.dir)
	if err != nil {
		return w.setFaultLocked("check", w.dir, err)
	}
	w.dirInfo = fi
	return nil
}

// copyFile copies the first n bytes of src into dst.
func copyFile(dst, src diskio.File, n int64, buf []byte) error {
	for off := int64(0); off < n; {
		k := int(min(int64(len(buf)), n-off))
		if _, err := src.ReadAt(buf[:k], off); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if _, err := dst.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off += int64(k)
	}
	return nil
}
