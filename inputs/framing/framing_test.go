package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

type frame struct {
	s         string
	truncated bool
}

func (f frame) String() string { return fmt.Sprintf("%q/%v", f.s, f.truncated) }

// collect reads frames until an error, with a bound so a looping Reader
// fails the test instead of hanging it.
func collect(t testing.TB, r *Reader, bound int) ([]frame, error) {
	t.Helper()
	var out []frame
	for range bound + 2 {
		b, tr, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, frame{string(b), tr})
	}
	t.Fatalf("Next returned more than %d frames: looping?", bound+1)
	return nil, nil
}

// readers are the ways a stream can arrive: whole, a byte at a time, in
// halves, with the final error attached to the last data, and through a
// buffer so small that it is compacted at every read.
var readers = []struct {
	name string
	make func(data string, max int) *Reader
}{
	{"whole", func(d string, m int) *Reader { return NewReader(strings.NewReader(d), m) }},
	{"one-byte", func(d string, m int) *Reader { return NewReader(iotest.OneByteReader(strings.NewReader(d)), m) }},
	{"half", func(d string, m int) *Reader { return NewReader(iotest.HalfReader(strings.NewReader(d)), m) }},
	{"data-err", func(d string, m int) *Reader { return NewReader(iotest.DataErrReader(strings.NewReader(d)), m) }},
	{"tiny-buffer", func(d string, m int) *Reader {
		if m <= 0 {
			m = DefaultMaxMessageSize
		}
		return newReaderSize(iotest.HalfReader(strings.NewReader(d)), m, 0, 0)
	}},
	{"growing", func(d string, m int) *Reader {
		// A one-byte small buffer: grows on the first frame, shrinks
		// whenever a read leaves nothing pending.
		if m <= 0 {
			m = DefaultMaxMessageSize
		}
		return newReaderSize(iotest.HalfReader(strings.NewReader(d)), m, 1, 0)
	}},
}

func TestNext(t *testing.T) {
	long := strings.Repeat("x", 20)
	tests := []struct {
		name string
		max  int
		in   string
		want []frame
	}{
		{"LF", 64, "<13>a\n<13>b\n", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"CRLF", 64, "<13>a\r\n<13>b\r\n", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"NUL delimited", 64, "<13>a\x00<13>b\x00", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"NUL then LF", 64, "<13>a\x00\n<13>b\x00\x00\r\n", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"octet counting", 64, "5 <13>a6 <13>bc", []frame{{"<13>a", false}, {"<13>bc", false}}},
		{"octet counting keeps LF and NUL inside", 64, "11 <13>a\nb\x00c\nd", []frame{{"<13>a\nb\x00c\nd", false}}},
		{"octet count includes trailing LF", 64, "6 <13>a\n6 <13>b\n", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"octet frames separated by LF", 64, "5 <13>a\n5 <13>b\n", []frame{{"<13>a", false}, {"<13>b", false}}},
		{"mixed in one stream", 64, "<13>line1\n9 <13>octet<13>line2\r\n7 <13>two<13>nul\x00",
			[]frame{{"<13>line1", false}, {"<13>octet", false}, {"<13>line2", false}, {"<13>two", false}, {"<13>nul", false}}},
		{"wrong count shifts the frame boundary", 64, "6 <13>two<13>next\n",
			[]frame{{"<13>tw", false}, {"o<13>next", false}}},
		{"empty frames skipped", 64, "\n\n\r\n\x00<13>a\n\n\r\n", []frame{{"<13>a", false}}},
		{"only blank", 64, "\n\r\n\x00\n", nil},
		{"digits then text is a line", 64, "123 hello\n", []frame{{"123 hello", false}}},
		{"date is a line", 64, "2024-01-01 12:00:00 host app: hi\n", []frame{{"2024-01-01 12:00:00 host app: hi", false}}},
		{"count without PRI is a line", 64, "12 hello world\n", []frame{{"12 hello world", false}}},
		{"leading zero is a line", 64, "05 <13>a\n", []frame{{"05 <13>a", false}}},
		{"digit letter is a line", 64, "5x <13>a\n", []frame{{"5x <13>a", false}}},
		{"two spaces is a line", 64, "5  <13>a\n", []frame{{"5  <13>a", false}}},
		{"ten-digit count is a line", 64, "1000000000 <13>a\n", []frame{{"1000000000 <13>a", false}}},
		{"nine-digit count is octet", 64, "999999999 <13>a", []frame{{"<13>a", false}}},
		{"line at exactly max", 8, "<13>abcd\n<13>b\n", []frame{{"<13>abcd", false}, {"<13>b", false}}},
		{"line truncated", 8, "<13>abcde\n<13>b\n", []frame{{"<13>abcd", true}, {"<13>b", false}}},
		{"long line truncated", 8, "<13>" + long + "\n<13>b\n", []frame{{"<13>xxxx", true}, {"<13>b", false}}},
		{"long NUL-ended line truncated", 8, "<13>" + long + "\x00<13>b\x00", []frame{{"<13>xxxx", true}, {"<13>b", false}}},
		{"truncated line then EOF", 8, "<13>" + long, []frame{{"<13>xxxx", true}}},
		{"octet at exactly max", 8, "8 <13>abcd8 <13>efgh", []frame{{"<13>abcd", false}, {"<13>efgh", false}}},
		{"octet truncated", 8, "24 <13>" + long + "<13>b\n", []frame{{"<13>xxxx", true}, {"<13>b", false}}},
		{"octet truncated then octet", 8, "9 <13>abcde5 <13>b", []frame{{"<13>abcd", true}, {"<13>b", false}}},
		{"octet truncated then EOF inside remainder", 8, "100 <13>abcdefgh", []frame{{"<13>abcd", true}}},
		{"partial line at EOF", 64, "<13>a\n<13>part", []frame{{"<13>a", false}, {"<13>part", false}}},
		{"partial CR at EOF", 64, "<13>a\r", []frame{{"<13>a", false}}},
		{"partial octet frame at EOF", 64, "20 <13>short", []frame{{"<13>short", false}}},
		{"partial octet header at EOF", 64, "12", []frame{{"12", false}}},
		{"partial octet header with space at EOF", 64, "<13>a\n12 ", []frame{{"<13>a", false}, {"12 ", false}}},
		{"octet frame of NULs skipped", 64, "3 <\x00\x00<13>a\n", []frame{{"<", false}, {"<13>a", false}}},
		{"empty input", 64, "", nil},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := collect(t, rd.make(tt.in, tt.max), len(tt.in))
				if err != io.EOF {
					t.Fatalf("final error = %v, want io.EOF", err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("frames\n got %v\nwant %v", got, tt.want)
				}
			})
		}
	}
}

