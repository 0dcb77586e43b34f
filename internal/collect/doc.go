// Package collect owns crawling YouTube: it turns seed channel ids into
// channel and video snapshots (yt.Record) handed to a Publisher, spending as
// little API quota and wall time as possible.
//
// The bound is latency (100-500 ms a call) and quota (10,000 units per key
// per day), not CPU, so a Collector keeps many requests in flight:
//
//	channels.list (50 ids)  ->  playlistItems.list (uploads, 50 a page, all pages)
//	                        ->  videos.list (exactly up to 50 ids, packed across channels)
//
// All three stages share one bounded worker pool (Config.Workers) fed by a
// priority queue (video batches first, then playlist pages, then channel
// batches), so the pipeline overlaps: video batches are sent as soon as 50
// ids are known, while other playlists are still being walked. Video ids are
// packed across channels, so a crawl spends ceil(videos/50) videos.list calls.
// Ids that a videos.list (or channels.list) response lacks (deleted, private)
// become tombstone events: nothing requested is silently dropped.
//
// Calls go through the official google.golang.org/api/youtube/v3 client. Each
// API key has its own *youtube.Service whose HTTP client adds the key to the
// request (option.WithAPIKey is ignored by the library when
// option.WithHTTPClient is given), a token-bucket rate limiter, and a bucket
// in a quota.Ledger: the cost of a call is reserved before it is sent, so a
// key is never used past its local budget. quotaExceeded parks the key until
// the next midnight America/Los_Angeles and the work moves to the other keys;
// keyInvalid disables the key; when no key is left Collect stops with
// ErrQuotaExhausted or ErrNoUsableKey. 5xx, timeouts, truncated bodies and
// rate limiting are retried with exponential backoff with jitter, without
// holding a worker while waiting; other 4xx are not retried.
//
// Calls ask for partial responses (the API's fields parameter): only the
// members convertVideo, convertChannel and the playlist walk read come back,
// which costs no quota and cuts the bytes and the official client's JSON
// decoding by about a third (Config.FullResponses turns it off).
//
// Every error is classified by reason into Stats.Errors and Prometheus
// counters; retries and the time they waited (backoff) are counted too
// (Stats.Retries, Stats.Backoff, retries_total, retry_backoff_seconds_total),
// and a key parked after quotaExceeded in keys_parked_total. API keys never appear in logs, errors or metrics: errors are
// rebuilt as *APIError from scrubbed text, and keys are named by
// quota.KeyID fingerprints.
//
// Discover polls the channels' RSS feeds (zero quota) with conditional GETs
// and returns video ids not seen in the previous poll; FetchVideos turns ids
// into snapshots or tombstones.
//
// Loop (and Cycler for step-by-step cycles) is the scheduler-driven
// collector of `tubelake collect --loop`, over an internal/schedule Store
// and a quota.Planner (Config.Planner): each cycle walks the uploads of new
// channels (scheduling their videos), polls the walked channels' feeds
// (zero quota; when all 15 entries are unknown, the uploads playlist is
// walked down to the first known video), then leases due channels and
// videos, highest expected change first, and fetches them in one worker
// pool run per kind that leases more whenever its queue runs low (leasing,
// fetching and committing overlap), each call paid from its tier's plan
// bucket (first fetches and walks from "discovery"; a spent bucket stops
// only its tier). Snapshots go through an observer that asks the Store for
// change events and publishes snapshots and events; a committer goroutine
// then stores the new schedule state of whatever batches piled up in one
// bbolt transaction (Store.Commit), at most every commitInterval (500 ms:
// schedule keys are random video ids, so bigger commits rewrite far fewer
// pages per item), so workers never wait for an fsync. A
// lease is completed only after its records were published and its commit
// persisted; items not completed are released when the run ends. Channels referenced
// by collected videos are added to the schedule (and walked next cycle).
//
// SearchChannels (search.list type=channel, 100 units a page) runs the
// loop's SearchQueries once per SearchInterval from the plan's search
// bucket; the channels found are scheduled, de-duplicated against the store.
//
// Not yet here: ETag/If-None-Match on refreshes (the API charges a 304 like
// a 200, so it would save bandwidth and decoding, not quota).
package collect
