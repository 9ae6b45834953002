package bce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baidubce/bce-sdk-go/services/bcc"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// These tests run the whole latchkey binary's server in-process and follow
// the README: create a BCC instance with bce-sdk-go, change its admin
// password, confirm the change through the internal API and the console.

// checkPassword asks the internal API whether pw is the guest password.
func checkPassword(t *testing.T, env *testenv.Env, id, pw string) bool {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(env.DataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"resource": id, "password": pw}) // as the README shows
	req, _ := http.NewRequest(http.MethodPost, env.URL("/_latchkey/check-password"), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Match bool }
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("check-password answered %d", res.StatusCode)
	}
	return out.Match
}

// consoleLogin opens a fresh VNC URL of the instance and logs in with pw.
func consoleLogin(t *testing.T, env *testenv.Env, c *bcc.Client, id, pw string) error {
	t.Helper()
	vnc, err := c.GetInstanceVNC(id)
	if err != nil {
		t.Fatalf("GetInstanceVNC: %v", err)
	}
	if !strings.HasPrefix(vnc.VNCUrl, "wss://"+env.Endpoints.HTTPS+"/vnc/?s=") {
		t.Errorf("vncUrl %q does not point at the HTTPS listener's gateway", vnc.VNCUrl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := env.DialConsole(ctx, vnc.VNCUrl)
	if err != nil {
		t.Fatalf("DialConsole: %v", err)
	}
	return rfbtest.LoginConn(ctx, conn.(net.Conn), pw)
}

func TestREADMEFlowOverHTTPAndHTTPS(t *testing.T) {
	env := testenv.Start(t)
	for name, c := range map[string]*bcc.Client{"http": env.BCC(t), "https": env.BCCHTTPS(t)} {
		t.Run(name, func(t *testing.T) {
			res, err := c.CreateInstance(&api.CreateInstanceArgs{
				ImageId: "m-Z1TCx0Zv", CpuCount: 1, MemoryCapacityInGB: 2, Name: "readme-" + name,
				AdminPass: "Init1al!pw", ClientToken: "readme-" + name,
			})
			if err != nil {
				t.Fatalf("CreateInstance: %v", err)
			}
			id := res.InstanceIds[0]
			if _, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "N3w!pass"}); err != nil {
				t.Fatalf("ChangeInstancePass: %v", err)
			}
			if !checkPassword(t, env, id, "N3w!pass") {
				t.Error("the new password does not check")
			}
			if checkPassword(t, env, id, "Init1al!pw") {
				t.Error("the old password still checks")
			}
			if err := consoleLogin(t, env, c, id, "N3w!pass"); err != nil {
				t.Errorf("console login with the new password: %v", err)
			}
			if err := consoleLogin(t, env, c, id, "Init1al!pw"); !errors.Is(err, rfb.ErrAuthFailed) {
				t.Errorf("console login with the old password: %v, want auth failure", err)
			}
		})
	}

	// The internal API is not on the plain-HTTP listener.
	res, err := http.Post(env.HTTPURL("/_latchkey/check-password"), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("internal API over plain HTTP: %d", res.StatusCode)
	}

	// An acknowledged change survives a restart.
	list, err := env.BCC(t).ListInstances(&api.ListInstanceArgs{InstanceNames: "readme-http"})
	if err != nil || len(list.Instances) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	env.Restart(t)
	if !checkPassword(t, env, list.Instances[0].InstanceId, "N3w!pass") {
		t.Error("after a restart the changed password does not check")
	}
}

func TestDemoFleetBCC(t *testing.T) {
	env := testenv.Start(t, testenv.WithDemo())
	list, err := env.BCC(t).ListInstances(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list.Instances {
		names = append(names, i.InstanceName+":"+string(i.Status))
		if !strings.Contains(env.Banner, i.InstanceId) {
			t.Errorf("the banner does not show %s", i.InstanceId)
		}
	}
	if strings.Join(names, " ") != "demo-bcc-1:Running demo-bcc-2:Running" {
		t.Errorf("demo BCC instances: %v", names)
	}
}
