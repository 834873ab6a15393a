package kafkaconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
)

// batchLike is bytes shaped like a record batch of the edge's documents.
func batchLike(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"@timestamp":"2026-12-05T04:%02d:%02d.000Z","host":"web-%d","program":"sshd","pid":"%d","message":"Accepted publickey for deploy from 10.0.%d.%d port 22"}`, i/60%60, i%60, i%7, 1000+i, i%256, i%13)
	}
	return b.Bytes()[:n]
}

func compress(t testing.TB, c kgo.Compressor, src []byte) []byte {
	t.Helper()
	out, codec := c.Compress(new(bytes.Buffer), src)
	if out == nil || codec != kgo.CodecLz4 {
		t.Fatalf("Compress: codec %v, %d bytes", codec, len(out))
	}
	return bytes.Clone(out)
}

// What the edge writes, the indexer reads back unchanged, for batches of
// one block, many blocks, and a block boundary exactly.
func TestLZ4RoundTrip(t *testing.T) {
	var c LZ4Compressor
	d := NewDecompressor()
	for _, n := range []int{1, 1000, 64 << 10, 64<<10 + 1, 1 << 20} {
		src := batchLike(n)
		frame := compress(t, &c, src)
		got, err := d.Decompress(frame, kgo.CodecLz4)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: read back differs", n)
		}
		if n >= 1000 && len(frame) > n/3 {
			t.Errorf("%d bytes compressed to %d: not compressing", n, len(frame))
		}
	}
}

// Frames written by others (franz-go's default LZ4 writer: no size in the
// header, a content checksum; Kafka's Java client) and the other codecs
// are read by franz-go's own decompressor, unchanged.
func TestDecompressorFallsBack(t *testing.T) {
	d := NewDecompressor()
	src := batchLike(200 << 10)
	for _, codec := range []kgo.CompressionCodec{kgo.Lz4Compression(), kgo.SnappyCompression(), kgo.ZstdCompression(), kgo.GzipCompression()} {
		c, err := kgo.DefaultCompressor(codec)
		if err != nil {
			t.Fatal(err)
		}
		frame, typ := c.Compress(new(bytes.Buffer), src)
		frame = bytes.Clone(frame)
		got, err := d.Decompress(frame, typ)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("codec %v: %v (equal %v)", typ, err, bytes.Equal(got, src))
		}
	}
	if got, err := d.Decompress(src, kgo.CodecNone); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("no codec: %v", err)
	}

	// The fallback keeps this decompressor's bound on a batch's size.
	small := NewDecompressor()
	small.max = len(src) - 1
	for _, codec := range []kgo.CompressionCodec{kgo.Lz4Compression(), kgo.ZstdCompression()} {
		c, _ := kgo.DefaultCompressor(codec)
		frame, typ := c.Compress(new(bytes.Buffer), src)
		if _, err := small.Decompress(bytes.Clone(frame), typ); !errors.Is(err, kgo.ErrMaxDecompress) {
			t.Errorf("codec %v, a batch one byte over the bound: %v, want ErrMaxDecompress", typ, err)
		}
	}
}

// A frame whose header lies about its size is refused, never trusted: too
// short, too long, or more than a batch may be (nothing that large is
// allocated).
func TestDecompressorRefusesWrongSizes(t *testing.T) {
	d := NewDecompressor()
	src := batchLike(100 << 10)
	write := func(declared uint64, data []byte) []byte {
		var b bytes.Buffer
		w := lz4.NewWriter(&b)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false), lz4.SizeOption(declared)); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		name     string
		declared uint64
		want     string
	}{
		{"declares more than it holds", uint64(len(src)) + 10, "EOF"},
		{"declares less than it holds", uint64(len(src)) - 10, "after the frame"},
	} {
		_, err := d.Decompress(write(tc.declared, src), kgo.CodecLz4)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	// A header declaring more than a batch may be is refused before
	// anything that large is allocated (the bound made small here).
	small := NewDecompressor()
	small.max = len(src) - 1
	if _, err := small.Decompress(write(uint64(len(src)), src), kgo.CodecLz4); !errors.Is(err, kgo.ErrMaxDecompress) {
		t.Fatalf("a frame declaring one byte over the bound: %v, want ErrMaxDecompress", err)
	}
	// A header whose size was altered fails its checksum.
	frame := write(uint64(len(src)), src)
	binary.LittleEndian.PutUint64(frame[6:14], 1<<40)
	if _, err := d.Decompress(frame, kgo.CodecLz4); err == nil {
		t.Fatal("a frame with an altered header was accepted")
	}
	// Garbage.
	if _, err := d.Decompress([]byte("not lz4 at all"), kgo.CodecLz4); err == nil {
		t.Fatal("garbage was accepted")
	}
}

// The indexer's read of one edge batch: franz-go's default path (decode
// into a block buffer, copy into a growing buffer, copy out, hash) beside
// this one (decode straight into a buffer of the declared size).
func BenchmarkDecompress(b *testing.B) {
	src := batchLike(1 << 20)
	def, _ := kgo.DefaultCompressor(kgo.Lz4Compression())
	defFrame, _ := def.Compress(new(bytes.Buffer), src)
	defFrame = bytes.Clone(defFrame)
	ours := compress(b, &LZ4Compressor{}, src)
	for _, bc := range []struct {
		name  string
		d     kgo.Decompressor
		frame []byte
	}{
		{"franz-go-default", kgo.DefaultDecompressor(), defFrame},
		{"edge-frame-franz-go-reader", kgo.DefaultDecompressor(), ours},
		{"edge-frame", NewDecompressor(), ours},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := bc.d.Decompress(bc.frame, kgo.CodecLz4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The edge's write of one batch, franz-go's default LZ4 writer beside
// this one.
func BenchmarkCompress(b *testing.B) {
	src := batchLike(1 << 20)
	def, _ := kgo.DefaultCompressor(kgo.Lz4Compression())
	for _, bc := range []struct {
		name string
		c    kgo.Compressor
	}{{"franz-go-default", def}, {"edge-frame", &LZ4Compressor{}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			var dst bytes.Buffer
			for b.Loop() {
				dst.Reset()
				bc.c.Compress(&dst, src)
			}
		})
	}
}
