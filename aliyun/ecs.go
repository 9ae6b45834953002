package aliyun

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// ecsVersion is the API version of ECS.
const ecsVersion = "2014-05-26"

// ecsProduct is ECS's dispatch map (PRODUCT.md §3). Request parameters
// are read the way alibaba-cloud-sdk-go's services/ecs sends them, and
// responses have the JSON names and types of its response structs and
// of ECSv7's models.
func (s *server) ecsProduct() *product {
	return &product{
		name:     "ecs",
		code:     "Ecs",
		version:  ecsVersion,
		mapError: ecsError,
		enabled:  s.d.ECS != nil,
		actions: map[string]action{
			"DescribeRegions":   {handle: s.ecsDescribeRegions},
			"RunInstances":      {handle: s.ecsRunInstances, mutating: true, resource: createdInstances},
			"CreateInstance":    {handle: s.ecsCreateInstance, mutating: true, resource: createdInstances},
			"DescribeInstances": {handle: s.ecsDescribeInstances},
			"StartInstance":     {handle: s.ecsStartInstance, mutating: true},
			"StopInstance":      {handle: s.ecsStopInstance, mutating: true},
			"RebootInstance":    {handle: s.ecsRebootInstance, mutating: true},
			"DeleteInstance":    {handle: s.ecsDeleteInstance, mutating: true},
			// Issuing a console ticket grants access to a console: it is
			// audited like a change.
			"DescribeInstanceVncUrl":  {handle: s.ecsDescribeInstanceVncURL, mutating: true},
			"ModifyInstanceVncPasswd": {handle: s.ecsModifyInstanceVncPasswd, mutating: true, nonceInChange: true},
		},
	}
}

// createdInstances names the instances a creation call made, for audit;
// the region when it failed.
func createdInstances(r *Request, resp any) string {
	switch v := resp.(type) {
	case *ecsRunInstancesResponse:
		return strings.Join(v.InstanceIdSets.InstanceIdSet, ",")
	case *ecsCreateInstanceResponse:
		return v.InstanceId
	}
	return "region/" + r.Get("RegionId")
}

// DescribeRegions: AcceptLanguage (zh-CN by default, en-US, …) picks the
// LocalName; InstanceChargeType and ResourceType are checked and
// otherwise ignored (every region offers everything).
func (s *server) ecsDescribeRegions(ctx context.Context, r *Request) (any, error) {
	switch r.Get("ResourceType") {
	case "", "instance", "disk", "reservedinstance", "scu":
	default:
		return nil, core.Invalid(core.ReasonInvalidParameter, "ResourceType")
	}
	switch r.Get("InstanceChargeType") {
	case "", "PrePaid", "PostPaid", "SpotWithPriceLimit", "SpotAsPriceGo":
	default:
		return nil, core.Invalid(core.ReasonInvalidParameter, "InstanceChargeType")
	}
	regions, err := s.d.ECS.DescribeRegions(ctx, r.Caller)
	if err != nil {
		return nil, err
	}
	lang := r.Get("AcceptLanguage")
	resp := &ecsDescribeRegionsResponse{}
	resp.Regions.Region = make([]ecsRegion, 0, len(regions))
	for _, reg := range regions {
		resp.Regions.Region = append(resp.Regions.Region, ecsRegion{
			RegionId:       string(reg.ID),
			LocalName:      reg.LocalName(lang),
			RegionEndpoint: reg.Endpoint,
			Status:         "available",
		})
	}
	return resp, nil
}

// createConsumed are the CreateInstance/RunInstances parameters that map
// onto CreateInstanceInput fields; every other API parameter is kept in
// Params and echoed back by DescribeInstances.
func createConsumed(name string) bool {
	switch name {
	case "RegionId", "ZoneId", "InstanceType", "ImageId", "InstanceName", "HostName",
		"Description", "IoOptimized", "InstanceChargeType", "Password", "Amount",
		"ClientToken", "DryRun", "OwnerId", "OwnerAccount", "ResourceOwnerId",
		"ResourceOwnerAccount":
		return true
	}
	return false
}

