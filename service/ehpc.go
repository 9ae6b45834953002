package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
)

// E-HPC constants from PRODUCT.md §3.
const (
	// DefaultVisualPort is the port a cluster created with
	// RemoteVisEnable=true serves its visual service on.
	DefaultVisualPort = 12016

	// maxFailures wrong RunasUserPassword attempts within failureWindow
	// lock the user for lockDuration.
	maxFailures   = 5
	failureWindow = 10 * time.Minute
	lockDuration  = 10 * time.Minute

	defaultAgentTimeout = 10 * time.Second
)

// DefaultLoginAddresses is where login nodes' addresses come from in the
// simulated fleet: 127.31.0.1, 127.31.0.2, … (all of 127/8 is loopback
// on Linux, so each node listens on an address of its own).
func DefaultLoginAddresses() netip.Prefix { return netip.MustParsePrefix("127.31.0.0/16") }

// EHPCConfig is what the E-HPC service needs beyond Config.
type EHPCConfig struct {
	// Policy is the --ehpc-password-policy edition; empty means 2025.
	Policy core.EHPCPasswordPolicy
	// Drivers maps a driver name to the visual driver of login nodes;
	// DefaultDriver names the one new clusters get ("sim" unless set).
	Drivers       map[string]core.VisualDriver
	DefaultDriver string
	// Probes are the same drivers without fault rules: a reset stops
	// every visual service whatever rules are in force. Nil means
	// Drivers.
	Probes map[string]core.VisualDriver
	// LoginAddresses is the range login nodes' public addresses are
	// allocated from; the zero Prefix means DefaultLoginAddresses.
	LoginAddresses netip.Prefix
	// AgentTimeout bounds every call to a node's agent; a node that has
	// not answered by then is an AgentError. Zero means 10 seconds.
	AgentTimeout time.Duration
	// FollowEvery is how often the replica serving the local drivers'
	// listeners reads the store for changes made through other replicas,
	// and how often the others try to take the listeners over. Zero means
	// one second.
	FollowEvery time.Duration
	// LockTTL bounds the operation lock, so that a replica that died
	// while holding one does not block its cluster for ever. Zero means
	// twice AgentTimeout plus 30 seconds.
	LockTTL time.Duration
}

// EHPC implements core.EHPC.
type EHPC struct {
	cfg     Config
	ecfg    EHPCConfig
	regions *catalog.Alibaba
	gate    gate

	// listeners holds the lease Reconcile took, for FollowVisual, the
	// nodes whose listener failed to start (logged once), and what the
	// last full follow pass saw (see the follow's contract): whether one
	// ran since the lease was taken, the visual version, the next time a
	// schedule changes a listener, and whether it left work to redo.
	listeners struct {
		mu      sync.Mutex
		lease   core.Lease
		failing map[core.NodeID]bool
		synced  bool
		seen    visualVersion
		due     time.Time
		again   bool
	}
}

var _ core.EHPC = (*EHPC)(nil)

// NewEHPC returns the E-HPC service.
func NewEHPC(cfg Config, ecfg EHPCConfig, regions *catalog.Alibaba) *EHPC {
	cfg.fill()
	if ecfg.Policy == "" {
		ecfg.Policy = core.EHPCPasswordPolicy2025
	}
	if ecfg.DefaultDriver == "" {
		ecfg.DefaultDriver = "sim"
	}
	if ecfg.Probes == nil {
		ecfg.Probes = ecfg.Drivers
	}
	if !ecfg.LoginAddresses.IsValid() {
		ecfg.LoginAddresses = DefaultLoginAddresses()
	}
	ecfg.LoginAddresses = ecfg.LoginAddresses.Masked()
	if ecfg.AgentTimeout == 0 {
		ecfg.AgentTimeout = defaultAgentTimeout
	}
	if ecfg.FollowEvery <= 0 {
		ecfg.FollowEvery = defaultFollowEvery
	}
	if ecfg.LockTTL == 0 {
		ecfg.LockTTL = 2*ecfg.AgentTimeout + 30*time.Second
	}
	s := &EHPC{cfg: cfg, ecfg: ecfg, regions: regions}
	s.gate = gate{
		cfg: &s.cfg, service: core.ServiceEHPC, accounts: accountCache(cfg.Store),
		resource: func(region core.RegionID, account core.AccountID, _ string) string {
			return ehpcResource(region, account)
		},
		disabled: notEnabled,
		// E-HPC refuses every call of an account in debt (seed 004).
		inDebt: func(op string, _ opClass) error { return inDebtError(op) },
	}
	return s
}

