package bce_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdkbce "github.com/baidubce/bce-sdk-go/bce"
	"github.com/baidubce/bce-sdk-go/model"
	"github.com/baidubce/bce-sdk-go/services/bcc"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// These tests drive the whole server's BCE front end (server.New, served
// by httptest without a port of its own) through bce-sdk-go v0.9.277's
// own bcc client, unmodified: every operation, every documented error
// with its status. A recorder in front of the server checks every
// response for the common headers and fails the test on any 5xx.

// harness is one in-process server, reached over plain HTTP. Its clock
// moves only when told, so instances stay in an intermediate status until
// the test advances it; it starts at the wall clock, so the SDK's
// signatures (made with the wall clock) are in time.
type harness struct {
	t     *testing.T
	app   *server.App
	clock *testutil.ManualClock
	url   string
}

type harnessOptions struct {
	transition time.Duration
	policy     core.BCCPasswordPolicy
}

var uuidLower = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	clock := testutil.NewManualClock(time.Now().UTC().Truncate(time.Second))
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Transition = o.transition
	if o.policy != "" {
		cfg.BCCPasswordPolicy = string(o.policy)
	}
	cfg.Clock = clock
	// One plain-HTTP listener serves everything here; console URLs name
	// it too, and no test opens them.
	cfg.Endpoints = server.Endpoints{HTTPS: addr, HTTP: addr}
	app, err := server.New(context.Background(), cfg)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv.Config.Handler = checkResponses(t, app)
	srv.Start()
	t.Cleanup(srv.Close)
	return &harness{t: t, app: app, clock: clock, url: srv.URL}
}

// checkResponses fails the test on any response without the common BCE
// headers, on any 5xx, and on a 200 whose body is not a JSON object.
func checkResponses(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		where := r.Method + " " + r.URL.Path
		if res.StatusCode >= 500 {
			t.Errorf("%s answered %d %s", where, res.StatusCode, body)
		}
		if id := res.Header.Get("x-bce-request-id"); !uuidLower.MatchString(id) {
			t.Errorf("%s: x-bce-request-id %q is not a lower-case UUID", where, id)
		}
		if res.Header.Get("Server") != "BWS" || res.Header.Get("Content-Type") != "application/json;charset=UTF-8" || res.Header.Get("Date") == "" {
			t.Errorf("%s: missing common headers: %v", where, res.Header)
		}
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Errorf("%s: body is not a JSON object: %v", where, err)
		}
		if res.StatusCode >= 400 && (obj["code"] == nil || obj["requestId"] != res.Header.Get("x-bce-request-id")) {
			t.Errorf("%s: error body %s lacks code or requestId", where, body)
		}
		if _, ok := obj["statusCode"]; ok {
			t.Errorf("%s: body has a statusCode key", where)
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(body)
	})
}

// client returns the official bcc client for the root key, pointed at the
// server. Retries are off, so each call is one request.
func (h *harness) client() *bcc.Client {
	return h.clientFor(string(h.app.Root.AccessKeyID), h.app.Root.Secret.Reveal())
}

func (h *harness) clientFor(ak, sk string) *bcc.Client {
	h.t.Helper()
	c, err := bcc.NewClient(ak, sk, h.url)
	if err != nil {
		h.t.Fatal(err)
	}
	c.Config.Retry = sdkbce.NewNoRetryPolicy()
	return c
}

// create makes one instance through the SDK and returns its id.
func (h *harness) create(c *bcc.Client, args *api.CreateInstanceArgs) string {
	h.t.Helper()
	if args == nil {
		args = &api.CreateInstanceArgs{}
	}
	if args.ImageId == "" {
		args.ImageId = "m-Z1TCx0Zv"
	}
	if args.CpuCount == 0 {
		args.CpuCount, args.MemoryCapacityInGB = 1, 2
	}
	res, err := c.CreateInstance(args)
	if err != nil {
		h.t.Fatalf("CreateInstance: %v", err)
	}
	if len(res.InstanceIds) != 1 {
		h.t.Fatalf("CreateInstance returned %v", res.InstanceIds)
	}
	return res.InstanceIds[0]
}

