package aliyun

// The E-HPC 2018-04-12 response bodies. JSON and XML names and JSON types
// follow services/ehpc of alibaba-cloud-sdk-go v1.62.713, the last SDKv1
// release with this API version (shared/reference/alibaba-rpc.md §3.2):
// ClusterInfoSimple's ComputeSpotPriceLimit is a number, ClusterInfo's a
// string; list fields are wrapped objects and render as [] when empty.

type ehpcCreateClusterResponse struct {
	responseMeta
	TaskId    string `json:"TaskId" xml:"TaskId"`
	ClusterId string `json:"ClusterId" xml:"ClusterId"`
}

type ehpcTaskResponse struct {
	responseMeta
	TaskId string `json:"TaskId" xml:"TaskId"`
}

type ehpcMessageResponse struct {
	responseMeta
	Message string `json:"Message" xml:"Message"`
}

type ehpcNodeCounts struct {
	OperatingCount int `json:"OperatingCount" xml:"OperatingCount"`
	ExceptionCount int `json:"ExceptionCount" xml:"ExceptionCount"`
	StoppedCount   int `json:"StoppedCount" xml:"StoppedCount"`
	Total          int `json:"Total" xml:"Total"`
	NormalCount    int `json:"NormalCount" xml:"NormalCount"`
}

type ehpcResources struct {
	Gpu    int `json:"Gpu" xml:"Gpu"`
	Memory int `json:"Memory" xml:"Memory"`
	Cpu    int `json:"Cpu" xml:"Cpu"`
}

// ehpcClusterInfoSimple is struct_cluster_info_simple.go.
type ehpcClusterInfoSimple struct {
	Id                    string         `json:"Id" xml:"Id"`
	Name                  string         `json:"Name" xml:"Name"`
	Description           string         `json:"Description" xml:"Description"`
	Status                string         `json:"Status" xml:"Status"`
	RegionId              string         `json:"RegionId" xml:"RegionId"`
	ZoneId                string         `json:"ZoneId" xml:"ZoneId"`
	VpcId                 string         `json:"VpcId" xml:"VpcId"`
	VSwitchId             string         `json:"VSwitchId" xml:"VSwitchId"`
	ImageId               string         `json:"ImageId" xml:"ImageId"`
	ImageOwnerAlias       string         `json:"ImageOwnerAlias" xml:"ImageOwnerAlias"`
	OsTag                 string         `json:"OsTag" xml:"OsTag"`
	BaseOsTag             string         `json:"BaseOsTag" xml:"BaseOsTag"`
	SchedulerType         string         `json:"SchedulerType" xml:"SchedulerType"`
	DeployMode            string         `json:"DeployMode" xml:"DeployMode"`
	AccountType           string         `json:"AccountType" xml:"AccountType"`
	EhpcVersion           string         `json:"EhpcVersion" xml:"EhpcVersion"`
	ClientVersion         string         `json:"ClientVersion" xml:"ClientVersion"`
	CreateTime            string         `json:"CreateTime" xml:"CreateTime"`
	InstanceType          string         `json:"InstanceType" xml:"InstanceType"`
	InstanceChargeType    string         `json:"InstanceChargeType" xml:"InstanceChargeType"`
	LoginNodes            string         `json:"LoginNodes" xml:"LoginNodes"`
	NodePrefix            string         `json:"NodePrefix" xml:"NodePrefix"`
	NodeSuffix            string         `json:"NodeSuffix" xml:"NodeSuffix"`
	Location              string         `json:"Location" xml:"Location"`
	ResourceGroupId       string         `json:"ResourceGroupId" xml:"ResourceGroupId"`
	ComputeSpotStrategy   string         `json:"ComputeSpotStrategy" xml:"ComputeSpotStrategy"`
	ComputeSpotPriceLimit float64        `json:"ComputeSpotPriceLimit" xml:"ComputeSpotPriceLimit"`
	Count                 int            `json:"Count" xml:"Count"`
	IsComputeEss          bool           `json:"IsComputeEss" xml:"IsComputeEss"`
	HasPlugin             bool           `json:"HasPlugin" xml:"HasPlugin"`
	Managers              ehpcNodeCounts `json:"Managers" xml:"Managers"`
	Computes              ehpcNodeCounts `json:"Computes" xml:"Computes"`
	TotalResources        ehpcResources  `json:"TotalResources" xml:"TotalResources"`
	UsedResources         ehpcResources  `json:"UsedResources" xml:"UsedResources"`
}

type ehpcListClustersResponse struct {
	responseMeta
	PageNumber int `json:"PageNumber" xml:"PageNumber"`
	PageSize   int `json:"PageSize" xml:"PageSize"`
	TotalCount int `json:"TotalCount" xml:"TotalCount"`
	Clusters   struct {
		ClusterInfoSimple []ehpcClusterInfoSimple `json:"ClusterInfoSimple" xml:"ClusterInfoSimple"`
	} `json:"Clusters" xml:"Clusters"`
}