// Policy returns the password policy edition in force.
func (s *EHPC) Policy() core.EHPCPasswordPolicy { return s.ecfg.Policy }

// ehpcResource is the resource E-HPC calls are authorized on: E-HPC
// 2018-04-12 has no resource-level authorization (seed 002: "全部资源 *"),
// so this pattern names every E-HPC resource of the account; a policy
// Resource of "*" or "acs:ehpc:*:*:*" matches it.
func ehpcResource(region core.RegionID, account core.AccountID) string {
	r := string(region)
	if r == "" {
		r = "*"
	}
	return fmt.Sprintf("acs:ehpc:%s:%s:*", r, account)
}

// prepare authorizes op and checks the account's state, in that order:
// a RAM user denied the action learns nothing about the account.
func (s *EHPC) prepare(ctx context.Context, c core.Caller, op string, region core.RegionID) error {
	return s.gate.check(ctx, c, op, opChange, region, "*")
}

func invalidParam(field string) error { return core.Invalid(core.ReasonInvalidParameter, field) }

func clusterNotFound() error {
	return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonClusterNotFound}
}

func invalidClusterStatus() error {
	return &core.Error{Kind: core.KindConflict, Reason: core.ReasonIncorrectStatus}
}

func conflictingOperation() error {
	return &core.Error{Kind: core.KindConflict, Reason: core.ReasonConflictingOp}
}

func incorrectCredential() error {
	return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonBadCredential}
}

// load reads the caller's cluster and advances its status. A cluster of
// another account, of another region than a non-empty ref.RegionID, or
// released, does not exist.
func (s *EHPC) load(ctx context.Context, tx core.Tx, c core.Caller, ref core.ClusterRef) (*core.Cluster, error) {
	if ref.ClusterID == "" {
		return nil, invalidParam("ClusterId")
	}
	cl, err := core.Get[core.Cluster](ctx, tx, string(ref.ClusterID))
	if core.KindOf(err) == core.KindNotFound {
		return nil, clusterNotFound()
	}
	if err != nil {
		return nil, err
	}
	now := tx.Now()
	if cl.AccountID != c.AccountID || ref.RegionID != "" && cl.RegionID != ref.RegionID || cl.Released(now) {
		return nil, clusterNotFound()
	}
	cl.Advance(now)
	return cl, nil
}

// view loads the cluster in a read-only transaction.
func (s *EHPC) view(ctx context.Context, c core.Caller, ref core.ClusterRef) (*core.Cluster, error) {
	var cl *core.Cluster
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		cl, err = s.load(ctx, tx, c, ref)
		return err
	})
	return cl, err
}

// region resolves CreateCluster's region: RegionId, or the region of
// ZoneId when RegionId is absent (the darabonba SDKs send no RegionId).
func (s *EHPC) region(in core.CreateClusterInput) (core.Region, core.ZoneID, error) {
	id := in.RegionID
	if id == "" && in.ZoneID != "" {
		z := string(in.ZoneID)
		if i := strings.LastIndexByte(z, '-'); i > 0 {
			id = core.RegionID(z[:i])
		}
	}
	if id == "" {
		return core.Region{}, "", invalidParam("RegionId")
	}
	r, ok := s.regions.Region(id)
	if !ok {
		return core.Region{}, "", invalidParam("RegionId")
	}
	zone := in.ZoneID
	if zone == "" {
		zone = r.Zones[0]
	} else if !s.regions.HasZone(id, zone) {
		return core.Region{}, "", invalidParam("ZoneId")
	}
	return r, zone, nil
}

// validClusterName applies E-HPC's rule for Name: 2–64 characters,
// starting with a letter or a Chinese character, then letters, Chinese
// characters, digits, underscores, hyphens and periods (CreateCluster's
// parameter reference).
func validClusterName(name string) bool {
	n := 0
	for i, r := range name {
		n++
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || unicode.Is(unicode.Han, r)
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && !strings.ContainsRune("_.-", r) {
			return false
		}
	}
	return n >= 2 && n <= 64
}