func (h *harness) status(c *bcc.Client, id string) string {
	h.t.Helper()
	res, err := c.GetInstanceDetail(id)
	if err != nil {
		h.t.Fatalf("GetInstanceDetail: %v", err)
	}
	return string(res.Instance.Status)
}

func (h *harness) checkPassword(id, pw string) bool {
	h.t.Helper()
	ok, err := h.app.BCC.CheckAdminPassword(context.Background(), h.app.Root.AccountID, core.BCCInstanceID(id), core.NewSecret(pw))
	if err != nil {
		h.t.Fatalf("CheckAdminPassword: %v", err)
	}
	return ok
}

// wantServiceError checks that err is the SDK's service error with the
// given code and status.
func wantServiceError(t *testing.T, what string, err error, code string, status int) *sdkbce.BceServiceError {
	t.Helper()
	var se *sdkbce.BceServiceError
	if !errors.As(err, &se) {
		t.Errorf("%s: got %v, want %s/%d", what, err, code, status)
		return nil
	}
	if se.Code != code || se.StatusCode != status {
		t.Errorf("%s: got %s/%d (%s), want %s/%d", what, se.Code, se.StatusCode, se.Message, code, status)
	}
	if !uuidLower.MatchString(se.RequestId) {
		t.Errorf("%s: request id %q", what, se.RequestId)
	}
	return se
}

func TestBCCLifecycle(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()

	id := h.create(c, &api.CreateInstanceArgs{
		Name: "web-1", AdminPass: "Init1al!pw", ZoneName: "cn-bj-b", SubnetId: "sbn-abc",
		KeypairId: "k-123", Tags: []model.TagModel{{TagKey: "env", TagValue: "test"}},
		Billing: api.Billing{PaymentTiming: api.PaymentTimingPostPaid},
	})
	if !regexp.MustCompile(`^i-[A-Za-z0-9]{8}$`).MatchString(id) {
		t.Errorf("instance id %q", id)
	}
	detail, err := c.GetInstanceDetail(id)
	if err != nil {
		t.Fatal(err)
	}
	in := detail.Instance
	if in.InstanceId != id || in.InstanceName != "web-1" || in.Status != api.InstanceStatusRunning ||
		in.ZoneName != "cn-bj-b" || in.CpuCount != 1 || in.MemoryCapacityInGB != 2 ||
		in.ImageId != "m-Z1TCx0Zv" || in.CardCount != "0" || in.KeypairId != "k-123" || in.SubnetId != "sbn-abc" ||
		in.PaymentTiming != "Postpaid" || len(in.Tags) != 1 || in.Tags[0].TagKey != "env" {
		t.Errorf("detail = %+v", in)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", in.CreationTime); err != nil {
		t.Errorf("createTime %q", in.CreationTime)
	}
	if !h.checkPassword(id, "Init1al!pw") {
		t.Error("the creation password does not check")
	}

	// changePass: the new password checks, the old one no longer.
	resp, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "N3w!pass"})
	if err != nil || resp == nil {
		t.Fatalf("ChangeInstancePass: %v", err)
	}
	if !h.checkPassword(id, "N3w!pass") {
		t.Error("the new password does not check")
	}
	if h.checkPassword(id, "Init1al!pw") {
		t.Error("the old password still checks")
	}

	// stop, changePass while Stopped, start, reboot.
	if err := c.StopInstance(id, false); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if s := h.status(c, id); s != "Stopped" {
		t.Errorf("after stop: %s", s)
	}
	if _, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "St0pped(pw"}); err != nil {
		t.Errorf("ChangeInstancePass while Stopped: %v", err)
	}
	if !h.checkPassword(id, "St0pped(pw") || h.checkPassword(id, "N3w!pass") {
		t.Error("the password changed while Stopped does not check")
	}
	if err := c.StartInstance(id); err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	if s := h.status(c, id); s != "Running" {
		t.Errorf("after start: %s", s)
	}
	if _, err := c.RebootInstance(id, true); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}

	// VNC: a URL with a single-use token.
	vnc, err := c.GetInstanceVNC(id)
	if err != nil {
		t.Fatalf("GetInstanceVNC: %v", err)
	}
	if !strings.HasPrefix(vnc.VNCUrl, "wss://"+strings.TrimPrefix(h.url, "http://")+"/vnc/?s=") {
		t.Errorf("vncUrl %q", vnc.VNCUrl)
	}

	// delete: gone afterwards.
	if err := c.DeleteInstance(id); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	_, err = c.GetInstanceDetail(id)
	wantServiceError(t, "detail after delete", err, "NoSuchObject", 404)

	// Every mutating call was audited, none with a secret.
	if err := h.app.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var events []core.AuditEvent
	h.app.Store.View(context.Background(), func(tx core.Tx) (err error) {
		events, err = tx.QueryAudit(context.Background(), core.AuditFilter{})
		return err
	})
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action+":"+ev.Result)
		if strings.Contains(ev.Detail, "pass") {
			t.Errorf("audit detail %q", ev.Detail)
		}
	}
	want := "CreateInstance:Success ChangeInstancePass:Success StopInstance:Success ChangeInstancePass:Success StartInstance:Success RebootInstance:Success GetInstanceVNC:Success DeleteInstance:Success"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit = %s\nwant    %s", got, want)
	}
}

