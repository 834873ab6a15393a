package buffer

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/logshipper/logshipper/event"
)

// On-disk format, all integers little-endian (README.md has the tables).
//
// Segment file "<seq as 16 hex digits>.seg": a 28-byte header, then records.
//
//	0  magic "LSWS"
//	4  format version (1)
//	5  3 bytes zero
//	8  segment number (uint64), equal to the one in the file name
//	16 nonce: 8 random bytes, the first part of every record ID
//	24 CRC-32C of bytes 0..24
//
// Record: a 9-byte header, then the payload.
//
//	0  payload length (uint32)
//	4  CRC-32C of bytes 8..end (version byte and payload)
//	8  record version: 1, or 2 when bit 5 of the flags is set
//	9  payload:
//	   received, Unix nanoseconds (int64)
//	   flags: bits 0-2 transport (0 "", 1 tcp, 2 udp, 3 tls, 7 other:
//	          uvarint length and bytes follow), bit 3 truncated, bit 4
//	          received is the zero time, bit 5 a balancer address follows
//	          SourceIP (version 2 only); bits 6-7 zero
//	   [transport, if other]
//	   uvarint length of SourceIP, SourceIP
//	   [uvarint length of ProxyIP, ProxyIP, if bit 5]
//	   Raw (the rest)
//
// Version 2 exists only for records with a balancer address (PROXY
// protocol): every other record is written as version 1, byte for byte as
// the release before it wrote it, so a buffer of a shipper without the
// PROXY protocol can still be opened by that release. A record with a
// balancer address is version 2 so that the older release, which knows
// only version 1 and refuses bits 5-7, refuses it as "written by a newer
// format version" at Open (and keeps the files) instead of reading the
// unknown flag as damage and cutting the segment there. Segment headers
// and the ack file stay at version 1.
//
// Ack file "ack", format 1 (read, and replaced by format 2 at Open; see
// ackfile.go): magic "LSWA", version, 3 zero bytes, the watermark
// (segment number uint64, offset uint64: every record that ends at or
// before it is acknowledged), the number n of ranges (uint32), n ranges of
// records acknowledged beyond the watermark (from segment, from offset, to
// segment, to offset: 4 uint64, the end exclusive), CRC-32C of all before.
const (
	formatVersion = 1
	// recordVersionProxy is the version of records with a balancer
	// address (flagProxy).
	recordVersionProxy = 2
	segHeaderSize      = 28
	recHeaderSize      = 9
	ackHeaderSize      = 28
	ackRangeSize       = 32
	// minPayload: received (8), flags (1), SourceIP length (1).
	minPayload = 10
	maxPayload = MaxEventBytes - recHeaderSize
	// idLen is the length of Entry.ID: base32 of nonce (8) + offset (4).
	idLen = 20
)

const (
	segMagic = "LSWS"
	ackMagic = "LSWA"
)

const (
	transportNone  = 0
	transportTCP   = 1
	transportUDP   = 2
	transportTLS   = 3
	transportOther = 7

	flagTransport = 0x07
	flagTruncated = 0x08
	flagZeroTime  = 0x10
	flagProxy     = 0x20 // record version 2 only
	flagUnknown   = 0xE0 // in version 1; in version 2, flagUnknown &^ flagProxy
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// idEncoding is base32hex in lower case: its alphabet is in ASCII order,
	// so IDs sort like the bytes they encode.
	idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
)

// errNewerFormat marks data written by a newer logshipper: Open refuses it
// rather than calling it damage and deleting it.
var errNewerFormat = errors.New("written by a newer format version")

func transportCode(t string) byte {
	switch t {
	case "tcp":
		return transportTCP
	case "udp":
		return transportUDP
	case "":
		return transportNone
	case "tls":
		return transportTLS
	}
	return transportOther
}

var transportNames = [...]string{transportNone: "", transportTCP: "tcp", transportUDP: "udp", transportTLS: "tls"}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// recordSize is the encoded size of ev, or an error if ev cannot be stored.
func recordSize(ev *event.Event) (int, error) {
	if ev == nil {
		return 0, errors.New("buffer: nil event")
	}
	n := recHeaderSize + 8 + 1 + uvarintLen(uint64(len(ev.SourceIP))) + len(ev.SourceIP) + len(ev.Raw)
	if ev.ProxyIP != "" {
		n += uvarintLen(uint64(len(ev.ProxyIP))) + len(ev.ProxyIP)
	}
	if transportCode(ev.Transport) == transportOther {
		n += uvarintLen(uint64(len(ev.Transport))) + len(ev.Transport)
	}
	if n > MaxEventBytes {
		return 0, fmt.Errorf("buffer: an event of %d bytes is over the limit of %d", n, MaxEventBytes)
	}
	return n, nil
}

