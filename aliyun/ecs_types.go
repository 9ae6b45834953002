package aliyun

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
)

// The ECS response bodies. JSON and XML names and JSON types follow
// SDKv1's services/ecs response structs and ECSv7's models; list fields
// are wrapped objects ("Instances":{"Instance":[…]}), never bare arrays,
// and are rendered as [] rather than null when empty.

type ecsRegion struct {
	RegionId       string `json:"RegionId" xml:"RegionId"`
	LocalName      string `json:"LocalName" xml:"LocalName"`
	RegionEndpoint string `json:"RegionEndpoint" xml:"RegionEndpoint"`
	Status         string `json:"Status" xml:"Status"`
}

type ecsDescribeRegionsResponse struct {
	responseMeta
	Regions struct {
		Region []ecsRegion `json:"Region" xml:"Region"`
	} `json:"Regions" xml:"Regions"`
}

type ecsRunInstancesResponse struct {
	responseMeta
	OrderId        string  `json:"OrderId" xml:"OrderId"`
	TradePrice     float64 `json:"TradePrice" xml:"TradePrice"`
	InstanceIdSets struct {
		InstanceIdSet []string `json:"InstanceIdSet" xml:"InstanceIdSet"`
	} `json:"InstanceIdSets" xml:"InstanceIdSets"`
}

type ecsCreateInstanceResponse struct {
	responseMeta
	InstanceId string  `json:"InstanceId" xml:"InstanceId"`
	OrderId    string  `json:"OrderId" xml:"OrderId"`
	TradePrice float64 `json:"TradePrice" xml:"TradePrice"`
}

type ecsDescribeInstancesResponse struct {
	responseMeta
	TotalCount int    `json:"TotalCount" xml:"TotalCount"`
	PageNumber int    `json:"PageNumber" xml:"PageNumber"`
	PageSize   int    `json:"PageSize" xml:"PageSize"`
	NextToken  string `json:"NextToken" xml:"NextToken"`
	Instances  struct {
		Instance []ecsInstance `json:"Instance" xml:"Instance"`
	} `json:"Instances" xml:"Instances"`
}

type ecsDescribeInstanceVncURLResponse struct {
	responseMeta
	VncUrl string `json:"VncUrl" xml:"VncUrl"`
}

// ipList is the {"IpAddress":[…]} wrapper.
type ipList struct {
	IpAddress []string `json:"IpAddress" xml:"IpAddress"`
}