func TestBCCUnknownInstance(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	const id = "i-Nonexist"
	_, err := c.GetInstanceDetail(id)
	wantServiceError(t, "detail", err, "NoSuchObject", 404)
	wantServiceError(t, "start", c.StartInstance(id), "NoSuchObject", 404)
	wantServiceError(t, "stop", c.StopInstance(id, false), "NoSuchObject", 404)
	_, err = c.RebootInstance(id, false)
	wantServiceError(t, "reboot", err, "NoSuchObject", 404)
	wantServiceError(t, "delete", c.DeleteInstance(id), "NoSuchObject", 404)
	_, err = c.GetInstanceVNC(id)
	wantServiceError(t, "vnc", err, "NoSuchObject", 404)
	_, err = c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	se := wantServiceError(t, "changePass", err, "NoSuchObject", 404)
	if se != nil && se.Message != "The specified object is not found or resource do not exist." {
		t.Errorf("message %q", se.Message)
	}

	// Another account's instance is unknown too.
	id2 := h.create(c, nil)
	other, err := h.app.Identity.CreateAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.clientFor(string(other.AccessKeyID), other.Secret.Reveal()).GetInstanceDetail(id2)
	wantServiceError(t, "other account's instance", err, "NoSuchObject", 404)

	// An instance of another region is unknown in this one.
	gz := h.client()
	gz.Config.Endpoint = strings.Replace(h.url, "127.0.0.1", "bcc.gz.baidubce.com", 1)
	gz.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dialTo(h.url)}}
	_, err = gz.GetInstanceDetail(id2)
	wantServiceError(t, "instance of bj seen from gz", err, "NoSuchObject", 404)
	list, err := gz.ListInstances(nil)
	if err != nil || len(list.Instances) != 0 {
		t.Errorf("gz list = %+v, %v", list, err)
	}
	gzID := h.create(gz, nil)
	if _, err := gz.GetInstanceDetail(gzID); err != nil {
		t.Errorf("gz instance seen from gz: %v", err)
	}
	_, err = c.GetInstanceDetail(gzID)
	wantServiceError(t, "instance of gz seen from bj", err, "NoSuchObject", 404)
}

