// Package api serves tubelake over HTTP: the versioned JSON API under /v1
// (video search, video and channel by id, pipeline status), /healthz,
// /readyz and Prometheus /metrics, plus the embedded web UI at /.
//
// It reads only through small interfaces declared here (Searcher, Statuser),
// so it can be served by any process that holds an index. Every bad
// parameter gets a 400 with {"error":{"code","message"}}; unknown parameters
// are rejected rather than ignored, so typos never silently widen a query.
package api