// ecsInstance is one element of DescribeInstances' Instances.Instance
// (ECSv7 DescribeInstancesResponseBodyInstancesInstance; SDKv1 Instance).
type ecsInstance struct {
	InstanceId              string  `json:"InstanceId" xml:"InstanceId"`
	InstanceName            string  `json:"InstanceName" xml:"InstanceName"`
	HostName                string  `json:"HostName" xml:"HostName"`
	Description             string  `json:"Description" xml:"Description"`
	RegionId                string  `json:"RegionId" xml:"RegionId"`
	ZoneId                  string  `json:"ZoneId" xml:"ZoneId"`
	InstanceType            string  `json:"InstanceType" xml:"InstanceType"`
	InstanceTypeFamily      string  `json:"InstanceTypeFamily" xml:"InstanceTypeFamily"`
	ImageId                 string  `json:"ImageId" xml:"ImageId"`
	OSName                  string  `json:"OSName" xml:"OSName"`
	OSNameEn                string  `json:"OSNameEn" xml:"OSNameEn"`
	OSType                  string  `json:"OSType" xml:"OSType"`
	Cpu                     int     `json:"Cpu" xml:"Cpu"`
	Memory                  int     `json:"Memory" xml:"Memory"`
	GPUAmount               int     `json:"GPUAmount" xml:"GPUAmount"`
	GPUSpec                 string  `json:"GPUSpec" xml:"GPUSpec"`
	Status                  string  `json:"Status" xml:"Status"`
	StoppedMode             string  `json:"StoppedMode" xml:"StoppedMode"`
	CreationTime            string  `json:"CreationTime" xml:"CreationTime"`
	StartTime               string  `json:"StartTime" xml:"StartTime"`
	ExpiredTime             string  `json:"ExpiredTime" xml:"ExpiredTime"`
	AutoReleaseTime         string  `json:"AutoReleaseTime" xml:"AutoReleaseTime"`
	DeletionProtection      bool    `json:"DeletionProtection" xml:"DeletionProtection"`
	Recyclable              bool    `json:"Recyclable" xml:"Recyclable"`
	DeviceAvailable         bool    `json:"DeviceAvailable" xml:"DeviceAvailable"`
	IoOptimized             bool    `json:"IoOptimized" xml:"IoOptimized"`
	InstanceNetworkType     string  `json:"InstanceNetworkType" xml:"InstanceNetworkType"`
	InternetChargeType      string  `json:"InternetChargeType" xml:"InternetChargeType"`
	InternetMaxBandwidthIn  int     `json:"InternetMaxBandwidthIn" xml:"InternetMaxBandwidthIn"`
	InternetMaxBandwidthOut int     `json:"InternetMaxBandwidthOut" xml:"InternetMaxBandwidthOut"`
	InstanceChargeType      string  `json:"InstanceChargeType" xml:"InstanceChargeType"`
	SpotStrategy            string  `json:"SpotStrategy" xml:"SpotStrategy"`
	SpotPriceLimit          float64 `json:"SpotPriceLimit" xml:"SpotPriceLimit"`
	SpotDuration            int     `json:"SpotDuration" xml:"SpotDuration"`
	KeyPairName             string  `json:"KeyPairName" xml:"KeyPairName"`
	ResourceGroupId         string  `json:"ResourceGroupId" xml:"ResourceGroupId"`
	HpcClusterId            string  `json:"HpcClusterId" xml:"HpcClusterId"`
	DeploymentSetId         string  `json:"DeploymentSetId" xml:"DeploymentSetId"`
	CreditSpecification     string  `json:"CreditSpecification" xml:"CreditSpecification"`
	SerialNumber            string  `json:"SerialNumber" xml:"SerialNumber"`
	VlanId                  string  `json:"VlanId" xml:"VlanId"`
	LocalStorageAmount      int     `json:"LocalStorageAmount" xml:"LocalStorageAmount"`
	LocalStorageCapacity    int64   `json:"LocalStorageCapacity" xml:"LocalStorageCapacity"`

	VpcAttributes struct {
		VpcId            string `json:"VpcId" xml:"VpcId"`
		VSwitchId        string `json:"VSwitchId" xml:"VSwitchId"`
		NatIpAddress     string `json:"NatIpAddress" xml:"NatIpAddress"`
		PrivateIpAddress ipList `json:"PrivateIpAddress" xml:"PrivateIpAddress"`
	} `json:"VpcAttributes" xml:"VpcAttributes"`
	PublicIpAddress ipList `json:"PublicIpAddress" xml:"PublicIpAddress"`
	InnerIpAddress  ipList `json:"InnerIpAddress" xml:"InnerIpAddress"`
	RdmaIpAddress   ipList `json:"RdmaIpAddress" xml:"RdmaIpAddress"`
	EipAddress      struct {
		AllocationId         string `json:"AllocationId" xml:"AllocationId"`
		IpAddress            string `json:"IpAddress" xml:"IpAddress"`
		InternetChargeType   string `json:"InternetChargeType" xml:"InternetChargeType"`
		Bandwidth            int    `json:"Bandwidth" xml:"Bandwidth"`
		IsSupportUnassociate bool   `json:"IsSupportUnassociate" xml:"IsSupportUnassociate"`
	} `json:"EipAddress" xml:"EipAddress"`
	SecurityGroupIds struct {
		SecurityGroupId []string `json:"SecurityGroupId" xml:"SecurityGroupId"`
	} `json:"SecurityGroupIds" xml:"SecurityGroupIds"`
	NetworkInterfaces struct {
		NetworkInterface []struct{} `json:"NetworkInterface" xml:"NetworkInterface"`
	} `json:"NetworkInterfaces" xml:"NetworkInterfaces"`
	OperationLocks struct {
		LockReason []ecsLockReason `json:"LockReason" xml:"LockReason"`
	} `json:"OperationLocks" xml:"OperationLocks"`
	Tags struct {
		Tag []ecsTag `json:"Tag" xml:"Tag"`
	} `json:"Tags" xml:"Tags"`
	CpuOptions struct {
		CoreCount      int    `json:"CoreCount" xml:"CoreCount"`
		ThreadsPerCore int    `json:"ThreadsPerCore" xml:"ThreadsPerCore"`
		Numa           string `json:"Numa" xml:"Numa"`
	} `json:"CpuOptions" xml:"CpuOptions"`
	MetadataOptions struct {
		HttpEndpoint            string `json:"HttpEndpoint" xml:"HttpEndpoint"`
		HttpTokens              string `json:"HttpTokens" xml:"HttpTokens"`
		HttpPutResponseHopLimit int    `json:"HttpPutResponseHopLimit" xml:"HttpPutResponseHopLimit"`
	} `json:"MetadataOptions" xml:"MetadataOptions"`
	HibernationOptions struct {
		Configured bool `json:"Configured" xml:"Configured"`
	} `json:"HibernationOptions" xml:"HibernationOptions"`
	DedicatedHostAttribute struct {
		DedicatedHostId        string `json:"DedicatedHostId" xml:"DedicatedHostId"`
		DedicatedHostName      string `json:"DedicatedHostName" xml:"DedicatedHostName"`
		DedicatedHostClusterId string `json:"DedicatedHostClusterId" xml:"DedicatedHostClusterId"`
	} `json:"DedicatedHostAttribute" xml:"DedicatedHostAttribute"`
	DedicatedInstanceAttribute struct {
		Affinity string `json:"Affinity" xml:"Affinity"`
		Tenancy  string `json:"Tenancy" xml:"Tenancy"`
	} `json:"DedicatedInstanceAttribute" xml:"DedicatedInstanceAttribute"`
	EcsCapacityReservationAttr struct {
		CapacityReservationId         string `json:"CapacityReservationId" xml:"CapacityReservationId"`
		CapacityReservationPreference string `json:"CapacityReservationPreference" xml:"CapacityReservationPreference"`
	} `json:"EcsCapacityReservationAttr" xml:"EcsCapacityReservationAttr"`
}