// dialTo makes a transport connect to the test server whatever host the
// URL names, so a client can use Baidu's host names.
func dialTo(serverURL string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	addr := strings.TrimPrefix(serverURL, "http://")
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestBCCWrongState(t *testing.T) {
	h := newHarness(t, harnessOptions{transition: time.Second})
	c := h.client()
	id := h.create(c, nil)

	// Being created: Starting, and start/delete have their own errors.
	if s := h.status(c, id); s != "Starting" {
		t.Fatalf("new instance is %s", s)
	}
	wantServiceError(t, "start while creating", c.StartInstance(id), "Instance.StartInstanceWhenCreating", 409)
	wantServiceError(t, "delete while creating", c.DeleteInstance(id), "Instance.ReleaseWhileCreating", 403)
	_, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	se := wantServiceError(t, "changePass while creating", err, "Instance.PasswordOperationForbidden", 409)
	if se != nil && se.Message != "Instance not stopped when changing password." {
		t.Errorf("message %q", se.Message)
	}
	wantServiceError(t, "stop while creating", c.StopInstance(id, false), "Instance.StopInstanceOperationForbidden", 409)
	_, err = c.GetInstanceVNC(id)
	wantServiceError(t, "vnc while creating", err, "Instance.VncOperationForbidden", 409)

	h.clock.Add(time.Second)
	if s := h.status(c, id); s != "Running" {
		t.Fatalf("after creation: %s", s)
	}
	wantServiceError(t, "start while Running", c.StartInstance(id), "Instance.StartInstanceOperationForbidden", 409)

	// Stopping: changePass, reboot, stop and start are refused.
	if err := c.StopInstance(id, false); err != nil {
		t.Fatal(err)
	}
	if s := h.status(c, id); s != "Stopping" {
		t.Fatalf("after stop: %s", s)
	}
	_, err = c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	wantServiceError(t, "changePass while Stopping", err, "Instance.PasswordOperationForbidden", 409)
	if h.checkPassword(id, "Passw0rd!") {
		t.Error("a refused changePass changed the password")
	}
	_, err = c.RebootInstance(id, false)
	wantServiceError(t, "reboot while Stopping", err, "Instance.RebootInstanceOperationForbidden", 409)
	se = wantServiceError(t, "stop while Stopping", c.StopInstance(id, false), "Instance.StopInstanceOperationForbidden", 409)
	if se != nil && se.Message != "Instance not running when shutting down" {
		t.Errorf("message %q", se.Message)
	}
	wantServiceError(t, "start while Stopping", c.StartInstance(id), "Instance.StartInstanceOperationForbidden", 409)

	// Stopped: reboot, stop and VNC are refused; changePass works.
	h.clock.Add(time.Second)
	_, err = c.RebootInstance(id, false)
	wantServiceError(t, "reboot while Stopped", err, "Instance.RebootInstanceOperationForbidden", 409)
	wantServiceError(t, "stop while Stopped", c.StopInstance(id, true), "Instance.StopInstanceOperationForbidden", 409)
	_, err = c.GetInstanceVNC(id)
	wantServiceError(t, "vnc while Stopped", err, "Instance.VncOperationForbidden", 409)
	if _, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"}); err != nil {
		t.Errorf("changePass while Stopped: %v", err)
	}

	// Starting after a start: changePass refused, then Running again.
	if err := c.StartInstance(id); err != nil {
		t.Fatal(err)
	}
	_, err = c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!2"})
	wantServiceError(t, "changePass while Starting", err, "Instance.PasswordOperationForbidden", 409)
	h.clock.Add(time.Second)
	if s := h.status(c, id); s != "Running" {
		t.Errorf("after start: %s", s)
	}

	// A Prepaid instance cannot be released.
	pre := h.create(c, &api.CreateInstanceArgs{Billing: api.Billing{PaymentTiming: api.PaymentTimingPrePaid}})
	h.clock.Add(time.Second)
	wantServiceError(t, "delete Prepaid", c.DeleteInstance(pre), "Instance.ReleaseNotPrepay", 403)
	// A Running Postpaid one can.
	if err := c.DeleteInstance(id); err != nil {
		t.Errorf("delete Running: %v", err)
	}
}

