package aliyun

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
)

// ehpcVersion is the API version of E-HPC.
const ehpcVersion = "2018-04-12"

// Time layouts of E-HPC answers: CreateTime as in EHPCv5's examples
// ("2020-05-08T08:40:24.000Z"), AddTime as in its UserInfo example
// ("2018-07-18T17:46:47").
const (
	ehpcCreateTimeLayout = "2006-01-02T15:04:05.000Z"
	ehpcAddTimeLayout    = "2006-01-02T15:04:05"
)

// The Message of the visual-service calls (seed 004).
const (
	visualStarted = "Service started."
	visualStopped = "Service stopped."
)

// ehpcProduct is E-HPC's dispatch map (PRODUCT.md §3). Parameters are read
// the way services/ehpc of alibaba-cloud-sdk-go v1.62.713 sends them (GET,
// every parameter in the query, lists flattened as User.N.Name).
func (s *server) ehpcProduct() *product {
	return &product{
		name:     "ehpc",
		code:     "EHPC",
		version:  ehpcVersion,
		mapError: ehpcError,
		enabled:  s.d.EHPC != nil,
		actions: map[string]action{
			"CreateCluster":             {handle: s.ehpcCreateCluster, mutating: true, resource: createdCluster},
			"ListClusters":              {handle: s.ehpcListClusters},
			"DescribeCluster":           {handle: s.ehpcDescribeCluster},
			"ListNodes":                 {handle: s.ehpcListNodes},
			"DeleteCluster":             {handle: s.ehpcDeleteCluster, mutating: true, resource: clusterParam},
			"StartCluster":              {handle: s.ehpcStartCluster, mutating: true, resource: clusterParam},
			"StopCluster":               {handle: s.ehpcStopCluster, mutating: true, resource: clusterParam},
			"AddUsers":                  {handle: s.ehpcAddUsers, mutating: true, resource: clusterParam},
			"ListUsers":                 {handle: s.ehpcListUsers},
			"ModifyUserPasswords":       {handle: s.ehpcModifyUserPasswords, mutating: true, resource: clusterParam},
			"DeleteUsers":               {handle: s.ehpcDeleteUsers, mutating: true, resource: clusterParam},
			"StartVisualService":        {handle: s.ehpcStartVisualService, mutating: true, resource: clusterParam},
			"StopVisualService":         {handle: s.ehpcStopVisualService, mutating: true, resource: clusterParam},
			"GetVisualServiceStatus":    {handle: s.ehpcGetVisualServiceStatus},
			"ModifyVisualServicePasswd": {handle: s.ehpcModifyVisualServicePasswd, mutating: true, resource: clusterParam},
		},
	}
}

// clusterParam names the cluster a call addressed, for audit.
func clusterParam(r *Request, _ any) string { return r.Get("ClusterId") }

// createdCluster names the cluster CreateCluster made; the region when it
// failed.
func createdCluster(r *Request, resp any) string {
	if v, ok := resp.(*ehpcCreateClusterResponse); ok {
		return v.ClusterId
	}
	return "region/" + r.Get("RegionId")
}

