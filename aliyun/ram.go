package aliyun

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/core"
)

// ramVersion is the API version of RAM.
const ramVersion = "2015-05-01"

// ramDateLayout is RAM's date format ("2015-01-23T12:33:18Z").
const ramDateLayout = "2006-01-02T15:04:05Z"

// ramProduct is RAM's dispatch map (PRODUCT.md §4): the calls a user needs
// to make RAM users, give them access keys and attach policies.
func (s *server) ramProduct() *product {
	return &product{
		name:     "ram",
		code:     "Ram",
		version:  ramVersion,
		mapError: ramError,
		enabled:  s.d.RAM != nil,
		actions: map[string]action{
			"CreateUser":           {handle: s.ramCreateUser, mutating: true, resource: ramUserParam},
			"DeleteUser":           {handle: s.ramDeleteUser, mutating: true, resource: ramUserParam},
			"ListUsers":            {handle: s.ramListUsers},
			"CreateAccessKey":      {handle: s.ramCreateAccessKey, mutating: true, resource: ramCreatedKey},
			"DeleteAccessKey":      {handle: s.ramDeleteAccessKey, mutating: true, resource: ramKeyParam},
			"ListAccessKeys":       {handle: s.ramListAccessKeys},
			"CreatePolicy":         {handle: s.ramCreatePolicy, mutating: true, resource: ramPolicyParam},
			"DeletePolicy":         {handle: s.ramDeletePolicy, mutating: true, resource: ramPolicyParam},
			"GetPolicy":            {handle: s.ramGetPolicy},
			"ListPolicies":         {handle: s.ramListPolicies},
			"AttachPolicyToUser":   {handle: s.ramAttachPolicyToUser, mutating: true, resource: ramAttachment},
			"DetachPolicyFromUser": {handle: s.ramDetachPolicyFromUser, mutating: true, resource: ramAttachment},
			"ListPoliciesForUser":  {handle: s.ramListPoliciesForUser},
		},
	}
}

// Audit resources of RAM calls.
func ramUserParam(r *Request, _ any) string   { return "user/" + r.Get("UserName") }
func ramPolicyParam(r *Request, _ any) string { return "policy/" + r.Get("PolicyName") }
func ramKeyParam(r *Request, _ any) string    { return "accesskey/" + r.Get("UserAccessKeyId") }
func ramAttachment(r *Request, _ any) string {
	return "user/" + r.Get("UserName") + "/policy/" + r.Get("PolicyType") + "/" + r.Get("PolicyName")
}
func ramCreatedKey(r *Request, resp any) string {
	if v, ok := resp.(*ramCreateAccessKeyResponse); ok {
		return "accesskey/" + v.AccessKey.AccessKeyId
	}
	return ramUserParam(r, nil)
}

// ramError is RAM's mapping from core errors to rows (the RAM API error
// reference). A RAM denial is 403 NoPermission naming the resource and
// the action, as RAM's own answers do.
func ramError(e *core.Error) *apiError {
	switch e.Reason {
	case core.ReasonUserNotFound:
		return newAPIError(errRAMUserNotFound)
	case core.ReasonUserExists:
		return newAPIError(errRAMUserExists)
	case core.ReasonPolicyNotFound:
		return newAPIError(errRAMPolicyNotFound)
	case core.ReasonPolicyExists:
		return newAPIError(errRAMPolicyExists)
	case core.ReasonPolicyAttached:
		return newAPIError(errRAMPolicyAttached)
	case core.ReasonPolicyNotAttached:
		return newAPIError(errRAMPolicyNotAttached)
	case core.ReasonUserAccessKeyNotFound:
		return newAPIError(errRAMAccessKeyNotFound)
	case core.ReasonUserHasKeys:
		return newAPIError(errRAMDeleteUserAccessKey)
	case core.ReasonUserHasPolicies:
		return newAPIError(errRAMDeleteUserPolicy)
	case core.ReasonPolicyInUse:
		return newAPIError(errRAMDeletePolicyUser)
	case core.ReasonAccessKeyLimit:
		return newAPIError(errRAMAccessKeyLimit)
	case core.ReasonMalformedPolicy:
		msg := e.Message
		if msg == "" {
			msg = "The policy document is not valid."
		}
		return &apiError{code: errRAMMalformedPolicyDocument, param: msg}
	case core.ReasonRAMDenied:
		ae := newAPIError(errRAMNoPermission)
		if e.Denial != nil {
			ae.suffix = " Resource: " + e.Denial.Resource + " Action: " + e.Denial.Action
		}
		return ae
	case core.ReasonServiceNotEnabled:
		return newAPIError(errRAMInactive)
	case core.ReasonInvalidChars, core.ReasonTooLong, core.ReasonBadFormat:
		if code, ok := ramParamRow(e.Field, e.Reason); ok {
			return newAPIError(code)
		}
		return invalidParam(fieldOr(e, "Parameter"))
	case core.ReasonInvalidParameter:
		if e.Field == "PolicyType" {
			return newAPIError(errRAMPolicyType)
		}
	}
	// The rest as the gateway answers every product: MissingParameter,
	// InvalidParameter, InternalError, ServiceUnavailable.
	return ecsError(e)
}

