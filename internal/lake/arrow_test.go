package lake

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/tubelake/tubelake/internal/lake/laketest"
)

// TestArrowReadsEveryTable: an independent Parquet implementation (Apache
// Arrow's Go reader) opens every file of every table we write and compact,
// maps the schema to Arrow types and reads all rows back.
func TestArrowReadsEveryTable(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{RowGroupRows: 16})
	recs := laketest.Mixed(90, day1, day2)
	for i := 0; i < len(recs); i += 30 {
		if err := l.Write(ctx, recs[i:min(i+30, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	// Compact one partition of each table so both writers are covered.
	for _, table := range Tables() {
		if _, err := l.Compact(ctx, table, DT(day1), 0); err != nil {
			t.Fatal(err)
		}
	}
	rowsPerTable := map[string]int64{}
	for _, f := range lakeFiles(t, dir) {
		if filepath.Ext(f) != ".parquet" {
			continue
		}
		table := filepath.Dir(filepath.Dir(f))
		rdr, err := file.OpenParquetFile(filepath.Join(dir, f), false)
		if err != nil {
			t.Fatalf("%s: arrow cannot open: %v", f, err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(ctx)
		if err != nil {
			t.Fatalf("%s: arrow cannot read: %v", f, err)
		}
		sc := tbl.Schema()
		for _, col := range Columns(table) {
			if len(sc.FieldIndices(col.Name)) != 1 {
				t.Errorf("%s: arrow schema lacks %s", f, col.Name)
			}
		}
		// Timestamps must be microsecond UTC (Athena/DuckDB-compatible).
		for _, fld := range sc.Fields() {
			if ts, ok := fld.Type.(*arrow.TimestampType); ok && (ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC") {
				t.Errorf("%s.%s: arrow sees %s, want timestamp[us, tz=UTC]", f, fld.Name, ts)
			}
		}
		if got, want := tbl.NumRows(), rdr.NumRows(); got != want {
			t.Errorf("%s: arrow read %d rows of %d", f, got, want)
		}
		if v := rdr.MetaData().KeyValueMetadata().FindValue(MetaTable); v == nil || *v != table {
			t.Errorf("%s: footer lacks %s", f, MetaTable)
		}
		rowsPerTable[table] += tbl.NumRows()
		tbl.Release()
		rdr.Close()
	}
	for _, table := range Tables() {
		if rowsPerTable[table] == 0 {
			t.Errorf("%s: no rows read", table)
		}
	}
	t.Logf("rows read by arrow: %v", rowsPerTable)
}
