// Package durable holds what the packages that commit files by
// write-to-temporary-then-rename (the index's snapshots and deltas, the
// lake's Parquet files and manifests, the pipeline's index rebuild) need to
// make the commit survive a crash: SyncDir, which makes a rename or
// removal in a directory durable.
package durable