type ecsLockReason struct {
	LockReason string `json:"LockReason" xml:"LockReason"`
	LockMsg    string `json:"LockMsg" xml:"LockMsg"`
}

type ecsTag struct {
	TagKey   string `json:"TagKey" xml:"TagKey"`
	TagValue string `json:"TagValue" xml:"TagValue"`
}

// ecsTimeLayout is ECS's response time format: ISO 8601 UTC to the minute.
const ecsTimeLayout = "2006-01-02T15:04Z"

// postPaidExpiry is the ExpiredTime ECS shows for pay-as-you-go instances.
const postPaidExpiry = "2099-12-31T15:59Z"

func ecsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ecsTimeLayout)
}

// renderInstance turns a stored instance into its DescribeInstances
// element. Networking and images are not modeled: the creation parameters
// kept in Params are echoed where ECS shows them, and CPU and memory are
// derived from the instance type's name.
func renderInstance(inst *core.Instance) ecsInstance {
	p := inst.Params
	cpu, mem := instanceShape(inst.InstanceType)
	out := ecsInstance{
		InstanceId:              string(inst.ID),
		InstanceName:            inst.Name,
		HostName:                inst.HostName,
		Description:             inst.Description,
		RegionId:                string(inst.RegionID),
		ZoneId:                  string(inst.ZoneID),
		InstanceType:            inst.InstanceType,
		InstanceTypeFamily:      instanceFamily(inst.InstanceType),
		ImageId:                 inst.ImageID,
		OSType:                  osType(inst.ImageID),
		Cpu:                     cpu,
		Memory:                  mem,
		Status:                  string(inst.Status),
		StoppedMode:             "Not-applicable",
		CreationTime:            ecsTime(inst.CreatedAt),
		StartTime:               ecsTime(inst.StartedAt),
		DeviceAvailable:         true,
		IoOptimized:             inst.IoOptimized,
		InstanceNetworkType:     "vpc",
		InternetChargeType:      orDefault(p["InternetChargeType"], "PayByTraffic"),
		InternetMaxBandwidthIn:  atoiOr(p["InternetMaxBandwidthIn"], 200),
		InternetMaxBandwidthOut: atoiOr(p["InternetMaxBandwidthOut"], 0),
		InstanceChargeType:      inst.ChargeType,
		SpotStrategy:            orDefault(p["SpotStrategy"], "NoSpot"),
		SpotDuration:            atoiOr(p["SpotDuration"], 0),
		KeyPairName:             p["KeyPairName"],
		ResourceGroupId:         p["ResourceGroupId"],
		HpcClusterId:            p["HpcClusterId"],
		DeploymentSetId:         p["DeploymentSetId"],
		CreditSpecification:     p["CreditSpecification"],
		SerialNumber:            serialNumber(inst.ID),
		AutoReleaseTime:         p["AutoReleaseTime"],
	}
	out.OSName, out.OSNameEn = osName(out.OSType)
	if inst.Status == core.StatusStopped && inst.StoppedMode != "" {
		out.StoppedMode = inst.StoppedMode
	} else if inst.Status == core.StatusStopped {
		out.StoppedMode = "KeepCharging"
	}
	if inst.ChargeType == "PostPaid" {
		out.ExpiredTime = postPaidExpiry
	}
	if inst.ReleaseAt.IsZero() && p["DeletionProtection"] == "true" {
		out.DeletionProtection = true
	}
	out.VpcAttributes.VpcId = p["VpcId"]
	out.VpcAttributes.VSwitchId = p["VSwitchId"]
	out.VpcAttributes.PrivateIpAddress.IpAddress = listOf(p["PrivateIpAddress"])
	out.PublicIpAddress.IpAddress = []string{}
	out.InnerIpAddress.IpAddress = []string{}
	out.RdmaIpAddress.IpAddress = []string{}
	out.SecurityGroupIds.SecurityGroupId = securityGroups(p)
	out.NetworkInterfaces.NetworkInterface = []struct{}{}
	out.OperationLocks.LockReason = []ecsLockReason{}
	out.Tags.Tag = tags(p)
	out.CpuOptions.CoreCount = max(cpu/2, 1)
	out.CpuOptions.ThreadsPerCore = 2
	if cpu == 1 {
		out.CpuOptions.ThreadsPerCore = 1
	}
	out.MetadataOptions.HttpEndpoint = orDefault(p["HttpEndpoint"], "enabled")
	out.MetadataOptions.HttpTokens = orDefault(p["HttpTokens"], "optional")
	out.MetadataOptions.HttpPutResponseHopLimit = atoiOr(p["HttpPutResponseHopLimit"], 1)
	out.DedicatedInstanceAttribute.Tenancy = p["Tenancy"]
	out.DedicatedInstanceAttribute.Affinity = p["Affinity"]
	out.DedicatedHostAttribute.DedicatedHostId = p["DedicatedHostId"]
	return out
}

