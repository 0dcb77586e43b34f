package lake

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/format"

	"github.com/tubelake/tubelake/internal/lake/laketest"
)

// wantDict lists, per table, the columns that are dictionary-encoded (see
// "Encodings" in schema.go): repeating ids and low-cardinality strings.
// The key id of each snapshot table and record_id are PLAIN (unique within
// a batch file). Encodings are not part of the schema golden files (every
// reader decodes both); this test makes a change deliberate.
var wantDict = map[string][]string{
	TableVideos: {"category_id", "channel_id", "channel_title", "default_audio_language", "default_language",
		"definition", "dimension", "duration", "live_broadcast_content", "source"},
	TableVideoStats:   {"channel_id", "source"},
	TableChannels:     {"country", "default_language", "source"},
	TableChannelStats: {"source"},
	TableEvents:       {"channel_id", "entity_id", "entity_kind", "event_type", "source"},
}

// TestColumnEncodings reads the column chunk encodings of files written by
// Write and by Compact.
func TestColumnEncodings(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{})
	recs := laketest.Mixed(60, day1, day2)
	for i := 0; i < len(recs); i += 30 {
		if err := l.Write(ctx, recs[i:min(i+30, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range Tables() {
		if _, err := l.Compact(ctx, table, DT(day1), 0); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, f := range lakeFiles(t, dir) {
		if filepath.Ext(f) != ".parquet" {
			continue
		}
		table := filepath.Dir(filepath.Dir(f))
		seen[table] = true
		pf := openParquet(t, filepath.Join(dir, f))
		var dict []string
		for _, rg := range pf.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				name := strings.Join(cc.MetaData.PathInSchema, ".")
				isDict := slices.Contains(cc.MetaData.Encoding, format.RLEDictionary) ||
					slices.Contains(cc.MetaData.Encoding, format.PlainDictionary)
				if isDict && !slices.Contains(dict, name) {
					dict = append(dict, name)
				}
				if !isDict && !slices.Contains(cc.MetaData.Encoding, format.Plain) &&
					cc.MetaData.Type == format.ByteArray {
					t.Errorf("%s: column %s: encodings %v, want PLAIN or a dictionary", f, name, cc.MetaData.Encoding)
				}
			}
		}
		slices.Sort(dict)
		if !slices.Equal(dict, wantDict[table]) {
			t.Errorf("%s: dictionary-encoded columns %v, want %v", f, dict, wantDict[table])
		}
	}
	for _, table := range Tables() {
		if !seen[table] {
			t.Errorf("no file of table %s", table)
		}
	}
}