func TestBadOctetCounts(t *testing.T) {
	r := NewReader(strings.NewReader("1000000000 <13>a\n1234567890123 <13>b\n1234567890 hello\n5 <13>c"), 0)
	got, err := collect(t, r, 10)
	if err != io.EOF || len(got) != 4 {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := r.BadOctetCounts(); n != 2 {
		t.Errorf("BadOctetCounts = %d, want 2", n)
	}
}

// A sender writing `yes test | head -n 100000` must give exactly that many
// frames.
func TestYes(t *testing.T) {
	const n = 100000
	in := strings.Repeat("test\n", n)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.make(in, 0)
			count := 0
			for {
				b, tr, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != "test" || tr {
					t.Fatalf("frame %d = %q/%v", count, b, tr)
				}
				count++
			}
			if count != n {
				t.Errorf("%d frames, want %d", count, n)
			}
		})
	}
}

func TestHugeLineKeepsMemoryBounded(t *testing.T) {
	for _, size := range []int{1 << 20, 100 << 20} {
		t.Run(fmt.Sprint(size>>20, "MiB"), func(t *testing.T) {
			in := io.MultiReader(
				io.LimitReader(repeatReader('a'), int64(size)),
				strings.NewReader("\n<13>next\n"),
			)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := NewReader(in, 0)
			var sizes []int
			var got []frame
			for {
				b, tr, err := r.Next()
				if len(r.buf) > LargeBufferSize(0) {
					t.Fatalf("buffer grew to %d bytes, above %d", len(r.buf), LargeBufferSize(0))
				}
				if len(sizes) == 0 || sizes[len(sizes)-1] != len(r.buf) {
					sizes = append(sizes, len(r.buf))
				}
				if err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				got = append(got, frame{string(b), tr})
			}
			runtime.ReadMemStats(&after)
			if len(got) != 2 || len(got[0].s) != DefaultMaxMessageSize || !got[0].truncated || got[1] != (frame{"<13>next", false}) {
				t.Fatalf("got %d frames; first %d bytes truncated=%v", len(got), len(got[0].s), got[0].truncated)
			}
			// Large from the first read (which filled the small buffer) to
			// the end of the long line, small again for the short tail:
			// two allocations besides the first small buffer.
			if want := []int{LargeBufferSize(0), SmallBufferSize}; !slices.Equal(sizes, want) {
				t.Errorf("buffer sizes %v, want %v", sizes, want)
			}
			// The frames themselves are copied by collect; allow for them
			// and for the test's own bookkeeping, not for the input.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte line", grew, size)
			}
		})
	}
}

