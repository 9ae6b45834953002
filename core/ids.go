package core

// AccountID identifies an account: 16 decimal digits, as on Alibaba Cloud.
type AccountID string

// AccessKeyID identifies an access key. The same key signs Alibaba RPC
// and BCE requests.
type AccessKeyID string

// UserName names a RAM user inside an account. The empty name is the
// account's root identity.
type UserName string

// RegionID names a region of a provider's catalog (cn-hangzhou, bj, …).
type RegionID string

// ZoneID names a zone inside a region (cn-hangzhou-a, …).
type ZoneID string

// InstanceID identifies an ECS instance (i-…).
type InstanceID string

// RequestID identifies one API request; each protocol renders it in its
// own case.
type RequestID string
