package kafkaconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxBatchBytes bounds a decompressed record batch (the bound franz-go's
// client puts on its own decompressor): a frame that claims more is
// refused, not allocated.
const maxBatchBytes = 1 << 30

// LZ4Compressor writes the edge's record batches as LZ4 frames shaped for
// the indexer's read: 64 KiB blocks (what Kafka's Java client writes), the
// uncompressed size in the frame header, and no content checksum (every
// record batch already carries a CRC-32C that the broker and the consumer
// check). The indexer then decompresses each batch once, straight into a
// buffer of the right size: with the defaults (4 MiB blocks, no size, an
// xxHash over the content) a batch was decoded into a block buffer,
// copied into a growing buffer, copied again, and hashed.
type LZ4Compressor struct {
	writers sync.Pool // *lz4.Writer
}

// Compress implements kgo.Compressor.
func (c *LZ4Compressor) Compress(dst *bytes.Buffer, src []byte, _ ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	w, _ := c.writers.Get().(*lz4.Writer)
	if w == nil {
		w = lz4.NewWriter(nil)
	}
	defer c.writers.Put(w)
	w.Reset(dst)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false), lz4.SizeOption(uint64(len(src)))); err != nil {
		return nil, -1
	}
	if _, err := w.Write(src); err != nil {
		return nil, -1
	}
	if err := w.Close(); err != nil {
		return nil, -1
	}
	return dst.Bytes(), kgo.CodecLz4
}

// Decompressor reads LZ4 frames that carry their size (the edge's) into
// one buffer of that size; everything else goes to franz-go's default
// decompressor.
type Decompressor struct {
	fallback kgo.Decompressor
	max      int       // maxBatchBytes; smaller in tests
	readers  sync.Pool // *lz4Reader
}

type lz4Reader struct {
	r   *lz4.Reader
	src bytes.Reader
}

// NewDecompressor returns the indexer's decompressor.
func NewDecompressor() *Decompressor {
	return &Decompressor{fallback: kgo.DefaultDecompressor(), max: maxBatchBytes}
}

// viaFallback is franz-go's decompressor under this one's bound: built
// with kgo.DefaultDecompressor it stops only at 2 GiB, where the client's
// own stops at maxBatchBytes, so a larger batch is refused here as the
// client refused it before this decompressor replaced its own.
func (d *Decompressor) viaFallback(src []byte, codec kgo.CompressionCodecType) ([]byte, error) {
	out, err := d.fallback.Decompress(src, codec)
	if err == nil && len(out) > d.max {
		return nil, kgo.ErrMaxDecompress
	}
	return out, err
}

var errTrailing = errors.New("lz4: data after the frame's declared size")

// Decompress implements kgo.Decompressor.
func (d *Decompressor) Decompress(src []byte, codec kgo.CompressionCodecType) ([]byte, error) {
	if codec != kgo.CodecLz4 {
		return d.viaFallback(src, codec)
	}
	lr, _ := d.readers.Get().(*lz4Reader)
	if lr == nil {
		lr = &lz4Reader{r: lz4.NewReader(nil)}
	}
	defer d.readers.Put(lr)
	lr.src.Reset(src)
	lr.r.Reset(&lr.src)
	if _, err := lr.r.Read(nil); err != nil { // reads the frame header
		return nil, err
	}
	size := lr.r.Size()
	if size == 0 {
		return d.viaFallback(src, codec)
	}
	if size > d.max {
		return nil, fmt.Errorf("lz4: a batch declares %d bytes decompressed, above the %d allowed: %w", size, d.max, kgo.ErrMaxDecompress)
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(lr.r, out); err != nil {
		return nil, err
	}
	var one [1]byte
	if n, err := lr.r.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
		if err == nil {
			err = errTrailing
		}
		return nil, err
	}
	return out, nil
}
