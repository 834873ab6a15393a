// Package framing splits a syslog TCP byte stream into messages, and does
// nothing else: it knows where one message ends and the next begins, never
// what a message means. Keeping framing apart from the grammar (as
// leodido/go-syslog does) lets one sender mix framings, lets a bad frame be
// skipped without closing the connection, and keeps memory bounded whatever
// the sender writes.
//
// # Framing rules
//
// Each frame is classified on its own, at its first byte, so a sender may
// switch framing between messages:
//
//   - Octet counting (RFC 6587 3.4.1, "MSG-LEN SP SYSLOG-MSG") is assumed
//     only when the frame starts with a non-zero digit, at most 9 digits in
//     all (so a count is below 1 GB), then one space, then '<' (the first
//     byte of a syslog PRI). The next MSG-LEN bytes are the message.
//   - Anything else is a line ("non-transparent framing", RFC 6587 3.4.2):
//     the message ends at the first LF or NUL byte. NUL is a delimiter, as
//     with rsyslog's AddtlFrameDelimiter=0, because some senders terminate
//     messages with NUL instead of LF; without that, their whole stream
//     would read as one oversized line.
//
// The narrow octet-counting test is deliberate: a line-framed sender whose
// line happens to start with digits ("123 hello", "2024-01-01 ...") is
// still read as a line, and a count that is absurd (10 digits and more) or
// malformed ("12x <", "012 <", "12 hello") makes the frame a line instead
// of swallowing up to a gigabyte of the stream.
//
// Trailing CR, LF and NUL bytes are removed from every frame (some
// octet-counting senders count a trailing newline). Frames that are empty
// after that (blank lines, "\r\n\r\n", a NUL after a LF) carry no message
// and are skipped.
//
// A message longer than the maximum size is cut to exactly that size and
// flagged truncated; the rest of it (up to its LF/NUL, or the rest of its
// octet count) is read and thrown away, so the next frame is read intact
// and the connection stays up. A partial frame at the end of the stream (the
// sender went away mid-message) is returned as a frame, not flagged
// truncated, before the read error.
//
// # Memory
//
// A Reader's buffer has three sizes. It starts at 4 KiB, allocated at the
// first read, and grows to 32 KiB (BusyBufferSize) when a read fills the
// whole buffer (the sender is ahead of us: larger reads mean fewer system
// calls) or a frame does not fit, and to max(64 KiB, maxMessageSize+8 KiB)
// only for a frame that does not fit in 32 KiB (NewReaderLarge reads at the
// large size whenever the sender is ahead). It goes back to 4 KiB when
// everything read has been consumed and the reads since the buffer was
// last empty brought less than 4 KiB, i.e. the sender has gone quiet.
// (Not whenever the sender has caught up: one sending at a steady rate,
// a burst every 10 ms, has caught up at every read, and starting each
// read in 4 KiB again cost an allocation and a second read per burst, 2 GB
// per million messages in front of the disk buffer.) So an idle connection
// holds 4 KiB (32 KiB if it fell silent right after a larger burst), a busy
// one 32 KiB, one in the middle of a long message at most the large size,
// whatever the input: a 100 MiB line without a newline is read through
// that buffer, not into it. Measurements are in inputs/syslog/README.md.
package framing

import (
	"bytes"
	"io"
)

// DefaultMaxMessageSize is used when NewReader is given a size ≤ 0.
const DefaultMaxMessageSize = 64 << 10

// BusyBufferSize is what a Reader's buffer grows to while the sender is
// ahead of us (a read filled the buffer) and every frame fits: a read
// still brings a hundred or more messages, and hundreds of busy
// connections do not hold hundreds of maximum-size buffers. Only a frame
// that does not fit grows it to LargeBufferSize. Measured in
// inputs/syslog/README.md.
const BusyBufferSize = 32 << 10

// SmallBufferSize is what a Reader's buffer starts with and goes back to
// when its connection is quiet: what an idle connection's framing holds.
// BusyBufferSize and LargeBufferSize give the sizes it grows to.
const SmallBufferSize = 4 << 10

