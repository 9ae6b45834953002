// Package aliyun is latchkey's Alibaba Cloud RPC front end: it verifies
// V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256, ACS3-HMAC-SM3) signatures,
// routes a request by its (Version, Action) pair to a handler, and renders
// the handler's value or error exactly as the real gateway does, so that
// Alibaba's official SDKs (alibaba-cloud-sdk-go and the darabonba clients)
// and the aliyun CLI work against latchkey with only the endpoint changed.
//
// The package owns the wire: parameter parsing, the error table
// (errors.go), RequestIds, JSON and XML rendering, nonce replay and
// timestamp checks. Business rules live behind the core service
// interfaces it calls (core.ECS, …).
//
// Facts and test vectors: shared/reference/alibaba-rpc.md; the product
// contract: PRODUCT.md §2–§4.
package aliyun

//go:generate env LATCHKEY_WRITE_COVERAGE=1 go test -run TestCoverageFile .
