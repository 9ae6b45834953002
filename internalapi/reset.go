package internalapi

import (
	"fmt"
	"net/http"

	"github.com/latchkey/latchkey/fleet"
	"github.com/latchkey/latchkey/metrics"
	"github.com/latchkey/latchkey/service"
)

// demoFleet answers GET /_latchkey/fleet/demo with the demo fleet file.
func (a *api) demoFleet(w http.ResponseWriter, r *http.Request) {
	metrics.SetOutcome(r.Context(), "latchkey", "GetDemoFleet", "Success")
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(fleet.Demo(fleet.KnownDemoPasswords(a.d.EHPCPolicy)))
}

type resetRequest struct {
	// Fleet is "empty" (the default) or "demo".
	Fleet string `json:"fleet"`
}

type resetBody struct {
	Fleet   string               `json:"fleet"`
	Removed int                  `json:"removed"`
	Applied *service.ApplyResult `json:"applied,omitempty"`
}

// reset answers POST /_latchkey/reset: every resource, account, key, RAM
// user and policy, console ticket and fault rule goes, except the root
// account and its first access key (credentials.json), whose account
// state returns to the defaults. The audit log stays: it records the
// reset too. With {"fleet":"demo"} the demo fleet is applied after.
func (a *api) reset(w http.ResponseWriter, r *http.Request) {
	const action = "Reset"
	if a.d.Root.AccountID == "" {
		a.fail(w, r, action, unavailable("reset"))
		return
	}
	var req resetRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, action, err)
		return
	}
	if req.Fleet == "" {
		req.Fleet = "empty"
	}
	if req.Fleet != "empty" && req.Fleet != "demo" {
		a.fail(w, r, action, newError("InvalidParameter", "fleet", "fleet is empty or demo"))
		return
	}
	n, err := a.d.Registry.Reset(r.Context(), a.d.Root)
	if err != nil {
		a.audit(r.Context(), r, action, "latchkey", toAPIError(err).code, "")
		a.fail(w, r, action, err)
		return
	}
	body := resetBody{Fleet: req.Fleet, Removed: n}
	if req.Fleet == "demo" {
		f, err := fleet.Parse(fleet.Demo(fleet.KnownDemoPasswords(a.d.EHPCPolicy)))
		if err != nil {
			a.fail(w, r, action, err)
			return
		}
		res, err := a.d.Registry.ApplyFleet(r.Context(), a.d.Root.AccountID, requestID(r), f)
		if err != nil {
			a.audit(r.Context(), r, action, "latchkey", toAPIError(err).code, "demo fleet failed")
			a.fail(w, r, action, err)
			return
		}
		body.Applied = &res
	}
	a.audit(r.Context(), r, action, "latchkey", "Success", fmt.Sprintf("to the %s fleet; %d documents removed", req.Fleet, n))
	a.ok(w, r, action, http.StatusOK, body)
}