// ramParamRow is the InvalidParameter.<Field>.<Problem> row of a field.
func ramParamRow(field string, reason core.Reason) (errorCode, bool) {
	type key struct {
		field  string
		reason core.Reason
	}
	code, ok := map[key]errorCode{
		{"UserName", core.ReasonInvalidChars}:    errRAMUserNameChars,
		{"UserName", core.ReasonTooLong}:         errRAMUserNameLength,
		{"DisplayName", core.ReasonInvalidChars}: errRAMDisplayNameChars,
		{"DisplayName", core.ReasonTooLong}:      errRAMDisplayNameLength,
		{"Comments", core.ReasonTooLong}:         errRAMCommentsLength,
		{"MobilePhone", core.ReasonBadFormat}:    errRAMMobilePhoneFormat,
		{"Email", core.ReasonBadFormat}:          errRAMEmailFormat,
		{"PolicyName", core.ReasonInvalidChars}:  errRAMPolicyNameChars,
		{"PolicyName", core.ReasonTooLong}:       errRAMPolicyNameLength,
		{"PolicyDocument", core.ReasonTooLong}:   errRAMPolicyDocumentLength,
		{"Description", core.ReasonTooLong}:      errRAMDescriptionLength,
	}[key{field, reason}]
	return code, ok
}

func ramDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ramDateLayout)
}

func renderRAMUser(u *core.RAMUser) ramUser {
	return ramUser{
		UserId: u.ID, UserName: string(u.Name), DisplayName: u.DisplayName, MobilePhone: u.MobilePhone,
		Email: u.Email, Comments: u.Comments, CreateDate: ramDate(u.CreatedAt), UpdateDate: ramDate(u.UpdatedAt),
	}
}

// CreateUser.
func (s *server) ramCreateUser(ctx context.Context, r *Request) (any, error) {
	u, err := s.d.RAM.CreateUser(ctx, r.Caller, core.CreateRAMUserInput{
		Name: core.UserName(r.Get("UserName")), DisplayName: r.Get("DisplayName"),
		MobilePhone: r.Get("MobilePhone"), Email: r.Get("Email"), Comments: r.Get("Comments"),
	})
	if err != nil {
		return nil, err
	}
	return &ramUserResponse{User: renderRAMUser(u)}, nil
}

// DeleteUser.
func (s *server) ramDeleteUser(ctx context.Context, r *Request) (any, error) {
	return nil, s.d.RAM.DeleteUser(ctx, r.Caller, core.UserName(r.Get("UserName")))
}

// ListUsers: Marker, MaxItems.
func (s *server) ramListUsers(ctx context.Context, r *Request) (any, error) {
	limit, err := r.Int("MaxItems")
	if err != nil {
		return nil, err
	}
	page, err := s.d.RAM.ListUsers(ctx, r.Caller, r.Get("Marker"), limit)
	if err != nil {
		return nil, err
	}
	resp := &ramListUsersResponse{IsTruncated: page.IsTruncated, Marker: page.Marker}
	resp.Users.User = make([]ramUser, 0, len(page.Users))
	for _, u := range page.Users {
		resp.Users.User = append(resp.Users.User, renderRAMUser(u))
	}
	return resp, nil
}

// CreateAccessKey: UserName (empty: the caller). The answer carries the
// new secret, the one time RAM shows it.
func (s *server) ramCreateAccessKey(ctx context.Context, r *Request) (any, error) {
	k, err := s.d.RAM.CreateAccessKey(ctx, r.Caller, core.UserName(r.Get("UserName")))
	if err != nil {
		return nil, err
	}
	return &ramCreateAccessKeyResponse{AccessKey: ramAccessKey{
		AccessKeyId: string(k.Key.ID), AccessKeySecret: k.Secret.Reveal(),
		Status: string(k.Key.Status), CreateDate: ramDate(k.Key.CreatedAt),
	}}, nil
}

// DeleteAccessKey: UserAccessKeyId, UserName.
func (s *server) ramDeleteAccessKey(ctx context.Context, r *Request) (any, error) {
	return nil, s.d.RAM.DeleteAccessKey(ctx, r.Caller, core.UserName(r.Get("UserName")), core.AccessKeyID(r.Get("UserAccessKeyId")))
}