const (
	// minBufferSize keeps reads large for small maximum sizes.
	minBufferSize = 64 << 10
	// headroom beyond the maximum message size: room for an octet-count
	// header and the delimiter, and for reads of a useful size while a
	// long partial frame waits at the start of the buffer.
	headroom = 8 << 10
	// maxCountDigits bounds an octet count to 999,999,999 bytes.
	maxCountDigits = 9
	// lookahead is the longest prefix needed to decide the framing of a
	// frame: the digits, the space and the '<'.
	lookahead = maxCountDigits + 2
	// minRead: compact the buffer before reading into less than this.
	minRead = 4 << 10
	// maxEmptyReads before giving up on a reader returning 0, nil.
	maxEmptyReads = 100
)

// Reader splits a TCP byte stream into syslog frames. It is not safe for
// concurrent use.
//
// It manages its own buffer rather than wrapping a bufio.Reader: it needs
// two delimiters (LF and NUL), a look-ahead for the octet-count header,
// and to keep handing out buffered frames after the underlying reader has
// failed — bufio.Reader.ReadSlice takes one delimiter and reports a read
// error in place of buffered data it has not yet returned. Frames are
// slices of that buffer, so the common case allocates nothing.
type Reader struct {
	rd  io.Reader
	max int

	// small, busy and large are the three sizes of buf (see Memory
	// above): quiet, a sender ahead of us while every frame fits, a frame
	// that needs it. buf is nil until the first read.
	small, busy, large int
	buf                []byte // buf[r:w] is read but not yet consumed
	r, w               int
	err                error // sticky read error; reported once buf[r:w] is used up
	// filled: the last read filled all the space it was given, so more
	// data is probably waiting. burst: bytes read since buf was last
	// empty (everything read consumed).
	filled bool
	burst  int

	// scanned: buf[r:r+scanned] is part of a line and holds no delimiter,
	// so a long line arriving in small reads is scanned only once.
	scanned int
	// skip: bytes of an oversized octet-counted frame still to discard.
	skip int
	// skipLine: discard up to and including the next LF or NUL (the rest
	// of an oversized line).
	skipLine bool

	badCounts uint64
}

// NewReader returns a Reader that cuts frames at maxMessageSize bytes
// (DefaultMaxMessageSize if maxMessageSize ≤ 0).
func NewReader(r io.Reader, maxMessageSize int) *Reader {
	if maxMessageSize <= 0 {
		maxMessageSize = DefaultMaxMessageSize
	}
	return newReaderSize(r, maxMessageSize, SmallBufferSize, LargeBufferSize(maxMessageSize))
}

// NewReaderLarge is NewReader with larger busy reads: its buffer grows
// to max(large, LargeBufferSize(maxMessageSize)) while the sender is ahead,
// not to BusyBufferSize.
// For a caller that pays per read (an fsync before each one), where fewer,
// larger reads matter more than the memory a busy connection holds.
func NewReaderLarge(r io.Reader, maxMessageSize, large int) *Reader {
	if maxMessageSize <= 0 {
		maxMessageSize = DefaultMaxMessageSize
	}
	rd := newReaderSize(r, maxMessageSize, SmallBufferSize, max(large, LargeBufferSize(maxMessageSize)))
	rd.busy = rd.large // the caller pays per read: every busy read is large
	return rd
}

// LargeBufferSize is the size a Reader's buffer grows to for messages of
// at most maxMessageSize bytes (DefaultMaxMessageSize if ≤ 0): the most
// memory one connection's framing holds (NewReaderLarge may give more).
func LargeBufferSize(maxMessageSize int) int {
	if maxMessageSize <= 0 {
		maxMessageSize = DefaultMaxMessageSize
	}
	return max(minBufferSize, maxMessageSize+headroom)
}

