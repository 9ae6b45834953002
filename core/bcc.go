package core

import (
	"context"
	"time"
)

// BCCInstanceID identifies a Baidu BCC instance: "i-" and 8 letters or
// digits, as in i-YufwpQAe.
type BCCInstanceID string

// BCCTag is one tag of a BCC instance.
type BCCTag struct {
	Key   string
	Value string
}

// BCCInstance is a Baidu BCC instance (PRODUCT.md §3 BCC). Its status
// advances lazily through Steps, as an ECS Instance's does. BCC shows a new
// instance as Starting, then Running; until it first reaches Running it is
// being created (Created is false), which some operations refuse.
type BCCInstance struct {
	ID            BCCInstanceID
	AccountID     AccountID
	RegionID      RegionID
	ZoneName      string
	Name          string
	Hostname      string
	Description   string
	ImageID       string
	InstanceType  string
	CPUCount      int
	MemoryGB      int
	LocalDiskGB   int
	NetworkMbps   int
	PaymentTiming string // Postpaid, Prepaid, …
	InternalIP    string
	Tags          []BCCTag `json:",omitempty"`
	// DeletionProtection is 0 or 1, as the API shows it.
	DeletionProtection int

	Status    InstanceStatus
	Steps     Schedule[InstanceStatus] `json:",omitempty"`
	Created   bool
	CreatedAt time.Time

	// Driver names the console and guest driver ("sim" by default).
	Driver string
	// AdminPassword is the guest administrator's password, as an argon2id
	// hash; empty when none was ever set.
	AdminPassword PasswordHash `json:",omitempty"`

	// Machine is the existing machine the instance adopted (fleet files
	// only; see ConsoleTarget.Machine).
	Machine string `json:",omitempty"`

	// Params keeps accepted but unmodeled creation parameters (subnetId,
	// securityGroupId, keypairId, vpcId, …) to echo them back.
	Params map[string]string `json:",omitempty"`
}

// BCCInstanceKind is the store kind of BCCInstance.
const BCCInstanceKind ResourceKind = "bcc.instance"

func (*BCCInstance) Kind() ResourceKind   { return BCCInstanceKind }
func (i *BCCInstance) Key() string        { return string(i.ID) }
func (i *BCCInstance) Owner() AccountID   { return i.AccountID }
func (i *BCCInstance) Location() RegionID { return i.RegionID }

// Advance applies every step due at now and reports whether anything
// changed. Reaching Running ends creation.
func (i *BCCInstance) Advance(now time.Time) bool {
	return i.Steps.Advance(now, func(t Step) {
		i.Status = t.To
		if i.Status == StatusRunning {
			i.Created = true
		}
	})
}

// Schedule replaces the pending steps: the instance moves through each
// status in turn, one per interval, starting now. With a zero interval the
// final status is reached at once.
func (i *BCCInstance) Schedule(now time.Time, interval time.Duration, through ...InstanceStatus) {
	i.Steps = NewSchedule(now, interval, through...)
	i.Advance(now)
}

// Settle implements Scheduled.
func (i *BCCInstance) Settle(now time.Time) bool {
	if len(i.Steps) == 0 {
		return false
	}
	i.Steps.DueNow(now)
	i.Advance(now)
	return true
}

// Unsettled implements Scheduled.
func (i *BCCInstance) Unsettled(now time.Time) bool { return i.Steps.Pending(now) }

// ConsoleTarget returns the driver's view of the instance.
func (i *BCCInstance) ConsoleTarget() ConsoleTarget {
	return ConsoleTarget{Product: "bcc", ID: string(i.ID), Name: i.Name, Status: string(i.Status), Machine: i.Machine, CPUs: i.CPUCount, MemoryGB: i.MemoryGB}
}

// The operations of the BCC service, as RAM actions name them
// ("bcc:" + operation, PRODUCT.md §4) and as *Error.Op reports them
// ("bcc." + operation). Read-only operations start with Get or List
// (policy BCCReadOnlyAccess).
const (
	BCCCreateInstance     = "CreateInstance"
	BCCListInstances      = "ListInstances"
	BCCGetInstanceDetail  = "GetInstanceDetail"
	BCCStartInstance      = "StartInstance"
	BCCStopInstance       = "StopInstance"
	BCCRebootInstance     = "RebootInstance"
	BCCDeleteInstance     = "DeleteInstance"
	BCCGetInstanceVNC     = "GetInstanceVNC"
	BCCChangeInstancePass = "ChangeInstancePass"
)