func TestBCCChangePassValidation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	id := h.create(c, &api.CreateInstanceArgs{AdminPass: "Orig1nal!"})
	sk := h.app.Root.Secret.Reveal()

	for _, tc := range []struct {
		name, pw, rule string
	}{
		{"too short", "Pa0!", "8 to 32 characters"},
		{"too long", strings.Repeat("Pa0!", 9), "8 to 32 characters"},
		{"empty", "", "8 to 32 characters"},
		{"symbol outside the set", "Passw0rd&", "only letters, digits and the symbols !@#$%^*()"},
		{"no digit", "Password!", "at least one digit"},
		{"no symbol", "Passw0rd", "at least one of the symbols"},
		{"no letter", "12345678!", "at least one letter"},
	} {
		_, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: tc.pw})
		se := wantServiceError(t, tc.name, err, "BadRequest", 400)
		if se == nil {
			continue
		}
		switch {
		case tc.pw != "" && strings.Contains(se.Message, tc.pw):
			t.Errorf("%s: the message contains the password", tc.name) // so it is not printed
		case !strings.Contains(se.Message, tc.rule):
			t.Errorf("%s: message %q does not name the rule", tc.name, se.Message)
		}
	}

	// Values that do not decrypt, sent through the SDK's own request
	// function with a body the client did not encrypt.
	otherKey, _ := api.Aes128EncryptUseSecreteKey("ffffffffffffffff"+sk[16:], "Passw0rd!")
	for _, tc := range []struct{ name, adminPass, rule string }{
		{"plain text", "Passw0rd!", "hex"},
		{"partial block", "2a71397f8c0352", "AES-128 blocks"},
		{"another secret key", otherKey, ""},
	} {
		body, _ := sdkbce.NewBodyFromString(`{"adminPass":"` + tc.adminPass + `"}`)
		_, err := api.ChangeInstancePass(c, id, body)
		se := wantServiceError(t, tc.name, err, "BadRequest", 400)
		switch {
		case se == nil:
		case strings.Contains(se.Message, tc.adminPass):
			t.Errorf("%s: the message contains the adminPass value", tc.name) // so it is not printed
		case !strings.Contains(se.Message, tc.rule):
			t.Errorf("%s: message %q does not name the rule", tc.name, se.Message)
		}
	}
	body, _ := sdkbce.NewBodyFromString(`{}`)
	_, err := api.ChangeInstancePass(c, id, body)
	wantServiceError(t, "no adminPass", err, "BadRequest", 400)
	body, _ = sdkbce.NewBodyFromString(`{"adminPass":`)
	_, err = api.ChangeInstancePass(c, id, body)
	wantServiceError(t, "malformed JSON", err, "MalformedJSON", 400)
	body, _ = sdkbce.NewBodyFromString(`{"adminPass":42}`)
	_, err = api.ChangeInstancePass(c, id, body)
	wantServiceError(t, "wrong JSON type", err, "InappropriateJSON", 400)

	if !h.checkPassword(id, "Orig1nal!") {
		t.Error("a refused changePass changed the password")
	}

	// The 2025 edition takes what 2020 refuses, and refuses two classes.
	h25 := newHarness(t, harnessOptions{policy: core.BCCPasswordPolicy2025})
	c25 := h25.client()
	id25 := h25.create(c25, nil)
	if _, err := c25.ChangeInstancePass(id25, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd&"}); err != nil {
		t.Errorf("2025 policy refused Passw0rd&: %v", err)
	}
	if !h25.checkPassword(id25, "Passw0rd&") {
		t.Error("2025: the new password does not check")
	}
	_, err = c25.ChangeInstancePass(id25, &api.ChangeInstancePassArgs{AdminPass: "password1"})
	se := wantServiceError(t, "2025 two classes", err, "BadRequest", 400)
	if se != nil && !strings.Contains(se.Message, "at least three of") {
		t.Errorf("2025 message %q", se.Message)
	}

	// Create checks an adminPass with the same rules.
	_, err = c.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-1", CpuCount: 1, MemoryCapacityInGB: 1, AdminPass: "short"})
	wantServiceError(t, "create with a bad password", err, "BadRequest", 400)
}