// newReaderSize lets tests choose both buffer sizes: a large one barely
// above the maximum exercises compaction at every read, a tiny small one
// the growth. large is raised to max+lookahead+1 if below; small is
// clamped to 1..large.
func newReaderSize(r io.Reader, maxMessageSize, small, large int) *Reader {
	large = max(large, maxMessageSize+lookahead+1)
	small = min(max(small, 1), large)
	busy := min(max(BusyBufferSize, small), large)
	return &Reader{rd: r, max: maxMessageSize, small: small, busy: busy, large: large}
}

// BadOctetCounts reports how many frames looked octet-counted (digits, a
// space, '<') but had a count too long to be believed, and were therefore
// read as lines.
func (r *Reader) BadOctetCounts() uint64 { return r.badCounts }

// Next returns the next frame, without its framing and without trailing
// CR, LF or NUL bytes, and whether it was cut at the maximum message size.
// The frame is valid until the next call to Next.
//
// At the end of the stream Next returns io.EOF; on a read error (including
// a passed read deadline) it first returns every complete frame already
// buffered, then a partial trailing frame if there is one, and then that
// error. Errors are sticky: the underlying reader is not read again.
func (r *Reader) Next() (frame []byte, truncated bool, err error) {
	for {
		// Finish throwing away the rest of an oversized frame.
		if r.skip > 0 {
			n := min(r.skip, r.w-r.r)
			r.r += n
			r.skip -= n
			if r.skip > 0 {
				if r.err != nil {
					return nil, false, r.err
				}
				r.fill()
				continue
			}
		}
		if r.skipLine {
			if i := indexDelim(r.buf[r.r:r.w]); i >= 0 {
				r.r += i + 1
				r.skipLine = false
			} else {
				r.r = r.w
				if r.err != nil {
					return nil, false, r.err
				}
				r.fill()
				continue
			}
		}
		if r.r == r.w {
			if r.err != nil {
				return nil, false, r.err
			}
			r.fill()
			continue
		}

		b := r.buf[r.r:r.w]
		count, hdr, badCount, decided := r.octetHeader(b)
		if !decided {
			r.fill()
			continue
		}
		if hdr > 0 {
			frame, truncated, ok := r.octetFrame(b, count, hdr)
			if !ok {
				r.fill()
				continue
			}
			if frame = trimTrailing(frame); len(frame) == 0 {
				continue
			}
			return frame, truncated, nil
		}
		frame, truncated, ok := r.lineFrame(b)
		if !ok {
			r.fill()
			continue
		}
		if badCount {
			r.badCounts++
		}
		if frame = trimTrailing(frame); len(frame) == 0 {
			continue
		}
		return frame, truncated, nil
	}
}

// octetHeader reports whether b starts with an octet-count header, and if
// so the count and the header length (digits and space); hdr is 0 for a
// line. badCount marks a line that looks like a count too long to be
// believed. decided is false when b is too short to tell and more data
// may come.
func (r *Reader) octetHeader(b []byte) (count, hdr int, badCount, decided bool) {
	if b[0] < '1' || b[0] > '9' {
		return 0, 0, false, true
	}
	i := 0
	for i < len(b) && i <= maxCountDigits && isDigit(b[i]) {
		count = count*10 + int(b[i]-'0')
		i++
	}
	switch {
	case i > maxCountDigits:
		// Ten digits or more: not a count we believe. Tell it apart from a
		// plain number only to count it as a framing error.
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		return 0, 0, i+1 < len(b) && b[i] == ' ' && b[i+1] == '<', true
	case i == len(b), i+1 == len(b) && b[i] == ' ':
		// Could still become "N <": wait for more, unless nothing more
		// will come.
		return 0, 0, false, r.err != nil
	case b[i] == ' ' && b[i+1] == '<':
		return count, i + 1, false, true
	default:
		return 0, 0, false, true
	}
}

