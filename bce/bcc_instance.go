package bce

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
)

// This file holds the BCC instance operations: request decoding, the
// call into core.BCC, and the response values with the exact JSON names
// and types bce-sdk-go v0.9.277 decodes (services/bcc/api/model.go; a
// wrong type fails the SDK's whole decode, so counts that the SDK models
// as strings are strings here too).

// byAction routes a PUT on an instance by its action parameter. Exactly
// one known action must be present.
func (s *Server) byAction(actions map[string]http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var found http.Handler
		n := 0
		for piece := range strings.SplitSeq(r.URL.RawQuery, "&") {
			k, _, _ := strings.Cut(piece, "=")
			if h, ok := actions[k]; ok {
				found = h
				n++
			}
		}
		if n != 1 {
			s.reject(w, r, Errorf(CodeBadRequest, "The request must name exactly one of the actions changePass, start, stop and reboot."))
			return
		}
		found.ServeHTTP(w, r)
	})
}

// unknown answers every other path under /v2/.
func (s *Server) unknown() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reject(w, r, NewAPIError(CodeInvalidURI))
	})
}

// unknownVersion answers every path outside /v2/: a request signed with
// bce-auth-v1 reaches this front end whatever its path (IsSigned). A path
// under another API version (/v1/instance, which @baiducloud/sdk 1.0.7's
// BccClient calls) is InvalidVersion, 404: Baidu's BCC API reference and
// every maintained Baidu SDK (bce-sdk-go, bce-sdk-python) address instances
// under /v2 only. Any other path is InvalidURI.
func (s *Server) unknownVersion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(first) > 1 && first[0] == 'v' && strings.Trim(first[1:], "0123456789") == "" {
			s.reject(w, r, NewAPIError(CodeInvalidVersion))
			return
		}
		s.reject(w, r, NewAPIError(CodeInvalidURI))
	})
}

// reject answers a request that reaches no operation.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, e *APIError) {
	requestID, err := NewRequestID(s.cfg.Rand)
	if err != nil {
		requestID = "00000000-0000-4000-8000-000000000000"
	}
	writeError(w, requestID, s.cfg.Clock.Now(), e)
}

// The request bodies.
type (
	createInstanceArgs struct {
		ImageID string `json:"imageId"`
		Billing struct {
			PaymentTiming string `json:"paymentTiming"`
		} `json:"billing"`
		InstanceType          string   `json:"instanceType"`
		CPUCount              int      `json:"cpuCount"`
		MemoryCapacityInGB    int      `json:"memoryCapacityInGB"`
		LocalDiskSizeInGB     int      `json:"localDiskSizeInGB"`
		NetworkCapacityInMbps int      `json:"networkCapacityInMbps"`
		PurchaseCount         int      `json:"purchaseCount"`
		Name                  string   `json:"name"`
		Hostname              string   `json:"hostname"`
		AdminPass             string   `json:"adminPass"`
		ZoneName              string   `json:"zoneName"`
		Tags                  []tagArg `json:"tags"`
		DeletionProtection    int      `json:"deletionProtection"`

		// Accepted, stored and echoed (PRODUCT.md §3: networking and
		// images are not modeled).
		SubnetID                  string `json:"subnetId"`
		SecurityGroupID           string `json:"securityGroupId"`
		EnterpriseSecurityGroupID string `json:"enterpriseSecurityGroupId"`
		KeypairID                 string `json:"keypairId"`
		DedicatedHostID           string `json:"dedicatedHostId"`
		DeployID                  string `json:"deployId"`
		InternetChargeType        string `json:"internetChargeType"`
		EipName                   string `json:"eipName"`
		RootDiskStorageType       string `json:"rootDiskStorageType"`
		RootDiskSizeInGb          int    `json:"rootDiskSizeInGb"`
		GpuCard                   string `json:"gpuCard"`
		FpgaCard                  string `json:"fpgaCard"`
		CardCount                 string `json:"cardCount"`
		ResGroupID                string `json:"resGroupId"`
	}
	tagArg struct {
		TagKey   string `json:"tagKey"`
		TagValue string `json:"tagValue"`
	}
	stopInstanceArgs struct {
		ForceStop        bool `json:"forceStop"`
		StopWithNoCharge bool `json:"stopWithNoCharge"`
	}
	changePassArgs struct {
		AdminPass string `json:"adminPass"`
	}
)

