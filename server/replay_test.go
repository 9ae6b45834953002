package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
)

// recordingECS is an ECS client of e whose last request rec keeps.
func recordingECS(t *testing.T, e *testenv.Env, rec *testutil.Recorder) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClientWithOptions(testenv.Region, sdk.NewConfig().WithTimeout(30*time.Second),
		credentials.NewAccessKeyCredential(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	c.SetTransport(rec)
	return c
}

// wantReplayRefused replays rec's last request to host and fails unless
// it is answered SignatureNonceUsed.
func wantReplayRefused(t *testing.T, rec *testutil.Recorder, host, what string) {
	t.Helper()
	resp, err := rec.Replay(host)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&body)
	if body.Code != "SignatureNonceUsed" || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%s = %s %d, want SignatureNonceUsed 400", what, body.Code, resp.StatusCode)
	}
}

// ModifyInstanceVncPasswd records its nonce in the transaction of the
// change: a replay of an acknowledged change is refused, before and after
// a restart, and changes nothing (the console keeps the later password,
// the audit log has no event for it); a refused change's nonce is
// recorded too.
func TestReplayedPasswordChangeChangesNothing(t *testing.T) {
	e := testenv.Start(t)
	c := e.ECS(t)
	id := runInstance(t, c, "optimized")
	var rec testutil.Recorder
	setVNCPassword(t, recordingECS(t, e, &rec), id, "Old123")
	setVNCPassword(t, c, id, "New456")
	wantReplayRefused(t, &rec, e.Endpoints.HTTP, "the replayed change")
	wantConsole(t, e, id, "New456", true)
	wantConsole(t, e, id, "Old123", false)
	changes := 0
	for _, ev := range e.Audit(t, core.AuditFilter{Resource: id}) {
		if ev.Action == "ModifyInstanceVncPasswd" {
			changes++
		}
	}
	if changes != 2 {
		t.Errorf("%d ModifyInstanceVncPasswd audit events, want 2: the replay is not one", changes)
	}

	e.Restart(t)
	wantReplayRefused(t, &rec, e.Endpoints.HTTP, "the change replayed after a restart")
	wantConsole(t, e, id, "New456", true)

	var refused testutil.Recorder
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, id, "short"
	if _, err := recordingECS(t, e, &refused).ModifyInstanceVncPasswd(req); err == nil {
		t.Fatal("a 5-character VNC password was accepted")
	}
	wantReplayRefused(t, &refused, e.Endpoints.HTTP, "the replayed refused change")
}

// A password change one replica acknowledged is refused when replayed on
// the other, and changes nothing there.
func TestReplicasRefuseAReplayedPasswordChange(t *testing.T) {
	a, b := startReplicas(t)
	id := runInstance(t, a.ECS(t), "optimized")
	var rec testutil.Recorder
	setVNCPassword(t, recordingECS(t, a, &rec), id, "Old123")
	setVNCPassword(t, b.ECS(t), id, "New456")
	wantReplayRefused(t, &rec, b.Endpoints.HTTP, "the change replayed on the other replica")
	wantConsole(t, b, id, "New456", true)
	wantConsole(t, a, id, "Old123", false)
}
