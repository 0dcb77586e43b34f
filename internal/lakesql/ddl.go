package lakesql

import (
	"fmt"
	"strings"

	"github.com/tubelake/tubelake/internal/lake"
)

// DDLEngines lists the engines DDL knows.
func DDLEngines() []string { return []string{"athena", "trino"} }

// DDL returns the statements that declare every lake table as an external
// Parquet table of engine ("athena" or "trino") over the lake at location
// (e.g. s3://bucket/prefix). The partition column dt is a string
// (YYYY-MM-DD). Athena tables use partition projection, so new partitions
// need no MSCK REPAIR; Trino tables need
// CALL system.sync_partition_metadata('<schema>', '<table>', 'ADD') after
// new partitions appear. Rows may repeat across files (see internal/lake):
// dedupe by record_id when counting.
func DDL(engine string, location string) (string, error) {
	location = strings.TrimRight(strings.TrimSpace(location), "/")
	if location == "" {
		return "", fmt.Errorf("lakesql: ddl: empty location")
	}
	if strings.ContainsAny(location, "'\n") {
		return "", fmt.Errorf("lakesql: ddl: location %q contains a quote or newline", location)
	}
	var b strings.Builder
	switch engine {
	case "athena":
		b.WriteString("-- tubelake lake tables for Amazon Athena (Hive DDL, partition projection on dt).\n")
		b.WriteString("-- Rows may repeat across files: dedupe with row_number() OVER (PARTITION BY record_id).\n")
		for _, t := range lake.Tables() {
			b.WriteString("\n")
			athenaTable(&b, t, location)
		}
	case "trino":
		b.WriteString("-- tubelake lake tables for Trino (Hive connector). After new partitions appear run:\n")
		b.WriteString("--   CALL system.sync_partition_metadata('<schema>', '<table>', 'ADD');\n")
		b.WriteString("-- Set hive.timestamp-precision=MICROSECONDS to keep the lake's microseconds.\n")
		b.WriteString("-- Rows may repeat across files: dedupe with row_number() OVER (PARTITION BY record_id).\n")
		for _, t := range lake.Tables() {
			b.WriteString("\n")
			trinoTable(&b, t, location)
		}
	default:
		return "", fmt.Errorf("lakesql: ddl: unknown engine %q (want one of %s)", engine, strings.Join(DDLEngines(), ", "))
	}
	return b.String(), nil
}

func athenaType(t string) string {
	switch t {
	case "string":
		return "string"
	case "int32":
		return "int"
	case "int64":
		return "bigint"
	case "bool":
		return "boolean"
	case "timestamp_us":
		return "timestamp"
	case "list<string>":
		return "array<string>"
	}
	panic("lakesql: no athena type for " + t)
}

func trinoType(t string) string {
	switch t {
	case "string":
		return "varchar"
	case "int32":
		return "integer"
	case "int64":
		return "bigint"
	case "bool":
		return "boolean"
	case "timestamp_us":
		return "timestamp"
	case "list<string>":
		return "array(varchar)"
	}
	panic("lakesql: no trino type for " + t)
}

func athenaTable(b *strings.Builder, table, location string) {
	cols := lake.Columns(table)
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n", table)
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  `%s` %s%s\n", c.Name, athenaType(c.Type), sep)
	}
	b.WriteString(")\n")
	b.WriteString("PARTITIONED BY (`dt` string)\n")
	b.WriteString("STORED AS PARQUET\n")
	fmt.Fprintf(b, "LOCATION '%s/%s/'\n", location, table)
	b.WriteString("TBLPROPERTIES (\n")
	b.WriteString("  'parquet.compression' = 'ZSTD',\n")
	b.WriteString("  'projection.enabled' = 'true',\n")
	b.WriteString("  'projection.dt.type' = 'date',\n")
	b.WriteString("  'projection.dt.format' = 'yyyy-MM-dd',\n")
	b.WriteString("  'projection.dt.range' = '2005-01-01,NOW',\n")
	b.WriteString("  'projection.dt.interval' = '1',\n")
	b.WriteString("  'projection.dt.interval.unit' = 'DAYS',\n")
	fmt.Fprintf(b, "  'storage.location.template' = '%s/%s/dt=${dt}/'\n", location, table)
	b.WriteString(");\n")
}

func trinoTable(b *strings.Builder, table, location string) {
	cols := lake.Columns(table)
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", table)
	for _, c := range cols {
		fmt.Fprintf(b, "  %s %s,\n", c.Name, trinoType(c.Type))
	}
	b.WriteString("  dt varchar\n")
	b.WriteString(")\n")
	b.WriteString("WITH (\n")
	fmt.Fprintf(b, "  external_location = '%s/%s',\n", location, table)
	b.WriteString("  format = 'PARQUET',\n")
	b.WriteString("  partitioned_by = ARRAY['dt']\n")
	b.WriteString(");\n")
}