// ehpcError is E-HPC's mapping from core errors to rows: seed 004's table
// (PRODUCT.md §3), with the texts PRODUCT.md fixes for InvalidParams and
// NotAuthorized. Missing and malformed parameters are both InvalidParams,
// naming the parameter; E-HPC has no MissingParameter code.
func ehpcError(e *core.Error) *apiError {
	switch e.Reason {
	case core.ReasonMissingParameter, core.ReasonInvalidParameter, core.ReasonPasswordLength,
		core.ReasonPasswordCharset, core.ReasonPasswordPolicy, core.ReasonIdempotentMismatch,
		core.ReasonInvalidChars, core.ReasonTooLong, core.ReasonBadFormat, core.ReasonRegionNotFound,
		core.ReasonZoneNotFound:
		return &apiError{code: errEHPCInvalidParams, param: fieldOr(e, "Parameter")}
	case core.ReasonServiceNotEnabled:
		return newAPIError(errEHPCNotEnabled)
	case core.ReasonInDebt, core.ReasonResourceInArrears:
		return newAPIError(errEHPCInDebt)
	case core.ReasonIncorrectStatus:
		return newAPIError(errEHPCInvalidClusterStatus)
	case core.ReasonConflictingOp:
		return newAPIError(errEHPCConflictOpt)
	case core.ReasonAgentTimeout, core.ReasonConsoleUnreachable:
		return newAPIError(errEHPCAgentError)
	case core.ReasonBadCredential:
		return newAPIError(errEHPCIncorrectCredential)
	case core.ReasonExecFailed:
		return &apiError{code: errEHPCExecFail, param: e.Message}
	case core.ReasonClusterNotFound:
		return newAPIError(errEHPCClusterNotFound)
	case core.ReasonUpstreamFailed:
		return &apiError{code: errEHPCAliyunError, cause: e}
	case core.ReasonRAMDenied:
		return &apiError{code: errEHPCNotAuthorized, denial: e.Denial}
	case core.ReasonPartialFailure:
		ae := newAPIError(errEHPCPartFailure)
		if e.Message != "" {
			ae.suffix = " " + strings.ToUpper(e.Message[:1]) + e.Message[1:] + "."
		}
		return ae
	}
	switch e.Kind {
	case core.KindInvalid:
		return &apiError{code: errEHPCInvalidParams, param: fieldOr(e, "Parameter")}
	case core.KindNotFound:
		return newAPIError(errEHPCClusterNotFound)
	case core.KindConflict:
		return newAPIError(errEHPCInvalidClusterStatus)
	case core.KindForbidden:
		return &apiError{code: errEHPCNotAuthorized, denial: e.Denial}
	case core.KindUnavailable:
		return &apiError{code: errEHPCServiceUnavailable, cause: e}
	}
	return &apiError{code: errEHPCUnknownError, cause: e}
}

// clusterRef reads RegionId and ClusterId.
func clusterRef(r *Request) core.ClusterRef {
	return core.ClusterRef{RegionID: core.RegionID(r.Get("RegionId")), ClusterID: core.ClusterID(r.Get("ClusterId"))}
}

// pageParams reads PageNumber and PageSize.
func pageParams(r *Request) (core.Page, error) {
	n, err := r.Int("PageNumber")
	if err != nil {
		return core.Page{}, err
	}
	size, err := r.Int("PageSize")
	if err != nil {
		return core.Page{}, err
	}
	return core.Page{PageNumber: n, PageSize: size}, nil
}

// structList returns the fields of name.N.Field parameters (User.1.Name,
// User.1.Password, …) as one map per N, in index order.
func structList(r *Request, name string) []map[string]string {
	byN := map[int]map[string]string{}
	for k, v := range r.Params {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n <= 0 {
			continue
		}
		if byN[n] == nil {
			byN[n] = map[string]string{}
		}
		byN[n][field] = v
	}
	keys := make([]int, 0, len(byN))
	for n := range byN {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]map[string]string, len(keys))
	for i, n := range keys {
		out[i] = byN[n]
	}
	return out
}

// ehpcCreateConsumed are the CreateCluster parameters that map onto
// CreateClusterInput fields; the others are kept in Params.
func ehpcCreateConsumed(name string) bool {
	switch name {
	case "RegionId", "ZoneId", "Name", "Description", "OsTag", "ImageId", "ImageOwnerAlias",
		"SchedulerType", "DeployMode", "AccountType", "ClientVersion", "EhpcVersion", "VpcId",
		"VSwitchId", "SecurityGroupId", "EcsChargeType", "HaEnable", "KeyPairName",
		"EcsOrder.Manager.Count", "EcsOrder.Manager.InstanceType", "EcsOrder.Compute.Count",
		"EcsOrder.Compute.InstanceType", "EcsOrder.Login.Count", "EcsOrder.Login.InstanceType",
		"Password", "RemoteVisEnable", "ClientToken":
		return true
	}
	return false
}

