package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// RootOnly is the authorizer used until RAM policies are configured: an
// account's root may do everything, and anyone else nothing.
type RootOnly struct{}

var _ core.Authorizer = RootOnly{}

// Authorize implements core.Authorizer.
func (RootOnly) Authorize(_ context.Context, c core.Caller, action, resource string) error {
	if c.IsRoot() {
		return nil
	}
	return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonRAMDenied, Denial: &core.Denial{
		Action: action, Resource: resource, PrincipalType: "SubUser",
		PrincipalID: string(c.User), AccountID: c.AccountID,
	}}
}
