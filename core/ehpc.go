package core

import (
	"context"
	"net/netip"
	"slices"
	"time"
)

// ClusterID identifies an E-HPC cluster: "ehpc-" plus a short region code
// and ten letters and digits, e.g. ehpc-hz-jeJki6Xq1A (seed 002's example
// ehpc-hz-jeJki6****).
type ClusterID string

// NodeID identifies a cluster node; nodes are ECS instances (i-…).
type NodeID string

// ClusterStatus is a cluster's Status as ListClusters and DescribeCluster
// show it. creating, running and releasing are E-HPC's own values (EHPCv5
// documents uninit, creating, init, running, exception, releasing);
// stopping, stopped and starting are latchkey's names for the states
// StopCluster and StartCluster pass through.
type ClusterStatus string

const (
	ClusterCreating  ClusterStatus = "creating"
	ClusterRunning   ClusterStatus = "running"
	ClusterStopping  ClusterStatus = "stopping"
	ClusterStopped   ClusterStatus = "stopped"
	ClusterStarting  ClusterStatus = "starting"
	ClusterReleasing ClusterStatus = "releasing"
)

// ClusterStep is a scheduled status change: at At the status becomes To.
type ClusterStep = Transition[ClusterStatus]

// NodeRole is a node's role as ListNodes' Role parameter and response name
// it.
type NodeRole string

const (
	RoleManager NodeRole = "Manager"
	RoleCompute NodeRole = "Compute"
	RoleLogin   NodeRole = "Login"
)