type ehpcEcsSpec struct {
	Count        int    `json:"Count" xml:"Count"`
	InstanceType string `json:"InstanceType" xml:"InstanceType"`
}

// ehpcNodesInfo is one element of DescribeCluster's Nodes.NodesInfo.
type ehpcNodesInfo struct {
	Role          string `json:"Role" xml:"Role"`
	HostName      string `json:"HostName" xml:"HostName"`
	IpAddress     string `json:"IpAddress" xml:"IpAddress"`
	AccountType   string `json:"AccountType" xml:"AccountType"`
	Dir           string `json:"Dir" xml:"Dir"`
	SchedulerType string `json:"SchedulerType" xml:"SchedulerType"`
}

// ehpcClusterInfo is struct_cluster_info.go.
type ehpcClusterInfo struct {
	Id                    string `json:"Id" xml:"Id"`
	ClusterId             string `json:"ClusterId" xml:"ClusterId"`
	SccClusterId          string `json:"SccClusterId" xml:"SccClusterId"`
	Name                  string `json:"Name" xml:"Name"`
	Description           string `json:"Description" xml:"Description"`
	Status                string `json:"Status" xml:"Status"`
	RegionId              string `json:"RegionId" xml:"RegionId"`
	ZoneId                string `json:"ZoneId" xml:"ZoneId"`
	VpcId                 string `json:"VpcId" xml:"VpcId"`
	VSwitchId             string `json:"VSwitchId" xml:"VSwitchId"`
	SecurityGroupId       string `json:"SecurityGroupId" xml:"SecurityGroupId"`
	Location              string `json:"Location" xml:"Location"`
	ImageId               string `json:"ImageId" xml:"ImageId"`
	ImageName             string `json:"ImageName" xml:"ImageName"`
	ImageOwnerAlias       string `json:"ImageOwnerAlias" xml:"ImageOwnerAlias"`
	OsTag                 string `json:"OsTag" xml:"OsTag"`
	BaseOsTag             string `json:"BaseOsTag" xml:"BaseOsTag"`
	SchedulerType         string `json:"SchedulerType" xml:"SchedulerType"`
	SchedulerVersion      string `json:"SchedulerVersion" xml:"SchedulerVersion"`
	SchedulerPreInstall   int    `json:"SchedulerPreInstall" xml:"SchedulerPreInstall"`
	ClusterVersion        string `json:"ClusterVersion" xml:"ClusterVersion"`
	ClientVersion         string `json:"ClientVersion" xml:"ClientVersion"`
	DeployMode            string `json:"DeployMode" xml:"DeployMode"`
	AccountType           string `json:"AccountType" xml:"AccountType"`
	Domain                string `json:"Domain" xml:"Domain"`
	HaEnable              bool   `json:"HaEnable" xml:"HaEnable"`
	KeyPairName           string `json:"KeyPairName" xml:"KeyPairName"`
	RamRoleName           string `json:"RamRoleName" xml:"RamRoleName"`
	RamNodeTypes          string `json:"RamNodeTypes" xml:"RamNodeTypes"`
	OpenldapPar           string `json:"OpenldapPar" xml:"OpenldapPar"`
	WinAdPar              string `json:"WinAdPar" xml:"WinAdPar"`
	WithoutAgent          int    `json:"WithoutAgent" xml:"WithoutAgent"`
	Plugin                string `json:"Plugin" xml:"Plugin"`
	VolumeId              string `json:"VolumeId" xml:"VolumeId"`
	VolumeType            string `json:"VolumeType" xml:"VolumeType"`
	VolumeProtocol        string `json:"VolumeProtocol" xml:"VolumeProtocol"`
	VolumeMountpoint      string `json:"VolumeMountpoint" xml:"VolumeMountpoint"`
	RemoteDirectory       string `json:"RemoteDirectory" xml:"RemoteDirectory"`
	EcsChargeType         string `json:"EcsChargeType" xml:"EcsChargeType"`
	Period                string `json:"Period" xml:"Period"`
	PeriodUnit            string `json:"PeriodUnit" xml:"PeriodUnit"`
	AutoRenew             string `json:"AutoRenew" xml:"AutoRenew"`
	AutoRenewPeriod       string `json:"AutoRenewPeriod" xml:"AutoRenewPeriod"`
	ComputeSpotStrategy   string `json:"ComputeSpotStrategy" xml:"ComputeSpotStrategy"`
	ComputeSpotPriceLimit string `json:"ComputeSpotPriceLimit" xml:"ComputeSpotPriceLimit"`
	CreateTime            string `json:"CreateTime" xml:"CreateTime"`
	ResourceGroupId       string `json:"ResourceGroupId" xml:"ResourceGroupId"`
	InstanceCount         int    `json:"InstanceCount" xml:"InstanceCount"`
	EcsInfo               struct {
		Manager  ehpcEcsSpec `json:"Manager" xml:"Manager"`
		Compute  ehpcEcsSpec `json:"Compute" xml:"Compute"`
		Login    ehpcEcsSpec `json:"Login" xml:"Login"`
		ProxyMgr ehpcEcsSpec `json:"ProxyMgr" xml:"ProxyMgr"`
	} `json:"EcsInfo" xml:"EcsInfo"`
	InitialImage struct {
		OsTag           string `json:"OsTag" xml:"OsTag"`
		ImageOwnerAlias string `json:"ImageOwnerAlias" xml:"ImageOwnerAlias"`
		ImageId         string `json:"ImageId" xml:"ImageId"`
	} `json:"InitialImage" xml:"InitialImage"`
	Nodes struct {
		NodesInfo []ehpcNodesInfo `json:"NodesInfo" xml:"NodesInfo"`
	} `json:"Nodes" xml:"Nodes"`
	OnPremiseInfo struct {
		OnPremiseInfo []struct{} `json:"OnPremiseInfo" xml:"OnPremiseInfo"`
	} `json:"OnPremiseInfo" xml:"OnPremiseInfo"`
	AddOnsInfo struct {
		AddOnsInfo []struct{} `json:"AddOnsInfo" xml:"AddOnsInfo"`
	} `json:"AddOnsInfo" xml:"AddOnsInfo"`
	PostInstallScripts struct {
		PostInstallScriptInfo []struct{} `json:"PostInstallScriptInfo" xml:"PostInstallScriptInfo"`
	} `json:"PostInstallScripts" xml:"PostInstallScripts"`
	Applications struct {
		ApplicationInfo []struct{} `json:"ApplicationInfo" xml:"ApplicationInfo"`
	} `json:"Applications" xml:"Applications"`
}

