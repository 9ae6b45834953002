package internalapi

import (
	"fmt"
	"io"
	"net/http"

	"github.com/latchkey/latchkey/fleet"
	"github.com/latchkey/latchkey/metrics"
	"github.com/latchkey/latchkey/service"
)

// fleetErrorBody is an apply that stopped part way: what was done, and
// the error.
type fleetErrorBody struct {
	errorBody
	Resources []service.Applied `json:"resources"`
}

// applyFleet answers POST /_latchkey/fleet with a fleet file (YAML) as
// the body.
func (a *api) applyFleet(w http.ResponseWriter, r *http.Request) {
	const action = "ApplyFleet"
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFleet+1))
	if err != nil || len(body) > maxFleet {
		a.fail(w, r, action, newError("InvalidBody", "", "the fleet file is too large or unreadable"))
		return
	}
	f, err := fleet.Parse(body)
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	res, err := a.d.Registry.ApplyFleet(r.Context(), a.d.Root.AccountID, requestID(r), f)
	if err != nil {
		ae := toAPIError(err)
		if ae.status == http.StatusInternalServerError {
			a.d.Log.Error("fleet apply failed", "err", err)
		}
		a.audit(r.Context(), r, action, "fleet", ae.code, fmt.Sprintf("stopped after %d resources", len(res.Resources)))
		metrics.SetOutcome(r.Context(), "latchkey", action, ae.code)
		writeJSON(w, ae.status, fleetErrorBody{errorBody{Error: ae.msg, Code: ae.code, Field: ae.field}, res.Resources})
		return
	}
	a.audit(r.Context(), r, action, "fleet", "Success", summarize(res))
	a.ok(w, r, action, http.StatusOK, res)
}

func summarize(res service.ApplyResult) string {
	n := map[string]int{}
	for _, x := range res.Resources {
		n[x.Action]++
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged", n["created"], n["updated"], n["unchanged"])
}
