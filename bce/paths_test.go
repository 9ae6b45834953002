package bce_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"testing"

	sdkbce "github.com/baidubce/bce-sdk-go/bce"

	"github.com/latchkey/latchkey/internal/testenv"
)

// A request signed with bce-auth-v1 gets BCE's answers on any path of the
// whole server, not only under /v2/: the /v1 instance paths that
// @baiducloud/sdk 1.0.7's BccClient calls are InvalidVersion, a path
// outside any version InvalidURI, each in BCE's envelope with
// x-bce-request-id. The same path unsigned is still Alibaba RPC's.
func TestSignedRequestsOutsideV2(t *testing.T) {
	env := testenv.Start(t)
	client := env.BCC(t)
	requestID := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tc := range []struct {
		method, path, code string
		status             int
	}{
		{"GET", "/v1/instance", "InvalidVersion", 404},
		{"POST", "/v1/token/create", "InvalidVersion", 404},
		{"PUT", "/v1/instance/i-abcdefgh", "InvalidVersion", 404},
		{"GET", "/instance", "InvalidURI", 400},
	} {
		err := sdkbce.NewRequestBuilder(client).WithMethod(tc.method).WithURL(tc.path).WithResult(&map[string]any{}).Do()
		var se *sdkbce.BceServiceError
		if !errors.As(err, &se) {
			t.Errorf("%s %s: %v, want a BCE service error %s", tc.method, tc.path, err, tc.code)
			continue
		}
		if se.Code != tc.code || se.StatusCode != tc.status || !requestID.MatchString(se.RequestId) {
			t.Errorf("%s %s: %s/%d %q (request id %q), want %s/%d", tc.method, tc.path, se.Code, se.StatusCode, se.Message, se.RequestId, tc.code, tc.status)
		}
	}

	resp, err := env.HTTPClient().Get(env.HTTPURL("/v1/instance"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var rpc struct{ Code string }
	if err := json.Unmarshal(body, &rpc); err != nil || resp.StatusCode != http.StatusNotFound || rpc.Code != "InvalidAction.NotFound" || resp.Header.Get("x-acs-request-id") == "" {
		t.Errorf("unsigned GET /v1/instance: %d %s", resp.StatusCode, body)
	}
}
