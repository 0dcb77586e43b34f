package lake

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is the Parquet ZSTD codec the writer uses. parquet-go's own
// codec keeps its encoders in a pool the garbage collector empties, and
// every new encoder allocates a 16 MB history buffer (8 MB window): under a
// heap limit the GC ran often enough that encoders were re-created all the
// time (1 GB allocated per million records). This one keeps up to
// maxIdle encoders for good, with a 1 MB window (pages are ~256 KB; a
// 1 MB window is what every reader supports), about 2 MB each.
type zstdCodec struct {
	level zstd.EncoderLevel
	idle  chan *zstd.Encoder
	dec   *zstd.Decoder
}

func newZstdCodec(level zstd.EncoderLevel, maxIdle int) *zstdCodec {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic(fmt.Sprintf("lake: zstd decoder: %v", err)) // only fails on bad options
	}
	return &zstdCodec{level: level, idle: make(chan *zstd.Encoder, maxIdle), dec: dec}
}

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	var e *zstd.Encoder
	select {
	case e = <-c.idle:
	default:
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
	}
	out := e.EncodeAll(src, dst[:0])
	select {
	case c.idle <- e:
	default: // enough idle encoders: let this one go
	}
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	return c.dec.DecodeAll(src, dst[:0])
}