func (s *EHPC) validateCreate(in *core.CreateClusterInput) error {
	if !validClusterName(in.Name) {
		return invalidParam("Name")
	}
	if len(in.Description) > 256 {
		return invalidParam("Description")
	}
	if in.OsTag == "" {
		return invalidParam("OsTag")
	}
	if in.Manager.Count == 0 {
		in.Manager.Count = 1
		if in.HaEnable {
			in.Manager.Count = 2
		}
	}
	if in.Login.Count == 0 {
		in.Login.Count = 1
	}
	switch {
	case in.Manager.Count < 1 || in.Manager.Count > 2:
		return invalidParam("EcsOrder.Manager.Count")
	case in.Manager.InstanceType == "":
		return invalidParam("EcsOrder.Manager.InstanceType")
	case in.Compute.Count < 0 || in.Compute.Count > 99:
		return invalidParam("EcsOrder.Compute.Count")
	case in.Compute.InstanceType == "":
		return invalidParam("EcsOrder.Compute.InstanceType")
	// E-HPC clusters have one login node; latchkey allows up to ten so
	// that a change can reach some login nodes and not others
	// (PartFailure).
	case in.Login.Count < 1 || in.Login.Count > 10:
		return invalidParam("EcsOrder.Login.Count")
	case in.Login.InstanceType == "":
		return invalidParam("EcsOrder.Login.InstanceType")
	}
	if in.Password.IsZero() && in.KeyPairName == "" {
		return invalidParam("Password")
	}
	if !in.Password.IsZero() {
		if err := core.ValidateClusterUserPassword(in.Password, "Password"); err != nil {
			return err
		}
	}
	if in.SchedulerType == "" {
		in.SchedulerType = "pbs"
	}
	if in.DeployMode == "" {
		in.DeployMode = "Standard"
	}
	if in.AccountType == "" {
		in.AccountType = "nis"
	}
	if in.ImageOwnerAlias == "" {
		in.ImageOwnerAlias = "system"
	}
	if in.EcsChargeType == "" {
		in.EcsChargeType = "PostPaid"
	}
	if in.EhpcVersion == "" {
		in.EhpcVersion = "1.0.0"
	}
	if in.ClientVersion == "" {
		in.ClientVersion = "1.0.64"
	}
	return nil
}