// The buffer starts small, grows to the busy size when the sender is ahead
// or a frame needs it, to the large size only for a frame that does not fit
// the busy one, and goes back to small once the reads since it was last
// empty brought less than the small buffer holds, so an idle connection
// holds SmallBufferSize bytes.
func TestBufferGrowsAndShrinks(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewReader(pr, 0)
	if r.buf != nil {
		t.Fatalf("buffer allocated before the first read: %d bytes", len(r.buf))
	}
	type step struct {
		write string
		want  frame
		size  int
	}
	long := "<13>" + strings.Repeat("L", 10000)
	longer := "<13>" + strings.Repeat("M", 40000)
	for i, st := range []step{
		{"<13>small\n", frame{"<13>small", false}, SmallBufferSize},
		// io.Pipe hands over at most the reader's buffer per Read: the
		// 10 kB line fills the small buffer, which then grows.
		{long + "\n", frame{long, false}, BusyBufferSize},
		// Nothing pending, but the reads since the buffer was last empty
		// brought 10 kB, more than the small buffer holds (a sender at
		// a steady rate): kept.
		{"<13>steady\n", frame{"<13>steady", false}, BusyBufferSize},
		// Since then 11 bytes: quiet, back to small before the next
		// read.
		{"<13>quiet again\n", frame{"<13>quiet again", false}, SmallBufferSize},
		// An octet-counted frame larger than the small buffer.
		{fmt.Sprintf("%d %s", len(long), long), frame{long, false}, BusyBufferSize},
		// A 40 kB line does not fit the busy buffer either.
		{longer + "\n", frame{longer, false}, LargeBufferSize(0)},
	} {
		errc := make(chan error, 1)
		go func() { _, err := pw.Write([]byte(st.write)); errc <- err }()
		b, tr, err := r.Next()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := (frame{string(b), tr}); got != st.want {
			t.Errorf("step %d: frame %.40v, want %.40v", i, got, st.want)
		}
		if len(r.buf) != st.size {
			t.Errorf("step %d: buffer %d bytes, want %d", i, len(r.buf), st.size)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	if _, _, err := r.Next(); err != io.EOF {
		t.Errorf("err %v, want EOF", err)
	}
}

// A busy sender (every read fills the buffer) and a steady one (every
// read brings a burst that does not fill it, and the reader consumes the
// burst before the next read) both keep the busy buffer: no allocation per
// read.
func TestBusyAndSteadySendersKeepBusyBuffer(t *testing.T) {
	steady := []byte("<13>steady sender\n")
	for name, src := range map[string]io.Reader{
		"busy": &cycleReader{data: []byte("<13>busy sender\n")},
		// Whole frames per burst, so each is consumed before the next read.
		"steady": &burstReader{cycleReader: cycleReader{data: steady}, burst: 455 * len(steady)},
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(src, 0)
			next := func(n int) {
				for range n {
					if _, _, err := r.Next(); err != nil {
						t.Fatal(err)
					}
				}
			}
			next(1000)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			next(100000)
			runtime.ReadMemStats(&after)
			if len(r.buf) != BusyBufferSize {
				t.Errorf("buffer %d bytes, want %d", len(r.buf), BusyBufferSize)
			}
			if n := after.Mallocs - before.Mallocs; n > 10 {
				t.Errorf("%d allocations for 100000 frames", n)
			}
		})
	}
}

func TestBufferSizes(t *testing.T) {
	for _, tt := range []struct{ max, want int }{{0, 72 << 10}, {480, 64 << 10}, {64 << 10, 72 << 10}, {1 << 20, 1<<20 + 8<<10}} {
		if got := LargeBufferSize(tt.max); got != tt.want {
			t.Errorf("LargeBufferSize(%d) = %d, want %d", tt.max, got, tt.want)
		}
		if got := len(NewReader(strings.NewReader("x"), tt.max).buf); got != 0 {
			t.Errorf("NewReader allocated %d bytes before reading", got)
		}
	}
}

type repeatReader byte

