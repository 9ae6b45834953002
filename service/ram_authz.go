package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/policy"
)

// PolicyAuthorizer is the RAM core.Authorizer of PRODUCT.md §4: an
// account's root may do everything; a RAM user may do what the policies
// attached to it allow, evaluated by package policy (explicit deny wins,
// default deny) with the request's acs:SourceIp, acs:SecureTransport and
// acs:CurrentTime. It reads the user's attachments from the store on every
// call, so a change to a user's policies applies to its next request.
type PolicyAuthorizer struct {
	cfg Config
}

var _ core.Authorizer = (*PolicyAuthorizer)(nil)

// NewPolicyAuthorizer returns the authorizer; it uses cfg's Store, Clock
// and Log.
func NewPolicyAuthorizer(cfg Config) *PolicyAuthorizer {
	cfg.fill()
	return &PolicyAuthorizer{cfg: cfg}
}

// Authorize implements core.Authorizer. A denial is KindForbidden with
// ReasonRAMDenied and a Denial that says whether a Deny statement matched
// (explicit) or nothing allowed the call (implicit); front ends render it
// in their own codes (ECS 403 Forbidden.RAM with AccessDeniedDetail,
// E-HPC 407 NotAuthorized, RAM 403 NoPermission, BCE 403 AccessDenied).
func (a *PolicyAuthorizer) Authorize(ctx context.Context, c core.Caller, action, resource string) error {
	if c.IsRoot() {
		return nil
	}
	docs, err := a.documents(ctx, c.AccountID, c.User)
	if err != nil {
		return err
	}
	decision := policy.Evaluate(docs, policy.Request{
		Action:          action,
		Resource:        resource,
		SourceIP:        c.SourceIP,
		SecureTransport: c.Secure,
		CurrentTime:     a.cfg.Clock.Now(),
	})
	if decision == policy.Allow {
		return nil
	}
	return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonRAMDenied, Denial: &core.Denial{
		Action: action, Resource: resource, PrincipalType: "SubUser",
		PrincipalID: string(c.User), AccountID: c.AccountID,
		Explicit: decision == policy.ExplicitDeny,
	}}
}

// documents returns the parsed documents of every policy attached to the
// user. A user that no longer exists has none (its key may still be in a
// lookup cache for a moment). A stored custom policy that no longer
// parses is skipped and logged: it grants nothing.
func (a *PolicyAuthorizer) documents(ctx context.Context, account core.AccountID, name core.UserName) ([]*policy.Document, error) {
	var docs []*policy.Document
	err := a.cfg.Store.View(ctx, func(tx core.Tx) error {
		u, err := core.Get[core.RAMUser](ctx, tx, core.RAMUserKey(account, name))
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		for _, att := range u.Policies {
			if att.Type == core.PolicySystem {
				if d, ok := policy.System(att.Name); ok {
					docs = append(docs, d)
				}
				continue
			}
			p, err := core.Get[core.RAMPolicy](ctx, tx, core.RAMPolicyKey(account, att.Name))
			if core.KindOf(err) == core.KindNotFound {
				continue
			}
			if err != nil {
				return err
			}
			d, err := policy.Parse([]byte(p.Document))
			if err != nil {
				a.cfg.Log.Error("stored policy does not parse", "account", account, "policy", att.Name, "err", err)
				continue
			}
			docs = append(docs, d)
		}
		return nil
	})
	return docs, err
}
