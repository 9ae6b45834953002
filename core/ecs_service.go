package core

import "context"

// Region is one region of a provider's built-in catalog.
type Region struct {
	ID       RegionID
	Names    map[string]string // LocalName by language: "zh-CN", "en-US", …
	Endpoint string            // e.g. ecs.cn-hangzhou.aliyuncs.com
	Zones    []ZoneID
}

// LocalName returns the region's name in lang, falling back to zh-CN.
func (r Region) LocalName(lang string) string {
	if n, ok := r.Names[lang]; ok {
		return n
	}
	return r.Names["zh-CN"]
}

// CreateInstanceInput is what CreateInstance and RunInstances accept.
// Unmodeled parameters go to Params and are echoed back.
type CreateInstanceInput struct {
	RegionID      RegionID
	ZoneID        ZoneID // empty: the region's first zone
	InstanceType  string
	ImageID       string
	Name          string
	HostName      string
	Description   string
	IoOptimized   bool
	ChargeType    string
	AdminPassword Secret // optional guest administrator password
	Amount        int    // RunInstances only; 1 when zero
	ClientToken   string
	DryRun        bool
	Params        map[string]string
	// Machine is an existing machine to adopt (fleet files only; see
	// ConsoleTarget.Machine).
	Machine string
}

// DescribeInstancesInput filters and pages DescribeInstances.
type DescribeInstancesInput struct {
	RegionID    RegionID
	InstanceIDs []InstanceID // at most 100
	Status      InstanceStatus
	Name        string // InstanceName; '*' matches any run of characters
	ZoneID      ZoneID
	IoOptimized *bool
	PageNumber  int // from 1
	PageSize    int // 1–100, default 10
	NextToken   string
	MaxResults  int // 1–100; selects token paging when set or when NextToken is
	TokenPaging bool
}

// InstancePage is one page of DescribeInstances.
type InstancePage struct {
	Instances  []*Instance
	TotalCount int
	PageNumber int
	PageSize   int
	NextToken  string
}

// InstanceRef names one instance of a region and carries the common flags
// of the instance operations.
type InstanceRef struct {
	RegionID    RegionID
	InstanceID  InstanceID
	DryRun      bool
	ForceStop   bool   // StopInstance/RebootInstance ForceStop; DeleteInstance Force
	StoppedMode string // StopInstance: KeepCharging or StopCharging
}

// ECS is the Elastic Compute Service of PRODUCT.md §3. Every method
// authorizes the caller first; errors are *Error values whose kinds and
// reasons the RPC error table renders.
type ECS interface {
	DescribeRegions(ctx context.Context, c Caller) ([]Region, error)
	// RunInstances creates Amount instances and starts them.
	RunInstances(ctx context.Context, c Caller, in CreateInstanceInput) ([]InstanceID, error)
	// CreateInstance creates one instance, Stopped.
	CreateInstance(ctx context.Context, c Caller, in CreateInstanceInput) (InstanceID, error)
	DescribeInstances(ctx context.Context, c Caller, in DescribeInstancesInput) (*InstancePage, error)
	StartInstance(ctx context.Context, c Caller, ref InstanceRef) error
	StopInstance(ctx context.Context, c Caller, ref InstanceRef) error
	RebootInstance(ctx context.Context, c Caller, ref InstanceRef) error
	DeleteInstance(ctx context.Context, c Caller, ref InstanceRef) error
	// DescribeInstanceVncURL issues a single-use console token valid for
	// 15 seconds; the front end turns it into a URL.
	DescribeInstanceVncURL(ctx context.Context, c Caller, ref InstanceRef) (*VNCToken, error)
	// ModifyInstanceVncPasswd sets the console password: live before it
	// returns for I/O optimized instances, pending until the next restart
	// otherwise. A console that cannot be reached gives KindUnavailable
	// with ReasonConsoleUnreachable, and nothing changes.
	ModifyInstanceVncPasswd(ctx context.Context, c Caller, ref InstanceRef, pw Secret) error
}

// Consoles opens consoles for the VNC gateway.
type Consoles interface {
	// Redeem consumes a console token and connects to its console. A token
	// works once and only before it expires; otherwise KindNotFound.
	Redeem(ctx context.Context, token string) (Conn, error)
}
