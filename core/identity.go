package core

import (
	"context"
	"net/netip"
	"time"
)

// Service names a product an account can enable.
type Service string

const (
	ServiceECS  Service = "ecs"
	ServiceEHPC Service = "ehpc"
	ServiceBCC  Service = "bcc"
	ServiceRAM  Service = "ram"
)

// Account owns every resource. Accounts start with every service enabled
// and not in debt; the internal API changes that.
type Account struct {
	ID        AccountID
	Disabled  map[Service]bool // services the account has not enabled
	InDebt    bool
	CreatedAt time.Time
}

// Enabled reports whether the account has enabled svc.
func (a *Account) Enabled(svc Service) bool { return !a.Disabled[svc] }

// AccessKeyStatus is Active or Inactive, as RAM names them.
type AccessKeyStatus string

const (
	AccessKeyActive   AccessKeyStatus = "Active"
	AccessKeyInactive AccessKeyStatus = "Inactive"
)

// AccessKey is a signing credential of an account's root (User empty) or of
// one of its RAM users. The secret is sealed: signature checks need it back.
type AccessKey struct {
	ID        AccessKeyID
	AccountID AccountID
	User      UserName
	Secret    Sealed
	Status    AccessKeyStatus
	CreatedAt time.Time
}

// Principal is the authenticated identity behind a request.
type Principal struct {
	AccountID   AccountID
	User        UserName // empty for the account root
	AccessKeyID AccessKeyID
}

// IsRoot reports whether the principal is the account's root identity.
func (p Principal) IsRoot() bool { return p.User == "" }

// Caller is everything authorization and audit need to know about who is
// calling and how: the principal, the source address and whether the
// request came over TLS.
type Caller struct {
	Principal
	SourceIP  netip.Addr
	Secure    bool
	RequestID RequestID
}

// Authorizer decides whether a caller may perform a RAM action on a
// resource. It returns nil when allowed and an *Error of KindForbidden with
// ReasonRAMDenied and a Denial otherwise. Roots are always allowed.
type Authorizer interface {
	Authorize(ctx context.Context, c Caller, action, resource string) error
}

// Keyring resolves access keys for signature verification.
type Keyring interface {
	// Lookup returns the key's principal and plaintext secret. An unknown
	// key gives KindNotFound with ReasonAccessKeyNotFound; an inactive one
	// gives KindForbidden.
	Lookup(ctx context.Context, id AccessKeyID) (Principal, Secret, error)
}

// AccountKind and AccessKeyKind are the store kinds of Account and AccessKey.
const (
	AccountKind   ResourceKind = "iam.account"
	AccessKeyKind ResourceKind = "iam.accesskey"
)

func (*Account) Kind() ResourceKind   { return AccountKind }
func (a *Account) Key() string        { return string(a.ID) }
func (a *Account) Owner() AccountID   { return a.ID }
func (a *Account) Location() RegionID { return "" }

func (*AccessKey) Kind() ResourceKind   { return AccessKeyKind }
func (k *AccessKey) Key() string        { return string(k.ID) }
func (k *AccessKey) Owner() AccountID   { return k.AccountID }
func (k *AccessKey) Location() RegionID { return "" }