// CreateCluster. RemoteVisEnable is a string ("true"/"false") in the SDK.
func (s *server) ehpcCreateCluster(ctx context.Context, r *Request) (any, error) {
	in := core.CreateClusterInput{
		RegionID: core.RegionID(r.Get("RegionId")), ZoneID: core.ZoneID(r.Get("ZoneId")),
		Name: r.Get("Name"), Description: r.Get("Description"), OsTag: r.Get("OsTag"),
		ImageID: r.Get("ImageId"), ImageOwnerAlias: r.Get("ImageOwnerAlias"),
		SchedulerType: r.Get("SchedulerType"), DeployMode: r.Get("DeployMode"),
		AccountType: r.Get("AccountType"), ClientVersion: r.Get("ClientVersion"),
		EhpcVersion: r.Get("EhpcVersion"), VpcID: r.Get("VpcId"), VSwitchID: r.Get("VSwitchId"),
		SecurityGroupID: r.Get("SecurityGroupId"), EcsChargeType: r.Get("EcsChargeType"),
		KeyPairName: r.Get("KeyPairName"), Password: core.NewSecret(r.Get("Password")),
		ClientToken: r.Get("ClientToken"),
		Manager:     core.NodeOrder{InstanceType: r.Get("EcsOrder.Manager.InstanceType")},
		Compute:     core.NodeOrder{InstanceType: r.Get("EcsOrder.Compute.InstanceType")},
		Login:       core.NodeOrder{InstanceType: r.Get("EcsOrder.Login.InstanceType")},
	}
	var err error
	if in.HaEnable, err = r.Bool("HaEnable"); err != nil {
		return nil, err
	}
	if in.RemoteVisEnable, err = r.Bool("RemoteVisEnable"); err != nil {
		return nil, err
	}
	for _, o := range []struct {
		field string
		dst   *int
	}{{"EcsOrder.Manager.Count", &in.Manager.Count}, {"EcsOrder.Compute.Count", &in.Compute.Count}, {"EcsOrder.Login.Count", &in.Login.Count}} {
		if *o.dst, err = r.Int(o.field); err != nil {
			return nil, err
		}
	}
	for k, v := range r.Params {
		if !ehpcCreateConsumed(k) {
			if in.Params == nil {
				in.Params = map[string]string{}
			}
			in.Params[k] = v
		}
	}
	out, err := s.d.EHPC.CreateCluster(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	return &ehpcCreateClusterResponse{ClusterId: string(out.ClusterID), TaskId: out.TaskID}, nil
}

func counts(cl *core.Cluster, role core.NodeRole) ehpcNodeCounts {
	var c ehpcNodeCounts
	for _, n := range cl.Nodes {
		if n.Role != role {
			continue
		}
		c.Total++
		switch cl.Status {
		case core.ClusterRunning:
			c.NormalCount++
		case core.ClusterStopped:
			c.StoppedCount++
		default:
			c.OperatingCount++
		}
	}
	return c
}

func loginNodeIDs(cl *core.Cluster) string {
	var ids []string
	for _, i := range cl.LoginNodes() {
		ids = append(ids, string(cl.Nodes[i].ID))
	}
	return strings.Join(ids, ",")
}

func createTime(t time.Time) string { return t.UTC().Format(ehpcCreateTimeLayout) }

func clusterSimple(cl *core.Cluster) ehpcClusterInfoSimple {
	return ehpcClusterInfoSimple{
		Id: string(cl.ID), Name: cl.Name, Description: cl.Description, Status: string(cl.Status),
		RegionId: string(cl.RegionID), ZoneId: string(cl.ZoneID), VpcId: cl.VpcID, VSwitchId: cl.VSwitchID,
		ImageId: cl.ImageID, ImageOwnerAlias: cl.ImageOwnerAlias, OsTag: cl.OsTag, BaseOsTag: cl.OsTag,
		SchedulerType: cl.SchedulerType, DeployMode: cl.DeployMode, AccountType: cl.AccountType,
		EhpcVersion: cl.EhpcVersion, ClientVersion: cl.ClientVersion, CreateTime: createTime(cl.CreatedAt),
		InstanceType: cl.Compute.InstanceType, InstanceChargeType: cl.EcsChargeType,
		LoginNodes: loginNodeIDs(cl), NodePrefix: "compute", Location: "PublicCloud",
		ResourceGroupId: cl.Params["ResourceGroupId"], ComputeSpotStrategy: spotStrategy(cl),
		Count:    len(cl.Nodes),
		Managers: counts(cl, core.RoleManager), Computes: counts(cl, core.RoleCompute),
	}
}

func spotStrategy(cl *core.Cluster) string {
	if s := cl.Params["ComputeSpotStrategy"]; s != "" {
		return s
	}
	return "NoSpot"
}

// ListClusters.
func (s *server) ehpcListClusters(ctx context.Context, r *Request) (any, error) {
	page, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	out, err := s.d.EHPC.ListClusters(ctx, r.Caller, core.RegionID(r.Get("RegionId")), page)
	if err != nil {
		return nil, err
	}
	resp := &ehpcListClustersResponse{PageNumber: out.PageNumber, PageSize: out.PageSize, TotalCount: out.TotalCount}
	resp.Clusters.ClusterInfoSimple = make([]ehpcClusterInfoSimple, 0, len(out.Clusters))
	for _, cl := range out.Clusters {
		resp.Clusters.ClusterInfoSimple = append(resp.Clusters.ClusterInfoSimple, clusterSimple(cl))
	}
	return resp, nil
}

// DescribeCluster.
func (s *server) ehpcDescribeCluster(ctx context.Context, r *Request) (any, error) {
	cl, err := s.d.EHPC.DescribeCluster(ctx, r.Caller, clusterRef(r))
	if err != nil {
		return nil, err
	}
	p := cl.Params
	info := ehpcClusterInfo{
		Id: string(cl.ID), ClusterId: string(cl.ID), Name: cl.Name, Description: cl.Description,
		Status: string(cl.Status), RegionId: string(cl.RegionID), ZoneId: string(cl.ZoneID),
		VpcId: cl.VpcID, VSwitchId: cl.VSwitchID, SecurityGroupId: cl.SecurityGroupID,
		Location: "PublicCloud", ImageId: cl.ImageID, ImageName: cl.ImageID, ImageOwnerAlias: cl.ImageOwnerAlias,
		OsTag: cl.OsTag, BaseOsTag: cl.OsTag, SchedulerType: cl.SchedulerType, ClusterVersion: p["ClusterVersion"],
		ClientVersion: cl.ClientVersion, DeployMode: cl.DeployMode, AccountType: cl.AccountType,
		Domain: p["Domain"], HaEnable: cl.HaEnable, KeyPairName: cl.KeyPairName, RamRoleName: p["RamRoleName"],
		Plugin: p["Plugin"], VolumeId: p["VolumeId"], VolumeType: p["VolumeType"],
		VolumeProtocol: p["VolumeProtocol"], VolumeMountpoint: p["VolumeMountpoint"],
		RemoteDirectory: p["RemoteDirectory"], EcsChargeType: cl.EcsChargeType, Period: p["Period"],
		PeriodUnit: p["PeriodUnit"], AutoRenew: p["AutoRenew"], AutoRenewPeriod: p["AutoRenewPeriod"],
		ComputeSpotStrategy: spotStrategy(cl), ComputeSpotPriceLimit: p["ComputeSpotPriceLimit"],
		CreateTime: createTime(cl.CreatedAt), ResourceGroupId: p["ResourceGroupId"], InstanceCount: len(cl.Nodes),
	}
	info.EcsInfo.Manager = ehpcEcsSpec{Count: cl.Manager.Count, InstanceType: cl.Manager.InstanceType}
	info.EcsInfo.Compute = ehpcEcsSpec{Count: cl.Compute.Count, InstanceType: cl.Compute.InstanceType}
	info.EcsInfo.Login = ehpcEcsSpec{Count: cl.Login.Count, InstanceType: cl.Login.InstanceType}
	info.InitialImage.OsTag, info.InitialImage.ImageOwnerAlias, info.InitialImage.ImageId = cl.OsTag, cl.ImageOwnerAlias, cl.ImageID
	info.Nodes.NodesInfo = make([]ehpcNodesInfo, 0, len(cl.Nodes))
	for _, n := range cl.Nodes {
		info.Nodes.NodesInfo = append(info.Nodes.NodesInfo, ehpcNodesInfo{
			Role: string(n.Role), HostName: n.HostName, IpAddress: n.IPAddress.String(),
			AccountType: cl.AccountType, SchedulerType: cl.SchedulerType,
		})
	}
	info.OnPremiseInfo.OnPremiseInfo = []struct{}{}
	info.AddOnsInfo.AddOnsInfo = []struct{}{}
	info.PostInstallScripts.PostInstallScriptInfo = []struct{}{}
	info.Applications.ApplicationInfo = []struct{}{}
	return &ehpcDescribeClusterResponse{ClusterInfo: info}, nil
}

// nodeStatus is a node's Status as ListNodes shows it for the cluster's
// status.
func nodeStatus(s core.ClusterStatus) string {
	switch s {
	case core.ClusterRunning:
		return "running"
	case core.ClusterCreating:
		return "uninit"
	case core.ClusterStopped:
		return "stopped"
	case core.ClusterReleasing:
		return "releasing"
	}
	return "operating"
}

// ListNodes. Role is Manager, Compute or Login (any case).
func (s *server) ehpcListNodes(ctx context.Context, r *Request) (any, error) {
	page, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	in := core.ListNodesInput{
		ClusterRef: clusterRef(r), HostName: r.Get("HostName"), HostNamePrefix: r.Get("HostNamePrefix"),
		HostNameSuffix: r.Get("HostNameSuffix"), PrivateIPAddress: r.Get("PrivateIpAddress"), Page: page,
	}
	if v := r.Get("Role"); v != "" {
		role, ok := core.ParseNodeRole(v)
		if !ok {
			return nil, core.Invalid(core.ReasonInvalidParameter, "Role")
		}
		in.Role = role
	}
	out, err := s.d.EHPC.ListNodes(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	cl := out.Cluster
	resp := &ehpcListNodesResponse{PageNumber: out.PageNumber, PageSize: out.PageSize, TotalCount: out.TotalCount}
	resp.Nodes.NodeInfo = make([]ehpcNodeInfo, 0, len(out.Nodes))
	for _, n := range out.Nodes {
		info := ehpcNodeInfo{
			Id: string(n.ID), HostName: n.HostName, Status: nodeStatus(cl.Status), StateInSched: "free",
			IpAddress: n.IPAddress.String(), RegionId: string(cl.RegionID), ZoneId: string(cl.ZoneID),
			VpcId: cl.VpcID, VSwitchId: cl.VSwitchID, InstanceType: n.InstanceType, ImageId: cl.ImageID,
			ImageOwnerAlias: cl.ImageOwnerAlias, AddTime: createTime(n.CreatedAt), Version: cl.ClientVersion,
			CreateMode: "manual", CreatedByEhpc: true, Location: "PublicCloud", SpotStrategy: "NoSpot",
		}
		if n.PublicIP.IsValid() {
			info.PublicIpAddress = n.PublicIP.String()
		}
		info.Roles.Role = []string{string(n.Role)}
		resp.Nodes.NodeInfo = append(resp.Nodes.NodeInfo, info)
	}
	return resp, nil
}

// DeleteCluster. ReleaseInstance is accepted; a simulated cluster's nodes
// always go with it.
func (s *server) ehpcDeleteCluster(ctx context.Context, r *Request) (any, error) {
	if _, err := r.OptBool("ReleaseInstance"); err != nil {
		return nil, err
	}
	task, err := s.d.EHPC.DeleteCluster(ctx, r.Caller, clusterRef(r))
	if err != nil {
		return nil, err
	}
	return &ehpcTaskResponse{TaskId: task}, nil
}

// StartCluster.
func (s *server) ehpcStartCluster(ctx context.Context, r *Request) (any, error) {
	task, err := s.d.EHPC.StartCluster(ctx, r.Caller, clusterRef(r))
	if err != nil {
		return nil, err
	}
	return &ehpcTaskResponse{TaskId: task}, nil
}

// StopCluster.
func (s *server) ehpcStopCluster(ctx context.Context, r *Request) (any, error) {
	task, err := s.d.EHPC.StopCluster(ctx, r.Caller, clusterRef(r))
	if err != nil {
		return nil, err
	}
	return &ehpcTaskResponse{TaskId: task}, nil
}

// AddUsers: User.N.Name, User.N.Group, User.N.Password. Async is accepted;
// the simulated cluster adds users at once.
func (s *server) ehpcAddUsers(ctx context.Context, r *Request) (any, error) {
	if _, err := r.OptBool("Async"); err != nil {
		return nil, err
	}
	var users []core.NewClusterUser
	for _, u := range structList(r, "User") {
		users = append(users, core.NewClusterUser{Name: u["Name"], Group: u["Group"], Password: core.NewSecret(u["Password"])})
	}
	return nil, s.d.EHPC.AddUsers(ctx, r.Caller, clusterRef(r), users)
}

// ListUsers.
func (s *server) ehpcListUsers(ctx context.Context, r *Request) (any, error) {
	page, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	out, err := s.d.EHPC.ListUsers(ctx, r.Caller, clusterRef(r), page)
	if err != nil {
		return nil, err
	}
	resp := &ehpcListUsersResponse{PageNumber: out.PageNumber, PageSize: out.PageSize, TotalCount: out.TotalCount}
	resp.Users.UserInfo = make([]ehpcUserInfo, 0, len(out.Users))
	for _, u := range out.Users {
		resp.Users.UserInfo = append(resp.Users.UserInfo, ehpcUserInfo{
			Name: u.Name, Group: u.Group, UserId: strconv.Itoa(u.UID), GroupId: strconv.Itoa(u.GID),
			AddTime: u.AddedAt.UTC().Format(ehpcAddTimeLayout),
		})
	}
	return resp, nil
}

// ModifyUserPasswords: User.N.Name, User.N.Password.
func (s *server) ehpcModifyUserPasswords(ctx context.Context, r *Request) (any, error) {
	if _, err := r.OptBool("Async"); err != nil {
		return nil, err
	}
	var users []core.UserPassword
	for _, u := range structList(r, "User") {
		users = append(users, core.UserPassword{Name: u["Name"], Password: core.NewSecret(u["Password"])})
	}
	return nil, s.d.EHPC.ModifyUserPasswords(ctx, r.Caller, clusterRef(r), users)
}

// DeleteUsers: User.N.Name.
func (s *server) ehpcDeleteUsers(ctx context.Context, r *Request) (any, error) {
	if _, err := r.OptBool("Async"); err != nil {
		return nil, err
	}
	var names []string
	for _, u := range structList(r, "User") {
		names = append(names, u["Name"])
	}
	return nil, s.d.EHPC.DeleteUsers(ctx, r.Caller, clusterRef(r), names)
}

func visualMessage(st core.VisualStatus) *ehpcMessageResponse {
	if st.Started {
		return &ehpcMessageResponse{Message: visualStarted}
	}
	return &ehpcMessageResponse{Message: visualStopped}
}

func visualInput(r *Request) (core.VisualServiceInput, error) {
	port, err := r.Int("Port")
	if err != nil {
		return core.VisualServiceInput{}, err
	}
	return core.VisualServiceInput{Port: port, CIDR: r.Get("CidrIp")}, nil
}

// StartVisualService: ClusterId, Port, CidrIp.
func (s *server) ehpcStartVisualService(ctx context.Context, r *Request) (any, error) {
	in, err := visualInput(r)
	if err != nil {
		return nil, err
	}
	st, err := s.d.EHPC.StartVisualService(ctx, r.Caller, clusterRef(r), in)
	if err != nil {
		return nil, err
	}
	return visualMessage(st), nil
}

// StopVisualService: ClusterId, Port, CidrIp.
func (s *server) ehpcStopVisualService(ctx context.Context, r *Request) (any, error) {
	in, err := visualInput(r)
	if err != nil {
		return nil, err
	}
	st, err := s.d.EHPC.StopVisualService(ctx, r.Caller, clusterRef(r), in)
	if err != nil {
		return nil, err
	}
	return visualMessage(st), nil
}

// GetVisualServiceStatus.
func (s *server) ehpcGetVisualServiceStatus(ctx context.Context, r *Request) (any, error) {
	st, err := s.d.EHPC.GetVisualServiceStatus(ctx, r.Caller, clusterRef(r))
	if err != nil {
		return nil, err
	}
	return visualMessage(st), nil
}

// ModifyVisualServicePasswd: ClusterId, RunasUser, RunasUserPassword,
// Passwd (seeds 002 and 004). Message says whether the service is
// running: "Service started." or "Service stopped.".
func (s *server) ehpcModifyVisualServicePasswd(ctx context.Context, r *Request) (any, error) {
	st, err := s.d.EHPC.ModifyVisualServicePasswd(ctx, r.Caller, clusterRef(r), core.VisualPasswdInput{
		RunasUser:         r.Get("RunasUser"),
		RunasUserPassword: core.NewSecret(r.Get("RunasUserPassword")),
		Passwd:            core.NewSecret(r.Get("Passwd")),
	})
	if err != nil {
		return nil, err
	}
	return visualMessage(st), nil
}
