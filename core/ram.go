package core

import (
	"context"
	"time"
)

// PolicyType is RAM's PolicyType: System policies are defined by the
// platform and shared by every account; Custom ones belong to an account.
type PolicyType string

const (
	PolicySystem PolicyType = "System"
	PolicyCustom PolicyType = "Custom"
)

// PolicyAttachment is one policy attached to a RAM user.
type PolicyAttachment struct {
	Type       PolicyType
	Name       string
	AttachedAt time.Time
}

// RAMUser is a RAM user of an account (PRODUCT.md §4). Its access keys
// are AccessKey resources whose User names it.
type RAMUser struct {
	AccountID   AccountID
	Name        UserName
	ID          string // UserId: 16 digits
	DisplayName string
	MobilePhone string
	Email       string
	Comments    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Policies    []PolicyAttachment `json:",omitempty"`
}

// RAMUserKind is the store kind of RAMUser.
const RAMUserKind ResourceKind = "ram.user"

func (*RAMUser) Kind() ResourceKind   { return RAMUserKind }
func (u *RAMUser) Key() string        { return RAMUserKey(u.AccountID, u.Name) }
func (u *RAMUser) Owner() AccountID   { return u.AccountID }
func (u *RAMUser) Location() RegionID { return "" }

// RAMUserKey is the store key of an account's RAM user.
func RAMUserKey(account AccountID, name UserName) string {
	return string(account) + "/" + string(name)
}

// RAMPolicy is a policy as RAM's policy calls show it. Custom policies are
// stored; system policies are built in (package policy) and never stored.
type RAMPolicy struct {
	AccountID      AccountID // empty for system policies
	Name           string
	Type           PolicyType
	Description    string
	Document       string // the policy document, exactly as given
	DefaultVersion string // "v1": latchkey keeps one version per policy
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// AttachmentCount is computed when a policy is read; it is not stored.
	AttachmentCount int `json:"-"`
}

// RAMPolicyKind is the store kind of a custom RAMPolicy.
const RAMPolicyKind ResourceKind = "ram.policy"

func (*RAMPolicy) Kind() ResourceKind   { return RAMPolicyKind }
func (p *RAMPolicy) Key() string        { return RAMPolicyKey(p.AccountID, p.Name) }
func (p *RAMPolicy) Owner() AccountID   { return p.AccountID }
func (p *RAMPolicy) Location() RegionID { return "" }

// RAMPolicyKey is the store key of an account's custom policy.
func RAMPolicyKey(account AccountID, name string) string {
	return string(account) + "/" + name
}

// CreateRAMUserInput is CreateUser's parameters.
type CreateRAMUserInput struct {
	Name        UserName
	DisplayName string
	MobilePhone string
	Email       string
	Comments    string
}

// RAMUserPage is one page of ListUsers; Marker continues the listing
// when IsTruncated.
type RAMUserPage struct {
	Users       []*RAMUser
	IsTruncated bool
	Marker      string
}

// RAMPolicyPage is one page of ListPolicies.
type RAMPolicyPage struct {
	Policies    []*RAMPolicy
	IsTruncated bool
	Marker      string
}

// AttachedPolicy is one entry of ListPoliciesForUser.
type AttachedPolicy struct {
	Policy     *RAMPolicy
	AttachedAt time.Time
}

// NewAccessKey is a freshly created access key with its plaintext secret,
// which CreateAccessKey returns once and never again.
type NewAccessKey struct {
	Key    *AccessKey
	Secret Secret
}

// RAM is the Resource Access Management service of PRODUCT.md §4, API
// version 2015-05-01. Every method authorizes the caller first (RAM
// action "ram:<Operation>" on acs:ram:*:<account>:user/<name> or
// …:policy/<name>, or "*" for listings). An empty user name in the access
// key calls means the caller itself (the root for a root key). Errors are
// *Error values with the reasons below, or KindInvalid with Field and one
// of ReasonMissingParameter, ReasonInvalidChars, ReasonTooLong,
// ReasonBadFormat and ReasonInvalidParameter.
type RAM interface {
	CreateUser(ctx context.Context, c Caller, in CreateRAMUserInput) (*RAMUser, error)
	// DeleteUser refuses a user that still has access keys or attached
	// policies (ReasonUserHasKeys, ReasonUserHasPolicies).
	DeleteUser(ctx context.Context, c Caller, name UserName) error
	ListUsers(ctx context.Context, c Caller, marker string, maxItems int) (*RAMUserPage, error)

	// CreateAccessKey creates an access key for the user; a user has at
	// most two (ReasonAccessKeyLimit).
	CreateAccessKey(ctx context.Context, c Caller, user UserName) (*NewAccessKey, error)
	DeleteAccessKey(ctx context.Context, c Caller, user UserName, id AccessKeyID) error
	ListAccessKeys(ctx context.Context, c Caller, user UserName) ([]*AccessKey, error)

	// CreatePolicy parses the document with package policy; a malformed
	// one gives ReasonMalformedPolicy with the parser's reason as Message.
	CreatePolicy(ctx context.Context, c Caller, name, document, description string) (*RAMPolicy, error)
	// DeletePolicy refuses a policy still attached to a user
	// (ReasonPolicyInUse).
	DeletePolicy(ctx context.Context, c Caller, name string) error
	GetPolicy(ctx context.Context, c Caller, typ PolicyType, name string) (*RAMPolicy, error)
	// ListPolicies lists system and custom policies; typ "" means both.
	ListPolicies(ctx context.Context, c Caller, typ PolicyType, marker string, maxItems int) (*RAMPolicyPage, error)

	AttachPolicyToUser(ctx context.Context, c Caller, typ PolicyType, name string, user UserName) error
	DetachPolicyFromUser(ctx context.Context, c Caller, typ PolicyType, name string, user UserName) error
	ListPoliciesForUser(ctx context.Context, c Caller, user UserName) ([]AttachedPolicy, error)

	// CallerUser returns the RAM user whose access key signed the call,
	// for STS GetCallerIdentity. Unlike the calls above it is not
	// authorized and ignores the account's RAM state: any valid key may
	// learn who it is. A root caller has no user (ReasonUserNotFound).
	CallerUser(ctx context.Context, c Caller) (*RAMUser, error)
}

// Reasons of the RAM service (RAM error reference: EntityNotExist.*,
// EntityAlreadyExists.*, DeleteConflict.*, LimitExceeded.*,
// MalformedPolicyDocument, InvalidParameter.<Field>.<Problem>).
// ReasonUserNotFound and ReasonPolicyNotFound are declared with the other
// lookup reasons.
const (
	ReasonUserExists            Reason = "UserExists"
	ReasonPolicyExists          Reason = "PolicyExists"
	ReasonPolicyAttached        Reason = "PolicyAttached"
	ReasonPolicyNotAttached     Reason = "PolicyNotAttached"
	ReasonUserAccessKeyNotFound Reason = "UserAccessKeyNotFound"
	ReasonMalformedPolicy       Reason = "MalformedPolicy" // Message is the parser's reason
	ReasonUserHasKeys           Reason = "UserHasAccessKeys"
	ReasonUserHasPolicies       Reason = "UserHasPolicies"
	ReasonPolicyInUse           Reason = "PolicyInUse"
	ReasonAccessKeyLimit        Reason = "AccessKeyLimit"

	// Parameter problems RAM names in its codes; Field names the parameter.
	ReasonInvalidChars Reason = "InvalidChars"
	ReasonTooLong      Reason = "Length"
	ReasonBadFormat    Reason = "Format"
)
