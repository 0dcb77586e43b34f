package stream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// fillAll sets every field reachable from v to a non-zero value (strings
// name their field, numbers and times differ per field), so a field the
// binary codec does not carry shows up as a difference.
func fillAll(t *testing.T, v reflect.Value, path string, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, *n*1000+7, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(t, v.Field(i), path+"."+v.Type().Field(i).Name, n)
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem(), path, n)
	case reflect.String:
		v.SetString(path + " é 😀")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillAll(t, v.Index(i), path, n)
		}
	default:
		t.Fatalf("fillAll: unhandled %s at %s: teach the binary codec and this test the new field type", v.Kind(), path)
	}
}

// fullRecords is one record of each kind with every field set.
func fullRecords(t *testing.T) []yt.Record {
	var out []yt.Record
	for _, kind := range []yt.Kind{yt.KindVideo, yt.KindChannel, yt.KindEvent} {
		var r yt.Record
		n := 0
		fillAll(t, reflect.ValueOf(&r).Elem(), "r", &n)
		r.V, r.Kind = yt.SchemaVersion, kind
		switch kind {
		case yt.KindVideo:
			r.Channel, r.Event = nil, nil
		case yt.KindChannel:
			r.Video, r.Event = nil, nil
		case yt.KindEvent:
			r.Video, r.Channel = nil, nil
		}
		out = append(out, r)
	}
	return out
}

// TestBinaryCodecCoversRecord pins that the binary batch format carries
// every field of yt.Record: a field added to the envelope without the
// codec (and a new message version) fails here.
func TestBinaryCodecCoversRecord(t *testing.T) {
	recs := fullRecords(t)
	// Plus sparse records: nil counts, empty strings, no tags, zero times.
	recs = append(recs, recsN(3)...)
	sparse := yt.Record{V: 1, ID: "x", Kind: yt.KindChannel, Channel: &yt.Channel{ID: "UCx"}}
	recs = append(recs, sparse)
	msg, err := encodeBinBatch(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, shared := range []bool{false, true} {
		body := msg[1:]
		d := &binDecoder{shared: shared, body: string(body)}
		var got []yt.Record
		for p := body; len(p) > 0; {
			l, w := binary.Uvarint(p)
			start := len(body) - len(p) + w
			var r yt.Record
			if err := d.record(&r, p[w:w+int(l)], start); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
			p = p[w+int(l):]
		}
		if len(got) != len(recs) {
			t.Fatalf("shared=%v: %d records decoded, want %d", shared, len(got), len(recs))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], recs[i]) {
				a, _ := json.Marshal(recs[i])
				b, _ := json.Marshal(got[i])
				t.Errorf("shared=%v record %d differs after the binary round trip:\nwant %s\n got %s", shared, i, a, b)
			}
		}
	}
	// Through decodeMessageInto (version 0x02 and its S2-compressed 0x03,
	// which encodeBatch writes), invalid records are rejected one by one.
	compressed, err := encodeBatch(recs)
	if err != nil {
		t.Fatal(err)
	}
	if compressed[0] != s2BatchVersion || len(compressed) >= len(msg) {
		t.Fatalf("encodeBatch: version %#x, %d bytes for %d uncompressed", compressed[0], len(compressed), len(msg))
	}
	for _, m := range [][]byte{msg, compressed} {
		for _, transient := range []bool{false, true} {
			var bad int
			got := decodeMessageInto(nil, m, transient, func(_ []byte, _, _ int, _ error) { bad++ })
			if bad != 3 || len(got) != 4 {
				t.Fatalf("decodeMessageInto(version %#x): %d valid, %d rejected; want 4 and 3", m[0], len(got), bad)
			}
			if !reflect.DeepEqual(got[0], recs[2]) {
				t.Fatalf("decodeMessageInto(version %#x): event record differs", m[0])
			}
		}
	}
	// A corrupt S2 block dead-letters the whole message.
	var bad int
	broken := append(bytes.Clone(compressed[:len(compressed)/2]), 0xff, 0xff)
	if got := decodeMessageInto(nil, broken, true, func(_ []byte, _, _ int, _ error) { bad++ }); len(got) != 0 || bad != 1 {
		t.Fatalf("corrupt S2 batch: %d records, %d rejected", len(got), bad)
	}
	// The sparse record itself round-trips (zero times included).
	var d binDecoder
	rec, err := appendBinRecord(nil, &sparse)
	if err != nil {
		t.Fatal(err)
	}
	var back yt.Record
	if err := d.record(&back, rec, 0); err != nil || !reflect.DeepEqual(back, sparse) {
		t.Fatalf("sparse record: %v\n%+v\n%+v", err, back, sparse)
	}
}

// TestBinaryCodecRejectsGarbage: every truncation of a record and a few
// corruptions are errors, never panics or silent garbage.
func TestBinaryCodecRejectsGarbage(t *testing.T) {
	for _, r := range fullRecords(t) {
		b, err := appendBinRecord(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			var got yt.Record
			if err := (&binDecoder{}).record(&got, b[:n], 0); err == nil {
				t.Fatalf("%s truncated to %d of %d bytes decoded without error", r.Kind, n, len(b))
			}
		}
		var got yt.Record
		if err := (&binDecoder{}).record(&got, append(bytes.Clone(b), 0), 0); err == nil {
			t.Fatalf("%s with a trailing byte decoded without error", r.Kind)
		}
	}
}

func FuzzBinaryRecord(f *testing.F) {
	for _, r := range recsN(2) {
		b, _ := appendBinRecord(nil, &r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, shared := range []bool{false, true} {
			d := &binDecoder{shared: shared, body: string(b)}
			var r yt.Record
			_ = d.record(&r, b, 0)
		}
	})
}

// BenchmarkCodec compares JSON and binary batch encode+decode per record.
func BenchmarkCodec(b *testing.B) {
	recs := recsN(256)
	for _, c := range []struct {
		name string
		enc  func([]yt.Record) ([]byte, error)
	}{{"json", encodeJSONBatch}, {"binary", func(r []yt.Record) ([]byte, error) { return encodeBinBatch(nil, r) }}, {"binary+s2", encodeBatch}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var out []yt.Record
			for b.Loop() {
				msg, err := c.enc(recs)
				if err != nil {
					b.Fatal(err)
				}
				out = decodeMessageInto(out[:0], msg, true, func(_ []byte, _, _ int, err error) { b.Fatal(err) })
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			msg, _ := c.enc(recs)
			b.ReportMetric(float64(len(msg))/float64(len(recs)), "bytes/record")
		})
	}
}