// appendRecord encodes ev (already checked by recordSize) at the end of dst.
func appendRecord(dst []byte, ev *event.Event) []byte {
	start := len(dst)
	version := byte(formatVersion)
	var flags byte
	if ev.ProxyIP != "" {
		version = recordVersionProxy
		flags |= flagProxy
	}
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, version)
	var nanos int64
	if ev.Received.IsZero() {
		flags |= flagZeroTime
	} else {
		nanos = ev.Received.UnixNano()
	}
	code := transportCode(ev.Transport)
	flags |= code
	if ev.Truncated {
		flags |= flagTruncated
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(nanos))
	dst = append(dst, flags)
	if code == transportOther {
		dst = binary.AppendUvarint(dst, uint64(len(ev.Transport)))
		dst = append(dst, ev.Transport...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(ev.SourceIP)))
	dst = append(dst, ev.SourceIP...)
	if ev.ProxyIP != "" {
		dst = binary.AppendUvarint(dst, uint64(len(ev.ProxyIP)))
		dst = append(dst, ev.ProxyIP...)
	}
	dst = append(dst, ev.Raw...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start-recHeaderSize))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+8:], castagnoli))
	return dst
}

// recordLen reads the total size of the record whose header starts b (at
// least recHeaderSize bytes); an impossible length is damage.
func recordLen(b []byte) (int, error) {
	n := binary.LittleEndian.Uint32(b)
	if n < minPayload || n > maxPayload {
		return 0, fmt.Errorf("record length %d out of range", n)
	}
	return recHeaderSize + int(n), nil
}

// record is a decoded record whose byte fields alias the buffer it was
// decoded from.
type record struct {
	nanos     int64
	flags     byte
	transport []byte // only for transportOther
	sourceIP  []byte
	proxyIP   []byte // only with flagProxy
	raw       []byte
}

// decodeRecord checks and decodes exactly one record. It never panics,
// whatever b holds.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < recHeaderSize+minPayload {
		return r, errors.New("record shorter than its header")
	}
	if n := binary.LittleEndian.Uint32(b); uint64(n) != uint64(len(b)-recHeaderSize) {
		return r, errors.New("record length mismatch")
	}
	if crc32.Checksum(b[8:], castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return r, errors.New("record checksum mismatch")
	}
	unknown := byte(flagUnknown)
	switch b[8] {
	case formatVersion:
	case recordVersionProxy:
		unknown &^= flagProxy
	default:
		if b[8] > recordVersionProxy {
			return r, fmt.Errorf("record %w %d", errNewerFormat, b[8])
		}
		return r, fmt.Errorf("record format version %d unknown", b[8])
	}
	p := b[recHeaderSize:]
	r.nanos = int64(binary.LittleEndian.Uint64(p))
	r.flags = p[8]
	p = p[9:]
	if r.flags&unknown != 0 {
		return r, fmt.Errorf("record flags %#x unknown in record version %d", r.flags, b[8])
	}
	if b[8] == recordVersionProxy && r.flags&flagProxy == 0 {
		return r, errors.New("record version 2 without a balancer address")
	}
	if r.flags&flagTransport == transportOther {
		var err error
		if r.transport, p, err = lengthPrefixed(p); err != nil {
			return r, fmt.Errorf("record transport: %w", err)
		}
	} else if int(r.flags&flagTransport) >= len(transportNames) {
		return r, fmt.Errorf("record transport code %d unknown", r.flags&flagTransport)
	}
	var err error
	if r.sourceIP, p, err = lengthPrefixed(p); err != nil {
		return r, fmt.Errorf("record source IP: %w", err)
	}
	if r.flags&flagProxy != 0 {
		if r.proxyIP, p, err = lengthPrefixed(p); err != nil {
			return r, fmt.Errorf("record balancer address: %w", err)
		}
	}
	r.raw = p
	return r, nil
}

func lengthPrefixed(p []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, errors.New("length out of range")
	}
	return p[k : k+int(n)], p[k+int(n):], nil
}

// received turns the stored time back into the event's Received.
func (r *record) received() time.Time {
	if r.flags&flagZeroTime != 0 {
		return time.Time{}
	}
	return time.Unix(0, r.nanos)
}

// transportName is the event's Transport for the known codes (not
// transportOther, whose name is r.transport).
func (r *record) transportName() string {
	return transportNames[r.flags&flagTransport]
}

