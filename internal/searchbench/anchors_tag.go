//go:build anchors

package searchbench

// heavyAnchorsBuilt says the Bleve and SQLite anchors are compiled in
// (build tag "anchors").
const heavyAnchorsBuilt = true
