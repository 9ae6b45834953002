package aliyun

import (
	"testing"

	"github.com/latchkey/latchkey/core"
)

// Every reason the E-HPC and RAM services (and the visual driver) produce
// maps to a row of their own product, never to the generic fallback of
// another one; and seed 004's codes carry their statuses.
func TestEHPCAndRAMMappingsCoverTheirReasons(t *testing.T) {
	reasons := coreReasons(t)
	for _, c := range []struct {
		name    string
		mapping func(*core.Error) *apiError
		pattern []string
		foreign map[errorCode]bool // rows that belong to another product
	}{
		{"E-HPC", ehpcError, []string{"../service/ehpc*.go", "../service/account.go", "../visual/sim/*.go"}, map[errorCode]bool{errInternal: true, errForbiddenRAM: true, errInstanceNotReady: true}},
		{"RAM", ramError, []string{"../service/ram*.go"}, map[errorCode]bool{errInternal: true, errForbiddenRAM: true}},
	} {
		used := map[string]bool{}
		for _, p := range c.pattern {
			for name := range reasonsUsedBy(t, p) {
				used[name] = true
			}
		}
		delete(used, "ReasonOf") // the function, not a reason
		for name := range used {
			reason, ok := reasons[name]
			if !ok {
				t.Errorf("%s uses %s, which core does not declare", c.name, name)
				continue
			}
			for _, k := range kinds {
				if code := c.mapping(&core.Error{Kind: k, Reason: reason, Field: "UserName", Message: "m"}).code; c.foreign[code] {
					t.Errorf("%s maps %s/%v to %s", c.name, name, k, errorRowFor(code).Code)
				}
			}
		}
	}

	for _, tc := range []struct {
		err    *core.Error
		status int
		code   string
		msg    string
	}{
		{core.Invalid(core.ReasonInvalidParameter, "Passwd"), 400, "InvalidParams", "The specified parameter Passwd is invalid."},
		{&core.Error{Kind: core.KindForbidden, Reason: core.ReasonServiceNotEnabled}, 400, "NotEnabled", "You have not enabled this service"},
		{&core.Error{Kind: core.KindForbidden, Reason: core.ReasonInDebt}, 400, "InDebt", "Your account has overdue payments."},
		{&core.Error{Kind: core.KindConflict, Reason: core.ReasonIncorrectStatus}, 403, "InvalidClusterStatus", "The cluster status does not support the operation."},
		{&core.Error{Kind: core.KindConflict, Reason: core.ReasonConflictingOp}, 403, "ConflictOpt", "A conflicting operation is running. Please try again later."},
		{&core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout}, 403, "AgentError", "The agent request failed."},
		{&core.Error{Kind: core.KindForbidden, Reason: core.ReasonBadCredential}, 403, "IncorrectCredential", "The username or password is incorrect."},
		{&core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: "vncpasswd -f"}, 403, "ExecFail", "Failed to execute the command: vncpasswd -f."},
		{&core.Error{Kind: core.KindNotFound, Reason: core.ReasonClusterNotFound}, 404, "ClusterNotFound", "The specified instance does not exist."},
		{&core.Error{Kind: core.KindUnavailable, Reason: core.ReasonUpstreamFailed}, 406, "AliyunError", "Failed to request other cloud service APIs."},
		{&core.Error{Kind: core.KindForbidden, Reason: core.ReasonRAMDenied}, 407, "NotAuthorized", "You are not authorized by RAM for this request."},
		{&core.Error{Kind: core.KindConflict, Reason: core.ReasonPartialFailure, Message: "changed: login0 (i-1); not changed: login1 (i-2)"}, 409, "PartFailure", "Part of the batch operation failed. Changed: login0 (i-1); not changed: login1 (i-2)."},
		{&core.Error{Kind: core.KindInternal}, 500, "UnknownError", "An unknown error occurred."},
		{&core.Error{Kind: core.KindUnavailable}, 503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server"},
	} {
		code, msg, status := ehpcError(tc.err).row()
		if code != tc.code || msg != tc.msg || status != tc.status {
			t.Errorf("%v → %d %s %q, want %d %s %q", tc.err, status, code, msg, tc.status, tc.code, tc.msg)
		}
	}
}
