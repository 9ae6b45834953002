package bce

import (
	"net/http"

	"github.com/latchkey/latchkey/core"
)

// addRoutes is the complete list of BCE routes, one line per operation
// (shared/reference/bce-rest.md §3.2). The PUT instance actions share one
// path and are told apart by their valueless query parameter
// (?changePass, ?start, ?stop, ?reboot). Anything else under /v2/ is
// answered InvalidURI in the error envelope, never with the mux's text.
func (s *Server) addRoutes(mux *http.ServeMux) {
	mux.Handle("POST /v2/instance", s.serve(operation{core.BCCCreateInstance, true, s.createInstance}))
	mux.Handle("GET /v2/instance", s.serve(operation{core.BCCListInstances, false, s.listInstances}))
	mux.Handle("GET /v2/instance/{instanceId}", s.serve(operation{core.BCCGetInstanceDetail, false, s.getInstanceDetail}))
	mux.Handle("DELETE /v2/instance/{instanceId}", s.serve(operation{core.BCCDeleteInstance, true, s.deleteInstance}))
	mux.Handle("GET /v2/instance/{instanceId}/vnc", s.serve(operation{core.BCCGetInstanceVNC, true, s.getInstanceVNC}))
	mux.Handle("PUT /v2/instance/{instanceId}", s.byAction(map[string]http.Handler{
		"changePass": s.serve(operation{core.BCCChangeInstancePass, true, s.changeInstancePass}),
		"start":      s.serve(operation{core.BCCStartInstance, true, s.startInstance}),
		"stop":       s.serve(operation{core.BCCStopInstance, true, s.stopInstance}),
		"reboot":     s.serve(operation{core.BCCRebootInstance, true, s.rebootInstance}),
	}))
	mux.Handle("/v2/", s.unknown())
}