// ParseNodeRole accepts a role name in any case.
func ParseNodeRole(s string) (NodeRole, bool) {
	for _, r := range []NodeRole{RoleManager, RoleCompute, RoleLogin} {
		if equalFoldASCII(s, string(r)) {
			return r, true
		}
	}
	return "", false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Node is one node of a cluster.
type Node struct {
	ID           NodeID
	Role         NodeRole
	HostName     string
	InstanceType string
	// IPAddress is the node's private address inside the cluster's VPC.
	IPAddress netip.Addr
	// PublicIP is set on login nodes only: the address their visual
	// service listens on. In the simulated fleet every login node has a
	// loopback address of its own (127.31.0.5, …; PRODUCT.md §3).
	PublicIP  netip.Addr `json:",omitzero"`
	CreatedAt time.Time
	// VisualPassword is the password live on this login node's visual
	// service (sealed under VisualPasswordContext). It is per node because
	// a partial failure leaves nodes with different passwords, and the
	// store records what each node really has.
	VisualPassword Sealed `json:",omitempty"`
}

// ClusterUser is a user of a cluster's operating system: root, created
// from CreateCluster's Password, and the users AddUsers adds. Passwords
// are stored only as argon2id hashes (PRODUCT.md §6).
type ClusterUser struct {
	Name     string
	Group    string // "users" or "wheel"
	UID      int
	GID      int
	AddedAt  time.Time
	Password PasswordHash

	// Failures holds the times of recent wrong RunasUserPassword attempts
	// for this user, and LockedUntil the end of a lockout (PRODUCT.md §3:
	// 5 failures within 10 minutes lock the user for 10 minutes).
	Failures    []time.Time `json:",omitempty"`
	LockedUntil time.Time   `json:",omitzero"`
}

// RootUser is the name of the cluster user CreateCluster's Password sets.
const RootUser = "root"

// VisualAuth tells the visual service which RFB security types to offer.
type VisualAuth string

const (
	// VisualAuthVNC offers VNC Authentication only: the first 8
	// characters of the password count (vnc-backends.md §1). Used with
	// the 2025 policy, whose passwords are 6 characters long.
	VisualAuthVNC VisualAuth = "vnc"
	// VisualAuthPlain offers VeNCrypt Plain first, which checks the user
	// name and the whole password, and VNC Authentication second, so that
	// classic VNC clients still log in on the first 8 characters. Used
	// with the 2024 policy (8–30 characters).
	VisualAuthPlain VisualAuth = "plain"
)

// VisualService is a cluster's remote-visualization (VNC) service: when
// Started, every login node listens on its PublicIP and Port and accepts
// connections from CIDR only.
type VisualService struct {
	Started bool
	Port    int
	CIDR    netip.Prefix `json:",omitzero"`
	// User is the cluster user whose RunasUser call set the current
	// password; VeNCrypt Plain logins give this user name.
	User string `json:",omitempty"`
}

// OperationLock marks a cluster as busy with one operation, so that a
// concurrent one gets ConflictOpt (seed 004). It lives in the store, so it
// holds across the replicas that share one store; Until bounds it, so a
// replica that dies while holding it does not block the cluster forever.
type OperationLock struct {
	Token string
	Op    string
	Until time.Time
}

// NodeOrder is EcsOrder.<Role>.{Count,InstanceType} of CreateCluster.
type NodeOrder struct {
	Count        int
	InstanceType string
}

// Cluster is an E-HPC cluster. Its status advances lazily, like an
// Instance's: Steps holds the scheduled transitions and Advance applies
// those that are due.
type Cluster struct {
	ID              ClusterID
	AccountID       AccountID
	RegionID        RegionID
	ZoneID          ZoneID
	Name            string
	Description     string
	OsTag           string
	ImageID         string
	ImageOwnerAlias string
	SchedulerType   string
	DeployMode      string
	AccountType     string
	ClientVersion   string
	EhpcVersion     string
	VpcID           string
	VSwitchID       string
	SecurityGroupID string
	EcsChargeType   string
	HaEnable        bool
	KeyPairName     string
	Manager         NodeOrder
	Compute         NodeOrder
	Login           NodeOrder
	Status          ClusterStatus
	Steps           Schedule[ClusterStatus] `json:",omitempty"`
	CreatedAt       time.Time
	// ReleaseAt is set by DeleteCluster: the cluster is releasing until
	// then and gone after it.
	ReleaseAt time.Time `json:",omitzero"`

	Nodes  []Node
	Users  []ClusterUser
	Visual VisualService
	Lock   *OperationLock `json:",omitempty"`

	// Driver names the visual-service driver ("sim" by default).
	Driver string
	// Params keeps accepted but unmodeled creation parameters to echo
	// them back (VolumeId, Domain, …).
	Params map[string]string `json:",omitempty"`
}

// ClusterKind is the store kind of Cluster.
const ClusterKind ResourceKind = "ehpc.cluster"

func (*Cluster) Kind() ResourceKind   { return ClusterKind }
func (c *Cluster) Key() string        { return string(c.ID) }
func (c *Cluster) Owner() AccountID   { return c.AccountID }
func (c *Cluster) Location() RegionID { return c.RegionID }

// Advance applies every step due at now and reports whether anything
// changed.
func (c *Cluster) Advance(now time.Time) bool {
	return c.Steps.Advance(now, func(t ClusterStep) { c.Status = t.To })
}

// Schedule replaces the pending steps: the cluster moves through each
// status in turn, one per interval, starting now. With a zero interval the
// final status is reached at once.
func (c *Cluster) Schedule(now time.Time, interval time.Duration, through ...ClusterStatus) {
	c.Steps = NewSchedule(now, interval, through...)
	c.Advance(now)
}

// Settle implements Scheduled: a cluster being released is released at
// once.
func (c *Cluster) Settle(now time.Time) bool {
	if len(c.Steps) == 0 && (c.ReleaseAt.IsZero() || c.Released(now)) {
		return false
	}
	if !c.ReleaseAt.IsZero() {
		c.ReleaseAt = now
	}
	c.Steps.DueNow(now)
	c.Advance(now)
	return true
}

// Unsettled implements Scheduled.
func (c *Cluster) Unsettled(now time.Time) bool {
	return c.Steps.Pending(now) || !c.ReleaseAt.IsZero() && !c.Released(now)
}

// Released reports whether the cluster no longer exists at now.
func (c *Cluster) Released(now time.Time) bool {
	return !c.ReleaseAt.IsZero() && !now.Before(c.ReleaseAt)
}

// User returns the named cluster user, or nil.
func (c *Cluster) User(name string) *ClusterUser {
	i := slices.IndexFunc(c.Users, func(u ClusterUser) bool { return u.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Users[i]
}

// LoginNodes returns the indexes in Nodes of the login nodes, in order.
func (c *Cluster) LoginNodes() []int {
	var out []int
	for i, n := range c.Nodes {
		if n.Role == RoleLogin {
			out = append(out, i)
		}
	}
	return out
}

// Busy reports whether another operation holds the cluster at now.
func (c *Cluster) Busy(now time.Time) bool {
	return c.Lock != nil && now.Before(c.Lock.Until)
}

// VisualPasswordContext is the sealing context of a login node's visual
// password, so a sealed value copied to another node does not open.
func VisualPasswordContext(cluster ClusterID, node NodeID) string {
	return "ehpc/" + string(cluster) + "/" + string(node) + "/visual"
}

// VisualNode tells a visual driver which login node to address and how
// its service is configured.
type VisualNode struct {
	ClusterID ClusterID
	NodeID    NodeID
	HostName  string
	Index     int // the node's position among the cluster's login nodes
	Address   netip.Addr
	Port      int
	CIDR      netip.Prefix
	Auth      VisualAuth
	// PlainUser is the user name VeNCrypt Plain logins must give.
	PlainUser string
}

// VisualDriver is the node boundary of the E-HPC visual service: the
// agent on each login node that runs the VNC server. Every method returns
// nil or an *Error:
//   - KindUnavailable with ReasonAgentTimeout when the node's agent did not
//     answer in time (then nothing changed on that node);
//   - KindConflict with ReasonExecFailed when the node ran a command that
//     failed; Message names the command;
//   - KindUnavailable with ReasonUpstreamFailed when a cloud service the
//     node depends on failed;
//   - any other *Error for failures of the driver itself.
//
// Implementations are safe for concurrent use; calls for one node are
// serialized by the caller.
type VisualDriver interface {
	// SetVisualPassword makes pw the password of the node's visual service
	// for new connections, and for its next start when it is stopped.
	// Connections already open stay open, as with Xvnc.
	SetVisualPassword(ctx context.Context, node VisualNode, pw Secret) error
	// StartVisual starts the node's visual service on node.Address and
	// node.Port with password pw, or reconfigures it when it runs.
	StartVisual(ctx context.Context, node VisualNode, pw Secret) error
	// StopVisual stops the node's visual service; stopping a stopped
	// service is not an error.
	StopVisual(ctx context.Context, node VisualNode) error
}

// VisualServices gives a login node's visual service as the store holds
// it. A visual driver whose services run inside latchkey (sim) asks it
// at every connection and login, so the service checks the password and
// settings the store holds at that moment, whichever replica changed
// them. It returns the node's current settings and password, or an error
// of KindNotFound when the service is not started there (stopped, the
// cluster not up, the node or cluster gone), or when the store cannot be
// read.
type VisualServices interface {
	LiveVisual(ctx context.Context, cluster ClusterID, node NodeID) (VisualNode, Secret, error)
}

// EHPCPasswordPolicy is the edition of ModifyVisualServicePasswd's rules,
// chosen with --ehpc-password-policy (PRODUCT.md §3 E-HPC).
type EHPCPasswordPolicy string

const (
	// EHPCPasswordPolicy2025 is seed 002's rule and the default: Passwd is
	// 6 characters, letters and digits only, with at least one of each;
	// RunasUser must be root.
	EHPCPasswordPolicy2025 EHPCPasswordPolicy = "2025"
	// EHPCPasswordPolicy2024 is seed 004's rule: Passwd is 8–30
	// characters with at least three of upper case, lower case, digits
	// and specials from ()~!@#$%^&*-_+=|{}[]:;'/<>,.?; RunasUser is any
	// cluster user.
	EHPCPasswordPolicy2024 EHPCPasswordPolicy = "2024"
)

// ClusterRef names one cluster. RegionID may be empty: clients that do
// not send RegionId (the darabonba SDKs) address clusters by id alone.
type ClusterRef struct {
	RegionID  RegionID
	ClusterID ClusterID
}

// CreateClusterInput is what CreateCluster accepts. Unmodeled parameters
// go to Params and are echoed back.
type CreateClusterInput struct {
	RegionID        RegionID
	ZoneID          ZoneID
	Name            string
	Description     string
	OsTag           string
	ImageID         string
	ImageOwnerAlias string
	SchedulerType   string
	DeployMode      string
	AccountType     string
	ClientVersion   string
	EhpcVersion     string
	VpcID           string
	VSwitchID       string
	SecurityGroupID string
	EcsChargeType   string
	HaEnable        bool
	KeyPairName     string
	Manager         NodeOrder
	Compute         NodeOrder
	Login           NodeOrder
	// Password is root's password.
	Password        Secret
	RemoteVisEnable bool
	ClientToken     string
	Params          map[string]string
}

// ClusterCreated is CreateCluster's result.
type ClusterCreated struct {
	ClusterID ClusterID
	TaskID    string
}

// Page selects one page of a listing: PageNumber from 1, PageSize 1–50
// (E-HPC's limits; 0 means the defaults 1 and 10).
type Page struct {
	PageNumber int
	PageSize   int
}

// ClusterPage is one page of ListClusters.
type ClusterPage struct {
	Clusters   []*Cluster
	TotalCount int
	PageNumber int
	PageSize   int
}

// ListNodesInput filters and pages ListNodes.
type ListNodesInput struct {
	ClusterRef
	Role             NodeRole // empty: every role
	HostName         string
	HostNamePrefix   string
	HostNameSuffix   string
	PrivateIPAddress string
	Page
}

// NodePage is one page of ListNodes. Cluster is the cluster the nodes
// belong to, for the fields each node repeats (region, zone, VPC, …).
type NodePage struct {
	Cluster    *Cluster
	Nodes      []Node
	TotalCount int
	PageNumber int
	PageSize   int
}

// UserPage is one page of ListUsers.
type UserPage struct {
	Users      []ClusterUser
	TotalCount int
	PageNumber int
	PageSize   int
}

// NewClusterUser is one User.N of AddUsers.
type NewClusterUser struct {
	Name     string
	Group    string // "users" (default) or "wheel"
	Password Secret
}

// UserPassword is one User.N of ModifyUserPasswords.
type UserPassword struct {
	Name     string
	Password Secret
}

// VisualServiceInput is StartVisualService's and StopVisualService's
// Port and CidrIp. Port 0 and an empty CIDR mean "as before" (defaults
// 12016 and 0.0.0.0/0).
type VisualServiceInput struct {
	Port int
	CIDR string
}

// VisualPasswdInput is ModifyVisualServicePasswd's credentials and new
// password (seeds 002 and 004).
type VisualPasswdInput struct {
	RunasUser         string
	RunasUserPassword Secret
	Passwd            Secret
}

// VisualStatus is the visual service's state: started or stopped. The
// front end renders it as "Service started." or "Service stopped.".
type VisualStatus struct {
	Started bool
}

// EHPC is the Elastic High Performance Computing service of PRODUCT.md
// §3, API version 2018-04-12. Every method authorizes the caller first
// (RAM action "ehpc:<Operation>", resource "*": E-HPC has no
// resource-level authorization), then checks the account's state
// (ReasonServiceNotEnabled, ReasonInDebt). Errors are *Error values:
// KindInvalid with Field for InvalidParams, KindNotFound with
// ReasonClusterNotFound, KindConflict with ReasonIncorrectStatus for a
// cluster in the wrong status and ReasonConflictingOp while another
// operation holds the cluster, and the driver failures of VisualDriver.
type EHPC interface {
	CreateCluster(ctx context.Context, c Caller, in CreateClusterInput) (*ClusterCreated, error)
	ListClusters(ctx context.Context, c Caller, region RegionID, page Page) (*ClusterPage, error)
	DescribeCluster(ctx context.Context, c Caller, ref ClusterRef) (*Cluster, error)
	ListNodes(ctx context.Context, c Caller, in ListNodesInput) (*NodePage, error)
	// DeleteCluster stops the visual service and releases the cluster.
	DeleteCluster(ctx context.Context, c Caller, ref ClusterRef) (taskID string, err error)
	// StartCluster moves a stopped cluster to running and starts its
	// visual service if it was started; StopCluster the reverse.
	StartCluster(ctx context.Context, c Caller, ref ClusterRef) (taskID string, err error)
	StopCluster(ctx context.Context, c Caller, ref ClusterRef) (taskID string, err error)

	AddUsers(ctx context.Context, c Caller, ref ClusterRef, users []NewClusterUser) error
	ListUsers(ctx context.Context, c Caller, ref ClusterRef, page Page) (*UserPage, error)
	ModifyUserPasswords(ctx context.Context, c Caller, ref ClusterRef, users []UserPassword) error
	DeleteUsers(ctx context.Context, c Caller, ref ClusterRef, names []string) error

	StartVisualService(ctx context.Context, c Caller, ref ClusterRef, in VisualServiceInput) (VisualStatus, error)
	StopVisualService(ctx context.Context, c Caller, ref ClusterRef, in VisualServiceInput) (VisualStatus, error)
	GetVisualServiceStatus(ctx context.Context, c Caller, ref ClusterRef) (VisualStatus, error)
	// ModifyVisualServicePasswd checks RunasUser's password, then makes
	// Passwd live on every login node's visual service (PRODUCT.md §3).
	// Wrong credentials give KindForbidden with ReasonBadCredential;
	// after 5 within 10 minutes the user is locked for 10 minutes and
	// every attempt gets the same error. If no login node took the
	// password nothing changed; if some did, ReasonPartialFailure names
	// them and the store records each node's password.
	ModifyVisualServicePasswd(ctx context.Context, c Caller, ref ClusterRef, in VisualPasswdInput) (VisualStatus, error)
}

// ReasonUpstreamFailed reports that a cloud service under the operation
// failed (E-HPC's 406 AliyunError).
const ReasonUpstreamFailed Reason = "UpstreamFailed"
