// Package storetest is the conformance suite of core.Store: every store
// implementation runs Run against itself, so that SQLite and PostgreSQL
// behave the same in everything the services can observe.
package storetest
