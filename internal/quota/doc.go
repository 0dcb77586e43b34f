// Package quota owns the local accounting of YouTube Data API quota: one
// bucket of units per API key and per quota day, where a quota day starts at
// midnight America/Los_Angeles (when Google resets the 10,000 units/day).
//
// The Ledger is consulted before every call: a call is sent only after its
// cost has been reserved, so tubelake never spends a unit that the local
// ledger says is gone. A key that the API reports as quotaExceeded is parked
// until the next Pacific midnight.
//
// Keys are identified by a fingerprint (see KeyID), never by the secret
// itself, so the ledger can be logged, exported as metrics and persisted
// without leaking API keys.
//
// Persistence: SaveFile/LoadFile (atomic JSON) or Snapshot/Restore; a bbolt-backed
// store, per-tier budgets and the `tubelake quota` report are still to come
// (issue #3).
package quota