func (c repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// On a read error (a deadline set to stop reading), complete buffered
// frames come first, then the partial one, then the error; the reader is
// not read again.
func TestErrorAfterBufferedFrames(t *testing.T) {
	src := &errAfter{data: []byte("<13>a\n5 <13>b<13>c\r\n<13>par"), err: os.ErrDeadlineExceeded}
	r := NewReader(src, 0)
	got, err := collect(t, r, 10)
	want := []frame{{"<13>a", false}, {"<13>b", false}, {"<13>c", false}, {"<13>par", false}}
	if !slices.Equal(got, want) {
		t.Errorf("frames %v, want %v", got, want)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("error %v, want deadline exceeded", err)
	}
	reads := src.reads
	if _, _, err := r.Next(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("second error %v", err)
	}
	if src.reads != reads {
		t.Errorf("Next read again after an error")
	}
}

type errAfter struct {
	data  []byte
	err   error
	reads int
}

func (e *errAfter) Read(p []byte) (int, error) {
	e.reads++
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	if _, _, err := NewReader(emptyReader{}, 0).Next(); err != io.ErrNoProgress {
		t.Errorf("err = %v, want io.ErrNoProgress", err)
	}
}

func TestTrimTrailing(t *testing.T) {
	for in, want := range map[string]string{
		"a\n": "a", "a\r\n": "a", "a\x00": "a", "a\x00\r\n\x00": "a", "\r\n": "", "a\rb": "a\rb", "": "",
	} {
		if got := string(TrimTrailing([]byte(in))); got != want {
			t.Errorf("TrimTrailing(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzReader checks that no input makes Next panic, loop or hand out a
// frame over the maximum or with trailing CR/LF/NUL, and that framing does
// not depend on how the stream is cut into reads.
func FuzzReader(f *testing.F) {
	f.Add([]byte("<13>a\n<13>b\r\n"), uint16(64))
	f.Add([]byte("5 <13>a\n9 <13>abcde<13>x\x00"), uint16(4))
	f.Add([]byte("1000000000 <13>a\n12"), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, maxSize uint16) {
		m := 1 + int(maxSize)%300
		whole, err := collect(t, NewReader(bytes.NewReader(data), m), len(data))
		if err != io.EOF {
			t.Fatalf("error %v", err)
		}
		total := 0
		for _, fr := range whole {
			if len(fr.s) == 0 || len(fr.s) > m {
				t.Fatalf("frame of %d bytes, max %d", len(fr.s), m)
			}
			if c := fr.s[len(fr.s)-1]; c == '\r' || c == '\n' || c == 0 {
				t.Fatalf("frame %q ends in %q", fr.s, c)
			}
			total += len(fr.s)
		}
		if total > len(data) {
			t.Fatalf("frames hold %d bytes of a %d-byte input", total, len(data))
		}
		for _, rd := range []*Reader{
			NewReader(iotest.OneByteReader(bytes.NewReader(data)), m),
			newReaderSize(iotest.HalfReader(bytes.NewReader(data)), m, 0, 0),
			newReaderSize(iotest.OneByteReader(bytes.NewReader(data)), m, 1+int(maxSize)%7, 0),
		} {
			got, err := collect(t, rd, len(data))
			if err != io.EOF {
				t.Fatalf("error %v", err)
			}
			if !slices.Equal(got, whole) {
				t.Fatalf("framing depends on read sizes:\n%v\n%v", got, whole)
			}
		}
	})
}

// cycleReader serves data over and over, as a busy connection would.
// burstReader is a sender that writes burst bytes at a time: a Read
// returns at most the rest of the current burst, so the reader has caught
// up whenever it has taken a whole one.
type burstReader struct {
	cycleReader
	burst, left int
}

func (b *burstReader) Read(p []byte) (int, error) {
	if b.left == 0 {
		b.left = b.burst
	}
	n, err := b.cycleReader.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

type cycleReader struct {
	data []byte
	off  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

func benchStream(b *testing.B, msg func(i int) string) {
	var buf []byte
	for i := range 1000 {
		buf = append(buf, msg(i)...)
	}
	r := NewReader(&cycleReader{data: buf}, 0)
	b.SetBytes(int64(len(buf) / 1000))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

const benchBody = "<134>1 2024-05-01T12:34:56.789Z web-01 nginx 4242 ACCESS - 10.0.0.1 GET /api/v1/items?page=3 HTTP/1.1 200 5123 0.012 \"Mozilla/5.0\""

func BenchmarkNextLF(b *testing.B) {
	benchStream(b, func(i int) string { return fmt.Sprintf("%s %06d\n", benchBody, i) })
}

func BenchmarkNextOctetCounted(b *testing.B) {
	benchStream(b, func(i int) string {
		m := fmt.Sprintf("%s %06d", benchBody, i)
		return fmt.Sprintf("%d %s", len(m), m)
	})
}

// NewReaderLarge grows a busy reader's buffer to the size asked for, never
// below what the maximum message size needs, and still starts small.
func TestNewReaderLarge(t *testing.T) {
	for _, tt := range []struct{ max, large, want int }{
		{0, 256 << 10, 256 << 10},
		{0, 1, LargeBufferSize(0)},
		{1 << 20, 256 << 10, LargeBufferSize(1 << 20)},
	} {
		r := NewReaderLarge(&cycleReader{data: []byte("<13>busy sender\n")}, tt.max, tt.large)
		if r.buf != nil {
			t.Fatalf("buffer allocated before the first read: %d bytes", len(r.buf))
		}
		for range 1000 {
			if _, _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		if len(r.buf) != tt.want {
			t.Errorf("NewReaderLarge(max %d, large %d): busy buffer %d bytes, want %d", tt.max, tt.large, len(r.buf), tt.want)
		}
	}
}
