// Package schedule owns the collector's persisted schedule: every known
// channel and video has a next-due time in a bbolt file under the data dir
// (schedule.db), so a collector that restarts resumes exactly where it
// stopped.
//
// Refresh tiers are configuration (Config.Tiers, DefaultConfig): videos
// younger than a day hourly; younger than a week or above a view velocity
// daily; the rest weekly, stretched up to 90 days for slow videos (interval
// x ColdVelocity / velocity); channel statistics daily. A video's tier is
// recomputed at each refresh from its age and measured velocity.
//
// Lease hands out due items marked as leased, highest expected change
// first: items never
// fetched, then views/hour x hours since the last fetch, so that when quota
// is short it is spent where the data changes most. Items due within Slack
// (10 % of the interval) are taken early so batches fill 50 ids.
//
// After fetching, Prepare compares the observations with the compact state
// kept per entity (title, thumbnail URL, hashes of description and tags,
// last views, velocity) and returns change events (title, description, tags,
// thumbnail, milestones 1k..100M views); the caller publishes snapshots and
// events, then Commit stores the new state and next due time and clears the
// lease (Batch.Commit groups concurrent commits; Store.Commit stores several
// batches in one transaction, as the collector's committer goroutine does).
//
// Leases are kept in memory, not in the file: a leased item keeps its due
// index entry until its commit moves it, and Lease skips it. A crash between
// lease and commit therefore leaves the items due at their original time
// (they were never confirmed as published), exactly what a persisted lease
// released by Open gave, without two writes per item and an fsync per
// lease; bbolt's file lock keeps a Store to one process. Committed items are
// never fetched again before they are due: nothing is fetched twice in a
// cycle because of a restart. Files written when leases were persisted
// (leased flag, "leased" bucket) are repaired by Open.
//
// Items are stored in a compact binary encoding with a version byte
// (codec.go): about a third of the JSON size, decoded without reflection,
// and the due index and leases read only the fixed-size head. Files written
// with JSON items still open: JSON items are read as before and rewritten in
// binary on their next write (meta "encoding" is set to item-v1; a collector
// older than this one would report binary items as corrupt, so do not roll
// back on a data dir this version has written). Lease scans in one read
// transaction; Commit writes all its batches in key order with reusable
// cursors.
//
// Partitioning: a Store belongs to one Shard (i/n); it only admits channels
// whose FNV-1a hash mod n is i and videos of those channels, so n collector
// processes with disjoint data dirs cover every channel exactly once.
package schedule
