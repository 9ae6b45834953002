package aliyun

// The RAM 2015-05-01 response bodies, with the JSON names and types of
// services/ram in alibaba-cloud-sdk-go (struct_user.go, struct_policy.go,
// struct_access_key.go, struct_default_policy_version.go). Fields a call
// does not return are left out, as RAM leaves them out.

type ramUser struct {
	UserId      string `json:"UserId" xml:"UserId"`
	UserName    string `json:"UserName" xml:"UserName"`
	DisplayName string `json:"DisplayName" xml:"DisplayName"`
	MobilePhone string `json:"MobilePhone,omitempty" xml:"MobilePhone,omitempty"`
	Email       string `json:"Email,omitempty" xml:"Email,omitempty"`
	Comments    string `json:"Comments,omitempty" xml:"Comments,omitempty"`
	CreateDate  string `json:"CreateDate" xml:"CreateDate"`
	UpdateDate  string `json:"UpdateDate" xml:"UpdateDate"`
}

type ramUserResponse struct {
	responseMeta
	User ramUser `json:"User" xml:"User"`
}

type ramListUsersResponse struct {
	responseMeta
	IsTruncated bool   `json:"IsTruncated" xml:"IsTruncated"`
	Marker      string `json:"Marker,omitempty" xml:"Marker,omitempty"`
	Users       struct {
		User []ramUser `json:"User" xml:"User"`
	} `json:"Users" xml:"Users"`
}

type ramAccessKey struct {
	AccessKeyId string `json:"AccessKeyId" xml:"AccessKeyId"`
	// AccessKeySecret is set by CreateAccessKey only: RAM returns a new
	// key's secret once, in that answer, and never again.
	AccessKeySecret string `json:"AccessKeySecret,omitempty" xml:"AccessKeySecret,omitempty"`
	Status          string `json:"Status" xml:"Status"`
	CreateDate      string `json:"CreateDate" xml:"CreateDate"`
}

type ramCreateAccessKeyResponse struct {
	responseMeta
	AccessKey ramAccessKey `json:"AccessKey" xml:"AccessKey"`
}

type ramListAccessKeysResponse struct {
	responseMeta
	AccessKeys struct {
		AccessKey []ramAccessKey `json:"AccessKey" xml:"AccessKey"`
	} `json:"AccessKeys" xml:"AccessKeys"`
}

type ramPolicy struct {
	PolicyName      string `json:"PolicyName" xml:"PolicyName"`
	PolicyType      string `json:"PolicyType" xml:"PolicyType"`
	Description     string `json:"Description" xml:"Description"`
	DefaultVersion  string `json:"DefaultVersion" xml:"DefaultVersion"`
	PolicyDocument  string `json:"PolicyDocument,omitempty" xml:"PolicyDocument,omitempty"`
	CreateDate      string `json:"CreateDate,omitempty" xml:"CreateDate,omitempty"`
	UpdateDate      string `json:"UpdateDate,omitempty" xml:"UpdateDate,omitempty"`
	AttachDate      string `json:"AttachDate,omitempty" xml:"AttachDate,omitempty"`
	AttachmentCount *int   `json:"AttachmentCount,omitempty" xml:"AttachmentCount,omitempty"`
}

type ramPolicyResponse struct {
	responseMeta
	Policy ramPolicy `json:"Policy" xml:"Policy"`
}

type ramDefaultPolicyVersion struct {
	VersionId        string `json:"VersionId" xml:"VersionId"`
	IsDefaultVersion bool   `json:"IsDefaultVersion" xml:"IsDefaultVersion"`
	PolicyDocument   string `json:"PolicyDocument" xml:"PolicyDocument"`
	CreateDate       string `json:"CreateDate,omitempty" xml:"CreateDate,omitempty"`
}

type ramGetPolicyResponse struct {
	responseMeta
	Policy               ramPolicy               `json:"Policy" xml:"Policy"`
	DefaultPolicyVersion ramDefaultPolicyVersion `json:"DefaultPolicyVersion" xml:"DefaultPolicyVersion"`
}

type ramListPoliciesResponse struct {
	responseMeta
	IsTruncated bool   `json:"IsTruncated" xml:"IsTruncated"`
	Marker      string `json:"Marker,omitempty" xml:"Marker,omitempty"`
	Policies    struct {
		Policy []ramPolicy `json:"Policy" xml:"Policy"`
	} `json:"Policies" xml:"Policies"`
}

type ramListPoliciesForUserResponse struct {
	responseMeta
	Policies struct {
		Policy []ramPolicy `json:"Policy" xml:"Policy"`
	} `json:"Policies" xml:"Policies"`
}
