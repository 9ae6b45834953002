// Package testutil holds the helpers that tests across latchkey share:
// a concurrency-safe log buffer, manual clocks, bounded contexts, free
// ports and loopback ranges, the rule for programs a test needs (skip
// outside CI, fail in it), the clearing of proxy variables, the check of
// generated sections of checked-in files, and a reader of typed string
// constants from Go source.
//
// It imports only the standard library, so that the tests of any
// package, core's included, may use it without an import cycle. Helpers
// with heavier dependencies live in subpackages: rfbtest (console/rfb)
// and pgtest (a throwaway PostgreSQL server).
package testutil
