// Package cli implements tubelake's command line (cobra): sim, demo, serve,
// collect, import, sql, lake and bench. Commands parse flags, build the
// domain packages' configs, and handle signals (SIGINT/SIGTERM cancel the
// root context; every command shuts down gracefully). No domain logic lives
// here.
package cli
