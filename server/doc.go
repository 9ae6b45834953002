// Package server assembles latchkey and serves it. New builds the whole
// server from a Config without binding a port: the data directory's
// secrets, the store, the services, the drivers behind the fault rules,
// the audit log, the front ends and the routes, as one http.Handler (the
// App). App.Serve runs it on an HTTPS and a plain-HTTP listener with
// readiness and draining; Run, behind `latchkey serve`, binds the
// listeners, builds the App and serves it.
//
// assemble.go is the one place where the parts are wired; routes.go is
// the complete list of routes.
package server