// instanceFamily is the type without its size: ecs.g6.large → ecs.g6.
func instanceFamily(t string) string {
	if i := strings.LastIndexByte(t, '.'); i > 0 {
		return t[:i]
	}
	return t
}

// instanceShape derives vCPUs and memory (MiB) from an instance type
// name: the size suffix gives the vCPUs (small 1, medium and large 2,
// xlarge 4, Nxlarge 4N) and the family letter the GiB per vCPU (c 2,
// g 4, r 8; 4 otherwise). It is an approximation: types are not modeled.
func instanceShape(t string) (cpu, memMiB int) {
	size := t[strings.LastIndexByte(t, '.')+1:]
	switch {
	case size == "small":
		cpu = 1
	case size == "medium", size == "large":
		cpu = 2
	case size == "xlarge":
		cpu = 4
	case strings.HasSuffix(size, "xlarge"):
		n, err := strconv.Atoi(strings.TrimSuffix(size, "xlarge"))
		if err != nil || n < 1 || n > 256 {
			n = 1
		}
		cpu = 4 * n
	default:
		cpu = 2
	}
	family := strings.TrimPrefix(instanceFamily(t), "ecs.")
	family = strings.TrimPrefix(family, "hf")
	perCPU := 4
	if family != "" {
		switch family[0] {
		case 'c':
			perCPU = 2
		case 'r':
			perCPU = 8
		}
	}
	return cpu, cpu * perCPU * 1024
}

// osType guesses the OS from the image id: Windows images are named win….
func osType(image string) string {
	if len(image) >= 3 && strings.EqualFold(image[:3], "win") {
		return "windows"
	}
	return "linux"
}

func osName(osType string) (zh, en string) {
	if osType == "windows" {
		return "Windows Server", "Windows Server"
	}
	return "Linux", "Linux"
}

// serialNumber is a stable UUID-shaped serial derived from the id.
func serialNumber(id core.InstanceID) string {
	h := sha256.Sum256([]byte(id))
	b := make([]byte, 0, 36)
	for i, part := range [][]byte{h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, part)
	}
	return string(b)
}

// securityGroups reads SecurityGroupId and SecurityGroupIds.N from the
// echoed creation parameters.
func securityGroups(p map[string]string) []string {
	r := &Request{Params: p}
	out := []string{}
	if sg := p["SecurityGroupId"]; sg != "" {
		out = append(out, sg)
	}
	return append(out, r.Repeated("SecurityGroupIds")...)
}

// tags reads Tag.N.Key / Tag.N.Value from the echoed creation parameters.
func tags(p map[string]string) []ecsTag {
	r := &Request{Params: p}
	out := []ecsTag{}
	for _, kv := range r.Pairs("Tag") {
		out = append(out, ecsTag{TagKey: kv[0], TagValue: kv[1]})
	}
	return out
}

func listOf(v string) []string {
	if v == "" {
		return []string{}
	}
	return []string{v}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func atoiOr(v string, def int) int {
	if v == "" {
		return def // the common case, without Atoi's error value
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return def
}
