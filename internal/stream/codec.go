package stream

import (
	"fmt"

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
