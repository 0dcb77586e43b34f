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
// Planner plans each quota day before spending it: over all keys, a share
// for search (5 %) and discovery (10 %), then each refresh tier's demand
// (from the scheduler, SetDemand) in priority order, and the rest as spare.
// Reserve debits a call from its bucket (own plan, then spare; search never
// borrows) and from a key's ledger bucket, and refuses what neither can pay:
// no call is sent without quota. Its state (plan, spent per key and bucket,
// ledger) is saved atomically as JSON and printed by `tubelake quota`.
//
// Persistence: SaveFile/LoadFile (atomic JSON) or Snapshot/Restore for the
// ledger; Planner.SaveFile/LoadState for the plan.
package quota
