package aliyun

import (
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// BenchmarkV1Verify measures building a V1 string to sign for a typical
// SDKv1 ModifyInstanceVncPasswd request and checking its signature.
func BenchmarkV1Verify(b *testing.B) {
	params := map[string]string{
		"AccessKeyId": stubAK, "Action": "ModifyInstanceVncPasswd", "Version": ecsVersion, "Format": "JSON",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "",
		"SignatureNonce": "0123456789abcdef0123456789abcdef", "Timestamp": "2026-11-23T20:19:19Z",
		"RegionId": "cn-hangzhou", "InstanceId": "i-bp67acfmxazb4ph00000", "VncPassword": "Ecs123",
	}
	secret := core.NewSecret(stubSecret)
	sig := v1Sign(secret, v1StringToSign("POST", params))
	b.ReportAllocs()
	for b.Loop() {
		if !v1Verify(secret, v1StringToSign("POST", params), sig) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkFrontEnd measures the whole front end for a signed
// ModifyInstanceVncPasswd over a stub service: parsing, key lookup,
// signature, nonce, dispatch, rendering. Client-side signing is included.
func BenchmarkFrontEnd(b *testing.B) {
	r := newRig(b, func(d *Deps) { d.Log = nil; d.Audit = nil })
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			nonce := strconv.FormatInt(n.Add(1), 10)
			p := signV1("POST", r.v1Params("ModifyInstanceVncPasswd", nonce, map[string]string{"InstanceId": "i-1", "VncPassword": "Ecs123"}), stubSecret)
			rec := httptest.NewRecorder()
			r.h.ServeHTTP(rec, httptest.NewRequest("POST", "http://ecs.example/?"+encode(p), nil))
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