func TestBCCAuthentication(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	sk := h.app.Root.Secret.Reveal()

	wrongSecret := h.clientFor(string(h.app.Root.AccessKeyID), "0000000000000000"+sk[16:])
	_, err := wrongSecret.ListInstances(nil)
	wantServiceError(t, "wrong secret", err, "SignatureDoesNotMatch", 400)

	unknown := h.clientFor("AKnotakey00000000000", sk)
	_, err = unknown.ListInstances(nil)
	wantServiceError(t, "unknown key", err, "InvalidAccessKeyId", 403)

	expired := h.client()
	expired.Config.SignOption.Timestamp = time.Now().Add(-2 * time.Hour).Unix()
	_, err = expired.ListInstances(nil)
	se := wantServiceError(t, "expired signature", err, "RequestExpired", 400)
	if se != nil && !strings.HasPrefix(se.Message, "Request has expired. Timestamp date is ") {
		t.Errorf("message %q", se.Message)
	}

	future := h.client()
	future.Config.SignOption.Timestamp = time.Now().Add(time.Hour).Unix()
	_, err = future.ListInstances(nil)
	wantServiceError(t, "signature from the future", err, "RequestExpired", 400)

	// A server clock 31 minutes ahead refuses a fresh x-bce-date.
	h.clock.Add(31 * time.Minute)
	_, err = h.client().ListInstances(nil)
	wantServiceError(t, "skewed clock", err, "RequestExpired", 400)
	h.clock.Add(-2 * time.Minute)
	if _, err := h.client().ListInstances(nil); err != nil {
		t.Errorf("clock 29 minutes ahead: %v", err)
	}
	h.clock.Add(-29 * time.Minute)

	// A client that signs only x-bce-date (the SDK's documented example
	// with a capitalized Host) is accepted.
	onlyDate := h.client()
	onlyDate.Config.SignOption.HeadersToSign = map[string]struct{}{"Host": {}}
	onlyDate.Config.SignOption.ExpireSeconds = 30
	if _, err := onlyDate.ListInstances(nil); err != nil {
		t.Errorf("signed x-bce-date only: %v", err)
	}

	// Missing and malformed Authorization headers.
	for _, auth := range []string{"", "bce-auth-v1/x", "Basic abc"} {
		req, _ := http.NewRequest("GET", h.url+"/v2/instance", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code string }
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != 400 || body.Code != "InvalidHTTPAuthHeader" {
			t.Errorf("Authorization %q: %d %s", auth, res.StatusCode, body.Code)
		}
	}
}