// CreateCluster implements core.EHPC: the cluster is creating, then
// running after one transition interval. Its login nodes get addresses of
// their own; with RemoteVisEnable their visual service starts on port
// 12016 for 0.0.0.0/0, with a random password that ModifyVisualServicePasswd
// replaces.
func (s *EHPC) CreateCluster(ctx context.Context, c core.Caller, in core.CreateClusterInput) (*core.ClusterCreated, error) {
	if err := s.prepare(ctx, c, "CreateCluster", in.RegionID); err != nil {
		return nil, err
	}
	region, zone, err := s.region(in)
	if err != nil {
		return nil, err
	}
	in.RegionID, in.ZoneID = region.ID, zone
	if err := s.validateCreate(&in); err != nil {
		return nil, err
	}
	var rootHash core.PasswordHash
	if !in.Password.IsZero() {
		if rootHash, err = s.cfg.Hasher.Hash(in.Password); err != nil {
			return nil, err
		}
	}
	initial, err := randomVisualPassword(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	taskID, err := randomUUID(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	lockToken, err := randomToken(s.cfg.Rand, 16)
	if err != nil {
		return nil, err
	}

	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return nil, err
	}
	var created *core.Cluster
	var result core.ClusterCreated
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		created = nil
		// A retry returns the first call's cluster whatever its
		// parameters: E-HPC documents no mismatch error.
		var call *idempotentCall
		if in.ClientToken != "" {
			call = &idempotentCall{token: clientToken{Product: core.ServiceEHPC, Account: c.AccountID, Action: "CreateCluster", Token: in.ClientToken}}
			prev, err := call.replay(ctx, tx)
			if err != nil || prev != nil {
				if prev != nil && len(prev.IDs) == 1 {
					result = core.ClusterCreated{ClusterID: core.ClusterID(prev.IDs[0]), TaskID: prev.TaskID}
				}
				return err
			}
		}
		now := tx.Now()
		cl, err := s.newCluster(ctx, tx, c, in, rootHash, now)
		if err != nil {
			return err
		}
		for _, i := range cl.LoginNodes() {
			sealed, err := s.cfg.Sealer.Seal(initial, core.VisualPasswordContext(cl.ID, cl.Nodes[i].ID))
			if err != nil {
				return err
			}
			cl.Nodes[i].VisualPassword = sealed
		}
		cl.Schedule(now, interval, core.ClusterCreating, core.ClusterRunning)
		if cl.Visual.Started {
			// Hold the cluster while its visual service starts.
			cl.Lock = &core.OperationLock{Token: lockToken, Op: "CreateCluster", Until: now.Add(s.ecfg.LockTTL)}
		}
		if err := s.saveCluster(ctx, tx, cl); err != nil {
			return err
		}
		created, result = cl, core.ClusterCreated{ClusterID: cl.ID, TaskID: taskID}
		if call != nil {
			return call.record(ctx, tx, []string{string(cl.ID)}, taskID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created != nil && created.Visual.Started {
		// The nodes boot with their visual service: it is up by the time
		// the cluster reports running. A node that fails to start it is
		// logged; the cluster exists regardless, and StartVisualService
		// retries.
		bg := context.WithoutCancel(ctx)
		errs := s.fanOut(bg, created, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error {
			return d.StartVisual(ctx, n, pw)
		})
		for i, e := range errs {
			if e != nil {
				s.cfg.Log.Warn("visual service did not start on a new login node", "cluster", created.ID, "login", i, "err", e)
			}
		}
		s.release(bg, c.AccountID, created.ID, lockToken, nil)
	}
	return &result, nil
}

// newCluster builds the cluster with its nodes, users and addresses,
// inside tx: login addresses must be unique across every cluster.
func (s *EHPC) newCluster(ctx context.Context, tx core.Tx, c core.Caller, in core.CreateClusterInput, rootHash core.PasswordHash, now time.Time) (*core.Cluster, error) {
	suffix, err := randomString(s.cfg.Rand, mixedAlnum, 10)
	if err != nil {
		return nil, err
	}
	cl := &core.Cluster{
		ID: core.ClusterID("ehpc-" + regionCode(in.RegionID) + "-" + suffix), AccountID: c.AccountID,
		RegionID: in.RegionID, ZoneID: in.ZoneID, Name: in.Name, Description: in.Description,
		OsTag: in.OsTag, ImageID: in.ImageID, ImageOwnerAlias: in.ImageOwnerAlias,
		SchedulerType: in.SchedulerType, DeployMode: in.DeployMode, AccountType: in.AccountType,
		ClientVersion: in.ClientVersion, EhpcVersion: in.EhpcVersion, VpcID: in.VpcID,
		VSwitchID: in.VSwitchID, SecurityGroupID: in.SecurityGroupID, EcsChargeType: in.EcsChargeType,
		HaEnable: in.HaEnable, KeyPairName: in.KeyPairName,
		Manager: in.Manager, Compute: in.Compute, Login: in.Login,
		CreatedAt: now, Driver: s.ecfg.DefaultDriver, Params: in.Params,
	}
	if cl.ImageID == "" {
		cl.ImageID = imageFor(in.OsTag)
	}
	if rootHash != "" {
		cl.Users = append(cl.Users, core.ClusterUser{Name: core.RootUser, Group: "wheel", UID: 0, GID: 0, AddedAt: now, Password: rootHash})
	}
	addrs, err := s.freeLoginAddresses(ctx, tx, in.Login.Count)
	if err != nil {
		return nil, err
	}
	private := netip.MustParseAddr("172.16.0.10")
	add := func(role core.NodeRole, host string, typ string, public netip.Addr) error {
		nodeSuffix, err := randomString(s.cfg.Rand, lowerAlnum, 20-len(catalog.InstancePrefix(in.RegionID)))
		if err != nil {
			return err
		}
		cl.Nodes = append(cl.Nodes, core.Node{
			ID: core.NodeID("i-" + catalog.InstancePrefix(in.RegionID) + nodeSuffix), Role: role,
			HostName: host, InstanceType: typ, IPAddress: private, PublicIP: public, CreatedAt: now,
		})
		private = private.Next()
		return nil
	}
	for i := range in.Manager.Count {
		if err := add(core.RoleManager, fmt.Sprintf("manager%d", i), in.Manager.InstanceType, netip.Addr{}); err != nil {
			return nil, err
		}
	}
	for i := range in.Login.Count {
		if err := add(core.RoleLogin, fmt.Sprintf("login%d", i), in.Login.InstanceType, addrs[i]); err != nil {
			return nil, err
		}
	}
	for i := range in.Compute.Count {
		if err := add(core.RoleCompute, fmt.Sprintf("compute%d", i), in.Compute.InstanceType, netip.Addr{}); err != nil {
			return nil, err
		}
	}
	if in.RemoteVisEnable {
		cl.Visual = core.VisualService{Started: true, Port: DefaultVisualPort, CIDR: netip.MustParsePrefix("0.0.0.0/0"), User: core.RootUser}
	} else {
		cl.Visual = core.VisualService{Port: DefaultVisualPort, CIDR: netip.MustParsePrefix("0.0.0.0/0"), User: core.RootUser}
	}
	return cl, nil
}

// regionCode is the short region code of cluster ids (ehpc-hz-… in
// Hangzhou).
func regionCode(r core.RegionID) string {
	switch r {
	case "cn-hangzhou":
		return "hz"
	case "cn-shanghai":
		return "sh"
	case "cn-beijing":
		return "bj"
	case "cn-shenzhen":
		return "sz"
	case "cn-qingdao":
		return "qd"
	case "cn-zhangjiakou":
		return "zjk"
	case "cn-huhehaote":
		return "hhht"
	case "cn-hongkong":
		return "hk"
	case "ap-southeast-1":
		return "sg"
	}
	s := strings.TrimPrefix(string(r), "cn-")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) > 4 {
		s = s[:4]
	}
	return s
}

// imageFor names a public image for an OsTag that came without ImageId.
func imageFor(osTag string) string {
	tag := strings.ToLower(strings.ReplaceAll(osTag, " ", "_"))
	tag = strings.ReplaceAll(tag, ".", "_")
	return tag + "_x64_20G_alibase_20240101.vhd"
}

// ListClusters implements core.EHPC.
func (s *EHPC) ListClusters(ctx context.Context, c core.Caller, region core.RegionID, page core.Page) (*core.ClusterPage, error) {
	if err := s.prepare(ctx, c, "ListClusters", region); err != nil {
		return nil, err
	}
	number, size, err := pageOf(page)
	if err != nil {
		return nil, err
	}
	// The clusters not yet released (core.LabelLive), one page of them
	// by offset over the index, and their count.
	q := core.Query{Account: c.AccountID, Region: region, Offset: (number - 1) * size, Limit: size,
		Labels: []core.LabelMatch{{Name: core.LabelLive, Values: []string{"1"}}}}
	out := &core.ClusterPage{PageNumber: number, PageSize: size}
	err = s.cfg.Store.View(ctx, func(tx core.Tx) error {
		if out.TotalCount, err = core.Count[core.Cluster](ctx, tx, q); err != nil {
			return err
		}
		if out.Clusters, err = core.List[core.Cluster](ctx, tx, q); err != nil {
			return err
		}
		for _, cl := range out.Clusters {
			cl.Advance(tx.Now())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pageOf applies E-HPC's paging rules: PageNumber from 1 (default 1),
// PageSize 1–50 (default 10).
func pageOf(p core.Page) (number, size int, err error) {
	number, size = p.PageNumber, p.PageSize
	if number == 0 {
		number = 1
	}
	if size == 0 {
		size = 10
	}
	if number < 1 || number > maxPageNumber {
		return 0, 0, invalidParam("PageNumber")
	}
	if size < 1 || size > 50 {
		return 0, 0, invalidParam("PageSize")
	}
	return number, size, nil
}

// DescribeCluster implements core.EHPC.
func (s *EHPC) DescribeCluster(ctx context.Context, c core.Caller, ref core.ClusterRef) (*core.Cluster, error) {
	if err := s.prepare(ctx, c, "DescribeCluster", ref.RegionID); err != nil {
		return nil, err
	}
	return s.view(ctx, c, ref)
}

// ListNodes implements core.EHPC.
func (s *EHPC) ListNodes(ctx context.Context, c core.Caller, in core.ListNodesInput) (*core.NodePage, error) {
	if err := s.prepare(ctx, c, "ListNodes", in.RegionID); err != nil {
		return nil, err
	}
	number, size, err := pageOf(in.Page)
	if err != nil {
		return nil, err
	}
	cl, err := s.view(ctx, c, in.ClusterRef)
	if err != nil {
		return nil, err
	}
	var nodes []core.Node
	for _, n := range cl.Nodes {
		switch {
		case in.Role != "" && n.Role != in.Role:
		case in.HostName != "" && n.HostName != in.HostName:
		case in.HostNamePrefix != "" && !strings.HasPrefix(n.HostName, in.HostNamePrefix):
		case in.HostNameSuffix != "" && !strings.HasSuffix(n.HostName, in.HostNameSuffix):
		case in.PrivateIPAddress != "" && n.IPAddress.String() != in.PrivateIPAddress:
		default:
			nodes = append(nodes, n)
		}
	}
	lo, hi := pageBounds(len(nodes), number, size)
	return &core.NodePage{Cluster: cl, Nodes: nodes[lo:hi], TotalCount: len(nodes), PageNumber: number, PageSize: size}, nil
}

// acquire takes the cluster's operation lock for op. check runs inside
// the acquiring transaction on the current cluster, before the lock is
// taken; it may refuse the operation or change the cluster. While the
// lock is held, every other operation on the cluster gets ConflictOpt.
func (s *EHPC) acquire(ctx context.Context, c core.Caller, ref core.ClusterRef, op string, check func(tx core.Tx, cl *core.Cluster) error) (*core.Cluster, string, error) {
	token, err := randomToken(s.cfg.Rand, 16)
	if err != nil {
		return nil, "", err
	}
	var cl *core.Cluster
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(tx, cur); err != nil {
				return err
			}
		}
		now := tx.Now()
		if cur.Busy(now) {
			return conflictingOperation()
		}
		cur.Lock = &core.OperationLock{Token: token, Op: op, Until: now.Add(s.ecfg.LockTTL)}
		cl = cur
		return s.saveCluster(ctx, tx, cur)
	})
	if err != nil {
		return nil, "", err
	}
	return cl, token, nil
}

// release applies apply to the cluster (if not nil) and drops the lock
// identified by token, in one transaction. It runs even when the request
// was cancelled: what the nodes did must reach the store. If the lock
// expired and another operation took it, apply still runs but the other
// operation's lock stays.
func (s *EHPC) release(ctx context.Context, account core.AccountID, id core.ClusterID, token string, apply func(tx core.Tx, cl *core.Cluster) error) error {
	ctx = context.WithoutCancel(ctx)
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cl, err := core.Get[core.Cluster](ctx, tx, string(id))
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if cl.AccountID != account {
			return nil
		}
		cl.Advance(tx.Now())
		if apply != nil {
			if err := apply(tx, cl); err != nil {
				return err
			}
		}
		if cl.Lock != nil && cl.Lock.Token == token {
			cl.Lock = nil
		}
		if cl.Released(tx.Now()) {
			return s.purgeCluster(ctx, tx, cl)
		}
		return s.saveCluster(ctx, tx, cl)
	})
	if err != nil {
		s.cfg.Log.Error("cluster operation could not be recorded", "cluster", id, "err", err)
	}
	return err
}

// requireRunning is the status check of operations that need a running
// cluster (seed 004: InvalidClusterStatus otherwise).
func requireRunning(_ core.Tx, cl *core.Cluster) error {
	if cl.Status != core.ClusterRunning {
		return invalidClusterStatus()
	}
	return nil
}

// visualNode is the driver's view of login node i (an index in
// cl.Nodes), the login-th login node.
func (s *EHPC) visualNode(cl *core.Cluster, i, login int) core.VisualNode {
	n := cl.Nodes[i]
	user := cl.Visual.User
	if user == "" {
		user = core.RootUser
	}
	return core.VisualNode{
		ClusterID: cl.ID, NodeID: n.ID, HostName: n.HostName, Index: login,
		Address: n.PublicIP, Port: cl.Visual.Port, CIDR: cl.Visual.CIDR,
		Auth: s.ecfg.Policy.VisualAuth(), PlainUser: user,
	}
}

func (s *EHPC) visualDriver(cl *core.Cluster) (core.VisualDriver, error) {
	if d, ok := s.ecfg.Drivers[cl.Driver]; ok {
		return d, nil
	}
	return nil, &core.Error{Kind: core.KindInternal, Message: "no visual driver " + cl.Driver}
}

// fanOut runs op on every login node of cl at once, each with its stored
// visual password, bounded by the agent timeout, and returns each login
// node's error in login-node order.
func (s *EHPC) fanOut(ctx context.Context, cl *core.Cluster, op func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error) []error {
	logins := cl.LoginNodes()
	errs := make([]error, len(logins))
	d, err := s.visualDriver(cl)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	ctx, cancel := context.WithTimeout(ctx, s.ecfg.AgentTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for li, i := range logins {
		wg.Go(func() {
			pw, err := s.cfg.Sealer.Open(cl.Nodes[i].VisualPassword, core.VisualPasswordContext(cl.ID, cl.Nodes[i].ID))
			if err != nil {
				errs[li] = err
				return
			}
			errs[li] = agentError(ctx, op(ctx, d, s.visualNode(cl, i, li), pw))
		})
	}
	wg.Wait()
	return errs
}

// agentError turns a driver's answer into the error the service reports:
// a deadline is the agent not answering in time.
func agentError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && core.ReasonOf(err) == "" {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Err: err}
	}
	return err
}

