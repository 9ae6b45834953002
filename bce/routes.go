package bce

import (
	"net/http"

	"github.com/latchkey/latchkey/core"
)

// route is one BCE operation: method, path pattern (Go 1.22 mux syntax),
// the valueless query parameter that names a PUT action, and its handler.
type route struct {
	method, path, action string
	op                   operation
}

// routes is the complete list of BCC operations, one line each
// (shared/reference/bce-rest.md §3.2). Mutating operations are audited.
func (s *Server) routes() []route {
	return []route{
		{"POST", "/v2/instance", "", operation{core.BCCCreateInstance, true, s.createInstance}},
		{"GET", "/v2/instance", "", operation{core.BCCListInstances, false, s.listInstances}},
		{"GET", "/v2/instance/{instanceId}", "", operation{core.BCCGetInstanceDetail, false, s.getInstanceDetail}},
		{"PUT", "/v2/instance/{instanceId}", "changePass", operation{core.BCCChangeInstancePass, true, s.changeInstancePass}},
		{"PUT", "/v2/instance/{instanceId}", "start", operation{core.BCCStartInstance, true, s.startInstance}},
		{"PUT", "/v2/instance/{instanceId}", "stop", operation{core.BCCStopInstance, true, s.stopInstance}},
		{"PUT", "/v2/instance/{instanceId}", "reboot", operation{core.BCCRebootInstance, true, s.rebootInstance}},
		{"DELETE", "/v2/instance/{instanceId}", "", operation{core.BCCDeleteInstance, true, s.deleteInstance}},
		{"GET", "/v2/instance/{instanceId}/vnc", "", operation{core.BCCGetInstanceVNC, true, s.getInstanceVNC}},
	}
}

// addRoutes registers the routes on the mux. Operations that share a
// method and path (the PUT instance actions) are told apart by their
// action parameter (?changePass, ?start, ?stop, ?reboot). Anything else
// is answered in the error envelope, never with the mux's text: under
// /v2/ InvalidURI, under another API version InvalidVersion (see
// unknownVersion).
func (s *Server) addRoutes(mux *http.ServeMux) {
	actions := map[string]map[string]http.Handler{}
	for _, rt := range s.routes() {
		pattern := rt.method + " " + rt.path
		if rt.action == "" {
			mux.Handle(pattern, s.serve(rt.op))
			continue
		}
		if actions[pattern] == nil {
			actions[pattern] = map[string]http.Handler{}
		}
		actions[pattern][rt.action] = s.serve(rt.op)
	}
	for pattern, byName := range actions {
		mux.Handle(pattern, s.byAction(byName))
	}
	mux.Handle("/v2/", s.unknown())
	mux.Handle("/", s.unknownVersion())
}

// Operation describes one served BCC operation, for documentation.
type Operation struct {
	Method string // HTTP method
	Path   string // path pattern, e.g. /v2/instance/{instanceId}
	Action string // the valueless query parameter of a PUT action, or ""
	Name   string // the operation (RAM action bcc:Name)
}

// Operations lists every operation the BCE front end serves, in route
// order.
func Operations() []Operation {
	var out []Operation
	for _, rt := range (&Server{}).routes() {
		out = append(out, Operation{Method: rt.method, Path: rt.path, Action: rt.action, Name: rt.op.name})
	}
	return out
}