// The response bodies.
type (
	createInstanceResult struct {
		InstanceIDs []string `json:"instanceIds"`
		WarningList []string `json:"warningList"`
	}
	listInstanceResult struct {
		Marker      string          `json:"marker"`
		IsTruncated bool            `json:"isTruncated"`
		NextMarker  string          `json:"nextMarker"`
		MaxKeys     int             `json:"maxKeys"`
		Instances   []instanceModel `json:"instances"`
	}
	getInstanceDetailResult struct {
		Instance instanceModel `json:"instance"`
	}
	vncResult struct {
		VNCURL string `json:"vncUrl"`
	}
	// batchOperationResp is the body of reboot and changePass: the SDK
	// decodes one, and fails on an empty body.
	batchOperationResp struct {
		RequestID            string   `json:"requestId"`
		FailedInstanceIDList []string `json:"failedInstanceIdList"`
	}
	instanceModel struct {
		ID                    string     `json:"id"`
		Name                  string     `json:"name"`
		Hostname              string     `json:"hostname"`
		InstanceType          string     `json:"instanceType"`
		Spec                  string     `json:"spec"`
		Desc                  string     `json:"desc"`
		Status                string     `json:"status"`
		PaymentTiming         string     `json:"paymentTiming"`
		CreateTime            string     `json:"createTime"`
		ExpireTime            string     `json:"expireTime"`
		PublicIP              string     `json:"publicIp"`
		InternalIP            string     `json:"internalIp"`
		CPUCount              int        `json:"cpuCount"`
		MemoryCapacityInGB    int        `json:"memoryCapacityInGB"`
		LocalDiskSizeInGB     int        `json:"localDiskSizeInGB"`
		NetworkCapacityInMbps int        `json:"networkCapacityInMbps"`
		GpuCard               string     `json:"gpuCard"`
		FpgaCard              string     `json:"fpgaCard"`
		CardCount             string     `json:"cardCount"`
		ImageID               string     `json:"imageId"`
		ZoneName              string     `json:"zoneName"`
		SubnetID              string     `json:"subnetId"`
		VpcID                 string     `json:"vpcId"`
		KeypairID             string     `json:"keypairId"`
		DedicatedHostID       string     `json:"dedicatedHostId"`
		EniNum                string     `json:"eniNum"`
		AutoRenew             bool       `json:"autoRenew"`
		DeletionProtection    int        `json:"deletionProtection"`
		RepairStatus          string     `json:"repairStatus"`
		Tags                  []tagModel `json:"tags"`
	}
	tagModel struct {
		TagKey   string `json:"tagKey"`
		TagValue string `json:"tagValue"`
	}
)

// bceTime renders a time as BCC does: UTC, whole seconds.
func bceTime(t time.Time) string { return t.UTC().Format(timestampLayout) }

func toInstanceModel(i *core.BCCInstance) instanceModel {
	m := instanceModel{
		ID: string(i.ID), Name: i.Name, Hostname: i.Hostname, InstanceType: i.InstanceType,
		Spec:   "bcc.g4.c" + strconv.Itoa(i.CPUCount) + "m" + strconv.Itoa(i.MemoryGB),
		Desc:   i.Description,
		Status: string(i.Status), PaymentTiming: i.PaymentTiming, CreateTime: bceTime(i.CreatedAt),
		InternalIP: i.InternalIP, CPUCount: i.CPUCount, MemoryCapacityInGB: i.MemoryGB,
		LocalDiskSizeInGB: i.LocalDiskGB, NetworkCapacityInMbps: i.NetworkMbps,
		GpuCard: i.Params["gpuCard"], FpgaCard: i.Params["fpgaCard"], CardCount: i.Params["cardCount"],
		ImageID: i.ImageID, ZoneName: i.ZoneName, SubnetID: i.Params["subnetId"],
		VpcID: i.Params["vpcId"], KeypairID: i.Params["keypairId"], DedicatedHostID: i.Params["dedicatedHostId"],
		EniNum: "0", DeletionProtection: i.DeletionProtection, RepairStatus: "normal",
		Tags: []tagModel{},
	}
	if m.CardCount == "" {
		m.CardCount = "0"
	}
	for _, t := range i.Tags {
		m.Tags = append(m.Tags, tagModel{TagKey: t.Key, TagValue: t.Value})
	}
	return m
}