// combine turns the per-login-node errors of one change into its outcome:
// nil when every node took it; PartFailure naming the nodes that changed
// and those that did not when some did; otherwise the first node's error
// (AgentError, ExecFail, AliyunError, or an unexpected failure).
func combine(cl *core.Cluster, errs []error) error {
	logins := cl.LoginNodes()
	var changed, unchanged []string
	first := -1
	for li, e := range errs {
		name := fmt.Sprintf("%s (%s)", cl.Nodes[logins[li]].HostName, cl.Nodes[logins[li]].ID)
		if e == nil {
			changed = append(changed, name)
			continue
		}
		unchanged = append(unchanged, name)
		if first < 0 {
			first = li
		}
	}
	switch {
	case first < 0:
		return nil
	case len(changed) > 0:
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonPartialFailure,
			Message: "changed: " + strings.Join(changed, ", ") + "; not changed: " + strings.Join(unchanged, ", ")}
	}
	e := core.AsError(errs[first])
	switch e.Reason {
	case core.ReasonAgentTimeout, core.ReasonExecFailed, core.ReasonUpstreamFailed:
		return e
	}
	if e.Kind == core.KindUnavailable {
		return e
	}
	return &core.Error{Kind: core.KindInternal, Err: errs[first]}
}

// DeleteCluster implements core.EHPC: the visual service stops and the
// cluster is releasing for one transition interval, then gone. A node
// whose agent does not answer is released anyway: deleting a cluster
// deletes its nodes.
func (s *EHPC) DeleteCluster(ctx context.Context, c core.Caller, ref core.ClusterRef) (string, error) {
	if err := s.prepare(ctx, c, "DeleteCluster", ref.RegionID); err != nil {
		return "", err
	}
	taskID, err := randomUUID(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return "", err
	}
	cl, token, err := s.acquire(ctx, c, ref, "DeleteCluster", func(_ core.Tx, cl *core.Cluster) error {
		if cl.Status == core.ClusterCreating || cl.Status == core.ClusterReleasing {
			return invalidClusterStatus()
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	s.stopAll(ctx, cl)
	err = s.release(ctx, c.AccountID, cl.ID, token, func(tx core.Tx, cur *core.Cluster) error {
		cur.Status, cur.Steps = core.ClusterReleasing, nil
		cur.ReleaseAt = tx.Now().Add(interval)
		return nil
	})
	if err != nil {
		return "", err
	}
	return taskID, nil
}

// stopAll stops the visual service on every login node, logging nodes
// that did not answer.
func (s *EHPC) stopAll(ctx context.Context, cl *core.Cluster) {
	errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, _ core.Secret) error {
		return d.StopVisual(ctx, n)
	})
	for li, e := range errs {
		if e != nil {
			s.cfg.Log.Warn("visual service did not stop", "cluster", cl.ID, "login", li, "err", e)
		}
	}
}

// StopCluster implements core.EHPC: running → stopping → stopped. The
// login nodes power off, so their visual service stops; its settings are
// kept for StartCluster.
func (s *EHPC) StopCluster(ctx context.Context, c core.Caller, ref core.ClusterRef) (string, error) {
	if err := s.prepare(ctx, c, "StopCluster", ref.RegionID); err != nil {
		return "", err
	}
	taskID, err := randomUUID(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return "", err
	}
	cl, token, err := s.acquire(ctx, c, ref, "StopCluster", requireRunning)
	if err != nil {
		return "", err
	}
	s.stopAll(ctx, cl)
	err = s.release(ctx, c.AccountID, cl.ID, token, func(tx core.Tx, cur *core.Cluster) error {
		cur.Schedule(tx.Now(), interval, core.ClusterStopping, core.ClusterStopped)
		return nil
	})
	return taskID, err
}

// StartCluster implements core.EHPC: stopped → starting → running, and
// the visual service comes back if it was started.
func (s *EHPC) StartCluster(ctx context.Context, c core.Caller, ref core.ClusterRef) (string, error) {
	if err := s.prepare(ctx, c, "StartCluster", ref.RegionID); err != nil {
		return "", err
	}
	taskID, err := randomUUID(s.cfg.Rand)
	if err != nil {
		return "", err
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return "", err
	}
	cl, token, err := s.acquire(ctx, c, ref, "StartCluster", func(_ core.Tx, cl *core.Cluster) error {
		if cl.Status != core.ClusterStopped {
			return invalidClusterStatus()
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if cl.Visual.Started {
		errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error {
			return d.StartVisual(ctx, n, pw)
		})
		for li, e := range errs {
			if e != nil {
				s.cfg.Log.Warn("visual service did not start", "cluster", cl.ID, "login", li, "err", e)
			}
		}
	}
	err = s.release(ctx, c.AccountID, cl.ID, token, func(tx core.Tx, cur *core.Cluster) error {
		cur.Schedule(tx.Now(), interval, core.ClusterStarting, core.ClusterRunning)
		return nil
	})
	return taskID, err
}

// Reconcile runs at start, before the server reports ready, and reads
// no cluster: it brings the cluster index up to date (reindex: once, on
// a store an older latchkey wrote) and tries to take the local drivers'
// lease. What the drivers then need is done after ready, in the
// background: the local drivers' listeners start at FollowVisual's
// first pass, the other drivers' services in ReconcileRemote.
func (s *EHPC) Reconcile(ctx context.Context) error {
	if n, err := s.reindex(ctx); err != nil {
		return err
	} else if n > 0 {
		s.cfg.Log.Info("clusters indexed for the visual services", "clusters", n)
	}
	if lease := s.takeListeners(ctx); lease != nil {
		s.listeners.mu.Lock()
		s.listeners.lease = lease
		s.listeners.mu.Unlock()
	}
	return nil
}

// remoteDrivers returns the names of the drivers (without fault rules)
// whose services run outside this process (tigervnc), sorted.
func (s *EHPC) remoteDrivers() []string {
	locals := s.localDrivers()
	var out []string
	for name := range s.ecfg.Probes {
		if _, local := locals[name]; !local {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ReconcileRemote waits for ready to close (the server reports ready),
// then starts once the visual services of the drivers outside this
// process that the store has listening, read through core.LabelVisual:
// those drivers keep no state of their own across a restart of
// latchkey, the store is the truth. It runs in the background, so
// readiness never waits for the nodes' agents; a node that does not
// answer is logged, and the next StartVisualService retries it. It
// returns when done or when ctx ends.
func (s *EHPC) ReconcileRemote(ctx context.Context, ready <-chan struct{}) {
	remote := s.remoteDrivers()
	if len(remote) == 0 {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-ready:
	}
	var all []*core.Cluster
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		list, err := core.List[core.Cluster](ctx, tx, visualQuery(remote))
		if err != nil {
			return err
		}
		now := tx.Now()
		for _, cl := range list {
			cl.Advance(now)
			if listening(cl, now) {
				all = append(all, cl)
			}
		}
		return nil
	})
	if err != nil {
		s.cfg.Log.Warn("visual services: clusters unreadable; not reconciled", "err", err)
		return
	}
	for _, cl := range all {
		if ctx.Err() != nil {
			return
		}
		errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error {
			return d.StartVisual(ctx, n, pw)
		})
		for li, e := range errs {
			if e != nil {
				s.cfg.Log.Warn("visual service did not start", "cluster", cl.ID, "login", li, "err", e)
			}
		}
	}
}
