// Package bce is latchkey's Baidu AI Cloud front end: the BCE REST
// protocol under /v2/ as bce-sdk-go v0.9.277 speaks it — bce-auth-v1
// signatures, encrypted adminPass values, the error envelope and headers
// (PRODUCT.md §2) — in front of the BCC service of package core.
//
// The protocol pieces are pure functions (sign.go, adminpass.go,
// errors.go); Server adapts HTTP requests to core.BCC calls, and
// routes.go lists every route. Handlers return values; only the adapter
// writes responses, and every status comes from the error table.
package bce

//go:generate env LATCHKEY_WRITE_COVERAGE=1 go test -run TestCoverageFile .