func (c *call) ref() core.BCCRef {
	return core.BCCRef{RegionID: c.region, InstanceID: core.BCCInstanceID(c.r.PathValue("instanceId"))}
}

// decryptAdminPass turns an adminPass value into the password, with the
// signing key's secret.
func (c *call) decryptAdminPass(v string) (core.Secret, error) {
	return DecryptAdminPass(v, c.secret)
}

// createInstance serves POST /v2/instance[?clientToken=…].
func (s *Server) createInstance(ctx context.Context, c *call) (any, error) {
	var args createInstanceArgs
	if err := decodeBody(c.body, &args); err != nil {
		return nil, err
	}
	in := core.BCCCreateInput{
		RegionID: c.region, ZoneName: args.ZoneName, ImageID: args.ImageID,
		InstanceType: args.InstanceType, CPUCount: args.CPUCount, MemoryGB: args.MemoryCapacityInGB,
		LocalDiskGB: args.LocalDiskSizeInGB, NetworkMbps: args.NetworkCapacityInMbps,
		PaymentTiming: args.Billing.PaymentTiming, Name: args.Name, Hostname: args.Hostname,
		PurchaseCount: args.PurchaseCount, DeletionProtection: args.DeletionProtection,
		ClientToken: c.r.URL.Query().Get("clientToken"),
	}
	if args.AdminPass != "" {
		pw, err := c.decryptAdminPass(args.AdminPass)
		if err != nil {
			return nil, err
		}
		in.AdminPassword = pw
	}
	for _, t := range args.Tags {
		in.Tags = append(in.Tags, core.BCCTag{Key: t.TagKey, Value: t.TagValue})
	}
	params := map[string]string{
		"subnetId": args.SubnetID, "securityGroupId": args.SecurityGroupID,
		"enterpriseSecurityGroupId": args.EnterpriseSecurityGroupID, "keypairId": args.KeypairID,
		"dedicatedHostId": args.DedicatedHostID, "deployId": args.DeployID,
		"internetChargeType": args.InternetChargeType, "eipName": args.EipName,
		"rootDiskStorageType": args.RootDiskStorageType, "gpuCard": args.GpuCard,
		"fpgaCard": args.FpgaCard, "cardCount": args.CardCount, "resGroupId": args.ResGroupID,
	}
	if args.RootDiskSizeInGb != 0 {
		params["rootDiskSizeInGb"] = strconv.Itoa(args.RootDiskSizeInGb)
	}
	if args.SubnetID != "" {
		// A subnet belongs to a VPC; without networking modeled, the
		// VPC is named after the subnet so the vpcId filter can find it.
		params["vpcId"] = "vpc-" + strings.TrimPrefix(args.SubnetID, "sbn-")
	}
	for k, v := range params {
		if v == "" {
			delete(params, k)
		}
	}
	if len(params) > 0 {
		in.Params = params
	}
	ids, err := s.cfg.BCC.CreateInstance(ctx, c.caller, in)
	if err != nil {
		return nil, err
	}
	res := createInstanceResult{InstanceIDs: make([]string, len(ids)), WarningList: []string{}}
	for n, id := range ids {
		res.InstanceIDs[n] = string(id)
	}
	return res, nil
}

// listInstances serves GET /v2/instance with the SDK's query parameters;
// unknown parameters are ignored.
func (s *Server) listInstances(ctx context.Context, c *call) (any, error) {
	q := c.r.URL.Query()
	in := core.BCCListInput{
		RegionID: c.region, Marker: core.BCCInstanceID(q.Get("marker")),
		FuzzyName: q.Get("fuzzyInstanceName"), Status: core.InstanceStatus(q.Get("status")),
		ZoneName: q.Get("zoneName"), PaymentTiming: q.Get("paymentTiming"),
		Names: splitList(q.Get("instanceNames")), Tags: splitList(q.Get("tags")),
		InternalIPs: append(splitList(q.Get("internalIp")), splitList(q.Get("privateIps"))...),
	}
	for _, id := range splitList(q.Get("instanceIds")) {
		in.InstanceIDs = append(in.InstanceIDs, core.BCCInstanceID(id))
	}
	if v := q.Get("maxKeys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, Errorf(CodeBadRequest, "maxKeys must be an integer between 1 and 1000.")
		}
		in.MaxKeys = n
	}
	in.Params = paramFilters(q)
	page, err := s.cfg.BCC.ListInstances(ctx, c.caller, in)
	if err != nil {
		return nil, err
	}
	res := listInstanceResult{
		Marker: string(page.Marker), IsTruncated: page.IsTruncated, NextMarker: string(page.NextMarker),
		MaxKeys: page.MaxKeys, Instances: make([]instanceModel, 0, len(page.Instances)),
	}
	for _, i := range page.Instances {
		res.Instances = append(res.Instances, toInstanceModel(i))
	}
	return res, nil
}