// ListAccessKeys: UserName (empty: the caller).
func (s *server) ramListAccessKeys(ctx context.Context, r *Request) (any, error) {
	keys, err := s.d.RAM.ListAccessKeys(ctx, r.Caller, core.UserName(r.Get("UserName")))
	if err != nil {
		return nil, err
	}
	resp := &ramListAccessKeysResponse{}
	resp.AccessKeys.AccessKey = make([]ramAccessKey, 0, len(keys))
	for _, k := range keys {
		resp.AccessKeys.AccessKey = append(resp.AccessKeys.AccessKey, ramAccessKey{
			AccessKeyId: string(k.ID), Status: string(k.Status), CreateDate: ramDate(k.CreatedAt),
		})
	}
	return resp, nil
}

func renderPolicy(p *core.RAMPolicy) ramPolicy {
	return ramPolicy{
		PolicyName: p.Name, PolicyType: string(p.Type), Description: p.Description,
		DefaultVersion: p.DefaultVersion, CreateDate: ramDate(p.CreatedAt), UpdateDate: ramDate(p.UpdatedAt),
	}
}

// CreatePolicy: PolicyName, PolicyDocument, Description.
func (s *server) ramCreatePolicy(ctx context.Context, r *Request) (any, error) {
	p, err := s.d.RAM.CreatePolicy(ctx, r.Caller, r.Get("PolicyName"), r.Get("PolicyDocument"), r.Get("Description"))
	if err != nil {
		return nil, err
	}
	out := renderPolicy(p)
	out.UpdateDate = ""
	return &ramPolicyResponse{Policy: out}, nil
}

// DeletePolicy: PolicyName.
func (s *server) ramDeletePolicy(ctx context.Context, r *Request) (any, error) {
	return nil, s.d.RAM.DeletePolicy(ctx, r.Caller, r.Get("PolicyName"))
}

// GetPolicy: PolicyType, PolicyName.
func (s *server) ramGetPolicy(ctx context.Context, r *Request) (any, error) {
	p, err := s.d.RAM.GetPolicy(ctx, r.Caller, core.PolicyType(r.Get("PolicyType")), r.Get("PolicyName"))
	if err != nil {
		return nil, err
	}
	out := renderPolicy(p)
	out.PolicyDocument = p.Document
	n := p.AttachmentCount
	out.AttachmentCount = &n
	return &ramGetPolicyResponse{Policy: out, DefaultPolicyVersion: ramDefaultPolicyVersion{
		VersionId: p.DefaultVersion, IsDefaultVersion: true, PolicyDocument: p.Document, CreateDate: ramDate(p.CreatedAt),
	}}, nil
}

// ListPolicies: PolicyType, Marker, MaxItems.
func (s *server) ramListPolicies(ctx context.Context, r *Request) (any, error) {
	limit, err := r.Int("MaxItems")
	if err != nil {
		return nil, err
	}
	page, err := s.d.RAM.ListPolicies(ctx, r.Caller, core.PolicyType(r.Get("PolicyType")), r.Get("Marker"), limit)
	if err != nil {
		return nil, err
	}
	resp := &ramListPoliciesResponse{IsTruncated: page.IsTruncated, Marker: page.Marker}
	resp.Policies.Policy = make([]ramPolicy, 0, len(page.Policies))
	for _, p := range page.Policies {
		out := renderPolicy(p)
		n := p.AttachmentCount
		out.AttachmentCount = &n
		resp.Policies.Policy = append(resp.Policies.Policy, out)
	}
	return resp, nil
}

// AttachPolicyToUser: PolicyType, PolicyName, UserName.
func (s *server) ramAttachPolicyToUser(ctx context.Context, r *Request) (any, error) {
	return nil, s.d.RAM.AttachPolicyToUser(ctx, r.Caller, core.PolicyType(r.Get("PolicyType")), r.Get("PolicyName"), core.UserName(r.Get("UserName")))
}

// DetachPolicyFromUser: PolicyType, PolicyName, UserName.
func (s *server) ramDetachPolicyFromUser(ctx context.Context, r *Request) (any, error) {
	return nil, s.d.RAM.DetachPolicyFromUser(ctx, r.Caller, core.PolicyType(r.Get("PolicyType")), r.Get("PolicyName"), core.UserName(r.Get("UserName")))
}

// ListPoliciesForUser: UserName.
func (s *server) ramListPoliciesForUser(ctx context.Context, r *Request) (any, error) {
	list, err := s.d.RAM.ListPoliciesForUser(ctx, r.Caller, core.UserName(r.Get("UserName")))
	if err != nil {
		return nil, err
	}
	resp := &ramListPoliciesForUserResponse{}
	resp.Policies.Policy = make([]ramPolicy, 0, len(list))
	for _, a := range list {
		resp.Policies.Policy = append(resp.Policies.Policy, ramPolicy{
			PolicyName: a.Policy.Name, PolicyType: string(a.Policy.Type), Description: a.Policy.Description,
			DefaultVersion: a.Policy.DefaultVersion, AttachDate: ramDate(a.AttachedAt),
		})
	}
	return resp, nil
}
