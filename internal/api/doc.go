// Package api serves tubelake over HTTP: the versioned JSON API under /v1,
// its OpenAPI 3 document, /healthz, /readyz and Prometheus /metrics, plus the
// embedded web UI at /.
//
// Routes (routes.go) is the single table of operations: each route's
// parameters drive both request parsing (handlers only see parameters the
// table admitted; unknown, repeated or malformed ones get a 400 with
// {"error":{"code","message"}}) and the OpenAPI document (openapi.go), whose
// response schemas are derived by reflection from the Go types the
// handlers encode. The contract test validates every documented operation's
// responses against the document with kin-openapi.
//
// Data comes through small interfaces declared here: Searcher (the search
// index: search, videos, channels, stats), Lake (read-only DuckDB SQL over
// the Parquet lake: statistics time series, rankings, trending, collection
// lag), Statuser (the pipeline) and a quota snapshot function. Lake answers
// are cached for Config.CacheTTL; a series also shows the index's newer
// observation that the lake has not committed yet (the "hot" point).
// Search responses may be cached for Config.SearchCacheTTL (a refresh
// interval, like a search engine's); for one more TTL an expired entry is
// still served (X-Cache: stale) while a single background request refreshes
// it (stale-while-revalidate), so popular queries never wait for the index.
//
// The index has no channel-level text field and no "all videos" query, so
// channel search groups a search over the channel-title field of videos by
// channel, and a channel's videos are a search for a word of the channel's
// title filtered by the channel id (exact, through the index's channel
// bitmap).
//
// Client API keys (keys.go) are stored as salted SHA-256 hashes in
// <data>/apikeys.json; when any key exists (or Config.RequireKey) every
// non-public route needs one, and each key has its own token bucket
// (429 with Retry-After). Anonymous clients are limited per IP. CORS,
// request URI and body size limits and a per-request timeout apply to every
// request. Keys never reach logs, metrics or error messages.
//
// The web UI (web/) is plain JavaScript and SVG, no build step and no CDN:
// search with filters and instant results, channel pages with growth
// charts and their videos, video pages with view history, rankings,
// trending and a pipeline dashboard, in Korean and English.
package api
