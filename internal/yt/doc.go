// Package yt is tubelake's data model: YouTube channels and videos as the
// YouTube Data API v3 describes them (snippet, statistics, contentDetails),
// the timestamped snapshots the collector observes, change events, and the
// single versioned Record envelope that travels on the stream.
//
// Every other package speaks in these types. yt imports nothing of ours.
package yt
