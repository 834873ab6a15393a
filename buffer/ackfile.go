package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The ack file, format 2: preallocated once, then written in place, so
// that acknowledging (and so deleting delivered segments) never needs free
// space on the file system, however full it is.
//
// It holds two slots of ackSlotSize bytes, each big enough for the
// largest state (maxAckRanges ranges). Every write goes to the slot not
// holding the newest state, with a generation one higher; Open takes the
// valid slot with the highest generation. A write torn by a crash leaves
// the other slot, one acknowledgement older: records delivered since are
// read again, with the same IDs. A failed write is retried into the same
// slot, so the newest good state is never the one overwritten.
//
// Slot: magic "LSWA", version 2, 3 zero bytes, generation (uint64), the
// watermark (segment uint64, offset uint64), n (uint32), n ranges of 4
// uint64 (as in format 1), CRC-32C of everything before it. The rest of the
// slot is unused.
//
// Overwriting allocated blocks needs no new ones on ext4, xfs and tmpfs;
// copy-on-write file systems (btrfs, ZFS) allocate even then, so there a
// completely full file system can still refuse an acknowledgement (the
// segments are deleted all the same).
const (
	ackVersion2    = 2
	ackSlotHeader  = 36
	ackSlotMaxUsed = ackSlotHeader + ackRangeSize*maxAckRanges + 4
	ackSlotSize    = (ackSlotMaxUsed + 4095) &^ 4095
	ackFileSize    = 2 * ackSlotSize
)

// ackState is what an ack file holds.
type ackState struct {
	seg    uint64
	off    int64
	ranges []posRange
	gen    uint64
	v2     bool // a preallocated format-2 file, writable in place
}

// decodeAckFile reads an ack file of format 1 (written whole, renamed over
// the old one) or 2 (two slots, see above).
func decodeAckFile(b []byte) (ackState, error) {
	if len(b) >= 5 && string(b[:4]) == ackMagic && b[4] == formatVersion {
		seg, off, ranges, err := decodeAck(b)
		return ackState{seg: seg, off: off, ranges: ranges}, err
	}
	if len(b) >= 5 && string(b[:4]) == ackMagic && b[4] > ackVersion2 {
		return ackState{}, fmt.Errorf("%w %d", errNewerFormat, b[4])
	}
	if len(b) != ackFileSize {
		return ackState{}, fmt.Errorf("%d bytes, want %d (format 2) or a format 1 file", len(b), ackFileSize)
	}
	var best ackState
	var errs []error
	found := false
	for i := range 2 {
		st, err := decodeAckSlot(b[i*ackSlotSize : (i+1)*ackSlotSize])
		if err != nil {
			if errors.Is(err, errNewerFormat) {
				return ackState{}, err
			}
			errs = append(errs, fmt.Errorf("slot %d: %w", i, err))
			continue
		}
		if !found || st.gen > best.gen {
			best, found = st, true
		}
	}
	if !found {
		return ackState{}, errors.Join(errs...)
	}
	best.v2 = true
	return best, nil
}

func decodeAckSlot(b []byte) (ackState, error) {
	var st ackState
	if string(b[:4]) != ackMagic {
		return st, errors.New("bad magic")
	}
	if b[4] != ackVersion2 {
		if b[4] > ackVersion2 {
			return st, fmt.Errorf("%w %d", errNewerFormat, b[4])
		}
		return st, fmt.Errorf("format version %d in a format 2 slot", b[4])
	}
	if b[5]|b[6]|b[7] != 0 {
		return st, errors.New("reserved bytes not zero")
	}
	n := binary.LittleEndian.Uint32(b[32:])
	if n > maxAckRanges {
		return st, fmt.Errorf("%d ranges, at most %d", n, maxAckRanges)
	}
	used := ackSlotHeader + ackRangeSize*int(n)
	if crc32.Checksum(b[:used], castagnoli) != binary.LittleEndian.Uint32(b[used:]) {
		return st, errors.New("checksum mismatch")
	}
	st.gen = binary.LittleEndian.Uint64(b[8:])
	off := binary.LittleEndian.Uint64(b[24:])
	if off > maxAckOffset {
		return st, fmt.Errorf("offset %d out of range", off)
	}
	st.seg, st.off = binary.LittleEndian.Uint64(b[16:]), int64(off)
	var err error
	st.ranges, err = decodeRanges(st.seg, st.off, b[ackSlotHeader:used])
	return st, err
}

func encodeAckSlot(b []byte, gen, seg uint64, off int64, ranges []posRange) []byte {
	b = append(b[:0], ackMagic...)
	b = append(b, ackVersion2, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, gen)
	b = binary.LittleEndian.AppendUint64(b, seg)
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ranges)))
	b = appendRanges(b, ranges)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// writeAck writes the state into the ack file's older slot and fsyncs it
// (unless FsyncNever); without a preallocated file it creates one. Called
// with ackMu held.
func (w *WAL) writeAck(seg uint64, off int64, ranges []posRange) error {
	if w.ackF == nil {
		return w.createAckFile(seg, off, ranges)
	}
	gen := w.ackGen + 1
	w.ackBuf = encodeAckSlot(w.ackBuf, gen, seg, off, ranges)
	if _, err := w.ackF.WriteAt(w.ackBuf, int64(gen%2)*ackSlotSize); err != nil {
		return err
	}
	if w.opts.Fsync != FsyncNever {
		if err := w.syncFile(w.ackF); err != nil {
			return err
		}
	}
	w.ackGen = gen
	return nil
}

// createAckFile preallocates a new ack file holding the state: written
// whole as ack.tmp, fsynced, renamed over ack. The one write of the ack
// file that needs free space (ackFileSize, 264 KiB); on failure the
// temporary file is removed again.
func (w *WAL) createAckFile(seg uint64, off int64, ranges []posRange) error {
	tmp := filepath.Join(w.dir, ackTmpName)
	path := filepath.Join(w.dir, ackName)
	f, err := w.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	gen := w.ackGen + 1
	b := make([]byte, ackFileSize)
	copy(b[int64(gen%2)*ackSlotSize:], encodeAckSlot(nil, gen, seg, off, ranges))
	_, err = f.WriteAt(b, 0)
	if err == nil && w.opts.Fsync != FsyncNever {
		err = w.syncFile(f)
	}
	if err != nil {
		f.Close()
		w.fs.Remove(tmp) // frees what the attempt took
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = w.fs.Rename(tmp, path); err != nil {
		w.fs.Remove(tmp)
		return err
	}
	if w.opts.Fsync != FsyncNever {
		if err := w.syncDir(); err != nil {
			return err
		}
	}
	af, err := w.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	w.ackF, w.ackGen = af, gen
	return nil
}