// TestBCCRAMDenied: a RAM user whose custom policy allows bcc:Get* and
// bcc:List* on the account's bj instances reads them and is denied every
// change (403 AccessDenied). The policy names resources as the service
// must: acs:bcc:bj:ACCOUNT:instance/ID.
func TestBCCRAMDenied(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	app, root := h.app, h.app.RootCaller()
	id := h.create(h.client(), nil)
	doc := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["bcc:Get*","bcc:List*"],` +
		`"Resource":"acs:bcc:bj:` + string(app.Root.AccountID) + `:instance/*"}]}`
	if _, err := app.RAM.CreatePolicy(ctx, root, "ReadBJInstances", doc, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := app.RAM.CreateUser(ctx, root, core.CreateRAMUserInput{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := app.RAM.AttachPolicyToUser(ctx, root, core.PolicyCustom, "ReadBJInstances", "alice"); err != nil {
		t.Fatal(err)
	}
	key, err := app.RAM.CreateAccessKey(ctx, root, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice := h.clientFor(string(key.Key.ID), key.Secret.Reveal())
	if _, err := alice.GetInstanceDetail(id); err != nil {
		t.Errorf("read-only user cannot read: %v", err)
	}
	if _, err := alice.ListInstances(nil); err != nil {
		t.Errorf("read-only user cannot list: %v", err)
	}
	_, err = alice.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	se := wantServiceError(t, "changePass by a read-only user", err, "AccessDenied", 403)
	if se != nil && se.Message != "Access denied." {
		t.Errorf("message %q", se.Message)
	}
	wantServiceError(t, "stop by a read-only user", alice.StopInstance(id, false), "AccessDenied", 403)
	wantServiceError(t, "delete by a read-only user", alice.DeleteInstance(id), "AccessDenied", 403)
	_, err = alice.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-1", CpuCount: 1, MemoryCapacityInGB: 1})
	wantServiceError(t, "create by a read-only user", err, "AccessDenied", 403)
}

// TestBCCRAMPolicies runs bcc:<Operation> through the shared policy engine:
// a RAM user with BCCReadOnlyAccess reads but is denied changes (403
// AccessDenied); with BCCFullAccess it may change the password.
func TestBCCRAMPolicies(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	root := h.client()
	id := h.create(root, nil)
	rootCaller := h.app.RootCaller()
	if _, err := h.app.RAM.CreateUser(ctx, rootCaller, core.CreateRAMUserInput{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	key, err := h.app.RAM.CreateAccessKey(ctx, rootCaller, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob := h.clientFor(string(key.Key.ID), key.Secret.Reveal())

	_, err = bob.GetInstanceDetail(id)
	wantServiceError(t, "no policy", err, "AccessDenied", 403)

	if err := h.app.RAM.AttachPolicyToUser(ctx, rootCaller, core.PolicySystem, "BCCReadOnlyAccess", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.GetInstanceDetail(id); err != nil {
		t.Errorf("read-only: detail: %v", err)
	}
	if _, err := bob.ListInstances(nil); err != nil {
		t.Errorf("read-only: list: %v", err)
	}
	if _, err := bob.GetInstanceVNC(id); err != nil {
		t.Errorf("read-only: vnc: %v", err)
	}
	_, err = bob.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	wantServiceError(t, "read-only: changePass", err, "AccessDenied", 403)
	wantServiceError(t, "read-only: stop", bob.StopInstance(id, false), "AccessDenied", 403)

	if err := h.app.RAM.AttachPolicyToUser(ctx, rootCaller, core.PolicySystem, "BCCFullAccess", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"}); err != nil {
		t.Errorf("full access: changePass: %v", err)
	}
	if !h.checkPassword(id, "Passw0rd!") {
		t.Error("full access: the password did not change")
	}
}

func TestBCCCreateIdempotency(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	args := func() *api.CreateInstanceArgs {
		return &api.CreateInstanceArgs{ImageId: "m-1", CpuCount: 2, MemoryCapacityInGB: 4, Name: "idem", AdminPass: "Passw0rd!", ClientToken: "token-1"}
	}
	first, err := c.CreateInstance(args())
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateInstance(args())
	if err != nil || strings.Join(again.InstanceIds, ",") != strings.Join(first.InstanceIds, ",") {
		t.Errorf("retry = %v, %v; want %v", again, err, first.InstanceIds)
	}
	other := args()
	other.CpuCount = 4
	_, err = c.CreateInstance(other)
	se := wantServiceError(t, "reused token, other parameters", err, "IdempotentParameterMismatch", 403)
	if se != nil && se.Message != "The request uses the same client token as a previous, but non-identical request." {
		t.Errorf("message %q", se.Message)
	}
	otherPw := args()
	otherPw.AdminPass = "Passw0rd!2"
	_, err = c.CreateInstance(otherPw)
	wantServiceError(t, "reused token, other password", err, "IdempotentParameterMismatch", 403)

	list, err := c.ListInstances(&api.ListInstanceArgs{InstanceNames: "idem"})
	if err != nil || len(list.Instances) != 1 {
		t.Errorf("instances named idem: %+v, %v", list, err)
	}

	// How long the token is remembered is service/bcc_test.go's
	// TestBCCClientTokenLifetime: the SDK dates its requests with the
	// wall clock, so the server's cannot jump by a day here.
}

func TestBCCList(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	var ids []string
	for n := range 5 {
		args := &api.CreateInstanceArgs{Name: "node-" + string(rune('a'+n))}
		if n%2 == 0 {
			args.Tags = []model.TagModel{{TagKey: "role", TagValue: "even"}}
		}
		ids = append(ids, h.create(c, args))
	}
	if err := c.StopInstance(ids[1], false); err != nil {
		t.Fatal(err)
	}

	all, err := c.ListInstances(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Instances) != 5 || all.MaxKeys != 1000 || all.IsTruncated || all.NextMarker != "" {
		t.Errorf("list all = %+v", all)
	}

	// Pages of two: marker is the first id of a page.
	var seen []string
	marker := ""
	for pages := 0; ; pages++ {
		page, err := c.ListInstances(&api.ListInstanceArgs{Marker: marker, MaxKeys: 2})
		if err != nil {
			t.Fatal(err)
		}
		if page.MaxKeys != 2 || page.Marker != marker || len(page.Instances) > 2 {
			t.Fatalf("page = %+v", page)
		}
		for _, i := range page.Instances {
			seen = append(seen, i.InstanceId)
		}
		if !page.IsTruncated {
			break
		}
		marker = page.NextMarker
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Errorf("paged ids %v, want %v", seen, ids)
	}

	for _, tc := range []struct {
		name string
		args *api.ListInstanceArgs
		want []string
	}{
		{"status", &api.ListInstanceArgs{Status: "Stopped"}, ids[1:2]},
		{"ids", &api.ListInstanceArgs{InstanceIds: ids[3] + "," + ids[0]}, []string{ids[0], ids[3]}},
		{"names", &api.ListInstanceArgs{InstanceNames: "node-c"}, ids[2:3]},
		{"fuzzy name", &api.ListInstanceArgs{FuzzyInstanceName: "de-d"}, ids[3:4]},
		{"tag", &api.ListInstanceArgs{Tags: "role:even"}, []string{ids[0], ids[2], ids[4]}},
		{"zone", &api.ListInstanceArgs{ZoneName: "cn-bj-b"}, nil},
		{"unknown params ignored", &api.ListInstanceArgs{EhcClusterId: "x", Ipv6Addresses: "::1", CdsIds: "v-1", Status: "Running"}, []string{ids[0], ids[2], ids[3], ids[4]}},
	} {
		page, err := c.ListInstances(tc.args)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, i := range page.Instances {
			got = append(got, i.InstanceId)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	_, err = c.ListInstances(&api.ListInstanceArgs{MaxKeys: 1001})
	wantServiceError(t, "maxKeys 1001", err, "BadRequest", 400)
	_, err = c.ListInstances(&api.ListInstanceArgs{Marker: "i-unknown0"})
	wantServiceError(t, "unknown marker", err, "BadRequest", 400)
}

func TestBCCUnknownRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.client()
	id := h.create(c, nil)
	for _, tc := range []struct {
		method, path, code string
	}{
		{"PUT", "/v2/instance/" + id + "?resize", "BadRequest"},
		{"PUT", "/v2/instance/" + id + "?start&stop", "BadRequest"},
		{"PUT", "/v2/instance/" + id, "BadRequest"},
		{"GET", "/v2/volume", "InvalidURI"},
		{"PATCH", "/v2/instance", "InvalidURI"},
	} {
		path, query, _ := strings.Cut(tc.path, "?")
		b := sdkbce.NewRequestBuilder(c).WithMethod(tc.method).WithURL(path)
		for _, p := range strings.Split(query, "&") {
			if p != "" {
				b = b.WithQueryParam(p, "")
			}
		}
		err := b.WithResult(&map[string]any{}).Do()
		var se *sdkbce.BceServiceError
		if !errors.As(err, &se) || se.Code != tc.code || se.StatusCode >= 500 {
			t.Errorf("%s %s: %v, want %s", tc.method, tc.path, err, tc.code)
		}
	}
	if s := h.status(c, id); s != "Running" {
		t.Errorf("a refused action changed the status to %s", s)
	}
}
