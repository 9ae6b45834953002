package aliyun_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// The end-to-end tests run the whole server (testenv) and drive its
// Alibaba front end through the official SDKs, configured as a user
// would: only the endpoint (and for HTTPS the CA) differs from the real
// cloud. Passwords are checked where they take effect, on the console.

// env is a running server and its clock: the wall clock shifted by an
// offset the test sets, which the SDKs' signatures (made with the wall
// clock) are checked against and which moves instances through their
// statuses.
type env struct {
	*testenv.Env
	clock *testutil.OffsetClock
}

func newEnv(t *testing.T, opts ...testenv.Option) *env {
	t.Helper()
	clock := new(testutil.OffsetClock)
	opts = append([]testenv.Option{testenv.WithConfig(func(c *server.Config) { c.Clock = clock })}, opts...)
	e := &env{Env: testenv.Start(t, opts...), clock: clock}
	t.Cleanup(func() {
		// Whatever the test did, no Authorization header reached the log
		// (testenv checks the secret itself).
		if strings.Contains(strings.ToLower(e.Logs()), "authorization") {
			t.Error("the Authorization header appears in the server log")
		}
	})
	return e
}

// rootClient is an SDKv1 ECS client of the account root, over plain HTTP.
func (e *env) rootClient(t *testing.T) *ecs.Client { return e.ECS(t) }

// userKey creates a RAM user of the root's account, without a policy,
// and an access key for it.
func (e *env) userKey(t *testing.T, user string) (id, secret string) {
	t.Helper()
	ctx := context.Background()
	app := e.App()
	if _, err := app.RAM.CreateUser(ctx, app.RootCaller(), core.CreateRAMUserInput{Name: core.UserName(user)}); err != nil {
		t.Fatal(err)
	}
	key, err := app.RAM.CreateAccessKey(ctx, app.RootCaller(), core.UserName(user))
	if err != nil {
		t.Fatal(err)
	}
	return string(key.Key.ID), key.Secret.Reveal()
}

// admits reports whether pw opens the console of Running instance id,
// logging in through the VNC gateway. A failure message never shows pw.
func (e *env) admits(t *testing.T, id, pw string) bool {
	t.Helper()
	ok, err := e.Server().CheckConsolePassword(id, pw)
	if err != nil {
		t.Fatalf("console of %s: %v", id, err)
	}
	return ok
}

// holds reports whether the console of instance id, running or not,
// holds pw: the internal API logs in to the console itself.
func (e *env) holds(t *testing.T, id, pw string) bool {
	t.Helper()
	var res struct{ Match bool }
	if err := e.Server().Admin("POST", "check-password", map[string]string{"resource": id, "target": "console", "password": pw}, &res); err != nil {
		t.Fatalf("check the console of %s: %v", id, err)
	}
	return res.Match
}

// unreachable makes the console of instance id unreachable until the
// returned function is called.
func (e *env) unreachable(t *testing.T, id string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	r, err := e.App().Faults.Add(ctx, faults.Rule{Product: faults.ProductECS, Resource: id, Effect: faults.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := e.App().Faults.Remove(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// ecsEvents are the audit events of the ECS front end.
func (e *env) ecsEvents(t *testing.T) []core.AuditEvent {
	t.Helper()
	var out []core.AuditEvent
	for _, ev := range e.Audit(t, core.AuditFilter{}) {
		if ev.Product == "ecs" {
			out = append(out, ev)
		}
	}
	return out
}