// createInput reads the parameters CreateInstance and RunInstances share.
// IoOptimized is the string "optimized" (the default) or "none".
func createInput(r *Request) (core.CreateInstanceInput, error) {
	in := core.CreateInstanceInput{
		RegionID:      core.RegionID(r.Get("RegionId")),
		ZoneID:        core.ZoneID(r.Get("ZoneId")),
		InstanceType:  r.Get("InstanceType"),
		ImageID:       r.Get("ImageId"),
		Name:          r.Get("InstanceName"),
		HostName:      r.Get("HostName"),
		Description:   r.Get("Description"),
		ChargeType:    r.Get("InstanceChargeType"),
		AdminPassword: core.NewSecret(r.Get("Password")),
		ClientToken:   r.Get("ClientToken"),
	}
	switch r.Get("IoOptimized") {
	case "", "optimized":
		in.IoOptimized = true
	case "none":
	default:
		return in, core.Invalid(core.ReasonInvalidParameter, "IoOptimized")
	}
	switch in.ChargeType {
	case "", "PrePaid", "PostPaid":
	default:
		return in, core.Invalid(core.ReasonInvalidParameter, "InstanceChargeType")
	}
	var err error
	if in.DryRun, err = r.Bool("DryRun"); err != nil {
		return in, err
	}
	for k, v := range r.Params {
		if createConsumed(k) || isSecretParam(k) {
			continue
		}
		if in.Params == nil {
			in.Params = make(map[string]string)
		}
		in.Params[k] = v
	}
	return in, nil
}