func appendSegHeader(dst []byte, seq uint64, nonce [8]byte) []byte {
	start := len(dst)
	dst = append(dst, segMagic...)
	dst = append(dst, formatVersion, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = append(dst, nonce[:]...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeSegHeader checks a segment header against the number in the file name.
func decodeSegHeader(b []byte, seq uint64) (nonce [8]byte, err error) {
	if len(b) < segHeaderSize {
		return nonce, errors.New("file shorter than the segment header")
	}
	b = b[:segHeaderSize]
	if string(b[:4]) != segMagic {
		return nonce, errors.New("not a segment file (bad magic)")
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return nonce, errors.New("segment header checksum mismatch")
	}
	if b[4] != formatVersion {
		if b[4] > formatVersion {
			return nonce, fmt.Errorf("segment %w %d", errNewerFormat, b[4])
		}
		return nonce, fmt.Errorf("segment format version %d unknown", b[4])
	}
	if got := binary.LittleEndian.Uint64(b[8:]); got != seq {
		return nonce, fmt.Errorf("segment header says number %d, file name %d", got, seq)
	}
	copy(nonce[:], b[16:24])
	return nonce, nil
}

// posRange is a run of records, from the start of the first (fromSeg,
// fromOff) to the end of the last (toSeg, toOff), exclusive.
type posRange struct {
	fromSeg uint64
	fromOff int64
	toSeg   uint64
	toOff   int64
}

// cmpPos orders positions (segment, offset).
func cmpPos(aSeg uint64, aOff int64, bSeg uint64, bOff int64) int {
	switch {
	case aSeg < bSeg:
		return -1
	case aSeg > bSeg:
		return 1
	case aOff < bOff:
		return -1
	case aOff > bOff:
		return 1
	}
	return 0
}

// contains reports whether the record starting at (seg, off) is in r.
func (r posRange) contains(seg uint64, off int64) bool {
	return cmpPos(seg, off, r.fromSeg, r.fromOff) >= 0 && cmpPos(seg, off, r.toSeg, r.toOff) < 0
}

// maxAckRanges bounds the acknowledged runs beyond the watermark that the
// ack file keeps; runs beyond it are read again after a restart.
const maxAckRanges = 4096

// maxAckOffset is a sanity bound on offsets in the ack file.
const maxAckOffset = 1 << 40

func encodeAck(seg uint64, off int64, ranges []posRange) []byte {
	b := make([]byte, 0, ackHeaderSize+ackRangeSize*len(ranges)+4)
	b = append(b, ackMagic...)
	b = append(b, formatVersion, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, seg)
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ranges)))
	b = appendRanges(b, ranges)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func appendRanges(b []byte, ranges []posRange) []byte {
	for _, r := range ranges {
		b = binary.LittleEndian.AppendUint64(b, r.fromSeg)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.fromOff))
		b = binary.LittleEndian.AppendUint64(b, r.toSeg)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.toOff))
	}
	return b
}

func decodeAck(b []byte) (seg uint64, off int64, ranges []posRange, err error) {
	if len(b) < ackHeaderSize+4 {
		return 0, 0, nil, fmt.Errorf("%d bytes, want at least %d", len(b), ackHeaderSize+4)
	}
	if string(b[:4]) != ackMagic {
		return 0, 0, nil, errors.New("bad magic")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return 0, 0, nil, errors.New("checksum mismatch")
	}
	if b[4] != formatVersion {
		if b[4] > formatVersion {
			return 0, 0, nil, fmt.Errorf("%w %d", errNewerFormat, b[4])
		}
		return 0, 0, nil, fmt.Errorf("format version %d unknown", b[4])
	}
	seg = binary.LittleEndian.Uint64(b[8:])
	off64 := binary.LittleEndian.Uint64(b[16:])
	n := binary.LittleEndian.Uint32(b[24:])
	if n > maxAckRanges || len(body) != ackHeaderSize+ackRangeSize*int(n) {
		return 0, 0, nil, fmt.Errorf("%d bytes for %d ranges", len(b), n)
	}
	if off64 > maxAckOffset {
		return 0, 0, nil, fmt.Errorf("offset %d out of range", off64)
	}
	ranges, err = decodeRanges(seg, int64(off64), body[ackHeaderSize:])
	if err != nil {
		return 0, 0, nil, err
	}
	return seg, int64(off64), ranges, nil
}

// decodeRanges reads the ranges of an ack file (p holds whole ranges),
// checking that they are in order and beyond the watermark (seg, off).
func decodeRanges(seg uint64, off int64, p []byte) ([]posRange, error) {
	var ranges []posRange
	prevSeg, prevOff := seg, off
	for ; len(p) >= ackRangeSize; p = p[ackRangeSize:] {
		r := posRange{
			fromSeg: binary.LittleEndian.Uint64(p),
			toSeg:   binary.LittleEndian.Uint64(p[16:]),
		}
		fo, to := binary.LittleEndian.Uint64(p[8:]), binary.LittleEndian.Uint64(p[24:])
		if fo > maxAckOffset || to > maxAckOffset {
			return nil, fmt.Errorf("range offset out of range")
		}
		r.fromOff, r.toOff = int64(fo), int64(to)
		if cmpPos(r.fromSeg, r.fromOff, prevSeg, prevOff) < 0 || cmpPos(r.fromSeg, r.fromOff, r.toSeg, r.toOff) >= 0 {
			return nil, errors.New("ranges out of order")
		}
		prevSeg, prevOff = r.toSeg, r.toOff
		ranges = append(ranges, r)
	}
	return ranges, nil
}

// appendID appends the 20-character ID of the record at off in the segment
// with the given nonce.
func appendID(dst []byte, nonce *[8]byte, off uint32) []byte {
	var src [12]byte
	copy(src[:8], nonce[:])
	binary.BigEndian.PutUint32(src[8:], off)
	var id [idLen]byte
	idEncoding.Encode(id[:], src[:])
	return append(dst, id[:]...)
}
