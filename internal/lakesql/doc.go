// Package lakesql runs SQL over the Parquet lake written by internal/lake,
// with an embedded DuckDB. It is the only package that imports duckdb-go.
//
// Open starts an in-memory DuckDB and registers one view per lake table:
//
//	videos           latest row per video id        (lake table videos)
//	video_history    every video snapshot            (videos)
//	video_stats      counts time series              (video_stats)
//	channels         latest row per channel id       (channels)
//	channel_history  every channel snapshot          (channels)
//	channel_stats    counts time series              (channel_stats)
//	events           changes, milestones, tombstones (events)
//
// Each view reads read_parquet('<dir>/<table>/dt=*/*.parquet',
// hive_partitioning = true, union_by_name = true) (dt is a DATE column) and
// keeps one row per record_id, which makes the lake's at-least-once writes
// (redelivered batches, compaction overlap; see internal/lake) exactly-once
// for readers. A table with no file yet has a typed, empty view; views are
// switched to read files the first time a query finds some.
//
// The DuckDB instance is sandboxed: extension auto-install and auto-load are
// off (no network; parquet, json and icu are linked in), TimeZone is UTC,
// external access is limited to the lake directory, the configuration is
// locked, and Query accepts only read-only statements.
//
// OpenURL also opens a lake on an object store (s3://bucket?...): DuckDB's
// httpfs extension is not bundled, so the committed Parquet files are first
// mirrored into a local cache directory (lake.Mirror: only new files are
// copied, files compaction removed are dropped), then queried like a local
// lake (`tubelake sql --lake s3://... --cache DIR`).
//
// DDL prints CREATE EXTERNAL TABLE statements for Athena and Trino that
// match the lake's Parquet schema, for querying the same files in place.
package lakesql