type ehpcDescribeClusterResponse struct {
	responseMeta
	ClusterInfo ehpcClusterInfo `json:"ClusterInfo" xml:"ClusterInfo"`
}

// ehpcNodeInfo is struct_node_info.go.
type ehpcNodeInfo struct {
	Id              string `json:"Id" xml:"Id"`
	HostName        string `json:"HostName" xml:"HostName"`
	Status          string `json:"Status" xml:"Status"`
	StateInSched    string `json:"StateInSched" xml:"StateInSched"`
	IpAddress       string `json:"IpAddress" xml:"IpAddress"`
	PublicIpAddress string `json:"PublicIpAddress" xml:"PublicIpAddress"`
	RegionId        string `json:"RegionId" xml:"RegionId"`
	ZoneId          string `json:"ZoneId" xml:"ZoneId"`
	VpcId           string `json:"VpcId" xml:"VpcId"`
	VSwitchId       string `json:"VSwitchId" xml:"VSwitchId"`
	InstanceType    string `json:"InstanceType" xml:"InstanceType"`
	ImageId         string `json:"ImageId" xml:"ImageId"`
	ImageOwnerAlias string `json:"ImageOwnerAlias" xml:"ImageOwnerAlias"`
	AddTime         string `json:"AddTime" xml:"AddTime"`
	ExpiredTime     string `json:"ExpiredTime" xml:"ExpiredTime"`
	Expired         bool   `json:"Expired" xml:"Expired"`
	LockReason      string `json:"LockReason" xml:"LockReason"`
	HtEnabled       bool   `json:"HtEnabled" xml:"HtEnabled"`
	Version         string `json:"Version" xml:"Version"`
	CreateMode      string `json:"CreateMode" xml:"CreateMode"`
	CreatedByEhpc   bool   `json:"CreatedByEhpc" xml:"CreatedByEhpc"`
	Location        string `json:"Location" xml:"Location"`
	SpotStrategy    string `json:"SpotStrategy" xml:"SpotStrategy"`
	Roles           struct {
		Role []string `json:"Role" xml:"Role"`
	} `json:"Roles" xml:"Roles"`
	TotalResources ehpcResources `json:"TotalResources" xml:"TotalResources"`
	UsedResources  ehpcResources `json:"UsedResources" xml:"UsedResources"`
}

type ehpcListNodesResponse struct {
	responseMeta
	PageNumber int `json:"PageNumber" xml:"PageNumber"`
	PageSize   int `json:"PageSize" xml:"PageSize"`
	TotalCount int `json:"TotalCount" xml:"TotalCount"`
	Nodes      struct {
		NodeInfo []ehpcNodeInfo `json:"NodeInfo" xml:"NodeInfo"`
	} `json:"Nodes" xml:"Nodes"`
}

// ehpcUserInfo is struct_user_info.go.
type ehpcUserInfo struct {
	Name    string `json:"Name" xml:"Name"`
	Group   string `json:"Group" xml:"Group"`
	UserId  string `json:"UserId" xml:"UserId"`
	GroupId string `json:"GroupId" xml:"GroupId"`
	AddTime string `json:"AddTime" xml:"AddTime"`
}

type ehpcListUsersResponse struct {
	responseMeta
	PageNumber int `json:"PageNumber" xml:"PageNumber"`
	PageSize   int `json:"PageSize" xml:"PageSize"`
	TotalCount int `json:"TotalCount" xml:"TotalCount"`
	Users      struct {
		UserInfo []ehpcUserInfo `json:"UserInfo" xml:"UserInfo"`
	} `json:"Users" xml:"Users"`
}
