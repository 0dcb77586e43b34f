package stream

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"

	gojson "github.com/goccy/go-json"

	"github.com/tubelake/tubelake/internal/yt"
)

// The wire format of a record is its JSON envelope (yt.Record, field "v" is
// the schema version), the same bytes encoding/json produces and reads, so
// any NATS or Kafka client can read the stream. Encoding and decoding use
// goccy/go-json, a drop-in encoder several times faster than encoding/json
// on this hot path (see docs/BENCHMARKS.md).

func encodeRecord(r *yt.Record) ([]byte, error) { return gojson.Marshal(r) }

func decodeRecord(b []byte) (yt.Record, error) {
	var r yt.Record
	if err := gojson.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode record: %w", err)
	}
	return r, r.Validate()
}

// Multi-record messages (Config.RecordsPerMessage > 1): one message
// carries several records, cutting the broker's per-message cost. Layout:
// a version byte (never the first byte of JSON), then per record a uvarint
// length and the record. Version 0x02 holds binary records (bincodec.go);
// version 0x03 (written by this build) is a version 0x02 body compressed
// as one S2 block; version 0x01 (written by earlier builds, still read)
// JSON envelopes. Single-record messages stay plain JSON, so
// all kinds coexist on one stream.
const batchVersion = 0x01

// s2BatchVersion is a version 0x02 body (the frames, without the version
// byte) compressed as one S2 block: 3-4x fewer bytes for the broker to
// copy, store and keep in its caches, for ~0.3 µs of CPU per record.
const s2BatchVersion = 0x03

// maxBatchBytes bounds a decompressed batch (a corrupt or hostile length
// must not allocate unbounded memory).
const maxBatchBytes = 256 << 20

// encodeScratch holds the scratch buffers of encodeBatch (the binary body
// and its S2 block): only the compressed message, a few times smaller, is
// allocated per message (it is the caller's: publish retries re-send it).
var encodeScratch = sync.Pool{New: func() any { return new(encodeBufs) }}

type encodeBufs struct{ body, block []byte }

// encodeBatch encodes recs as one multi-record message (version 0x03).
func encodeBatch(recs []yt.Record) ([]byte, error) {
	sc := encodeScratch.Get().(*encodeBufs)
	defer encodeScratch.Put(sc)
	b, err := encodeBinBatch(sc.body, recs)
	if err != nil {
		return nil, fmt.Errorf("encode record batch: %w", err)
	}
	sc.body = b[:0]
	need := s2.MaxEncodedLen(len(b) - 1)
	if need < 0 {
		return nil, fmt.Errorf("encode record batch: %d bytes is too large for one S2 block", len(b)-1)
	}
	if cap(sc.block) < need {
		sc.block = make([]byte, need)
	}
	enc := s2.Encode(sc.block[:need], b[1:])
	out := make([]byte, 1+len(enc))
	out[0] = s2BatchVersion
	copy(out[1:], enc)
	return out, nil
}

// encodeJSONBatch is the version 0x01 layout (tests: older producers).
func encodeJSONBatch(recs []yt.Record) ([]byte, error) {
	buf := make([]byte, 1, 64+len(recs)*768)
	buf[0] = batchVersion
	for i := range recs {
		b, err := encodeRecord(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", recs[i].ID, err)
		}
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	return buf, nil
}

// decodeMessageInto appends the records of a message (single JSON record,
// or a version 0x01/0x02 batch) to recs; bad is called with the raw bytes
// of every record that cannot be decoded or is invalid (i of of records in
// the message; a malformed frame makes the whole message one bad record).
// transient: see ConsumeOptions.Transient.
func decodeMessageInto(recs []yt.Record, b []byte, transient bool, bad func(raw []byte, i, of int, err error)) []yt.Record {
	if len(b) > 0 && b[0] == s2BatchVersion {
		n, err := s2.DecodedLen(b[1:])
		if err == nil && n > maxBatchBytes {
			err = fmt.Errorf("%d bytes decompressed, limit %d", n, maxBatchBytes)
		}
		var body []byte
		if err == nil {
			body, err = s2.Decode(make([]byte, 1+n)[1:], b[1:])
		}
		if err != nil {
			bad(b, 0, 1, fmt.Errorf("decode record batch: s2: %w", err))
			return recs
		}
		// body is ours alone and never written again: shared strings may
		// point straight into it.
		return decodeFrames(recs, b, body, true, transient, unsafe.String(unsafe.SliceData(body), len(body)), bad)
	}
	if len(b) == 0 || (b[0] != batchVersion && b[0] != binBatchVersion) {
		rec, err := decodeRecord(b)
		if err != nil {
			bad(b, 0, 1, err)
			return recs
		}
		return append(recs, rec)
	}
	var shared string
	if b[0] == binBatchVersion && transient {
		shared = string(b[1:]) // one copy: every string of every record points into it
	}
	return decodeFrames(recs, b, b[1:], b[0] != batchVersion, transient, shared, bad)
}

// decodeFrames decodes the frames of a batch body (msg is the whole
// message, for dead letters); binary: version 0x02 records, else JSON.
// shared is body as a string when transient.
func decodeFrames(recs []yt.Record, msg, body []byte, binary_, transient bool, shared string, bad func(raw []byte, i, of int, err error)) []yt.Record {
	n, ok := countFrames(body)
	if !ok {
		bad(msg, 0, 1, fmt.Errorf("decode record batch: truncated frame"))
		return recs
	}
	var bin *binDecoder
	if binary_ {
		bin = &binDecoder{shared: transient, body: shared}
	}
	recs = slices.Grow(recs, n)
	for i, p := 0, body; len(p) > 0; i++ {
		l, w := binary.Uvarint(p)
		raw := p[w : w+int(l)]
		start := len(body) - len(p) + w
		p = p[w+int(l):]
		recs = append(recs, yt.Record{})
		r := &recs[len(recs)-1]
		var err error
		if bin != nil {
			if err = bin.record(r, raw, start); err == nil {
				err = r.Validate()
			}
		} else {
			err = decodeRecordInto(r, raw)
		}
		if err != nil {
			recs = recs[:len(recs)-1]
			bad(raw, i, n, err)
		}
	}
	return recs
}

// countFrames counts the records of a batch message's body; false if a
// frame is truncated.
func countFrames(p []byte) (int, bool) {
	n := 0
	for len(p) > 0 {
		l, w := binary.Uvarint(p)
		if w <= 0 || uint64(len(p)-w) < l {
			return n, false
		}
		p = p[w+int(l):]
		n++
	}
	return n, true
}

func decodeRecordInto(r *yt.Record, b []byte) error {
	if err := gojson.Unmarshal(b, r); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return r.Validate()
}