// paramFilters picks the list filters on echoed creation parameters. The
// SDK spells the dedicated host parameter dedicateHostId, the
// documentation dedicatedHostId; both are accepted.
func paramFilters(q url.Values) map[string]string {
	f := map[string]string{}
	for param, key := range map[string]string{
		"vpcId": "vpcId", "keypairId": "keypairId",
		"dedicateHostId": "dedicatedHostId", "dedicatedHostId": "dedicatedHostId",
	} {
		if v := q.Get(param); v != "" {
			f[key] = v
		}
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// splitList splits a comma-separated multi-value parameter.
func splitList(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// getInstanceDetail serves GET /v2/instance/{id}; isDeploySet and
// containsFailed are accepted and ignored.
func (s *Server) getInstanceDetail(ctx context.Context, c *call) (any, error) {
	inst, err := s.cfg.BCC.GetInstance(ctx, c.caller, c.ref())
	if err != nil {
		return nil, err
	}
	return getInstanceDetailResult{Instance: toInstanceModel(inst)}, nil
}

// startInstance serves PUT /v2/instance/{id}?start (no body).
func (s *Server) startInstance(ctx context.Context, c *call) (any, error) {
	return nil, s.cfg.BCC.StartInstance(ctx, c.caller, c.ref())
}

// stopInstance serves PUT /v2/instance/{id}?stop.
func (s *Server) stopInstance(ctx context.Context, c *call) (any, error) {
	var args stopInstanceArgs
	if err := decodeBody(c.body, &args); err != nil {
		return nil, err
	}
	return nil, s.cfg.BCC.StopInstance(ctx, c.caller, c.ref(), args.ForceStop)
}

// rebootInstance serves PUT /v2/instance/{id}?reboot.
func (s *Server) rebootInstance(ctx context.Context, c *call) (any, error) {
	var args stopInstanceArgs
	if err := decodeBody(c.body, &args); err != nil {
		return nil, err
	}
	if err := s.cfg.BCC.RebootInstance(ctx, c.caller, c.ref(), args.ForceStop); err != nil {
		return nil, err
	}
	return c.batchResult(), nil
}

// deleteInstance serves DELETE /v2/instance/{id}.
func (s *Server) deleteInstance(ctx context.Context, c *call) (any, error) {
	return nil, s.cfg.BCC.DeleteInstance(ctx, c.caller, c.ref())
}

// getInstanceVNC serves GET /v2/instance/{id}/vnc.
func (s *Server) getInstanceVNC(ctx context.Context, c *call) (any, error) {
	tok, err := s.cfg.BCC.GetInstanceVNC(ctx, c.caller, c.ref())
	if err != nil {
		return nil, err
	}
	return vncResult{VNCURL: s.cfg.ConsoleURL(tok.Token)}, nil
}

// changeInstancePass serves PUT /v2/instance/{id}?changePass (seed 003).
// The order of checks: the body, the decryption, then the service's
// policy, instance and status rules.
func (s *Server) changeInstancePass(ctx context.Context, c *call) (any, error) {
	var args changePassArgs
	if err := decodeBody(c.body, &args); err != nil {
		return nil, err
	}
	if args.AdminPass == "" {
		return nil, Errorf(CodeBadRequest, "adminPass is required.")
	}
	pw, err := c.decryptAdminPass(args.AdminPass)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.BCC.ChangeInstancePass(ctx, c.caller, c.ref(), pw); err != nil {
		return nil, err
	}
	return c.batchResult(), nil
}

func (c *call) batchResult() batchOperationResp {
	return batchOperationResp{RequestID: string(c.caller.RequestID), FailedInstanceIDList: []string{}}
}
