package aliyun_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
)

// replayCode replays rec's last request to host and returns the answer's
// Alibaba error code and status.
func replayCode(t *testing.T, rec *testutil.Recorder, host string) (code string, status int) {
	t.Helper()
	resp, err := rec.Replay(host)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Code, resp.StatusCode
}

// A signed request replayed after a restart of latchkey is refused: the
// nonce was recorded in the store, not in the process.
func TestReplayAfterRestartIsRefused(t *testing.T) {
	e := testenv.Start(t)
	var tap testutil.Recorder
	c, err := ecs.NewClientWithOptions(testenv.Region, sdk.NewConfig().WithHttpTransport(&http.Transport{}),
		credentials.NewAccessKeyCredential(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	c.SetTransport(&tap)
	req := ecs.CreateDescribeRegionsRequest()
	if _, err := c.DescribeRegions(req); err != nil {
		t.Fatal(err)
	}
	if code, status := replayCode(t, &tap, e.Endpoints.HTTP); code != "SignatureNonceUsed" || status != 400 {
		t.Errorf("replay = %s %d, want SignatureNonceUsed 400", code, status)
	}
	e.Restart(t)
	if code, status := replayCode(t, &tap, e.Endpoints.HTTP); code != "SignatureNonceUsed" || status != 400 {
		t.Errorf("replay after a restart = %s %d, want SignatureNonceUsed 400", code, status)
	}
}
