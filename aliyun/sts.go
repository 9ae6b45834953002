package aliyun

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// stsVersion is the API version of STS.
const stsVersion = "2015-04-01"

// stsProduct is STS's dispatch map: GetCallerIdentity, which tools call
// first to check their credentials (PRODUCT.md §2). STS reports the
// identities RAM manages, so it is served when RAM is.
func (s *server) stsProduct() *product {
	return &product{
		name:     "sts",
		code:     "Sts",
		version:  stsVersion,
		mapError: stsError,
		enabled:  s.d.RAM != nil,
		actions: map[string]action{
			"GetCallerIdentity": {handle: s.stsGetCallerIdentity},
		},
	}
}

// stsError is STS's mapping: the gateway's rows, except that an internal
// failure is STS's own InternalError, the one error GetCallerIdentity
// documents.
func stsError(e *core.Error) *apiError {
	out := ecsError(e)
	if out.code == errInternal {
		return newAPIError(errSTSInternal)
	}
	return out
}

// stsCallerIdentityResponse has the fields and JSON types of SDKv1's
// services/sts GetCallerIdentityResponse. RoleId is an assumed role's,
// and latchkey issues no role credentials, so it is never present.
type stsCallerIdentityResponse struct {
	responseMeta
	IdentityType string `json:"IdentityType" xml:"IdentityType"`
	AccountId    string `json:"AccountId" xml:"AccountId"`
	UserId       string `json:"UserId" xml:"UserId"`
	PrincipalId  string `json:"PrincipalId" xml:"PrincipalId"`
	Arn          string `json:"Arn" xml:"Arn"`
}

// GetCallerIdentity: no parameters and no authorization; any valid key
// may ask who it is. The root is IdentityType Account, with the account's
// id as UserId and PrincipalId and the ARN acs:ram::ACCOUNT:root; a RAM
// user is RAMUser, with its UserId as both and acs:ram::ACCOUNT:user/NAME.
func (s *server) stsGetCallerIdentity(ctx context.Context, r *Request) (any, error) {
	account := string(r.Caller.AccountID)
	if r.Caller.IsRoot() {
		return &stsCallerIdentityResponse{
			IdentityType: "Account", AccountId: account, UserId: account, PrincipalId: account,
			Arn: "acs:ram::" + account + ":root",
		}, nil
	}
	u, err := s.d.RAM.CallerUser(ctx, r.Caller)
	if err != nil {
		return nil, err
	}
	return &stsCallerIdentityResponse{
		IdentityType: "RAMUser", AccountId: account, UserId: u.ID, PrincipalId: u.ID,
		Arn: "acs:ram::" + account + ":user/" + string(u.Name),
	}, nil
}