// RunInstances creates Amount instances (1 by default) and starts them.
func (s *server) ecsRunInstances(ctx context.Context, r *Request) (any, error) {
	in, err := createInput(r)
	if err != nil {
		return nil, err
	}
	if in.Amount, err = r.Int("Amount"); err != nil {
		return nil, err
	}
	if _, err := r.Int("MinAmount"); err != nil {
		return nil, err
	}
	ids, err := s.d.ECS.RunInstances(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	resp := &ecsRunInstancesResponse{}
	resp.InstanceIdSets.InstanceIdSet = make([]string, len(ids))
	for i, id := range ids {
		resp.InstanceIdSets.InstanceIdSet[i] = string(id)
	}
	return resp, nil
}

// CreateInstance creates one instance, Stopped.
func (s *server) ecsCreateInstance(ctx context.Context, r *Request) (any, error) {
	in, err := createInput(r)
	if err != nil {
		return nil, err
	}
	id, err := s.d.ECS.CreateInstance(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	return &ecsCreateInstanceResponse{InstanceId: string(id)}, nil
}

// DescribeInstances: filters InstanceIds (a JSON array string), Status,
// InstanceName, ZoneId, IoOptimized (a boolean here); paging by
// PageNumber/PageSize, or by NextToken/MaxResults when either is given.
// Other filters of the API are not modeled and are ignored.
func (s *server) ecsDescribeInstances(ctx context.Context, r *Request) (any, error) {
	in := core.DescribeInstancesInput{
		RegionID:  core.RegionID(r.Get("RegionId")),
		Status:    core.InstanceStatus(r.Get("Status")),
		Name:      r.Get("InstanceName"),
		ZoneID:    core.ZoneID(r.Get("ZoneId")),
		NextToken: r.Get("NextToken"),
	}
	switch in.Status {
	case "", core.StatusPending, core.StatusStarting, core.StatusRunning, core.StatusStopping, core.StatusStopped:
	default:
		return nil, core.Invalid(core.ReasonInvalidParameter, "Status")
	}
	ids, err := r.JSONList("InstanceIds")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		in.InstanceIDs = append(in.InstanceIDs, core.InstanceID(id))
	}
	if in.IoOptimized, err = r.OptBool("IoOptimized"); err != nil {
		return nil, err
	}
	if in.PageNumber, err = r.Int("PageNumber"); err != nil {
		return nil, err
	}
	if in.PageSize, err = r.Int("PageSize"); err != nil {
		return nil, err
	}
	if in.MaxResults, err = r.Int("MaxResults"); err != nil {
		return nil, err
	}
	in.TokenPaging = in.NextToken != "" || r.Get("MaxResults") != ""
	page, err := s.d.ECS.DescribeInstances(ctx, r.Caller, in)
	if err != nil {
		return nil, err
	}
	resp := &ecsDescribeInstancesResponse{
		TotalCount: page.TotalCount,
		PageNumber: page.PageNumber,
		PageSize:   page.PageSize,
		NextToken:  page.NextToken,
	}
	resp.Instances.Instance = make([]ecsInstance, 0, len(page.Instances))
	for _, inst := range page.Instances {
		resp.Instances.Instance = append(resp.Instances.Instance, renderInstance(inst))
	}
	return resp, nil
}

// instanceRef reads RegionId, InstanceId and DryRun, which every
// single-instance action takes.
func instanceRef(r *Request) (core.InstanceRef, error) {
	ref := core.InstanceRef{
		RegionID:   core.RegionID(r.Get("RegionId")),
		InstanceID: core.InstanceID(r.Get("InstanceId")),
	}
	var err error
	ref.DryRun, err = r.Bool("DryRun")
	return ref, err
}

// StartInstance: InstanceId; InitLocalDisk is accepted and ignored.
func (s *server) ecsStartInstance(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	if _, err := r.Bool("InitLocalDisk"); err != nil {
		return nil, err
	}
	return nil, s.d.ECS.StartInstance(ctx, r.Caller, ref)
}

// StopInstance: InstanceId, ForceStop, StoppedMode (KeepCharging or
// StopCharging); ConfirmStop and Hibernate are accepted and ignored.
func (s *server) ecsStopInstance(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	if ref.ForceStop, err = r.Bool("ForceStop"); err != nil {
		return nil, err
	}
	for _, name := range []string{"ConfirmStop", "Hibernate"} {
		if _, err := r.Bool(name); err != nil {
			return nil, err
		}
	}
	ref.StoppedMode = r.Get("StoppedMode")
	return nil, s.d.ECS.StopInstance(ctx, r.Caller, ref)
}

// RebootInstance: InstanceId, ForceStop.
func (s *server) ecsRebootInstance(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	if ref.ForceStop, err = r.Bool("ForceStop"); err != nil {
		return nil, err
	}
	return nil, s.d.ECS.RebootInstance(ctx, r.Caller, ref)
}

// DeleteInstance: InstanceId, Force (release a Running instance; carried
// as InstanceRef.ForceStop); TerminateSubscription is accepted and
// ignored.
func (s *server) ecsDeleteInstance(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	if ref.ForceStop, err = r.Bool("Force"); err != nil {
		return nil, err
	}
	if _, err := r.Bool("TerminateSubscription"); err != nil {
		return nil, err
	}
	return nil, s.d.ECS.DeleteInstance(ctx, r.Caller, ref)
}

// DescribeInstanceVncUrl returns the console URL, already percent-encoded
// as the real API returns it (wss%3A%2F%2F…).
func (s *server) ecsDescribeInstanceVncURL(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	tok, err := s.d.ECS.DescribeInstanceVncURL(ctx, r.Caller, ref)
	if err != nil {
		return nil, err
	}
	return &ecsDescribeInstanceVncURLResponse{VncUrl: percentEncode(s.consoleURL(r, tok.Token))}, nil
}

// consoleURL builds the plain console URL for a token.
func (s *server) consoleURL(r *Request, token string) string {
	if s.d.ConsoleURL != nil {
		return s.d.ConsoleURL(token)
	}
	scheme := "ws"
	if r.Caller.Secure {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + "/vnc/?s=" + percentEncode(token)
}

// ModifyInstanceVncPasswd: InstanceId, VncPassword (PRODUCT.md §3; seeds
// 000, 001). The rules are the service's; the password travels as a
// core.Secret from here on.
func (s *server) ecsModifyInstanceVncPasswd(ctx context.Context, r *Request) (any, error) {
	ref, err := instanceRef(r)
	if err != nil {
		return nil, err
	}
	return nil, s.d.ECS.ModifyInstanceVncPasswd(ctx, r.Caller, ref, core.NewSecret(r.Get("VncPassword")))
}
