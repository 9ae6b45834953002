// Package service holds latchkey's business rules: validation, the state
// machines, authorization and the order in which a change reaches the
// store and the console drivers. It implements the service interfaces of
// package core over a core.Store and knows nothing of wire protocols.
package service