// octetFrame cuts an octet-counted frame of count bytes after a header of
// hdr bytes at the start of b. ok is false when more data is needed.
func (r *Reader) octetFrame(b []byte, count, hdr int) (frame []byte, truncated, ok bool) {
	want := min(count, r.max)
	if len(b) < hdr+want {
		if r.err == nil {
			return nil, false, false
		}
		// The stream ended inside the frame: hand out what arrived.
		r.r = r.w
		r.scanned = 0
		return b[hdr:], false, true
	}
	r.r += hdr + want
	r.scanned = 0
	r.skip = count - want
	return b[hdr : hdr+want], count > r.max, true
}

// lineFrame cuts a frame ending at the first LF or NUL. ok is false when
// more data is needed.
func (r *Reader) lineFrame(b []byte) (frame []byte, truncated, ok bool) {
	// A delimiter at index ≤ max ends a frame that fits; looking further
	// is pointless, the frame is cut at max anyway.
	limit := min(len(b), r.max+1)
	if i := indexDelim(b[r.scanned:limit]); i >= 0 {
		end := r.scanned + i
		r.r += end + 1
		r.scanned = 0
		return b[:end], false, true
	}
	if len(b) > r.max {
		// No delimiter within max+1 bytes: cut here, drop the rest of
		// the line on the next call.
		r.r += r.max
		r.scanned = 0
		r.skipLine = true
		return b[:r.max], true, true
	}
	if r.err == nil {
		r.scanned = len(b)
		return nil, false, false
	}
	// The stream ended mid-line: hand out what arrived.
	r.r = r.w
	r.scanned = 0
	return b, false, true
}

// grow moves the pending bytes into a new buffer of the first of sizes
// larger than the current one.
func (r *Reader) grow(sizes ...int) {
	for _, size := range sizes {
		if size > len(r.buf) {
			nb := make([]byte, size)
			r.w = copy(nb, r.buf[r.r:r.w])
			r.r = 0
			r.buf = nb
			return
		}
	}
}

// fill reads once more into the buffer, first making room: it moves to the
// next size up (busy, then large) when the pending bytes fill the buffer,
// to the busy size when the sender is ahead of us, back to the small
// buffer when nothing is pending and the sender has gone quiet, and
// otherwise moves unconsumed bytes to the start if the free space at the
// end has become small. Callers only call it when r.err is nil and more
// data is needed; then fewer than max+lookahead bytes are pending, so the
// large buffer always has room.
func (r *Reader) fill() {
	if r.r == r.w {
		r.r, r.w = 0, 0
		if len(r.buf) > r.small && !r.filled && r.burst < r.small {
			r.buf = nil // quiet: give the large buffer back
		}
		r.burst = 0
	}
	switch pending := r.w - r.r; {
	case r.buf == nil:
		r.buf = make([]byte, r.small)
	case len(r.buf) < r.large && pending == len(r.buf):
		// A frame does not fit: the next size up.
		r.grow(r.busy, r.large)
	case len(r.buf) < r.busy && r.filled:
		r.grow(r.busy)
	case r.r > 0 && len(r.buf)-r.w < min(minRead, len(r.buf)/2):
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		// Unreachable by construction; fail rather than spin.
		r.err = io.ErrShortBuffer
		return
	}
	for range maxEmptyReads {
		free := len(r.buf) - r.w
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > free {
			r.err = io.ErrShortBuffer
			return
		}
		r.w += n
		r.filled = n == free
		r.burst += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// indexDelim returns the index of the first LF or NUL in b, or -1.
// Two IndexByte passes (vectorised) beat one IndexAny.
func indexDelim(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	if j := bytes.IndexByte(b[:i], 0); j >= 0 {
		return j
	}
	if i == len(b) {
		return -1
	}
	return i
}

// trimTrailing removes trailing CR, LF and NUL bytes.
func trimTrailing(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\r', '\n', 0:
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}

// TrimTrailing removes trailing CR, LF and NUL bytes from a message that
// arrived whole (a UDP datagram), by the same rule as Next.
func TrimTrailing(b []byte) []byte { return trimTrailing(b) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
