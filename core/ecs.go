package core

import (
	"context"
	"time"
)

// InstanceStatus is an ECS instance's status as DescribeInstances shows it.
type InstanceStatus string

const (
	StatusPending  InstanceStatus = "Pending"
	StatusStarting InstanceStatus = "Starting"
	StatusRunning  InstanceStatus = "Running"
	StatusStopping InstanceStatus = "Stopping"
	StatusStopped  InstanceStatus = "Stopped"
)

// Step is a scheduled status change of an ECS or BCC instance.
type Step = Transition[InstanceStatus]

// Instance is an ECS instance. Its status advances lazily: Steps holds the
// scheduled transitions, and Advance applies those that are due, so the
// state machine needs no timers and survives restarts.
type Instance struct {
	ID           InstanceID
	AccountID    AccountID
	RegionID     RegionID
	ZoneID       ZoneID
	Name         string
	HostName     string
	Description  string
	InstanceType string
	ImageID      string
	IoOptimized  bool
	ChargeType   string // InstanceChargeType: PostPaid or PrePaid
	Status       InstanceStatus
	Steps        Schedule[InstanceStatus] `json:",omitempty"`
	StoppedMode  string                   `json:",omitempty"`
	CreatedAt    time.Time
	StartedAt    time.Time `json:",omitzero"`

	// ReleaseAt is set by DeleteInstance: the instance is being released
	// until then and gone after it.
	ReleaseAt time.Time `json:",omitzero"`

	// Driver names the console driver ("sim" by default).
	Driver string
	// VNCPassword is the console's live password; PendingVNCPassword is a
	// password set on an instance that is not I/O optimized, made live by
	// the next restart.
	VNCPassword        Sealed `json:",omitempty"`
	PendingVNCPassword Sealed `json:",omitempty"`
	// AdminPassword is the guest administrator's password (CreateInstance's
	// Password), if one was given.
	AdminPassword PasswordHash `json:",omitempty"`

	// Machine is the existing machine the instance adopted (fleet files
	// only; see ConsoleTarget.Machine).
	Machine string `json:",omitempty"`

	// Params keeps accepted but unmodeled creation parameters (VpcId,
	// VSwitchId, SecurityGroupId, tags, …) to echo them back.
	Params map[string]string `json:",omitempty"`
}

// InstanceKind is the store kind of Instance.
const InstanceKind ResourceKind = "ecs.instance"

func (*Instance) Kind() ResourceKind   { return InstanceKind }
func (i *Instance) Key() string        { return string(i.ID) }
func (i *Instance) Owner() AccountID   { return i.AccountID }
func (i *Instance) Location() RegionID { return i.RegionID }

// Advance applies every step due at now and reports whether anything
// changed.
func (i *Instance) Advance(now time.Time) bool {
	return i.Steps.Advance(now, func(t Step) {
		i.Status = t.To
		if i.Status == StatusRunning {
			i.StartedAt = t.At
		}
	})
}

// Schedule replaces the pending steps: the instance moves through each
// status in turn, one per interval, starting now. With a zero interval the
// final status is reached at once.
func (i *Instance) Schedule(now time.Time, interval time.Duration, through ...InstanceStatus) {
	i.Steps = NewSchedule(now, interval, through...)
	i.Advance(now)
}

// Settle implements Scheduled: an instance being released is released
// at once (Released reports true at now).
func (i *Instance) Settle(now time.Time) bool {
	if len(i.Steps) == 0 && !i.Releasing(now) {
		return false
	}
	if i.Releasing(now) {
		i.ReleaseAt = now
	}
	i.Steps.DueNow(now)
	i.Advance(now)
	return true
}

// Unsettled implements Scheduled.
func (i *Instance) Unsettled(now time.Time) bool {
	return i.Steps.Pending(now) || i.Releasing(now)
}

// Releasing reports whether the instance is being released at now.
func (i *Instance) Releasing(now time.Time) bool {
	return !i.ReleaseAt.IsZero() && now.Before(i.ReleaseAt)
}

// Released reports whether the instance no longer exists at now.
func (i *Instance) Released(now time.Time) bool {
	return !i.ReleaseAt.IsZero() && !now.Before(i.ReleaseAt)
}