// BCCCreateInput is what CreateInstance accepts. Unmodeled parameters go
// to Params and are echoed back.
type BCCCreateInput struct {
	RegionID      RegionID
	ZoneName      string // empty: the region's first zone
	ImageID       string
	InstanceType  string
	CPUCount      int
	MemoryGB      int
	LocalDiskGB   int
	NetworkMbps   int
	PaymentTiming string // empty: Postpaid
	Name          string
	Hostname      string
	AdminPassword Secret // optional; checked against the password policy
	PurchaseCount int    // 1 when zero
	Tags          []BCCTag
	// DeletionProtection is 0 or 1.
	DeletionProtection int
	Params             map[string]string
	// Machine is an existing machine to adopt (fleet files only; see
	// ConsoleTarget.Machine).
	Machine string
	// ClientToken makes the call idempotent for 24 hours after the token
	// was last seen: the same token with the same parameters returns the
	// first call's instances; with other parameters it fails with
	// ReasonIdempotentMismatch.
	ClientToken string
}

// BCCListInput filters and pages ListInstances. Multi-valued filters
// match any of their values; different filters must all match.
type BCCListInput struct {
	RegionID      RegionID
	Marker        BCCInstanceID // the first instance of the page; empty: from the start
	MaxKeys       int           // 1–1000; 0 means 1000
	InstanceIDs   []BCCInstanceID
	Names         []string
	FuzzyName     string // substring of the name
	Status        InstanceStatus
	ZoneName      string
	InternalIPs   []string
	PaymentTiming string
	// Tags match "key" (any value) or "key:value".
	Tags []string
	// Params match accepted creation parameters exactly (vpcId,
	// keypairId, …).
	Params map[string]string
}

// BCCInstancePage is one page of ListInstances.
type BCCInstancePage struct {
	Instances   []*BCCInstance
	Marker      BCCInstanceID
	MaxKeys     int
	IsTruncated bool
	NextMarker  BCCInstanceID
}

// BCCRef names one instance of a region.
type BCCRef struct {
	RegionID   RegionID
	InstanceID BCCInstanceID
}

// BCC is the Baidu Cloud Compute service of PRODUCT.md §3. Every method
// authorizes the caller first (RAM action "bcc:"+operation, resource
// "acs:bcc:{region}:{account}:instance/{id}") and returns *Error values:
//   - KindForbidden with ReasonRAMDenied when RAM refuses;
//   - KindInvalid for malformed input (ReasonPasswordPolicy naming the
//     rule, ReasonIdempotentMismatch for a reused client token);
//   - KindNotFound with ReasonInstanceNotFound for an instance that is not
//     the caller's in that region;
//   - KindConflict with ReasonIncorrectStatus when the instance's status
//     forbids the operation, or ReasonConflictingOp while it is being
//     created; Op names the operation, so each protocol can render the
//     operation's own conflict;
//   - KindUnavailable when a guest cannot be reached, and then nothing
//     changed.
type BCC interface {
	CreateInstance(ctx context.Context, c Caller, in BCCCreateInput) ([]BCCInstanceID, error)
	ListInstances(ctx context.Context, c Caller, in BCCListInput) (*BCCInstancePage, error)
	GetInstance(ctx context.Context, c Caller, ref BCCRef) (*BCCInstance, error)
	// StartInstance: Stopped → Starting → Running.
	StartInstance(ctx context.Context, c Caller, ref BCCRef) error
	// StopInstance: Running → Stopping → Stopped.
	StopInstance(ctx context.Context, c Caller, ref BCCRef, force bool) error
	// RebootInstance: Running → Starting → Running.
	RebootInstance(ctx context.Context, c Caller, ref BCCRef, force bool) error
	// DeleteInstance releases the instance at once; not while it is being
	// created, and not a Prepaid one.
	DeleteInstance(ctx context.Context, c Caller, ref BCCRef) error
	// GetInstanceVNC issues a single-use console token valid for 10
	// minutes; the front end turns it into a URL. The instance must be
	// Running.
	GetInstanceVNC(ctx context.Context, c Caller, ref BCCRef) (*VNCToken, error)
	// ChangeInstancePass sets the guest administrator's password, allowed
	// in Running and Stopped. pw must satisfy the configured policy.
	ChangeInstancePass(ctx context.Context, c Caller, ref BCCRef, pw Secret) error
	// CheckAdminPassword reports whether pw is the administrator password
	// of the account's instance (the internal API's check; no RAM).
	CheckAdminPassword(ctx context.Context, account AccountID, id BCCInstanceID, pw Secret) (bool, error)
}

// GuestPasswordSetter is implemented by drivers whose guests run a real
// operating system (qemu-guest-agent): SetGuestPassword makes pw the
// password of user on the target's guest. It returns an *Error of
// KindUnavailable when the guest cannot be reached, and then nothing
// changed. Drivers without it (sim) keep the password only as latchkey's
// stored hash.
type GuestPasswordSetter interface {
	SetGuestPassword(ctx context.Context, target ConsoleTarget, user string, pw Secret) error
}