// VNCToken is a single-use console ticket issued by DescribeInstanceVncUrl
// (ECS) or the BCC VNC call: whoever presents it before it expires may
// open the resource's console once.
type VNCToken struct {
	Token     string
	AccountID AccountID
	Product   string // "ecs" or "bcc"
	Target    string // the instance id
	ExpiresAt time.Time
}

// VNCTokenKind is the store kind of VNCToken.
const VNCTokenKind ResourceKind = "console.token"

func (*VNCToken) Kind() ResourceKind   { return VNCTokenKind }
func (t *VNCToken) Key() string        { return t.Token }
func (t *VNCToken) Owner() AccountID   { return t.AccountID }
func (t *VNCToken) Location() RegionID { return "" }

// ConsoleDriver connects latchkey to the consoles of instances. Drivers are
// chosen per instance by name.
type ConsoleDriver interface {
	// SetConsolePassword makes pw the console's live password for new
	// connections. It returns an *Error of KindUnavailable when the console
	// cannot be reached, and then the console's password is unchanged.
	SetConsolePassword(ctx context.Context, target ConsoleTarget, pw Secret) error
	// OpenConsole returns a byte stream speaking RFB (server side) to the
	// target's console; the console itself asks for its live password.
	OpenConsole(ctx context.Context, target ConsoleTarget) (Conn, error)
}

// PullingConsoleDriver is a ConsoleDriver whose consoles of some
// products need nothing pushed: they ask their ConsolePasswords whenever
// they must know the password, so storing a password makes it live and
// SetConsolePassword would do nothing. A service may then skip it. A
// driver that wraps another reports false when the call may do more than
// nothing (a fault rule may act on it). PullsPasswords does no I/O: a
// service may ask it inside an Update.
type PullingConsoleDriver interface {
	ConsoleDriver
	PullsPasswords(ctx context.Context, product string) bool
}

// PullPreparer is a PullingConsoleDriver whose answer may need the store
// (a fault rule may act), read where the driver cannot keep it (a store
// shared by replicas). PreparePull reads it once, and returns the context
// for PullsPasswords to find it in: a service calls it before the Update
// in which it asks, and the answer holds for that one call.
type PullPreparer interface {
	PreparePull(ctx context.Context) context.Context
}

// ConsolePasswords gives the live password the store holds for a
// console. A driver that is given one asks it whenever it must know the
// password (sim: at every login; qemu: when a console opens), so every
// replica's consoles answer with the password the store holds at that
// moment and nothing has to be pushed to them at start. It returns an
// error when the console has none or the store cannot be read.
type ConsolePasswords interface {
	LivePassword(ctx context.Context, t ConsoleTarget) (Secret, error)
}

// ConsoleLogins judges a login on a console as the guest's administrator,
// for a product that keeps only a hash of that password (BCC, PRODUCT.md
// §6): a console driver that simulates the guest (sim) offers VeNCrypt
// Plain, whose username and whole password reach it, and asks. It returns
// an error when the store cannot be read.
type ConsoleLogins interface {
	CheckConsoleLogin(ctx context.Context, t ConsoleTarget, user string, pw Secret) (bool, error)
}

// ConsoleTarget tells a driver which console to address and what its
// screen should show.
type ConsoleTarget struct {
	Product string // "ecs" or "bcc"
	ID      string
	Name    string
	Status  string
	// Machine names an existing machine the instance adopted, as
	// "HOST/DOMAIN" (libvirt: a host of the hosts file and a domain name
	// or UUID); empty when the driver creates and names the machine.
	Machine string
	// CPUs and MemoryGB size a machine the driver creates (BCC's
	// cpuCount and memoryCapacityInGB); zero leaves the driver's default.
	CPUs     int
	MemoryGB int
}

// Conn is a bidirectional byte stream (a net.Conn in practice).
type Conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
}

// ConsoleTarget returns the driver's view of the instance.
func (i *Instance) ConsoleTarget() ConsoleTarget {
	return ConsoleTarget{Product: "ecs", ID: string(i.ID), Name: i.Name, Status: string(i.Status), Machine: i.Machine}
}
